//! resp_generator.zig — writes random but valid RESP2/RESP3 frames for tests and the fuzz loop:
//! every type, nested aggregates (bounded depth), nested and top-level attributes, and pub/sub
//! pushes in both RESP3 (`>`) and RESP2 (`*`) form. Its rule: iterative, bounded output size.

const std = @import("std");
const Allocator = std.mem.Allocator;

pub const depth_max = 6;
const children_max = 5;

pub const Writer = struct {
    random: std.Random,
    out: *std.ArrayList(u8),
    allocator: Allocator,

    fn print(self: Writer, comptime format: []const u8, arguments: anytype) Allocator.Error!void {
        try self.out.print(self.allocator, format, arguments);
    }

    fn bytes(self: Writer, literal: []const u8) Allocator.Error!void {
        try self.out.appendSlice(self.allocator, literal);
    }

    /// Random bytes, CR and LF included (bulk strings are binary-safe).
    fn randomBytes(self: Writer, length: usize) Allocator.Error!void {
        for (0..length) |_| {
            const byte: u8 = switch (self.random.uintLessThan(u8, 8)) {
                0 => '\r',
                1 => '\n',
                else => self.random.int(u8),
            };
            try self.out.append(self.allocator, byte);
        }
    }

    /// Letters only: safe inside simple strings and names.
    fn randomWord(self: Writer, length: usize) Allocator.Error!void {
        for (0..length) |_| try self.out.append(self.allocator, 'a' + self.random.uintLessThan(u8, 26));
    }

    pub fn bulk(self: Writer, content: []const u8) Allocator.Error!void {
        try self.print("${d}\r\n", .{content.len});
        try self.bytes(content);
        try self.bytes("\r\n");
    }

    fn randomBulk(self: Writer, type_byte: u8, length_max: usize) Allocator.Error!void {
        const length = self.random.uintAtMost(usize, length_max);
        try self.print("{c}{d}\r\n", .{ type_byte, length });
        try self.randomBytes(length);
        try self.bytes("\r\n");
    }

    /// A small flat attribute, valid before any element.
    fn attribute(self: Writer) Allocator.Error!void {
        try self.bytes("|1\r\n+ttl\r\n:");
        try self.print("{d}\r\n", .{self.random.int(u16)});
    }

    /// Writes one scalar.
    fn scalar(self: Writer) Allocator.Error!void {
        switch (self.random.uintLessThan(u8, 14)) {
            0 => {
                try self.bytes("+");
                try self.randomWord(self.random.uintAtMost(usize, 12));
                try self.bytes("\r\n");
            },
            1 => try self.bytes("-ERR something failed\r\n"),
            2 => try self.print(":{d}\r\n", .{self.random.int(i64)}),
            3, 4 => try self.randomBulk('$', 40),
            5 => try self.bytes("$-1\r\n"),
            6 => try self.bytes("_\r\n"),
            7 => try self.bytes(if (self.random.boolean()) ",3.14\r\n" else ",-inf\r\n"),
            8 => try self.bytes(if (self.random.boolean()) "#t\r\n" else "#f\r\n"),
            9 => try self.print("({d}{d}\r\n", .{ self.random.int(u64), self.random.int(u64) }),
            10 => try self.randomBulk('!', 20),
            11 => {
                const length = self.random.uintAtMost(usize, 20);
                try self.print("={d}\r\ntxt:", .{length + 4});
                try self.randomBytes(length);
                try self.bytes("\r\n");
            },
            12 => try self.bytes("*-1\r\n"),
            else => try self.bytes(":0\r\n"),
        }
    }

    /// One random value (scalar or nested aggregates), depth ≤ depth_max, without recursion.
    pub fn value(self: Writer) Allocator.Error!void {
        var remaining: [depth_max]u32 = undefined;
        var depth: usize = 0;
        while (true) {
            if (self.random.uintLessThan(u8, 10) == 0) try self.attribute();
            const opens = depth < depth_max and self.random.uintLessThan(u8, 3) == 0;
            if (opens) {
                const type_byte = "*%~>"[self.random.uintLessThan(usize, 4)];
                const count = self.random.uintAtMost(u32, children_max);
                try self.print("{c}{d}\r\n", .{ type_byte, count });
                const elements = if (type_byte == '%') count * 2 else count;
                if (elements > 0) {
                    remaining[depth] = elements;
                    depth += 1;
                    continue;
                }
            } else {
                try self.scalar();
            }
            // One element completed: it may complete its parents too.
            while (depth > 0) {
                remaining[depth - 1] -= 1;
                if (remaining[depth - 1] != 0) break;
                depth -= 1;
            }
            if (depth == 0) return;
        }
    }

    /// A pub/sub push, RESP3 or RESP2-array form, sometimes with a leading attribute.
    pub fn pubsubFrame(self: Writer, resp3: bool) Allocator.Error!void {
        if (resp3 and self.random.uintLessThan(u8, 8) == 0) try self.attribute();
        const marker: u8 = if (resp3) '>' else '*';
        const channels = [_][]const u8{ "news", "alerts", "orders.eu", "", "chat:room:42" };
        const channel = channels[self.random.uintLessThan(usize, channels.len)];
        switch (self.random.uintLessThan(u8, 8)) {
            0, 1, 2 => {
                try self.print("{c}3\r\n", .{marker});
                try self.bulk(if (self.random.boolean()) "message" else "smessage");
                try self.bulk(channel);
                try self.randomBulk('$', 64);
            },
            3 => {
                try self.print("{c}4\r\n", .{marker});
                try self.bulk("pmessage");
                try self.bulk("orders.*");
                try self.bulk(channel);
                try self.randomBulk('$', 64);
            },
            4 => {
                try self.print("{c}3\r\n", .{marker});
                try self.bulk(if (self.random.boolean()) "subscribe" else "psubscribe");
                try self.bulk(channel);
                try self.print(":{d}\r\n", .{self.random.uintAtMost(u32, 100)});
            },
            5 => {
                try self.print("{c}3\r\n", .{marker});
                try self.bulk("unsubscribe");
                try self.bytes(if (resp3) "_\r\n" else "$-1\r\n");
                try self.bytes(":0\r\n");
            },
            6 => {
                try self.print("{c}2\r\n", .{marker});
                try self.bulk("pong");
                try self.randomBulk('$', 8);
            },
            else => {
                // Client tracking REDIRECT to a RESP2 connection: keys array, or null on a flush.
                try self.print("{c}3\r\n", .{marker});
                try self.bulk("message");
                try self.bulk("__redis__:invalidate");
                const keys = self.random.uintAtMost(u32, 3);
                if (keys == 0) return self.bytes("*-1\r\n");
                try self.print("*{d}\r\n", .{keys});
                for (0..keys) |_| try self.randomBulk('$', 12);
            },
        }
    }

    /// Any frame: a pub/sub push, a reply value or a top-level error.
    pub fn frame(self: Writer, resp3: bool) Allocator.Error!void {
        switch (self.random.uintLessThan(u8, 4)) {
            0, 1 => try self.pubsubFrame(resp3),
            2 => try self.value(),
            else => try self.scalar(),
        }
    }
};
