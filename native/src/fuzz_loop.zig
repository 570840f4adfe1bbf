//! fuzz_loop.zig — one seeded random iteration, shared by the unit tests (a few thousand runs)
//! and the `pushwire-fuzz` executable (as many as fit in the time given). Its rules, checked on
//! every iteration: no crash; the same bytes split differently give the same messages and the same
//! final status, with the message fast path (fast_path.zig) on and off; after freeing every
//! message and a reset, nothing is accounted as live.

const std = @import("std");
const Allocator = std.mem.Allocator;
const abi = @import("abi.zig");
const core = @import("core.zig");
const errors = @import("errors.zig");
const generator = @import("resp_generator.zig");
const Assembly = @import("testing_support.zig").Assembly;

pub const Failure = error{ SplitMismatch, LiveAfterFree, CounterMismatch, ForeignNotDetected };

/// Streams stay small so an iteration takes microseconds; sizes vary to reach every limit.
const stream_length_max = 4096;

pub fn iteration(allocator: Allocator, random: std.Random) !void {
    var stream: std.ArrayList(u8) = .empty;
    defer stream.deinit(allocator);
    try buildStream(allocator, random, &stream);
    try checkSplitsAgree(allocator, random, stream.items);
    try exerciseApis(allocator, random, stream.items);
}

/// Valid frames, sometimes mutated, truncated or followed by random bytes.
fn buildStream(allocator: Allocator, random: std.Random, stream: *std.ArrayList(u8)) !void {
    const writer: generator.Writer = .{ .random = random, .out = stream, .allocator = allocator };
    const resp3 = random.boolean();
    while (stream.items.len < stream_length_max and random.uintLessThan(u8, 16) != 0) try writer.frame(resp3);
    switch (random.uintLessThan(u8, 6)) {
        0 => if (stream.items.len > 0) {
            for (0..1 + random.uintLessThan(usize, 4)) |_| {
                stream.items[random.uintLessThan(usize, stream.items.len)] = random.int(u8);
            }
        },
        1 => if (stream.items.len > 0) {
            stream.items.len = random.uintLessThan(usize, stream.items.len);
        },
        2 => {
            const garbage_length = random.uintAtMost(usize, 256);
            for (0..garbage_length) |_| try stream.append(allocator, random.int(u8));
        },
        else => {},
    }
}

const Api = enum { simple, batch, fused };

/// Options of the fused API (pw_feed_next_batch) only.
const FusedOptions = struct { in_place_min_bytes: u32 = 0, assemble_min_bytes: u32 = 0 };

/// A digest of every message and the final status of one run. With the fused API, payloads may
/// stay in the fed chunk and cut frames may be assembled by the caller (`fused`).
fn runDigest(allocator: Allocator, stream: []const u8, cuts: []const usize, flags: u32, api: Api, fast_path_enabled: bool, fused: FusedOptions) !u64 {
    const parser = try core.Parser.create(allocator, .{ .flags = flags, .in_place_min_bytes = fused.in_place_min_bytes, .assemble_min_bytes = fused.assemble_min_bytes });
    defer parser.destroy();
    var assembly: Assembly = .{};
    defer assembly.deinit(allocator);
    parser.fast_path_enabled = fast_path_enabled;
    var hasher = std.hash.Wyhash.init(0);
    var start: usize = 0;
    var final_error: ?errors.Error = null;
    for (0..cuts.len + 1) |index| {
        const end = if (index < cuts.len) cuts[index] else stream.len;
        if (api == .fused) {
            final_error = try feedBatchesIntoDigest(allocator, parser, &hasher, stream[start..end], &assembly);
            start = end;
            if (final_error != null) break;
            continue;
        }
        parser.feed(stream[start..end]) catch |err| {
            final_error = err;
        };
        start = end;
        if (final_error != null) break;
        final_error = try drainIntoDigest(allocator, parser, &hasher, api == .batch);
        if (final_error != null) break;
    }
    hasher.update(std.mem.asBytes(&@as(i32, if (final_error) |err| @intFromError(err) else 0)));
    // The bytes of a frame still being assembled, as pw_feed would have kept them.
    if (final_error == null) assembly.flush(allocator, parser) catch {};
    const counters = parser.counters();
    if (counters.live_messages != 0 or counters.live_bytes != counters.buffered_bytes) return error.LiveAfterFree;
    return hasher.final();
}

fn drainIntoDigest(allocator: Allocator, parser: *core.Parser, hasher: *std.hash.Wyhash, use_batch: bool) !?errors.Error {
    if (use_batch) return drainBatchesIntoDigest(allocator, parser, hasher);
    while (true) {
        const message = (parser.nextMessage() catch |err| return @as(?errors.Error, err)) orelse return null;
        defer parser.freeMessage(message) catch unreachable;
        const joined = try std.mem.concat(allocator, u8, &.{
            bytesOf(message.channel, message.channel_length),
            bytesOf(message.pattern, message.pattern_length),
            bytesOf(message.payload, message.payload_length),
        });
        defer allocator.free(joined);
        hashMessage(hasher, message.kind, message.flags, message.count, joined);
    }
}

