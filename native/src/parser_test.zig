//! parser_test.zig — method: real Reader and Parser over in-memory byte streams (no sockets, no
//! fakes); every RESP type, nesting, attributes, every limit and malformed case, feeds split at
//! every byte position, and a proof that partial frames are not re-scanned.

const std = @import("std");
const testing = std.testing;
const abi = @import("abi.zig");
const parser = @import("parser.zig");
const support = @import("testing_support.zig");
const generator = @import("resp_generator.zig");

const default_limits: parser.Limits = .{
    .max_bulk_length = abi.default_max_bulk_length,
    .max_nesting_depth = abi.default_max_nesting_depth,
    .max_aggregate_length = abi.default_max_aggregate_length,
};

/// Reads exactly one frame from `stream` and expects it to span all of it.
fn expectOneFrame(stream: []const u8, type_byte: u8, element_count: u64) !void {
    const allocator = testing.allocator;
    var reader: parser.Reader = .{};
    defer reader.deinit(allocator);
    try reader.append(allocator, stream);
    const frame = (try reader.next(allocator, default_limits)).?;
    try testing.expectEqual(type_byte, frame.type_byte);
    try testing.expectEqual(element_count, frame.element_count);
    try testing.expectEqualSlices(u8, stream, frame.bytes);
    reader.consume(allocator);
    try testing.expect(try reader.next(allocator, default_limits) == null);
    try testing.expectEqual(@as(usize, 0), reader.bufferedBytes());
}

test "every RESP2 and RESP3 type is one frame" {
    try expectOneFrame("+OK\r\n", '+', 0);
    try expectOneFrame("+\r\n", '+', 0);
    try expectOneFrame("-ERR unknown command\r\n", '-', 0);
    try expectOneFrame(":0\r\n", ':', 0);
    try expectOneFrame(":-9223372036854775808\r\n", ':', 0);
    try expectOneFrame(":9223372036854775807\r\n", ':', 0);
    try expectOneFrame("$5\r\nhello\r\n", '$', 0);
    try expectOneFrame("$0\r\n\r\n", '$', 0);
    try expectOneFrame("$4\r\na\r\nb\r\n", '$', 0);
    try expectOneFrame("$-1\r\n", '$', 0);
    try expectOneFrame("*-1\r\n", '*', 0);
    try expectOneFrame("*0\r\n", '*', 0);
    try expectOneFrame("_\r\n", '_', 0);
    try expectOneFrame(",3.14\r\n", ',', 0);
    try expectOneFrame(",-inf\r\n", ',', 0);
    try expectOneFrame(",nan\r\n", ',', 0);
    try expectOneFrame(",1.5e-10\r\n", ',', 0);
    try expectOneFrame("#t\r\n", '#', 0);
    try expectOneFrame("#f\r\n", '#', 0);
    try expectOneFrame("(3492890328409238509324850943850943825024385\r\n", '(', 0);
    try expectOneFrame("(-1\r\n", '(', 0);
    try expectOneFrame("!21\r\nSYNTAX invalid syntax\r\n", '!', 0);
    try expectOneFrame("=15\r\ntxt:Some string\r\n", '=', 0);
    try expectOneFrame("*2\r\n$3\r\nfoo\r\n:1\r\n", '*', 2);
    try expectOneFrame("%2\r\n+first\r\n:1\r\n+second\r\n:2\r\n", '%', 4);
    try expectOneFrame("~3\r\n+a\r\n+b\r\n+c\r\n", '~', 3);
    try expectOneFrame(">3\r\n$7\r\nmessage\r\n$4\r\nnews\r\n$2\r\nhi\r\n", '>', 3);
    try expectOneFrame("%0\r\n", '%', 0);
    try expectOneFrame("~0\r\n", '~', 0);
}

