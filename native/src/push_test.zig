//! push_test.zig — method: real Parser over in-memory frames; checks the kind, flags, count,
//! names and payload of every classification, RESP2/RESP3 equivalence, and every shape error.

const std = @import("std");
const testing = std.testing;
const abi = @import("abi.zig");
const core = @import("core.zig");
const support = @import("testing_support.zig");
const Error = @import("errors.zig").Error;

const resp2: abi.Options = .{ .flags = abi.option_resp2_push_arrays };

fn expectMessage(options: abi.Options, stream: []const u8, kind: abi.Kind, channel: []const u8, pattern: []const u8, payload: []const u8) !support.Collected {
    const allocator = testing.allocator;
    const message = try support.single(allocator, options, stream);
    errdefer message.deinit(allocator);
    try testing.expectEqual(@intFromEnum(kind), message.kind);
    try testing.expectEqualSlices(u8, channel, message.channel);
    try testing.expectEqualSlices(u8, pattern, message.pattern);
    try testing.expectEqualSlices(u8, payload, message.payload);
    return message;
}

/// The same push in RESP3 and (with the option) RESP2 form: identical but for the RESP3 flag.
fn expectBothForms(body: []const u8, element_count: u8, kind: abi.Kind, channel: []const u8, pattern: []const u8, payload: []const u8) !void {
    const allocator = testing.allocator;
    var resp3_stream: [512]u8 = undefined;
    var resp2_stream: [512]u8 = undefined;
    const resp3_frame = try std.fmt.bufPrint(&resp3_stream, ">{d}\r\n{s}", .{ element_count, body });
    const resp2_frame = try std.fmt.bufPrint(&resp2_stream, "*{d}\r\n{s}", .{ element_count, body });
    const from_resp3 = try expectMessage(.{}, resp3_frame, kind, channel, pattern, payload);
    defer from_resp3.deinit(allocator);
    const from_resp2 = try expectMessage(resp2, resp2_frame, kind, channel, pattern, payload);
    defer from_resp2.deinit(allocator);
    try testing.expect(from_resp3.flags & abi.flag_resp3_push != 0);
    try testing.expect(from_resp2.flags & abi.flag_resp3_push == 0);
    var same = from_resp2;
    same.flags |= abi.flag_resp3_push;
    try from_resp3.expectEqual(same);
    // Without the option, the RESP2 array is a plain reply carrying its raw bytes.
    const reply = try expectMessage(.{}, resp2_frame, .reply, "", "", resp2_frame);
    reply.deinit(allocator);
}

test "message, pmessage, smessage" {
    try expectBothForms("$7\r\nmessage\r\n$4\r\nnews\r\n$5\r\nhello\r\n", 3, .message, "news", "", "hello");
    try expectBothForms("$8\r\npmessage\r\n$2\r\nn*\r\n$4\r\nnews\r\n$5\r\nhello\r\n", 4, .pmessage, "news", "n*", "hello");
    try expectBothForms("$8\r\nsmessage\r\n$4\r\nnews\r\n$0\r\n\r\n", 3, .smessage, "news", "", "");
    // Binary payloads with CRLF inside, and case-insensitive names, and simple strings as names.
    try expectBothForms("$7\r\nMESSAGE\r\n$4\r\nnews\r\n$4\r\n\r\n\r\n\r\n", 3, .message, "news", "", "\r\n\r\n");
    try expectBothForms("+message\r\n+news\r\n+hi\r\n", 3, .message, "news", "", "hi");
}

test "subscribe family carries the count and null channels" {
    const allocator = testing.allocator;
    try expectBothForms("$9\r\nsubscribe\r\n$4\r\nnews\r\n:1\r\n", 3, .subscribe, "news", "", "");
    try expectBothForms("$10\r\npsubscribe\r\n$2\r\nn*\r\n:2\r\n", 3, .psubscribe, "n*", "", "");
    try expectBothForms("$10\r\nssubscribe\r\n$4\r\nnews\r\n:1\r\n", 3, .ssubscribe, "news", "", "");
    try expectBothForms("$11\r\nunsubscribe\r\n$4\r\nnews\r\n:0\r\n", 3, .unsubscribe, "news", "", "");
    try expectBothForms("$12\r\npunsubscribe\r\n$2\r\nn*\r\n:0\r\n", 3, .punsubscribe, "n*", "", "");
    try expectBothForms("$12\r\nsunsubscribe\r\n$4\r\nnews\r\n:0\r\n", 3, .sunsubscribe, "news", "", "");
    try expectBothForms("$11\r\nunsubscribe\r\n$-1\r\n:0\r\n", 3, .unsubscribe, "", "", "");

    const counted = try expectMessage(.{}, ">3\r\n$9\r\nsubscribe\r\n$4\r\nnews\r\n:4294967295\r\n", .subscribe, "news", "", "");
    defer counted.deinit(allocator);
    try testing.expectEqual(@as(u32, 4294967295), counted.count);
    try testing.expectEqual(@as(u32, 1), counted.channel_id);

    const null_channel = try expectMessage(.{}, ">3\r\n$11\r\nunsubscribe\r\n_\r\n:0\r\n", .unsubscribe, "", "", "");
    defer null_channel.deinit(allocator);
    try testing.expectEqual(abi.flag_null_channel | abi.flag_resp3_push, null_channel.flags);
    try testing.expectEqual(@as(u32, 0), null_channel.channel_id);
}

