//! core_test.zig — method: real Parser with std.testing.allocator (a leak fails the test) over
//! in-memory streams; checks accounting, the queue limit, double free and foreign pointers, the
//! batch API (too small, error after messages, name ids), interning, reset, and a seeded random
//! loop that must end with nothing live.

const std = @import("std");
const testing = std.testing;
const abi = @import("abi.zig");
const core = @import("core.zig");
const support = @import("testing_support.zig");
const generator = @import("resp_generator.zig");

const message_news = ">3\r\n$7\r\nmessage\r\n$4\r\nnews\r\n$5\r\nhello\r\n";
const message_alerts = ">3\r\n$7\r\nmessage\r\n$6\r\nalerts\r\n$3\r\nbye\r\n";
const pmessage_news = ">4\r\n$8\r\npmessage\r\n$2\r\nn*\r\n$4\r\nnews\r\n$2\r\nhi\r\n";

test "counters account buffered input and live messages, and return to zero" {
    const allocator = testing.allocator;
    const parser = try core.Parser.create(allocator, .{});
    defer parser.destroy();
    const partial = ">3\r\n$7\r\nmes";
    try parser.feed(message_news ++ message_alerts ++ partial);
    var counters = parser.counters();
    const fed = message_news.len + message_alerts.len + partial.len;
    try testing.expectEqual(@as(u64, fed), counters.total_bytes_fed);
    try testing.expectEqual(@as(u64, fed), counters.buffered_bytes);
    try testing.expectEqual(@as(u64, fed), counters.live_bytes);

    const first = (try parser.nextMessage()).?;
    const second = (try parser.nextMessage()).?;
    try testing.expectEqual(@as(?*abi.Message, null), try parser.nextMessage());
    counters = parser.counters();
    try testing.expectEqual(@as(u64, 2), counters.live_messages);
    try testing.expectEqual(@as(u64, 2), counters.total_messages);
    try testing.expectEqual(@as(u64, partial.len), counters.buffered_bytes);
    const message_bytes = 2 * @sizeOf(abi.Message) + "newshello".len + "alertsbye".len;
    try testing.expectEqual(@as(u64, partial.len + message_bytes), counters.live_bytes);

    try parser.freeMessage(second);
    try parser.freeMessage(first);
    parser.reset();
    counters = parser.counters();
    try testing.expectEqual(@as(u64, 0), counters.live_messages);
    try testing.expectEqual(@as(u64, 0), counters.live_bytes);
    try testing.expectEqual(@as(u64, 0), counters.buffered_bytes);
    try testing.expectEqual(@as(u64, 2), counters.total_messages);
}

test "message pointers are null exactly when lengths are zero" {
    const allocator = testing.allocator;
    const parser = try core.Parser.create(allocator, .{});
    defer parser.destroy();
    try parser.feed(">3\r\n$8\r\nsmessage\r\n$1\r\nc\r\n$0\r\n\r\n" ++ pmessage_news);
    const empty = (try parser.nextMessage()).?;
    try testing.expectEqual(@as(u32, @intFromEnum(abi.Kind.smessage)), empty.kind);
    try testing.expect(empty.payload == null and empty.pattern == null and empty.channel != null);
    const full = (try parser.nextMessage()).?;
    try testing.expectEqualStrings("n*", full.pattern.?[0..full.pattern_length]);
    try testing.expectEqualStrings("news", full.channel.?[0..full.channel_length]);
    try testing.expectEqualStrings("hi", full.payload.?[0..full.payload_length]);
    try testing.expectEqual(@as(u32, 1), empty.channel_id);
    try testing.expectEqual(@as(u32, 2), full.channel_id);
    try testing.expectEqual(@as(u32, 3), full.pattern_id);
    try testing.expectEqual(@as(usize, 0), @intFromPtr(empty) % @alignOf(abi.Message));
    // Outstanding messages are released by destroy (the testing allocator checks).
}

test "interned ids are stable across reset and name the right bytes" {
    const allocator = testing.allocator;
    const parser = try core.Parser.create(allocator, .{ .max_interned_names = 2 });
    defer parser.destroy();
    try parser.feed(message_news ++ message_alerts ++ pmessage_news);
    var ids: [3][2]u32 = undefined;
    for (&ids) |*pair| {
        const message = (try parser.nextMessage()).?;
        pair.* = .{ message.channel_id, message.pattern_id };
        try parser.freeMessage(message);
    }
    try testing.expectEqual([2]u32{ 1, 0 }, ids[0]);
    try testing.expectEqual([2]u32{ 2, 0 }, ids[1]);
    try testing.expectEqual([2]u32{ 1, 0 }, ids[2]); // pattern "n*" is past the limit
    parser.reset();
    try parser.feed(message_alerts);
    const again = (try parser.nextMessage()).?;
    try testing.expectEqual(@as(u32, 2), again.channel_id);
    try parser.freeMessage(again);
    try testing.expectEqualStrings("news", parser.internedName(1).?);
    try testing.expectEqualStrings("alerts", parser.internedName(2).?);
    try testing.expect(parser.internedName(3) == null);
}