test "nested aggregates, nested attributes and top-level attributes" {
    try expectOneFrame("*2\r\n*2\r\n:1\r\n:2\r\n%1\r\n+k\r\n~1\r\n*0\r\n", '*', 2);
    try expectOneFrame("*3\r\n*1\r\n*1\r\n*1\r\n:1\r\n_\r\n*-1\r\n", '*', 3);
    // An attribute inside an aggregate is not one of its elements.
    try expectOneFrame("*2\r\n|1\r\n+ttl\r\n:3\r\n:1\r\n:2\r\n", '*', 2);
    try expectOneFrame("*1\r\n|0\r\n:1\r\n", '*', 1);

    // A top-level attribute is dropped; the frame after it starts at its own first byte.
    const allocator = testing.allocator;
    var reader: parser.Reader = .{};
    defer reader.deinit(allocator);
    try reader.append(allocator, "|1\r\n+key-popularity\r\n%1\r\n$1\r\na\r\n,0.19\r\n*2\r\n:1\r\n:2\r\n|0\r\n+OK\r\n");
    const first = (try reader.next(allocator, default_limits)).?;
    try testing.expectEqualStrings("*2\r\n:1\r\n:2\r\n", first.bytes);
    try testing.expectEqual(@as(u32, 4), first.children[0].start);
    try testing.expectEqual(@as(u32, 8), first.children[1].start);
    reader.consume(allocator);
    const second = (try reader.next(allocator, default_limits)).?;
    try testing.expectEqualStrings("+OK\r\n", second.bytes);
    reader.consume(allocator);
    try testing.expect(try reader.next(allocator, default_limits) == null);
}

test "a pending frame is returned again without re-validation" {
    const allocator = testing.allocator;
    var reader: parser.Reader = .{};
    defer reader.deinit(allocator);
    try reader.append(allocator, "*2\r\n:1\r\n:2\r\n");
    const first = (try reader.next(allocator, default_limits)).?;
    const steps = reader.scan_steps;
    const again = (try reader.next(allocator, default_limits)).?;
    try testing.expectEqual(steps, reader.scan_steps);
    try testing.expectEqualSlices(u8, first.bytes, again.bytes);
}

test "a large frame fed in small chunks is scanned once (no quadratic re-scan)" {
    const allocator = testing.allocator;
    const element_count = 100_000;
    var stream: std.ArrayList(u8) = .empty;
    defer stream.deinit(allocator);
    try stream.print(allocator, "*{d}\r\n", .{element_count});
    for (0..element_count) |index| try stream.print(allocator, ":{d}\r\n", .{index});
    // A long simple string line and a long bulk, also split.
    try stream.appendSlice(allocator, "+");
    try stream.appendNTimes(allocator, 'x', 300_000);
    try stream.appendSlice(allocator, "\r\n$300000\r\n");
    try stream.appendNTimes(allocator, 'y', 300_000);
    try stream.appendSlice(allocator, "\r\n");

    var reader: parser.Reader = .{};
    defer reader.deinit(allocator);
    const chunk_length = 7;
    var frames: usize = 0;
    var calls: u64 = 0;
    var offset: usize = 0;
    while (offset < stream.items.len) {
        const end = @min(stream.items.len, offset + chunk_length);
        try reader.append(allocator, stream.items[offset..end]);
        offset = end;
        calls += 1;
        while (try reader.next(allocator, default_limits)) |_| {
            reader.consume(allocator);
            frames += 1;
        }
    }
    try testing.expectEqual(@as(usize, 3), frames);
    // Each element header is examined once, plus at most one retry per feed.
    try testing.expect(reader.scan_steps <= element_count + 3 + calls);
}

test "any split of a multi-frame stream gives identical messages" {
    const allocator = testing.allocator;
    const stream =
        ">3\r\n$7\r\nmessage\r\n$4\r\nnews\r\n$5\r\nhello\r\n" ++
        "|1\r\n+ttl\r\n:3\r\n" ++
        ">4\r\n$8\r\npmessage\r\n$6\r\nnews.*\r\n$9\r\nnews.tech\r\n$4\r\n\r\n\r\n\r\n" ++
        "*3\r\n$9\r\nsubscribe\r\n$6\r\nalerts\r\n:2\r\n" ++
        "*3\r\n$7\r\nmessage\r\n$6\r\nalerts\r\n$0\r\n\r\n" ++
        "*2\r\n$4\r\npong\r\n$0\r\n\r\n" ++
        "-ERR wrong\r\n" ++
        "!5\r\nOOPS!\r\n" ++
        "%1\r\n+a\r\n*2\r\n|1\r\n+x\r\n:1\r\n,1.5\r\n#t\r\n" ++
        ">3\r\n$11\r\nunsubscribe\r\n_\r\n:0\r\n" ++
        ">2\r\n$10\r\ninvalidate\r\n*2\r\n$1\r\na\r\n$1\r\nb\r\n" ++
        ">2\r\n$5\r\nother\r\n=8\r\ntxt:abcd\r\n" ++
        "$-1\r\n:42\r\n_\r\n(12345\r\n";
    for ([_]u32{ 0, abi.option_resp2_push_arrays }) |flags| {
        const options: abi.Options = .{ .flags = flags };
        var whole = try support.runWhole(allocator, options, stream);
        defer whole.deinit(allocator);
        try testing.expectEqual(@as(?@import("errors.zig").Error, null), whole.final_error);
        try testing.expectEqual(@as(usize, 15), whole.messages.items.len);
        for (1..stream.len) |cut| {
            var split = try support.runSplit(allocator, options, stream, &.{cut});
            defer split.deinit(allocator);
            try whole.expectEqual(split);
        }
        for (1..stream.len) |first_cut| {
            const second_cut = first_cut + (stream.len - first_cut) / 2;
            if (second_cut <= first_cut) continue;
            var split = try support.runSplit(allocator, options, stream, &.{ first_cut, second_cut });
            defer split.deinit(allocator);
            try whole.expectEqual(split);
        }
        var byte_by_byte = try support.runChunked(allocator, options, stream, 1);
        defer byte_by_byte.deinit(allocator);
        try whole.expectEqual(byte_by_byte);
    }
}