test "pong, invalidate, other pushes" {
    const allocator = testing.allocator;
    try expectBothForms("$4\r\npong\r\n$0\r\n\r\n", 2, .pong, "", "", "");
    try expectBothForms("$4\r\nPONG\r\n$5\r\nhello\r\n", 2, .pong, "", "", "hello");
    try expectBothForms("$10\r\ninvalidate\r\n*1\r\n$3\r\nkey\r\n", 2, .invalidate, "", "", "*1\r\n$3\r\nkey\r\n");
    try expectBothForms("$10\r\ninvalidate\r\n_\r\n", 2, .invalidate, "", "", "_\r\n");

    const other_frame = ">2\r\n$7\r\ntracked\r\n:1\r\n";
    const other = try expectMessage(.{}, other_frame, .other_push, "tracked", "", other_frame);
    defer other.deinit(allocator);
    try testing.expect(other.channel_id != 0);
    const nameless_frame = ">1\r\n:1\r\n";
    (try expectMessage(.{}, nameless_frame, .other_push, "", "", nameless_frame)).deinit(allocator);
    (try expectMessage(.{}, ">0\r\n", .other_push, "", "", ">0\r\n")).deinit(allocator);
    // A RESP2 array with an unknown first element stays a reply even with the option.
    const array = "*2\r\n$7\r\ntracked\r\n:1\r\n";
    (try expectMessage(resp2, array, .reply, "", "", array)).deinit(allocator);
    (try expectMessage(resp2, "*0\r\n", .reply, "", "", "*0\r\n")).deinit(allocator);
    (try expectMessage(resp2, "*1\r\n:1\r\n", .reply, "", "", "*1\r\n:1\r\n")).deinit(allocator);
}

test "RESP2 client-tracking REDIRECT: a message on __redis__:invalidate with an array or null payload is an invalidation" {
    // Was a sticky PUSH_SHAPE error: the array payload broke the message shape check.
    const channel = "$20\r\n__redis__:invalidate\r\n";
    const keys = "*2\r\n$1\r\na\r\n$3\r\nkey\r\n";
    try expectBothForms("$7\r\nmessage\r\n" ++ channel ++ keys, 3, .invalidate, "", "", keys);
    try expectBothForms("$7\r\nmessage\r\n" ++ channel ++ "*-1\r\n", 3, .invalidate, "", "", "*-1\r\n");
    try expectBothForms("$7\r\nmessage\r\n" ++ channel ++ "$-1\r\n", 3, .invalidate, "", "", "$-1\r\n");
    try expectBothForms("$7\r\nmessage\r\n" ++ channel ++ "_\r\n", 3, .invalidate, "", "", "_\r\n");
    // Same event as the RESP3 push: identical message but for the RESP3 flag.
    const allocator = testing.allocator;
    const redirected = try expectMessage(resp2, "*3\r\n$7\r\nmessage\r\n" ++ channel ++ keys, .invalidate, "", "", keys);
    defer redirected.deinit(allocator);
    const pushed = try expectMessage(.{}, ">2\r\n$10\r\ninvalidate\r\n" ++ keys, .invalidate, "", "", keys);
    defer pushed.deinit(allocator);
    var same = redirected;
    same.flags |= abi.flag_resp3_push;
    try pushed.expectEqual(same);
    // A string published on that channel stays a message; other channels and kinds keep the check.
    try expectBothForms("$7\r\nmessage\r\n" ++ channel ++ "$2\r\nhi\r\n", 3, .message, "__redis__:invalidate", "", "hi");
    try support.expectStreamError(Error.PushShape, resp2, "*3\r\n$7\r\nmessage\r\n$4\r\nnews\r\n" ++ keys);
    try support.expectStreamError(Error.PushShape, resp2, "*3\r\n$8\r\nsmessage\r\n" ++ channel ++ keys);
    try support.expectStreamError(Error.PushShape, resp2, "*3\r\n$7\r\nmessage\r\n" ++ channel ++ ":1\r\n");
}