/// Batches into a small data buffer that grows only when a message does not fit.
fn drainBatchesIntoDigest(allocator: Allocator, parser: *core.Parser, hasher: *std.hash.Wyhash) !?errors.Error {
    var headers: [4 * abi.batch_header_words]u32 = undefined;
    var data = try allocator.alloc(u8, 64);
    defer allocator.free(data);
    while (true) {
        const result = parser.nextBatch(&headers, data) catch |err| return @as(?errors.Error, err);
        switch (result.status) {
            .pending => return null,
            .buffer_too_small => {
                data = try allocator.realloc(data, result.data_bytes);
                continue;
            },
            .ok => {},
        }
        for (0..result.message_count) |index| {
            const words = headers[index * abi.batch_header_words ..][0..abi.batch_header_words];
            const data_start = words[abi.batch_data_offset];
            const data_length = words[abi.batch_channel_length] + words[abi.batch_pattern_length] + words[abi.batch_payload_length];
            hashMessage(hasher, words[abi.batch_kind], words[abi.batch_flags], words[abi.batch_count], data[data_start..][0..data_length]);
        }
    }
}

/// `chunk` as a pw_feed_next_batch caller passes it: first what completes a frame it assembles
/// (PW_STOP_CUT), then the assembled frame, then the rest.
fn feedBatchesIntoDigest(allocator: Allocator, parser: *core.Parser, hasher: *std.hash.Wyhash, chunk: []const u8, assembly: *Assembly) !?errors.Error {
    var rest = chunk;
    if (assembly.active()) {
        rest = assembly.take(chunk);
        const frame = assembly.finished() orelse return null;
        defer allocator.free(frame);
        if (try feedCallsIntoDigest(allocator, parser, hasher, frame, assembly)) |err| return @as(?errors.Error, err);
        // A complete frame is never cut.
        if (assembly.active()) return error.SplitMismatch;
    }
    return feedCallsIntoDigest(allocator, parser, hasher, rest, assembly);
}

/// pw_feed_next_batch with `chunk`, then with the bytes it did not take while it says there is
/// more; payloads left in place are read from the bytes of their call.
fn feedCallsIntoDigest(allocator: Allocator, parser: *core.Parser, hasher: *std.hash.Wyhash, chunk: []const u8, assembly: *Assembly) !?errors.Error {
    var headers: [4 * abi.batch_header_words]u32 = undefined;
    var data = try allocator.alloc(u8, 64);
    defer allocator.free(data);
    var bytes = chunk;
    while (true) {
        const call_bytes = bytes;
        const result = parser.feedNextBatch(bytes, &headers, data) catch |err| return @as(?errors.Error, err);
        bytes = bytes[result.bytes_taken..];
        if (result.status == .buffer_too_small) {
            data = try allocator.realloc(data, result.data_bytes);
            continue;
        }
        for (0..result.message_count) |index| {
            const words = headers[index * abi.batch_header_words ..][0..abi.batch_header_words];
            const data_start = words[abi.batch_data_offset];
            const names_length = words[abi.batch_channel_length] + words[abi.batch_pattern_length];
            const payload_length = words[abi.batch_payload_length];
            if (words[abi.batch_flags] & abi.flag_payload_in_input == 0) {
                hashMessage(hasher, words[abi.batch_kind], words[abi.batch_flags], words[abi.batch_count], data[data_start..][0 .. names_length + payload_length]);
                continue;
            }
            const joined = try std.mem.concat(allocator, u8, &.{
                data[data_start..][0..names_length],
                call_bytes[words[abi.batch_payload_input_offset]..][0..payload_length],
            });
            defer allocator.free(joined);
            hashMessage(hasher, words[abi.batch_kind], words[abi.batch_flags] & ~abi.flag_payload_in_input, 0, joined);
        }
        if (result.stop == .nothing) return null;
        if (result.stop == .cut) {
            if (result.cut_length <= bytes.len) return error.SplitMismatch;
            try assembly.begin(allocator, result.cut_length, bytes);
            return null;
        }
    }
}

fn bytesOf(pointer: ?[*]const u8, length: u32) []const u8 {
    return if (pointer) |given| given[0..length] else &.{};
}

fn hashMessage(hasher: *std.hash.Wyhash, kind: u32, flags: u32, count: u32, data: []const u8) void {
    hasher.update(std.mem.asBytes(&[_]u32{ kind, flags, count, @intCast(data.len) }));
    hasher.update(data);
}