test "random valid streams give identical messages for any chunking" {
    const allocator = testing.allocator;
    var prng = std.Random.DefaultPrng.init(0x5eed_0001);
    const random = prng.random();
    for (0..300) |_| {
        var stream: std.ArrayList(u8) = .empty;
        defer stream.deinit(allocator);
        const writer: generator.Writer = .{ .random = random, .out = &stream, .allocator = allocator };
        const resp3 = random.boolean();
        for (0..random.uintAtMost(usize, 12)) |_| try writer.frame(resp3);
        const options: abi.Options = .{ .flags = if (resp3) 0 else abi.option_resp2_push_arrays };
        var whole = try support.runWhole(allocator, options, stream.items);
        defer whole.deinit(allocator);
        try testing.expectEqual(@as(?@import("errors.zig").Error, null), whole.final_error);
        var chunked = try support.runChunked(allocator, options, stream.items, 1 + random.uintLessThan(usize, 9));
        defer chunked.deinit(allocator);
        try whole.expectEqual(chunked);
    }
}

test "limits: bulk length, nesting depth, aggregate length" {
    const Error = @import("errors.zig").Error;
    const defaults: abi.Options = .{};
    try support.expectStreamError(Error.BulkTooLong, defaults, "$99999999999999999999\r\n");
    try support.expectStreamError(Error.BulkTooLong, defaults, "$536870913\r\n");
    try support.expectStreamError(Error.BulkTooLong, .{ .max_bulk_length = 4 }, "$5\r\nhello\r\n");
    try support.expectStreamError(Error.BulkTooLong, .{ .max_bulk_length = 4 }, "!5\r\nhello\r\n");
    try support.expectStreamError(Error.BulkTooLong, .{ .max_bulk_length = 4 }, "=9\r\ntxt:hello\r\n");
    try support.expectStreamError(Error.BulkTooLong, .{ .max_bulk_length = 4 }, "+hello");
    try support.expectStreamError(Error.BulkTooLong, .{ .max_bulk_length = 4 }, "(123456\r\n");
    var run = try support.runWhole(testing.allocator, .{ .max_bulk_length = 5 }, "$5\r\nhello\r\n");
    run.deinit(testing.allocator);

    try support.expectStreamError(Error.AggregateTooLong, defaults, "*16777217\r\n");
    try support.expectStreamError(Error.AggregateTooLong, defaults, "*99999999999999999999\r\n");
    try support.expectStreamError(Error.AggregateTooLong, .{ .max_aggregate_length = 3 }, "%2\r\n");
    try support.expectStreamError(Error.AggregateTooLong, .{ .max_aggregate_length = 3 }, "|2\r\n");
    try support.expectStreamError(Error.TooDeep, .{ .max_nesting_depth = 2 }, "*1\r\n*1\r\n*1\r\n:1\r\n");
    var within = try support.runWhole(testing.allocator, .{ .max_nesting_depth = 2 }, "*1\r\n*1\r\n:1\r\n");
    defer within.deinit(testing.allocator);
    try testing.expectEqual(@as(usize, 1), within.messages.items.len);

    const allocator = testing.allocator;
    const nested = try allocator.alloc(u8, 4 * 100_000);
    defer allocator.free(nested);
    for (0..100_000) |index| @memcpy(nested[index * 4 ..][0..4], "*1\r\n");
    try support.expectStreamError(Error.TooDeep, defaults, nested);
}