test "max_queued_bytes refuses the feed, poisons the parser, and counts live messages" {
    const allocator = testing.allocator;
    const limit = 2 * message_news.len;
    const parser = try core.Parser.create(allocator, .{ .max_queued_bytes = limit });
    defer parser.destroy();
    try parser.feed(message_news);
    try parser.feed(message_news);
    try testing.expectError(error.QueueFull, parser.feed("+"));
    try testing.expectEqual(@as(u64, limit), parser.counters().total_bytes_fed);
    try testing.expectError(error.QueueFull, parser.nextMessage());
    try testing.expectError(error.QueueFull, parser.feed(""));
    try testing.expectEqual(@as(u64, 1), parser.counters().errors);
    var expected_buffer: [160]u8 = undefined;
    const expected = try std.fmt.bufPrint(&expected_buffer, "queue full at offset {d}: {d} buffered + 0 live message bytes + 1 new bytes exceed max_queued_bytes {d}", .{ limit, limit, limit });
    try testing.expectEqualStrings(expected, parser.errorMessage());

    parser.reset();
    try parser.feed(message_news);
    const held = (try parser.nextMessage()).?;
    // The held message (56 + 9 bytes) still counts against the limit.
    try testing.expectError(error.QueueFull, parser.feed(message_news));
    try parser.freeMessage(held);
}

test "double free and foreign pointers are refused without touching memory" {
    const allocator = testing.allocator;
    const first_parser = try core.Parser.create(allocator, .{});
    defer first_parser.destroy();
    const second_parser = try core.Parser.create(allocator, .{});
    defer second_parser.destroy();
    try first_parser.feed(message_news);
    try second_parser.feed(message_news);
    const mine = (try first_parser.nextMessage()).?;
    const theirs = (try second_parser.nextMessage()).?;
    try testing.expectError(error.ForeignMessage, first_parser.freeMessage(theirs));
    var on_stack: abi.Message = undefined;
    try testing.expectError(error.ForeignMessage, first_parser.freeMessage(&on_stack));
    try first_parser.freeMessage(mine);
    try testing.expectError(error.ForeignMessage, first_parser.freeMessage(mine));
    try testing.expectEqual(@as(u64, 0), first_parser.counters().live_messages);
    try testing.expectEqual(@as(u64, 1), second_parser.counters().live_messages);
    // Not sticky: the parser still works.
    try first_parser.feed(message_alerts);
    try first_parser.freeMessage((try first_parser.nextMessage()).?);
    try second_parser.freeMessage(theirs);
}

const Batch = struct {
    headers: [8 * abi.batch_header_words]u32 = undefined,
    data: [256]u8 = undefined,

    fn header(self: *const Batch, index: usize) []const u32 {
        return self.headers[index * abi.batch_header_words ..][0..abi.batch_header_words];
    }

    fn part(self: *const Batch, index: usize, which: enum { channel, pattern, payload }) []const u8 {
        const words = self.header(index);
        var start = words[abi.batch_data_offset];
        if (which != .channel) start += words[abi.batch_channel_length];
        if (which == .payload) start += words[abi.batch_pattern_length];
        const length = switch (which) {
            .channel => words[abi.batch_channel_length],
            .pattern => words[abi.batch_pattern_length],
            .payload => words[abi.batch_payload_length],
        };
        return self.data[start..][0..length];
    }
};

test "batch writes headers and packed bytes, and matches the simple API" {
    const allocator = testing.allocator;
    const parser = try core.Parser.create(allocator, .{});
    defer parser.destroy();
    try parser.feed(message_news ++ pmessage_news ++ "+OK\r\n" ++ ">3\r\n$11\r\nunsubscribe\r\n_\r\n:0\r\n");
    var batch: Batch = .{};
    const result = try parser.nextBatch(&batch.headers, &batch.data);
    try testing.expectEqual(.ok, result.status);
    try testing.expectEqual(@as(u32, 4), result.message_count);
    try testing.expectEqual(@as(u32, 9 + 8 + 5), result.data_bytes);
    try testing.expectEqualSlices(u32, &.{ 1, abi.flag_resp3_push, 0, 1, 0, 4, 0, 5 }, batch.header(0));
    try testing.expectEqualSlices(u32, &.{ 2, abi.flag_resp3_push, 0, 1 | (2 << 16), 9, 4, 2, 2 }, batch.header(1));
    try testing.expectEqualSlices(u32, &.{ 13, 0, 0, 0, 17, 0, 0, 5 }, batch.header(2));
    try testing.expectEqualSlices(u32, &.{ 7, abi.flag_resp3_push | abi.flag_null_channel, 0, 0, 22, 0, 0, 0 }, batch.header(3));
    try testing.expectEqualStrings("news", batch.part(0, .channel));
    try testing.expectEqualStrings("hello", batch.part(0, .payload));
    try testing.expectEqualStrings("n*", batch.part(1, .pattern));
    try testing.expectEqualStrings("hi", batch.part(1, .payload));
    try testing.expectEqualStrings("+OK\r\n", batch.part(2, .payload));
    try testing.expectEqual(.pending, (try parser.nextBatch(&batch.headers, &batch.data)).status);
    const counters = parser.counters();
    try testing.expectEqual(@as(u64, 4), counters.total_messages);
    try testing.expectEqual(@as(u64, 0), counters.live_bytes);
}

