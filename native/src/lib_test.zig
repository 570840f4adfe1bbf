//! lib_test.zig — method: calls the exported pw_* functions directly, as C would, to check
//! argument handling (NULLs, zero lengths, bad options), status mapping and buffer copying.

const std = @import("std");
const testing = std.testing;
const abi = @import("abi.zig");
const lib = @import("lib.zig");

const pw_abi_version = lib.pw_abi_version;
const pw_parser_new = lib.pw_parser_new;
const pw_parser_free = lib.pw_parser_free;
const pw_reset = lib.pw_reset;
const pw_feed = lib.pw_feed;
const pw_next_message = lib.pw_next_message;
const pw_free_message = lib.pw_free_message;
const pw_next_batch = lib.pw_next_batch;
const pw_error_message = lib.pw_error_message;
const pw_stats = lib.pw_stats;
const pw_set_flags = lib.pw_set_flags;
const pw_interned_name = lib.pw_interned_name;
const pw_key_slot = lib.pw_key_slot;
const pw_glob_match = lib.pw_glob_match;

fn feed(parser: ?*lib.ParserHandle, bytes: []const u8) abi.Status {
    return pw_feed(parser, bytes.ptr, @intCast(bytes.len));
}

test "version, NULL handling and bad options" {
    try testing.expectEqual(@as(u32, 2), pw_abi_version());
    pw_parser_free(null);
    try testing.expectEqual(abi.status_error_invalid_argument, pw_reset(null));
    try testing.expectEqual(abi.status_error_invalid_argument, pw_feed(null, "x", 1));
    var message: ?*abi.Message = null;
    try testing.expectEqual(abi.status_error_invalid_argument, pw_next_message(null, &message));
    try testing.expectEqual(abi.status_error_invalid_argument, pw_free_message(null, null));
    var counters: abi.Counters = .{};
    try testing.expectEqual(abi.status_error_invalid_argument, pw_stats(null, &counters));
    try testing.expectEqual(@as(u32, 0), pw_error_message(null, null, 0));
    try testing.expectEqual(@as(u32, 0), pw_interned_name(null, 1, null, 0));
    const reserved: abi.Options = .{ .reserved = 1 };
    try testing.expect(pw_parser_new(&reserved) == null);
    const unknown_flag: abi.Options = .{ .flags = 0x80 };
    try testing.expect(pw_parser_new(&unknown_flag) == null);

    const parser = pw_parser_new(null).?;
    defer pw_parser_free(parser);
    try testing.expectEqual(abi.status_error_invalid_argument, pw_feed(parser, null, 3));
    try testing.expectEqual(abi.status_ok, pw_feed(parser, null, 0));
    try testing.expectEqual(abi.status_error_invalid_argument, pw_next_message(parser, null));
    try testing.expectEqual(abi.status_ok, pw_free_message(parser, null));
    try testing.expectEqual(abi.status_error_invalid_argument, pw_stats(parser, null));
    try testing.expectEqual(abi.status_error_invalid_argument, pw_set_flags(parser, 0x10));
    var out: [2]u32 = .{ 7, 7 };
    var headers: [abi.batch_header_words]u32 = undefined;
    try testing.expectEqual(abi.status_error_invalid_argument, pw_next_batch(parser, &headers, 0, null, 0, &out));
    try testing.expectEqual(abi.status_error_invalid_argument, pw_next_batch(parser, null, 1, null, 0, &out));
    try testing.expectEqual(abi.status_error_invalid_argument, pw_next_batch(parser, &headers, 1, null, 5, &out));
    try testing.expectEqual(abi.status_error_invalid_argument, pw_next_batch(parser, &headers, 1, null, 0, null));
    try testing.expectEqual(abi.status_pending, pw_next_batch(parser, &headers, 1, null, 0, &out));
    try testing.expectEqual([2]u32{ 0, 0 }, out);
}

