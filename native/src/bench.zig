//! bench.zig — `pushwire-bench [messages]`: the ceiling of the native core, with no FFI and no JS.
//! For payloads of 16 B, 256 B, 4 KiB and 64 KiB it pre-encodes a stream of RESP3
//! `>3 $7 message $<n> <channel> $<n> <payload>` pushes, feeds it in 64 KiB chunks (as socket reads
//! arrive) and drains it through the exported C functions: the simple API (pw_next_message +
//! pw_free_message per message) and the batch API (pw_next_batch into caller buffers).
//! Reports messages/s and MB/s of wire bytes (MB = 10^6 bytes), best of three runs.

const std = @import("std");
const abi = @import("abi.zig");
const lib = @import("lib.zig");

const payload_sizes = [_]usize{ 16, 256, 4096, 65536 };
const feed_chunk_length = 64 * 1024;
/// Bounds each stream to ~256 MiB so large payloads do not exhaust memory.
const stream_length_max = 256 * 1024 * 1024;
const batch_messages_max = 256;
const runs = 3;

const Api = enum { simple, batch };

pub fn main() !void {
    const allocator = std.heap.c_allocator;
    var arguments = std.process.args();
    _ = arguments.skip();
    const messages_requested: usize = if (arguments.next()) |text| try std.fmt.parseInt(usize, text, 10) else 1_000_000;
    const only_payload_size: ?usize = if (arguments.next()) |text| try std.fmt.parseInt(usize, text, 10) else null;

    printLine("pushwire-bench: native core ceiling (ReleaseFast recommended), {d} KiB feeds\n", .{feed_chunk_length / 1024});
    printLine("{s:>8} {s:>9} {s:>7} {s:>14} {s:>10} {s:>9}\n", .{ "payload", "messages", "api", "msgs/s", "MB/s", "ns/msg" });
    for (payload_sizes) |payload_size| {
        if (only_payload_size) |only| if (only != payload_size) continue;
        const stream = try encodeStream(allocator, payload_size, messages_requested);
        defer allocator.free(stream.bytes);
        for ([_]Api{ .simple, .batch }) |api| {
            var best_ns: u64 = std.math.maxInt(u64);
            for (0..runs) |_| best_ns = @min(best_ns, try drainTimed(allocator, stream, api));
            const seconds = @as(f64, @floatFromInt(best_ns)) / std.time.ns_per_s;
            const messages: f64 = @floatFromInt(stream.message_count);
            printLine("{d:>8} {d:>9} {s:>7} {d:>14.0} {d:>10.1} {d:>9.1}\n", .{
                payload_size,
                stream.message_count,
                @tagName(api),
                messages / seconds,
                @as(f64, @floatFromInt(stream.bytes.len)) / seconds / 1e6,
                @as(f64, @floatFromInt(best_ns)) / messages,
            });
        }
    }
}

fn printLine(comptime format: []const u8, arguments: anytype) void {
    var buffer: [256]u8 = undefined;
    const line = std.fmt.bufPrint(&buffer, format, arguments) catch return;
    std.fs.File.stdout().writeAll(line) catch {};
}

const Stream = struct { bytes: []u8, message_count: usize };

fn encodeStream(allocator: std.mem.Allocator, payload_size: usize, messages_requested: usize) !Stream {
    const channel = "bench:channel";
    var header_buffer: [64]u8 = undefined;
    const frame_head = try std.fmt.bufPrint(&header_buffer, ">3\r\n$7\r\nmessage\r\n${d}\r\n{s}\r\n${d}\r\n", .{ channel.len, channel, payload_size });
    const frame_length = frame_head.len + payload_size + 2;
    const message_count = @max(1, @min(messages_requested, stream_length_max / frame_length));
    const bytes = try allocator.alloc(u8, frame_length * message_count);
    for (0..message_count) |index| {
        const frame = bytes[index * frame_length ..][0..frame_length];
        @memcpy(frame[0..frame_head.len], frame_head);
        @memset(frame[frame_head.len..][0..payload_size], @truncate('a' + index % 26));
        @memcpy(frame[frame_length - 2 ..], "\r\n");
    }
    return .{ .bytes = bytes, .message_count = message_count };
}

/// Feeds and drains the whole stream; returns the elapsed nanoseconds.
fn drainTimed(allocator: std.mem.Allocator, stream: Stream, api: Api) !u64 {
    const parser = lib.pw_parser_new(null) orelse return error.OutOfMemory;
    defer lib.pw_parser_free(parser);
    const headers = try allocator.alloc(u32, batch_messages_max * abi.batch_header_words);
    defer allocator.free(headers);
    const data = try allocator.alloc(u8, 1024 * 1024);
    defer allocator.free(data);

    var received: usize = 0;
    var checksum: u64 = 0;
    var timer = try std.time.Timer.start();
    var offset: usize = 0;
    while (offset < stream.bytes.len) {
        const end = @min(stream.bytes.len, offset + feed_chunk_length);
        if (lib.pw_feed(parser, stream.bytes[offset..].ptr, @intCast(end - offset)) != abi.status_ok) return error.FeedFailed;
        offset = end;
        switch (api) {
            .simple => received += try drainSimple(parser, &checksum),
            .batch => received += try drainBatch(parser, headers, data, &checksum),
        }
    }
    const elapsed_ns = timer.read();
    std.mem.doNotOptimizeAway(checksum);
    if (received != stream.message_count) return error.MessagesLost;
    return elapsed_ns;
}

fn drainSimple(parser: *lib.ParserHandle, checksum: *u64) !usize {
    var count: usize = 0;
    while (true) {
        var message: ?*abi.Message = null;
        const status = lib.pw_next_message(parser, &message);
        if (status == abi.status_pending) return count;
        if (status != abi.status_ok) return error.ParseFailed;
        // Touch what a consumer reads: the header and the payload's last byte.
        checksum.* +%= message.?.payload_length + message.?.channel_id + message.?.payload.?[message.?.payload_length - 1];
        if (lib.pw_free_message(parser, message) != abi.status_ok) return error.FreeFailed;
        count += 1;
    }
}

fn drainBatch(parser: *lib.ParserHandle, headers: []u32, data: []u8, checksum: *u64) !usize {
    var count: usize = 0;
    var out: [2]u32 = undefined;
    while (true) {
        const status = lib.pw_next_batch(parser, headers.ptr, batch_messages_max, data.ptr, @intCast(data.len), &out);
        if (status == abi.status_pending) return count;
        if (status != abi.status_ok) return error.ParseFailed;
        for (0..out[0]) |index| {
            const words = headers[index * abi.batch_header_words ..][0..abi.batch_header_words];
            const payload_end = words[abi.batch_data_offset] + words[abi.batch_channel_length] + words[abi.batch_payload_length];
            checksum.* +%= words[abi.batch_payload_length] + words[abi.batch_name_ids] + data[payload_end - 1];
        }
        count += out[0];
    }
}