test "batch: buffer too small for the first message, partial batches, max messages" {
    const allocator = testing.allocator;
    const parser = try core.Parser.create(allocator, .{});
    defer parser.destroy();
    try parser.feed(message_news ++ message_alerts ++ message_news);
    var batch: Batch = .{};
    const too_small = try parser.nextBatch(&batch.headers, batch.data[0..8]);
    try testing.expectEqual(.buffer_too_small, too_small.status);
    try testing.expectEqual(@as(u32, 9), too_small.data_bytes);
    try testing.expectEqual(@as(u32, 0), too_small.message_count);
    // Room for the first only: the second waits for the next call.
    const first = try parser.nextBatch(&batch.headers, batch.data[0..12]);
    try testing.expectEqual(.ok, first.status);
    try testing.expectEqual(@as(u32, 1), first.message_count);
    try testing.expectEqual(@as(u32, 9), first.data_bytes);
    // One header of room: one message per call.
    const second = try parser.nextBatch(batch.headers[0..abi.batch_header_words], &batch.data);
    try testing.expectEqual(@as(u32, 1), second.message_count);
    try testing.expectEqualStrings("alerts", batch.part(0, .channel));
    const third = try parser.nextBatch(&batch.headers, &batch.data);
    try testing.expectEqual(@as(u32, 1), third.message_count);
    try testing.expectEqualStrings("news", batch.part(0, .channel));
}

test "batch: an error after messages returns them first, then the error" {
    const allocator = testing.allocator;
    const parser = try core.Parser.create(allocator, .{});
    defer parser.destroy();
    try parser.feed(message_news ++ message_alerts ++ "?garbage");
    var batch: Batch = .{};
    const result = try parser.nextBatch(&batch.headers, &batch.data);
    try testing.expectEqual(.ok, result.status);
    try testing.expectEqual(@as(u32, 2), result.message_count);
    try testing.expectError(error.Protocol, parser.nextBatch(&batch.headers, &batch.data));
    try testing.expectError(error.Protocol, parser.nextMessage());
    try testing.expectEqual(@as(u64, 1), parser.counters().errors);
}

test "batch: name ids above 65535 are sent as 0" {
    const allocator = testing.allocator;
    const parser = try core.Parser.create(allocator, .{ .max_interned_names = 70_000 });
    defer parser.destroy();
    var name_buffer: [16]u8 = undefined;
    for (0..65_535) |index| {
        _ = parser.interner.intern(allocator, try std.fmt.bufPrint(&name_buffer, "c{d}", .{index}));
    }
    try parser.feed(message_news ++ pmessage_news);
    var batch: Batch = .{};
    const result = try parser.nextBatch(&batch.headers, &batch.data);
    try testing.expectEqual(@as(u32, 2), result.message_count);
    try testing.expectEqual(@as(u32, 0), batch.header(0)[abi.batch_name_ids]);
    try testing.expectEqual(@as(u32, 0), batch.header(1)[abi.batch_name_ids]);
    try parser.feed(message_news);
    const message = (try parser.nextMessage()).?;
    try testing.expectEqual(@as(u32, 65_536), message.channel_id);
    try parser.freeMessage(message);
}

test "options: reserved fields and unknown flags are refused" {
    const allocator = testing.allocator;
    try testing.expectError(error.InvalidArgument, core.Parser.create(allocator, .{ .reserved = 1 }));
    try testing.expectError(error.InvalidArgument, core.Parser.create(allocator, .{ .flags = 2 }));
    const parser = try core.Parser.create(allocator, .{});
    defer parser.destroy();
    try testing.expectError(error.InvalidArgument, parser.setFlags(4));
    try parser.setFlags(abi.option_resp2_push_arrays);
    try parser.feed("*3\r\n$7\r\nmessage\r\n$1\r\na\r\n$1\r\nb\r\n");
    const message = (try parser.nextMessage()).?;
    try testing.expectEqual(@as(u32, @intFromEnum(abi.Kind.message)), message.kind);
    try parser.freeMessage(message);
}

test "out of memory is a sticky error, not a crash or a leak" {
    var fail_index: usize = 0;
    while (fail_index < 64) : (fail_index += 1) {
        var failing = std.testing.FailingAllocator.init(testing.allocator, .{ .fail_index = fail_index });
        const parser = core.Parser.create(failing.allocator(), .{}) catch continue;
        defer parser.destroy();
        const stream = message_news ++ "*2\r\n*1\r\n:1\r\n:2\r\n" ++ pmessage_news;
        parser.feed(stream) catch |err| {
            try testing.expectEqual(error.OutOfMemory, err);
            continue;
        };
        while (true) {
            const message = parser.nextMessage() catch |err| {
                try testing.expectEqual(error.OutOfMemory, err);
                try testing.expectError(error.OutOfMemory, parser.nextMessage());
                break;
            } orelse break;
            try parser.freeMessage(message);
        }
    }
}