test "malformed streams are protocol errors" {
    const Error = @import("errors.zig").Error;
    const defaults: abi.Options = .{};
    const cases = [_][]const u8{
        "?\r\n",
        "A\r\n",
        "\r\n",
        "*-2\r\n",
        "$-2\r\n",
        "%-1\r\n",
        ">-1\r\n",
        "!-1\r\n",
        "$5\r\nhelloXX",
        "$5\r\nhello\n\r",
        "$\r\n",
        "$abc\r\n",
        "$+5\r\nhello\r\n",
        "$123456789012345678901\r\n",
        "*1\r\n:1a\r\n",
        ":\r\n",
        ":99999999999999999999\r\n",
        ":123456789012345678901234\r\n",
        "#x\r\n",
        "#tt\r\n",
        "_x\r\n",
        ",\r\n",
        ",1;2\r\n",
        "(12a\r\n",
        "=3\r\ntxt\r\n",
        "=5\r\ntxt-a\r\n",
        "+OK\rX",
        "*1\r\n+OK\r\n?",
    };
    for (cases) |case| {
        support.expectStreamError(Error.Protocol, defaults, case) catch |err| {
            std.debug.print("case {any} did not give a protocol error\n", .{case});
            return err;
        };
    }
}

test "the error message names what was expected and the absolute offset" {
    const core = @import("core.zig");
    const allocator = testing.allocator;
    const instance = try core.Parser.create(allocator, .{});
    defer instance.destroy();
    try instance.feed("+OK\r\n:1\r\n$5\r\nhelloXY");
    for (0..2) |_| instance.freeMessage((try instance.nextMessage()).?) catch unreachable;
    try testing.expectError(error.Protocol, instance.nextMessage());
    try testing.expectEqualStrings("protocol error at offset 18: expected CRLF after bulk string of 5 bytes", instance.errorMessage());
    // Sticky: every call keeps returning it, the text does not change, errors counted once.
    try testing.expectError(error.Protocol, instance.nextMessage());
    try testing.expectError(error.Protocol, instance.feed("+OK\r\n"));
    try testing.expectEqual(@as(u64, 1), instance.counters().errors);
    // Offsets count from the last reset.
    instance.reset();
    try testing.expectEqualStrings("", instance.errorMessage());
    try instance.feed("+OK\r\n?");
    instance.freeMessage((try instance.nextMessage()).?) catch unreachable;
    try testing.expectError(error.Protocol, instance.nextMessage());
    try testing.expectEqualStrings("protocol error at offset 5: unknown type byte 0x3f", instance.errorMessage());
}

test "64 KiB of random bytes never crash and end pending or in an error" {
    const allocator = testing.allocator;
    var prng = std.Random.DefaultPrng.init(0x64_0000);
    const random = prng.random();
    const bytes = try allocator.alloc(u8, 64 * 1024);
    defer allocator.free(bytes);
    for (0..8) |round| {
        random.bytes(bytes);
        // Half of the rounds start with a plausible type byte so parsing gets further.
        if (round % 2 == 0) bytes[0] = "+-:$*%~>|_,#(!="[random.uintLessThan(usize, 15)];
        var whole = try support.runWhole(allocator, .{}, bytes);
        defer whole.deinit(allocator);
        var chunked = try support.runChunked(allocator, .{}, bytes, 1 + random.uintLessThan(usize, 300));
        defer chunked.deinit(allocator);
        try whole.expectEqual(chunked);
    }
}

test "parseLength and parseInteger" {
    try testing.expectEqual(@as(?i64, -1), parser.parseLength("-1"));
    try testing.expectEqual(@as(?i64, 0), parser.parseLength("0"));
    try testing.expectEqual(@as(?i64, std.math.maxInt(i64)), parser.parseLength("99999999999999999999"));
    try testing.expectEqual(@as(?i64, null), parser.parseLength(""));
    try testing.expectEqual(@as(?i64, null), parser.parseLength("-"));
    try testing.expectEqual(@as(?i64, null), parser.parseLength("+1"));
    try testing.expectEqual(@as(?i64, std.math.minInt(i64)), parser.parseInteger("-9223372036854775808"));
    try testing.expectEqual(@as(?i64, null), parser.parseInteger("9223372036854775808"));
    try testing.expectEqual(@as(?i64, 7), parser.parseInteger("+7"));
}