/// Whole feed, random cuts, byte-by-byte for short streams, simple and batch API: one digest.
fn checkSplitsAgree(allocator: Allocator, random: std.Random, stream: []const u8) !void {
    const flags: u32 = if (random.boolean()) abi.option_resp2_push_arrays else 0;
    const expected = try runDigest(allocator, stream, &.{}, flags, .simple, true, .{});
    if (try runDigest(allocator, stream, &.{}, flags, .simple, false, .{}) != expected) return error.SplitMismatch;
    var cuts: std.ArrayList(usize) = .empty;
    defer cuts.deinit(allocator);
    var cut: usize = 0;
    const byte_by_byte = stream.len < 512 and random.uintLessThan(u8, 4) == 0;
    while (true) {
        cut += if (byte_by_byte) 1 else 1 + random.uintLessThan(usize, 64);
        if (cut >= stream.len) break;
        try cuts.append(allocator, cut);
    }
    if (try runDigest(allocator, stream, cuts.items, flags, .simple, true, .{}) != expected) return error.SplitMismatch;
    if (try runDigest(allocator, stream, cuts.items, flags, .batch, true, .{}) != expected) return error.SplitMismatch;
    const fused: FusedOptions = .{
        .in_place_min_bytes = random.uintAtMost(u32, 64),
        .assemble_min_bytes = if (random.boolean()) random.uintAtMost(u32, 96) else 0,
    };
    if (try runDigest(allocator, stream, cuts.items, flags, .fused, true, fused) != expected) return error.SplitMismatch;
    if (try runDigest(allocator, stream, cuts.items, flags, .fused, false, fused) != expected) return error.SplitMismatch;
}

fn randomOptions(random: std.Random) abi.Options {
    const small = random.uintLessThan(u8, 3) == 0;
    return .{
        .max_bulk_length = if (small) random.uintAtMost(u32, 64) else 0,
        .max_nesting_depth = if (small) random.uintAtMost(u32, 4) else 0,
        .max_aggregate_length = if (small) random.uintAtMost(u32, 6) else 0,
        .max_queued_bytes = if (random.uintLessThan(u8, 4) == 0) random.uintAtMost(u32, 2048) else 0,
        .max_interned_names = if (random.boolean()) random.uintAtMost(u32, 3) else abi.no_interning,
        .flags = if (random.boolean()) abi.option_resp2_push_arrays else 0,
        .in_place_min_bytes = random.uintAtMost(u32, 32),
        .assemble_min_bytes = random.uintAtMost(u32, 64),
    };
}

/// Random calls in random order with random limits; held messages are freed in random order.
fn exerciseApis(allocator: Allocator, random: std.Random, stream: []const u8) !void {
    const parser = try core.Parser.create(allocator, randomOptions(random));
    defer parser.destroy();
    var held: std.ArrayList(*abi.Message) = .empty;
    defer held.deinit(allocator);
    var offset: usize = 0;
    while (offset < stream.len) {
        const end = @min(stream.len, offset + 1 + random.uintLessThan(usize, 200));
        if (random.boolean()) {
            parser.feed(stream[offset..end]) catch {};
        } else {
            var headers: [8 * abi.batch_header_words]u32 = undefined;
            var data: [512]u8 = undefined;
            const header_words = abi.batch_header_words * (1 + random.uintLessThan(usize, 8));
            _ = parser.feedNextBatch(stream[offset..end], headers[0..header_words], data[0..random.uintAtMost(usize, data.len)]) catch {};
        }
        offset = end;
        try randomCalls(allocator, random, parser, &held);
    }
    try randomCalls(allocator, random, parser, &held);
    while (held.items.len > 0) {
        const message = held.swapRemove(random.uintLessThan(usize, held.items.len));
        try parser.freeMessage(message);
        // Freed and not yet reused: a second free must be refused.
        parser.freeMessage(message) catch |err| if (err == error.ForeignMessage) continue;
        return error.ForeignNotDetected;
    }
    var counters = parser.counters();
    if (counters.live_messages != 0 or counters.live_bytes != counters.buffered_bytes) return error.LiveAfterFree;
    parser.reset();
    counters = parser.counters();
    if (counters.live_bytes != 0 or counters.buffered_bytes != 0) return error.LiveAfterFree;
    if (counters.total_bytes_fed > stream.len) return error.CounterMismatch;
}

fn randomCalls(allocator: Allocator, random: std.Random, parser: *core.Parser, held: *std.ArrayList(*abi.Message)) !void {
    for (0..random.uintAtMost(usize, 8)) |_| {
        switch (random.uintLessThan(u8, 10)) {
            0...4 => {
                const message = (parser.nextMessage() catch continue) orelse continue;
                if (random.boolean()) try held.append(allocator, message) else try parser.freeMessage(message);
            },
            5...7 => {
                var headers: [8 * abi.batch_header_words]u32 = undefined;
                var data: [512]u8 = undefined;
                const header_words = abi.batch_header_words * (1 + random.uintLessThan(usize, 8));
                const data_capacity = random.uintAtMost(usize, data.len);
                _ = parser.nextBatch(headers[0..header_words], data[0..data_capacity]) catch {};
            },
            8 => if (held.items.len > 0) {
                try parser.freeMessage(held.swapRemove(random.uintLessThan(usize, held.items.len)));
            },
            else => if (random.uintLessThan(u8, 4) == 0) parser.reset(),
        }
    }
}