test "seeded random loop: random streams, feeds, both APIs, frees and resets end with nothing live" {
    // A leak-checking allocator without per-allocation stack traces (they dominate the run time).
    var debug_allocator: std.heap.DebugAllocator(.{ .stack_trace_frames = 0 }) = .init;
    var prng = std.Random.DefaultPrng.init(0xC0FFEE);
    const random = prng.random();
    const fuzz = @import("fuzz_loop.zig");
    for (0..3000) |_| try fuzz.iteration(debug_allocator.allocator(), random);
    try testing.expectEqual(.ok, debug_allocator.deinit());
}

/// Every message of `stream` fed in `chunk_length` pieces, digested with the fast path on or off.
const Api = enum { simple, batch, fused };

fn digestOfRun(options: abi.Options, stream: []const u8, chunk_length: usize, fast_path_enabled: bool, api: Api) !u64 {
    const allocator = testing.allocator;
    const parser = try core.Parser.create(allocator, options);
    defer parser.destroy();
    parser.fast_path_enabled = fast_path_enabled;
    var hasher = std.hash.Wyhash.init(0);
    var offset: usize = 0;
    var headers: [3 * abi.batch_header_words]u32 = undefined;
    var data: [256]u8 = undefined;
    outer: while (offset < stream.len) {
        const end = @min(stream.len, offset + chunk_length);
        if (api == .fused) {
            // pw_feed_next_batch: the chunk with the first call, then the bytes it did not take
            // (none, mostly) while the batch says there is more (a full batch or an error after
            // its messages).
            var bytes = stream[offset..end];
            offset = end;
            while (true) {
                const result = parser.feedNextBatch(bytes, &headers, &data) catch |err| {
                    hasher.update(@errorName(err));
                    hasher.update(parser.errorMessage());
                    break :outer;
                };
                bytes = bytes[result.bytes_taken..];
                if (result.status == .ok) {
                    hasher.update(std.mem.sliceAsBytes(headers[0 .. result.message_count * abi.batch_header_words]));
                    hasher.update(data[0..result.data_bytes]);
                } else try testing.expect(result.message_count == 0);
                if (result.stop == .nothing) {
                    try testing.expect(result.status != .buffer_too_small);
                    break;
                }
                // A message larger than the data buffer ends the stream's comparable part; the
                // bytes not taken are fed so the counters compare with pw_feed's.
                if (result.status == .buffer_too_small) {
                    parser.feed(bytes) catch {};
                    break :outer;
                }
            }
            continue;
        }
        parser.feed(stream[offset..end]) catch |err| {
            hasher.update(@errorName(err));
            break;
        };
        offset = end;
        while (true) {
            if (api == .batch) {
                const result = parser.nextBatch(&headers, &data) catch |err| {
                    hasher.update(@errorName(err));
                    hasher.update(parser.errorMessage());
                    break :outer;
                };
                if (result.status == .buffer_too_small) break :outer;
                if (result.status != .ok) break;
                hasher.update(std.mem.sliceAsBytes(headers[0 .. result.message_count * abi.batch_header_words]));
                hasher.update(data[0..result.data_bytes]);
            } else {
                const message = (parser.nextMessage() catch |err| {
                    hasher.update(@errorName(err));
                    hasher.update(parser.errorMessage());
                    break :outer;
                }) orelse break;
                defer parser.freeMessage(message) catch unreachable;
                hasher.update(std.mem.asBytes(&[_]u32{ message.kind, message.flags, message.count, message.channel_id, message.pattern_id }));
                if (message.channel) |channel| hasher.update(channel[0..message.channel_length]);
                if (message.pattern) |pattern| hasher.update(pattern[0..message.pattern_length]);
                if (message.payload) |payload| hasher.update(payload[0..message.payload_length]);
            }
        }
    }
    const counters = parser.counters();
    hasher.update(std.mem.asBytes(&[_]u64{ counters.total_messages, counters.buffered_bytes, counters.errors }));
    return hasher.final();
}

/// Up to `frames_max` frames, mostly pub/sub pushes (one in `one_in` any other frame), and in one
/// stream of `one_in` a corrupted byte, so declines and errors are compared too.
fn randomPubsubStream(allocator: std.mem.Allocator, random: std.Random, frames_max: usize, one_in: u8) !std.ArrayList(u8) {
    var stream: std.ArrayList(u8) = .empty;
    errdefer stream.deinit(allocator);
    const writer: generator.Writer = .{ .random = random, .out = &stream, .allocator = allocator };
    const resp3 = random.boolean();
    for (0..1 + random.uintLessThan(usize, frames_max)) |_| {
        if (random.uintLessThan(u8, one_in) == 0) try writer.frame(resp3) else try writer.pubsubFrame(resp3);
    }
    if (random.uintLessThan(u8, one_in) == 0) stream.items[random.uintLessThan(usize, stream.items.len)] = random.int(u8);
    return stream;
}