test "a stream through the C ABI: messages, batch, errors, stats, interned names" {
    const parser = pw_parser_new(null).?;
    defer pw_parser_free(parser);
    var message: ?*abi.Message = undefined;
    try testing.expectEqual(abi.status_pending, pw_next_message(parser, &message));
    try testing.expect(message == null);
    try testing.expectEqual(abi.status_ok, feed(parser, ">3\r\n$7\r\nmessage\r\n$4\r\nnews\r\n$2\r\nhi\r\n>3\r\n$8\r\nsmessage\r\n$4\r\nnews\r\n$0\r\n\r\n"));
    try testing.expectEqual(abi.status_ok, pw_next_message(parser, &message));
    const first = message.?;
    try testing.expectEqual(@as(u32, 1), first.channel_id);
    var name: [2]u8 = undefined;
    try testing.expectEqual(@as(u32, 4), pw_interned_name(parser, first.channel_id, &name, name.len));
    try testing.expectEqualStrings("ne", &name);
    try testing.expectEqual(@as(u32, 0), pw_interned_name(parser, 99, &name, name.len));

    var headers: [2 * abi.batch_header_words]u32 = undefined;
    var out: [2]u32 = undefined;
    // A zero-capacity data buffer fits a message with no bytes... but this one has a channel.
    try testing.expectEqual(abi.status_buffer_too_small, pw_next_batch(parser, &headers, 2, null, 0, &out));
    try testing.expectEqual([2]u32{ 0, 4 }, out);
    var data: [4]u8 = undefined;
    try testing.expectEqual(abi.status_ok, pw_next_batch(parser, &headers, 2, &data, data.len, &out));
    try testing.expectEqual([2]u32{ 1, 4 }, out);

    try testing.expectEqual(abi.status_ok, pw_free_message(parser, first));
    try testing.expectEqual(abi.status_error_foreign_message, pw_free_message(parser, first));

    try testing.expectEqual(abi.status_ok, feed(parser, "$3\r\nabcXY"));
    try testing.expectEqual(abi.status_error_protocol, pw_next_message(parser, &message));
    try testing.expect(message == null);
    try testing.expectEqual(abi.status_error_protocol, feed(parser, "+OK\r\n"));
    try testing.expectEqual(abi.status_error_protocol, pw_next_batch(parser, &headers, 2, &data, data.len, &out));
    var text: [8]u8 = undefined;
    const full_length = pw_error_message(parser, &text, text.len);
    const expected = "protocol error at offset 76: expected CRLF after bulk string of 3 bytes";
    try testing.expectEqual(@as(u32, expected.len), full_length);
    try testing.expectEqualStrings(expected[0..8], &text);

    var counters: abi.Counters = undefined;
    try testing.expectEqual(abi.status_ok, pw_stats(parser, &counters));
    try testing.expectEqual(@as(u64, 0), counters.live_messages);
    try testing.expectEqual(@as(u64, 2), counters.total_messages);
    try testing.expectEqual(@as(u64, 1), counters.errors);
    try testing.expectEqual(abi.status_ok, pw_reset(parser));
    try testing.expectEqual(@as(u32, 0), pw_error_message(parser, &text, text.len));
    try testing.expectEqual(abi.status_ok, feed(parser, "+OK\r\n"));
    try testing.expectEqual(abi.status_ok, pw_next_message(parser, &message));
    try testing.expectEqual(@as(u32, @intFromEnum(abi.Kind.reply)), message.?.kind);
    // Left outstanding on purpose: pw_parser_free releases it.
}

test "key slot and glob through the C ABI" {
    try testing.expectEqual(@as(u32, 12182), pw_key_slot("foo", 3));
    try testing.expectEqual(@as(u32, 0), pw_key_slot(null, 0));
    try testing.expectEqual(@as(u32, 1), pw_glob_match("news.*", 6, "news.eu", 7));
    try testing.expectEqual(@as(u32, 0), pw_glob_match("news.*", 6, "sport", 5));
    try testing.expectEqual(@as(u32, 1), pw_glob_match(null, 0, null, 0));
}
