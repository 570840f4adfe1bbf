//! testing_support.zig — helpers shared by the test files: run a byte stream through a parser
//! with any feed split and collect owned copies of its messages and its final status, so tests
//! can compare a split run with a single-feed run field by field.

const std = @import("std");
const Allocator = std.mem.Allocator;
const abi = @import("abi.zig");
const core = @import("core.zig");
const errors = @import("errors.zig");

pub const Collected = struct {
    kind: u32,
    flags: u32,
    count: u32,
    channel_id: u32,
    pattern_id: u32,
    channel: []u8,
    pattern: []u8,
    payload: []u8,

    pub fn fromMessage(allocator: Allocator, message: *const abi.Message) !Collected {
        return .{
            .kind = message.kind,
            .flags = message.flags,
            .count = message.count,
            .channel_id = message.channel_id,
            .pattern_id = message.pattern_id,
            .channel = try dupeOrEmpty(allocator, message.channel, message.channel_length),
            .pattern = try dupeOrEmpty(allocator, message.pattern, message.pattern_length),
            .payload = try dupeOrEmpty(allocator, message.payload, message.payload_length),
        };
    }

    pub fn deinit(self: Collected, allocator: Allocator) void {
        allocator.free(self.channel);
        allocator.free(self.pattern);
        allocator.free(self.payload);
    }

    pub fn expectEqual(expected: Collected, actual: Collected) !void {
        try std.testing.expectEqual(expected.kind, actual.kind);
        try std.testing.expectEqual(expected.flags, actual.flags);
        try std.testing.expectEqual(expected.count, actual.count);
        try std.testing.expectEqual(expected.channel_id, actual.channel_id);
        try std.testing.expectEqual(expected.pattern_id, actual.pattern_id);
        try std.testing.expectEqualSlices(u8, expected.channel, actual.channel);
        try std.testing.expectEqualSlices(u8, expected.pattern, actual.pattern);
        try std.testing.expectEqualSlices(u8, expected.payload, actual.payload);
    }
};

fn dupeOrEmpty(allocator: Allocator, pointer: ?[*]const u8, length: u32) ![]u8 {
    if (length == 0) {
        try std.testing.expect(pointer == null);
        return allocator.alloc(u8, 0);
    }
    return allocator.dupe(u8, pointer.?[0..length]);
}

pub const Run = struct {
    messages: std.ArrayList(Collected) = .empty,
    final_error: ?errors.Error = null,

    pub fn deinit(self: *Run, allocator: Allocator) void {
        for (self.messages.items) |message| message.deinit(allocator);
        self.messages.deinit(allocator);
    }

    pub fn expectEqual(expected: Run, actual: Run) !void {
        try std.testing.expectEqual(expected.final_error, actual.final_error);
        try std.testing.expectEqual(expected.messages.items.len, actual.messages.items.len);
        for (expected.messages.items, actual.messages.items) |left, right| try left.expectEqual(right);
    }
};

/// Drains every complete message (simple API), freeing each after copying it.
pub fn drain(allocator: Allocator, parser: *core.Parser, run: *Run) !void {
    while (run.final_error == null) {
        const message = parser.nextMessage() catch |err| {
            run.final_error = err;
            return;
        } orelse return;
        try run.messages.append(allocator, try Collected.fromMessage(allocator, message));
        try parser.freeMessage(message);
    }
}

/// Feeds `stream` cut at each of `cuts` (ascending offsets), draining after every feed.
pub fn runSplit(allocator: Allocator, options: abi.Options, stream: []const u8, cuts: []const usize) !Run {
    const parser = try core.Parser.create(allocator, options);
    defer parser.destroy();
    var run: Run = .{};
    errdefer run.deinit(allocator);
    var start: usize = 0;
    for (cuts) |cut| {
        try feedAndDrain(allocator, parser, &run, stream[start..cut]);
        start = cut;
    }
    try feedAndDrain(allocator, parser, &run, stream[start..]);
    try expectNothingLive(parser);
    return run;
}