test "the message fast path gives exactly what the general path gives (both APIs, any split, any limits)" {
    const allocator = testing.allocator;
    var prng = std.Random.DefaultPrng.init(0x5eed_fa57);
    const random = prng.random();
    for (0..1000) |_| {
        var stream = try randomPubsubStream(allocator, random, 12, 4);
        defer stream.deinit(allocator);
        const small = random.boolean();
        const options: abi.Options = .{
            .flags = if (random.boolean()) abi.option_resp2_push_arrays else 0,
            // Often around the name lengths (7, 8), where a limit must make both paths refuse.
            .max_bulk_length = if (small) random.uintAtMost(u32, if (random.boolean()) 12 else 70) else 0,
            .max_aggregate_length = if (small) random.uintAtMost(u32, 5) else 0,
        };
        const chunk_length = 1 + random.uintLessThan(usize, 80);
        const use_batch = random.boolean();
        // Batch boundaries depend on the split, so each split is compared with itself.
        for ([_]usize{ chunk_length, stream.items.len }) |split_length| {
            const api: Api = if (use_batch) .batch else .simple;
            const expected = try digestOfRun(options, stream.items, split_length, false, api);
            try testing.expectEqual(expected, try digestOfRun(options, stream.items, split_length, true, api));
            if (use_batch) {
                // pw_feed_next_batch reads from the caller's bytes: the same batches as pw_feed + pw_next_batch.
                try testing.expectEqual(expected, try digestOfRun(options, stream.items, split_length, false, .fused));
                try testing.expectEqual(expected, try digestOfRun(options, stream.items, split_length, true, .fused));
            }
        }
    }
}

/// Every message of `stream`, hashed one by one (kind, flags, count, ids, channel, pattern,
/// payload) whatever batch it came in: in-place payloads are read from the chunk they were
/// fed in, so batches that differ only in where payloads live give the same digest. Frames
/// cut with PW_STOP_CUT are assembled as a caller does (testing_support.Assembly).
fn messageDigest(options: abi.Options, stream: []const u8, chunk_length: usize, api: Api) !u64 {
    const allocator = testing.allocator;
    var run: DigestRun = .{ .options = options, .api = api, .parser = try core.Parser.create(allocator, options), .data = try allocator.alloc(u8, 1 << 20) };
    defer run.deinit();
    var offset: usize = 0;
    while (offset < stream.len and !run.ended) {
        const chunk = stream[offset..@min(stream.len, offset + chunk_length)];
        offset += chunk.len;
        if (api != .fused) {
            run.parser.feed(chunk) catch |err| {
                run.hasher.update(@errorName(err));
                break;
            };
            try run.call(&.{});
            continue;
        }
        if (!run.assembly.active()) {
            try run.call(chunk);
            continue;
        }
        // A frame being assembled: the chunk completes it (or not yet), then the rest goes.
        const rest = run.assembly.take(chunk);
        const frame = run.assembly.finished() orelse continue;
        defer allocator.free(frame);
        try run.call(frame);
        if (!run.ended) try run.call(rest);
    }
    run.assembly.flush(allocator, run.parser) catch |err| run.hasher.update(@errorName(err));
    const counters = run.parser.counters();
    run.hasher.update(std.mem.asBytes(&[_]u64{ counters.total_messages, counters.buffered_bytes, counters.errors, counters.total_bytes_fed }));
    return run.hasher.final();
}

const DigestRun = struct {
    options: abi.Options,
    api: Api,
    parser: *core.Parser,
    data: []u8,
    headers: [3 * abi.batch_header_words]u32 = undefined,
    hasher: std.hash.Wyhash = std.hash.Wyhash.init(0),
    assembly: support.Assembly = .{},
    /// The stream ended in an error (hashed).
    ended: bool = false,

    fn deinit(self: *DigestRun) void {
        self.assembly.deinit(testing.allocator);
        testing.allocator.free(self.data);
        self.parser.destroy();
    }

    /// Batches until the parser has nothing complete: from `bytes` with the fused API (then from
    /// the bytes it did not take), from the input buffer otherwise.
    fn call(self: *DigestRun, bytes_given: []const u8) !void {
        const fused = self.api == .fused;
        var bytes = bytes_given;
        while (true) {
            const call_bytes = bytes;
            const result = (if (fused) self.parser.feedNextBatch(bytes, &self.headers, self.data) else self.parser.nextBatch(&self.headers, self.data)) catch |err| {
                self.hasher.update(@errorName(err));
                self.hasher.update(self.parser.errorMessage());
                self.ended = true;
                return;
            };
            try testing.expect(result.status != .buffer_too_small);
            for (0..result.message_count) |index| try self.hashMessage(index, call_bytes);
            bytes = if (fused) bytes[result.bytes_taken..] else &.{};
            if (result.stop == .cut) {
                try testing.expect(self.options.assemble_min_bytes != 0 and result.cut_length >= self.options.assemble_min_bytes);
                try testing.expect(result.cut_length > bytes.len and bytes.len > 0);
                return self.assembly.begin(testing.allocator, result.cut_length, bytes);
            }
            if (result.status != .ok) return;
            if (fused and result.stop == .nothing) return;
        }
    }

    fn hashMessage(self: *DigestRun, index: usize, call_bytes: []const u8) !void {
        const header = self.headers[index * abi.batch_header_words ..][0..abi.batch_header_words];
        const in_input = header[abi.batch_flags] & abi.flag_payload_in_input != 0;
        const start = header[abi.batch_data_offset];
        const channel_end = start + header[abi.batch_channel_length];
        const pattern_end = channel_end + header[abi.batch_pattern_length];
        const payload_length = header[abi.batch_payload_length];
        if (in_input) try testing.expect(payload_length >= self.options.in_place_min_bytes);
        const payload = if (in_input)
            call_bytes[header[abi.batch_payload_input_offset]..][0..payload_length]
        else
            self.data[pattern_end..][0..payload_length];
        const count = if (in_input) 0 else header[abi.batch_count];
        self.hasher.update(std.mem.asBytes(&[_]u32{ header[abi.batch_kind], header[abi.batch_flags] & ~abi.flag_payload_in_input, count, header[abi.batch_name_ids], header[abi.batch_channel_length], header[abi.batch_pattern_length], payload_length }));
        self.hasher.update(self.data[start..pattern_end]);
        self.hasher.update(payload);
    }
};