test "replies carry raw bytes without top-level attributes; errors carry their text" {
    const allocator = testing.allocator;
    (try expectMessage(.{}, "+OK\r\n", .reply, "", "", "+OK\r\n")).deinit(allocator);
    (try expectMessage(.{}, "|1\r\n+a\r\n+b\r\n:5\r\n", .reply, "", "", ":5\r\n")).deinit(allocator);
    (try expectMessage(.{}, "%1\r\n+a\r\n|1\r\n+b\r\n+c\r\n:1\r\n", .reply, "", "", "%1\r\n+a\r\n|1\r\n+b\r\n+c\r\n:1\r\n")).deinit(allocator);
    (try expectMessage(.{}, "-ERR unknown command 'FOO'\r\n", .error_reply, "", "", "ERR unknown command 'FOO'")).deinit(allocator);
    (try expectMessage(.{}, "!10\r\nERR a\r\nbcd\r\n", .error_reply, "", "", "ERR a\r\nbcd")).deinit(allocator);
    (try expectMessage(.{}, "-\r\n", .error_reply, "", "", "")).deinit(allocator);
    (try expectMessage(.{}, "$-1\r\n", .reply, "", "", "$-1\r\n")).deinit(allocator);
    // An attribute before a push does not disturb it.
    (try expectMessage(.{}, "|1\r\n+a\r\n+b\r\n>3\r\n$7\r\nmessage\r\n$1\r\nc\r\n$1\r\np\r\n", .message, "c", "", "p")).deinit(allocator);
    // An attribute inside a push before an element is skipped when reading that element.
    (try expectMessage(.{}, ">3\r\n$7\r\nmessage\r\n|1\r\n+a\r\n+b\r\n$1\r\nc\r\n$1\r\np\r\n", .message, "c", "", "p")).deinit(allocator);
}

test "wrong push shapes are sticky PUSH_SHAPE errors that say where" {
    const cases = [_][]const u8{
        ">2\r\n$7\r\nmessage\r\n$4\r\nnews\r\n",
        ">4\r\n$7\r\nmessage\r\n$4\r\nnews\r\n$1\r\na\r\n$1\r\nb\r\n",
        ">3\r\n$7\r\nmessage\r\n:1\r\n$1\r\na\r\n",
        ">3\r\n$7\r\nmessage\r\n$4\r\nnews\r\n*1\r\n$1\r\na\r\n",
        ">3\r\n$7\r\nmessage\r\n$-1\r\n$1\r\na\r\n",
        ">3\r\n$8\r\npmessage\r\n$1\r\na\r\n$1\r\nb\r\n",
        ">4\r\n$8\r\npmessage\r\n$1\r\na\r\n$1\r\nb\r\n:1\r\n",
        ">3\r\n$9\r\nsubscribe\r\n$4\r\nnews\r\n$1\r\n1\r\n",
        ">3\r\n$9\r\nsubscribe\r\n_\r\n:1\r\n",
        ">3\r\n$9\r\nsubscribe\r\n$4\r\nnews\r\n:-1\r\n",
        ">3\r\n$9\r\nsubscribe\r\n$4\r\nnews\r\n:4294967296\r\n",
        ">3\r\n$11\r\nunsubscribe\r\n:1\r\n:1\r\n",
        ">1\r\n$4\r\npong\r\n",
        ">2\r\n$4\r\npong\r\n:1\r\n",
        ">3\r\n$10\r\ninvalidate\r\n_\r\n_\r\n",
        "*3\r\n$7\r\nmessage\r\n:1\r\n$1\r\na\r\n",
    };
    for (cases) |case| {
        support.expectStreamError(Error.PushShape, resp2, case) catch |err| {
            std.debug.print("case {any} did not give a shape error\n", .{case});
            return err;
        };
    }
    const allocator = testing.allocator;
    const instance = try core.Parser.create(allocator, .{});
    defer instance.destroy();
    try instance.feed("+OK\r\n>3\r\n$7\r\nmessage\r\n:1\r\n$1\r\na\r\n>3\r\n$7\r\nmessage\r\n$1\r\na\r\n$1\r\nb\r\n");
    try instance.freeMessage((try instance.nextMessage()).?);
    try testing.expectError(error.PushShape, instance.nextMessage());
    try testing.expectEqualStrings(
        "push shape error at offset 22: 'message' push element 1 must be a bulk string, found type ':'",
        instance.errorMessage(),
    );
    try testing.expectError(error.PushShape, instance.nextMessage());
    instance.reset();
    try testing.expectEqual(@as(?*abi.Message, null), try instance.nextMessage());
}