fn feedAndDrain(allocator: Allocator, parser: *core.Parser, run: *Run, bytes: []const u8) !void {
    if (run.final_error != null) return;
    parser.feed(bytes) catch |err| {
        run.final_error = err;
        return;
    };
    try drain(allocator, parser, run);
}

pub fn runWhole(allocator: Allocator, options: abi.Options, stream: []const u8) !Run {
    return runSplit(allocator, options, stream, &.{});
}

/// Feeds the stream in pieces of `chunk_length` bytes.
pub fn runChunked(allocator: Allocator, options: abi.Options, stream: []const u8, chunk_length: usize) !Run {
    var cuts: std.ArrayList(usize) = .empty;
    defer cuts.deinit(allocator);
    var cut: usize = chunk_length;
    while (cut < stream.len) : (cut += chunk_length) try cuts.append(allocator, cut);
    return runSplit(allocator, options, stream, cuts.items);
}

/// After every message was freed, nothing but unparsed input may remain accounted.
pub fn expectNothingLive(parser: *core.Parser) !void {
    const counters = parser.counters();
    try std.testing.expectEqual(@as(u64, 0), counters.live_messages);
    try std.testing.expectEqual(counters.buffered_bytes, counters.live_bytes);
}

/// The single message of a one-frame stream (caller deinits it).
pub fn single(allocator: Allocator, options: abi.Options, stream: []const u8) !Collected {
    var run = try runWhole(allocator, options, stream);
    errdefer run.deinit(allocator);
    if (run.final_error) |err| return err;
    try std.testing.expectEqual(@as(usize, 1), run.messages.items.len);
    const message = run.messages.items[0];
    run.messages.deinit(allocator);
    return message;
}

/// The error a stream ends in (and that nothing before it produced a message).
pub fn expectStreamError(expected: errors.Error, options: abi.Options, stream: []const u8) !void {
    const allocator = std.testing.allocator;
    var run = try runWhole(allocator, options, stream);
    defer run.deinit(allocator);
    try std.testing.expectEqual(@as(?errors.Error, expected), run.final_error);
}

/// What a pw_feed_next_batch caller does with PW_STOP_CUT (pw_options.assemble_min_bytes), as
/// NativeParser does it in TS: it holds the cut frame's bytes in a buffer of the frame's length,
/// completes it from the next chunks, then passes the buffer as one call's bytes.
pub const Assembly = struct {
    /// Owned; empty while no frame is being assembled.
    buffer: []u8 = &.{},
    filled: usize = 0,

    pub fn active(self: *const Assembly) bool {
        return self.buffer.len != 0;
    }

    /// Starts a frame of `length` bytes with `first`, the bytes PW_STOP_CUT left untaken.
    pub fn begin(self: *Assembly, allocator: Allocator, length: usize, first: []const u8) !void {
        std.debug.assert(!self.active() and first.len < length);
        self.buffer = try allocator.alloc(u8, length);
        @memcpy(self.buffer[0..first.len], first);
        self.filled = first.len;
    }

    /// Takes from `chunk` what the frame still misses; returns the rest of `chunk`.
    pub fn take(self: *Assembly, chunk: []const u8) []const u8 {
        const taken = @min(chunk.len, self.buffer.len - self.filled);
        @memcpy(self.buffer[self.filled..][0..taken], chunk[0..taken]);
        self.filled += taken;
        return chunk[taken..];
    }

    /// The complete frame (the caller frees it), or null while bytes are missing.
    pub fn finished(self: *Assembly) ?[]u8 {
        if (!self.active() or self.filled < self.buffer.len) return null;
        const frame = self.buffer;
        self.* = .{};
        return frame;
    }

    /// Hands the bytes held so far to the parser's input buffer (what a caller does before it
    /// feeds anything else, or at the end of a stream, so the counters compare).
    pub fn flush(self: *Assembly, allocator: Allocator, parser: *core.Parser) errors.Error!void {
        if (!self.active()) return;
        defer self.deinit(allocator);
        try parser.feed(self.buffer[0..self.filled]);
    }

    pub fn deinit(self: *Assembly, allocator: Allocator) void {
        allocator.free(self.buffer);
        self.* = .{};
    }
};