test "in-place payloads are the bytes a copy would give, and straddling frames lose nothing" {
    const allocator = testing.allocator;
    var prng = std.Random.DefaultPrng.init(0x1a_b1ace);
    const random = prng.random();
    for (0..1000) |_| {
        var stream = try randomPubsubStream(allocator, random, 16, 5);
        defer stream.deinit(allocator);
        var options: abi.Options = .{ .flags = if (random.boolean()) abi.option_resp2_push_arrays else 0 };
        const chunk_length = 1 + random.uintLessThan(usize, 120);
        for ([_]usize{ chunk_length, stream.items.len }) |split_length| {
            options.in_place_min_bytes = 0;
            const expected = try messageDigest(options, stream.items, split_length, .batch);
            try testing.expectEqual(expected, try messageDigest(options, stream.items, split_length, .fused));
            options.in_place_min_bytes = 1 + random.uintLessThan(u32, 40);
            try testing.expectEqual(expected, try messageDigest(options, stream.items, split_length, .fused));
            // Cut frames assembled by the caller: the same messages, errors and counters.
            options.assemble_min_bytes = 1 + random.uintLessThan(u32, 60);
            try testing.expectEqual(expected, try messageDigest(options, stream.items, split_length, .fused));
            options.assemble_min_bytes = 0;
        }
    }
}

test "a frame straddling two chunks is completed with its missing bytes only" {
    const allocator = testing.allocator;
    const parser = try core.Parser.create(allocator, .{ .in_place_min_bytes = 4 });
    defer parser.destroy();
    var headers: [8 * abi.batch_header_words]u32 = undefined;
    var data: [256]u8 = undefined;
    const stream = message_news ++ message_alerts ++ message_news;
    // Split inside the second frame's payload: the first is read in place, the rest buffered alone.
    const split = message_news.len + message_alerts.len - 4;
    var result = try parser.feedNextBatch(stream[0..split], &headers, &data);
    try testing.expectEqual(@as(u32, 1), result.message_count);
    try testing.expectEqual(abi.flag_resp3_push | abi.flag_payload_in_input, headers[abi.batch_flags]);
    try testing.expectEqualStrings("hello", stream[headers[abi.batch_payload_input_offset]..][0..5]);
    try testing.expectEqual(@as(u64, message_alerts.len - 4), parser.counters().buffered_bytes);
    // The next chunk completes it with 4 bytes; the third frame is read from the chunk itself.
    const second_chunk = stream[split..];
    result = try parser.feedNextBatch(second_chunk, &headers, &data);
    try testing.expectEqual(@as(u32, 2), result.message_count);
    try testing.expectEqual(abi.flag_resp3_push, headers[abi.batch_flags]);
    try testing.expectEqual(abi.flag_resp3_push | abi.flag_payload_in_input, headers[abi.batch_header_words + abi.batch_flags]);
    const third_payload = headers[abi.batch_header_words + abi.batch_payload_input_offset];
    try testing.expectEqualStrings("hello", second_chunk[third_payload..][0..5]);
    try testing.expectEqual(@as(u64, 0), parser.counters().buffered_bytes);
    try testing.expectEqual(@as(u64, stream.len), parser.counters().total_bytes_fed);
}

test "with assemble_min_bytes a long frame cut by the chunk's end goes back to the caller, and comes back whole" {
    const allocator = testing.allocator;
    const parser = try core.Parser.create(allocator, .{ .in_place_min_bytes = 4, .assemble_min_bytes = message_alerts.len });
    defer parser.destroy();
    var headers: [8 * abi.batch_header_words]u32 = undefined;
    var data: [256]u8 = undefined;
    const stream = message_news ++ message_alerts ++ message_news;
    // Cut inside the second frame's payload (its length is known from 33 bytes on): the first is
    // read, the second is neither read nor buffered.
    const header_length = 33;
    const split = message_news.len + header_length + 1;
    var result = try parser.feedNextBatch(stream[0..split], &headers, &data);
    try testing.expectEqual(@as(u32, 1), result.message_count);
    try testing.expectEqual(core.BatchResult.Stop.cut, result.stop);
    try testing.expectEqual(@as(u32, message_news.len), result.bytes_taken);
    try testing.expectEqual(@as(u32, message_alerts.len), result.cut_length);
    try testing.expectEqual(@as(u64, 0), parser.counters().buffered_bytes);
    // The caller passes the frame it assembled, then the rest of its next chunk.
    result = try parser.feedNextBatch(message_alerts, &headers, &data);
    try testing.expectEqual(@as(u32, 1), result.message_count);
    try testing.expectEqual(core.BatchResult.Stop.nothing, result.stop);
    try testing.expectEqual(abi.flag_resp3_push, headers[abi.batch_flags]);
    try testing.expectEqualStrings("alertsbye", data[0..9]);
    result = try parser.feedNextBatch(message_news, &headers, &data);
    try testing.expectEqual(@as(u32, 1), result.message_count);
    try testing.expectEqual(@as(u64, 0), parser.counters().buffered_bytes);
    try testing.expectEqual(@as(u64, stream.len), parser.counters().total_bytes_fed);

    // Alone in the chunk: no messages, PW_PENDING, nothing taken.
    result = try parser.feedNextBatch(message_alerts[0..header_length], &headers, &data);
    try testing.expectEqual(.pending, result.status);
    try testing.expectEqual(core.BatchResult.Stop.cut, result.stop);
    try testing.expectEqual(@as(u32, 0), result.bytes_taken);
    parser.reset();

    // Its length not known yet (the header is cut): buffered as before.
    result = try parser.feedNextBatch(message_alerts[0..20], &headers, &data);
    try testing.expectEqual(core.BatchResult.Stop.nothing, result.stop);
    try testing.expectEqual(@as(u64, 20), parser.counters().buffered_bytes);
    parser.reset();

    // Shorter than assemble_min_bytes: buffered as before.
    const higher = try core.Parser.create(allocator, .{ .assemble_min_bytes = message_alerts.len + 1 });
    defer higher.destroy();
    result = try higher.feedNextBatch(message_alerts[0..header_length], &headers, &data);
    try testing.expectEqual(core.BatchResult.Stop.nothing, result.stop);
    try testing.expectEqual(@as(u64, header_length), higher.counters().buffered_bytes);

    // A frame longer than max_queued_bytes allows is buffered, and refused there as without the option.
    const limited = try core.Parser.create(allocator, .{ .assemble_min_bytes = 8, .max_queued_bytes = message_alerts.len - 1 });
    defer limited.destroy();
    result = try limited.feedNextBatch(message_alerts[0..header_length], &headers, &data);
    try testing.expectEqual(core.BatchResult.Stop.nothing, result.stop);
    try testing.expectEqual(@as(u64, header_length), limited.counters().buffered_bytes);
    try testing.expectError(error.QueueFull, limited.feedNextBatch(message_alerts[header_length..], &headers, &data));
}

test "a full batch leaves the rest of the bytes untaken and unbuffered; a message too large for data is buffered alone" {
    const allocator = testing.allocator;
    const parser = try core.Parser.create(allocator, .{});
    defer parser.destroy();
    var headers: [2 * abi.batch_header_words]u32 = undefined;
    var data: [256]u8 = undefined;
    const stream = message_news ++ message_alerts ++ message_news ++ message_alerts ++ message_news;
    var bytes: []const u8 = stream;
    var messages: u32 = 0;
    while (true) {
        const result = try parser.feedNextBatch(bytes, &headers, &data);
        messages += result.message_count;
        // Nothing is ever buffered: every frame is complete in the bytes given.
        try testing.expectEqual(@as(u64, 0), parser.counters().buffered_bytes);
        if (result.stop == .nothing) {
            try testing.expectEqual(@as(u32, @intCast(bytes.len)), result.bytes_taken);
            break;
        }
        try testing.expectEqual(core.BatchResult.Stop.room, result.stop);
        try testing.expect(result.bytes_taken < bytes.len);
        bytes = bytes[result.bytes_taken..];
    }
    try testing.expectEqual(@as(u32, 5), messages);
    try testing.expectEqual(@as(u64, stream.len), parser.counters().total_bytes_fed);

    // 4 bytes of data: "news" + "hello" does not fit; that frame alone is buffered for pw_next_batch.
    const too_large = try parser.feedNextBatch(message_news ++ message_alerts, &headers, data[0..4]);
    try testing.expectEqual(.buffer_too_small, too_large.status);
    try testing.expectEqual(@as(u32, 9), too_large.data_bytes);
    try testing.expectEqual(@as(u32, message_news.len), too_large.bytes_taken);
    try testing.expectEqual(@as(u64, message_news.len), parser.counters().buffered_bytes);
    const own = try parser.nextBatch(&headers, &data);
    try testing.expectEqual(@as(u32, 1), own.message_count);
    try testing.expectEqualStrings("newshello", data[0..9]);
}

test "after a frame the fast path declines, a frame cut by the chunk's end is still completed in place" {
    // The general path reads the declined frame (a subscribe confirmation) and the messages after
    // it from the input buffer; it must not start on the cut frame at the end, or the next chunk
    // could not complete it in place and every chunk after would be buffered whole (measured: a
    // fifth of a 256 B replay stream copied through the buffer once a confirmation shared a chunk).
    const allocator = testing.allocator;
    const parser = try core.Parser.create(allocator, .{ .in_place_min_bytes = 3 });
    defer parser.destroy();
    var headers: [8 * abi.batch_header_words]u32 = undefined;
    var data: [256]u8 = undefined;
    const confirmation = ">3\r\n$9\r\nsubscribe\r\n$4\r\nnews\r\n:1\r\n";
    const stream = confirmation ++ message_news ++ message_alerts ++ message_news ++ message_alerts;
    // Cut inside the third frame's payload.
    const split = confirmation.len + message_news.len + message_alerts.len - 4;
    var result = try parser.feedNextBatch(stream[0..split], &headers, &data);
    try testing.expectEqual(@as(u32, 2), result.message_count);
    try testing.expectEqual(@intFromEnum(abi.Kind.subscribe), headers[abi.batch_kind]);
    try testing.expectEqual(core.BatchResult.Stop.nothing, result.stop);
    try testing.expectEqual(@as(u64, message_alerts.len - 4), parser.counters().buffered_bytes);
    // The cut frame takes only its missing bytes; the two after it are views of the chunk.
    const second_chunk = stream[split..];
    result = try parser.feedNextBatch(second_chunk, &headers, &data);
    try testing.expectEqual(@as(u32, 3), result.message_count);
    try testing.expectEqual(abi.flag_resp3_push, headers[abi.batch_flags]);
    for (1..3) |index| {
        try testing.expectEqual(abi.flag_resp3_push | abi.flag_payload_in_input, headers[index * abi.batch_header_words + abi.batch_flags]);
    }
    try testing.expectEqual(@as(u64, 0), parser.counters().buffered_bytes);
    try testing.expectEqual(@as(u64, stream.len), parser.counters().total_bytes_fed);
}

test "a repeated header is read like any other: same ids, same refusals, forgotten when the flags change" {
    const allocator = testing.allocator;
    var headers: [8 * abi.batch_header_words]u32 = undefined;
    var data: [512]u8 = undefined;
    // RESP2 arrays are messages only with PW_OPTION_RESP2_PUSH_ARRAYS: the header of the first is
    // remembered, and must not make the same bytes a message once the flag is off.
    const array_news = "*3\r\n$7\r\nmessage\r\n$4\r\nnews\r\n$5\r\nhello\r\n";
    const parser = try core.Parser.create(allocator, .{ .flags = abi.option_resp2_push_arrays });
    defer parser.destroy();
    var result = try parser.feedNextBatch(array_news ++ array_news, &headers, &data);
    try testing.expectEqual(@as(u32, 2), result.message_count);
    try testing.expectEqual(headers[abi.batch_name_ids], headers[abi.batch_header_words + abi.batch_name_ids]);
    try testing.expect(parser.repeated_header.length != 0);
    try parser.setFlags(0);
    result = try parser.feedNextBatch(array_news, &headers, &data);
    try testing.expectEqual(@as(u32, 1), result.message_count);
    try testing.expectEqual(@intFromEnum(abi.Kind.reply), headers[abi.batch_kind]);

    // The same header before a payload bulk that is malformed: refused as the general path refuses it.
    const bad_payload = ">3\r\n$7\r\nmessage\r\n$4\r\nnews\r\n$5\r\nhelloXY";
    const stream = message_news ++ message_news ++ bad_payload;
    var digests: [2]u64 = undefined;
    for ([_]bool{ true, false }, 0..) |fast, index| {
        const each = try core.Parser.create(allocator, .{});
        defer each.destroy();
        each.fast_path_enabled = fast;
        var hasher = std.hash.Wyhash.init(0);
        const outcome = each.feedNextBatch(stream, &headers, &data);
        if (outcome) |kept| {
            hasher.update(std.mem.sliceAsBytes(headers[0 .. kept.message_count * abi.batch_header_words]));
            hasher.update(std.mem.asBytes(&kept.stop));
        } else |err| hasher.update(@errorName(err));
        const next = each.feedNextBatch(&.{}, &headers, &data);
        if (next) |_| {} else |err| hasher.update(@errorName(err));
        hasher.update(each.errorMessage());
        digests[index] = hasher.final();
    }
    try testing.expectEqual(digests[1], digests[0]);

    // A header longer than RepeatedHeader.length_max is not remembered; its frames still read.
    const long_channel = "c" ** 120;
    const long_message = ">3\r\n$7\r\nmessage\r\n$120\r\n" ++ long_channel ++ "\r\n$2\r\nhi\r\n";
    const long_parser = try core.Parser.create(allocator, .{});
    defer long_parser.destroy();
    result = try long_parser.feedNextBatch(long_message ++ long_message, &headers, &data);
    try testing.expectEqual(@as(u32, 2), result.message_count);
    try testing.expectEqual(@as(u32, 0), long_parser.repeated_header.length);
}
