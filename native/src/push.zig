//! push.zig — classifies one complete, already validated frame into a pw_kind and checks the
//! shape of pub/sub pushes. Its one rule: a RESP3 `>` push and a RESP2 array classified as a push
//! (PW_OPTION_RESP2_PUSH_ARRAYS) give the same view; only PW_FLAG_RESP3_PUSH differs.
//!
//! The returned view borrows the frame's bytes; nothing here allocates. Elements are read without
//! re-validation (parser.zig validated them); asserts document what validation guarantees.

const std = @import("std");
const assert = std.debug.assert;
const abi = @import("abi.zig");
const parser = @import("parser.zig");
const errors = @import("errors.zig");

pub const View = struct {
    kind: abi.Kind,
    flags: u32 = 0,
    count: u32 = 0,
    channel: []const u8 = &.{},
    pattern: []const u8 = &.{},
    payload: []const u8 = &.{},
    /// The channel was a RESP null: no name to intern.
    channel_is_null: bool = false,
};

const PushName = enum {
    message,
    pmessage,
    smessage,
    subscribe,
    psubscribe,
    ssubscribe,
    unsubscribe,
    punsubscribe,
    sunsubscribe,
    pong,
    invalidate,
};

/// Pub/sub names compare ASCII-case-insensitively (RESP2 servers send "message", some proxies
/// upper-case them). A name of 4..12 bytes is folded into one u128 — bytes OR 0x20, zero padded —
/// and compared with each candidate's key at once: no per-byte loop, no second case-insensitive
/// pass. OR 0x20 is exact here: every pub/sub name is lower-case letters, and a byte b has
/// b | 0x20 == c for a lower-case letter c only when b is c or its upper case. Padding cannot
/// collide with a shorter name: a folded byte is never 0.
fn pushNameOf(name: []const u8) ?PushName {
    if (name.len < 4 or name.len > 12) return null;
    const key = foldedKeyOf(name);
    inline for (@typeInfo(PushName).@"enum".fields) |field| {
        if (key == comptime foldedKeyOf(field.name)) return @enumFromInt(field.value);
    }
    return null;
}

fn foldedKeyOf(name: []const u8) u128 {
    assert(name.len <= 16);
    var padded: [16]u8 = @splat(0);
    for (padded[0..name.len], name) |*folded, byte| folded.* = byte | 0x20;
    return std.mem.readInt(u128, &padded, .little);
}

test "pushNameOf knows every name by its length" {
    inline for (@typeInfo(PushName).@"enum".fields) |field| {
        try std.testing.expectEqual(@as(?PushName, @enumFromInt(field.value)), pushNameOf(field.name));
    }
    try std.testing.expectEqual(@as(?PushName, .smessage), pushNameOf("SMessage"));
    try std.testing.expectEqual(@as(?PushName, null), pushNameOf("messages"));
    try std.testing.expectEqual(@as(?PushName, .pong), pushNameOf("PoNg"));
    // Non-letters that fold onto letters, embedded zeros, and padding stay distinct.
    try std.testing.expectEqual(@as(?PushName, null), pushNameOf("pong\x00"));
    try std.testing.expectEqual(@as(?PushName, null), pushNameOf("p\x0fng"));
    try std.testing.expectEqual(@as(?PushName, null), pushNameOf("messag"));
    try std.testing.expectEqual(@as(?PushName, null), pushNameOf("MESSAGE\x20"));
}

/// One top-level element as classification sees it.
const Element = union(enum) {
    string: []const u8,
    null_value,
    integer: i64,
    other: u8,
};

/// Reads top-level child `index` from what the reader recorded while validating it. Simple
/// strings count as strings: lenient only here, where a proxy might re-encode a bulk string.
fn readElement(frame: parser.Frame, index: usize) Element {
    assert(index < parser.recorded_children_max and index < frame.element_count);
    const child = frame.children[index];
    assert(child.start < frame.bytes.len and frame.bytes[child.start] == child.type_byte);
    if (child.is_null) return .null_value;
    return switch (child.type_byte) {
        '$', '+' => .{ .string = frame.bytes[child.body_start..][0..child.body_length] },
        ':' => .{ .integer = child.integer },
        '_' => .null_value,
        else => .{ .other = child.type_byte },
    };
}

pub const Context = struct {
    option_flags: u32,
    /// Absolute stream offset of the frame's first byte, for error text.
    stream_offset: u64,
    error_text: *errors.ErrorText,
};

pub fn classify(frame: parser.Frame, context: Context) errors.Error!View {
    assert(frame.bytes.len >= 3);
    switch (frame.type_byte) {
        '-' => return .{ .kind = .error_reply, .payload = frame.bytes[1 .. frame.bytes.len - 2] },
        '!' => return .{ .kind = .error_reply, .payload = readBulkBody(frame.bytes) },
        '>' => return classifyPush(frame, context, true),
        '*' => {
            const wants_arrays = context.option_flags & abi.option_resp2_push_arrays != 0;
            if (wants_arrays and frame.element_count >= 1) {
                const first = readElement(frame, 0);
                if (first == .string and pushNameOf(first.string) != null) {
                    return classifyPush(frame, context, false);
                }
            }
            return .{ .kind = .reply, .payload = frame.bytes };
        },
        else => return .{ .kind = .reply, .payload = frame.bytes },
    }
}

fn readBulkBody(bytes: []const u8) []const u8 {
    const carriage_return = std.mem.indexOfScalar(u8, bytes, '\r').?;
    const body_start = carriage_return + 2;
    assert(body_start <= bytes.len - 2);
    return bytes[body_start .. bytes.len - 2];
}

fn classifyPush(frame: parser.Frame, context: Context, is_resp3: bool) errors.Error!View {
    const flags: u32 = if (is_resp3) abi.flag_resp3_push else 0;
    const other: View = .{ .kind = .other_push, .flags = flags, .payload = frame.bytes };
    if (frame.element_count == 0) return other;
    const first = readElement(frame, 0);
    if (first != .string) return other;
    const name = pushNameOf(first.string) orelse {
        var view = other;
        view.channel = first.string;
        return view;
    };
    var shape: Shape = .{ .frame = frame, .context = context, .name = first.string };
    var view: View = .{ .kind = undefined, .flags = flags };
    switch (name) {
        .message, .smessage => {
            view.kind = if (name == .message) .message else .smessage;
            try shape.expectCount(3);
            view.channel = try shape.expectString(1);
            if (name == .message and isRedirectedInvalidation(frame, view.channel)) {
                return .{ .kind = .invalidate, .flags = flags, .payload = frame.bytes[frame.children[2].start..] };
            }
            view.payload = try shape.expectString(2);
        },
        .pmessage => {
            view.kind = .pmessage;
            try shape.expectCount(4);
            view.pattern = try shape.expectString(1);
            view.channel = try shape.expectString(2);
            view.payload = try shape.expectString(3);
        },
        .subscribe, .psubscribe, .ssubscribe, .unsubscribe, .punsubscribe, .sunsubscribe => {
            view.kind = subscriptionKindOf(name);
            try shape.expectCount(3);
            try shape.readSubscription(&view, name);
        },
        .pong => {
            view.kind = .pong;
            try shape.expectCount(2);
            view.payload = try shape.expectString(1);
        },
        .invalidate => {
            view.kind = .invalidate;
            try shape.expectCount(2);
            view.payload = frame.bytes[frame.children[1].start..];
        },
    }
    return view;
}

/// Client tracking in REDIRECT mode to a RESP2 connection sends invalidations as messages on
/// this channel whose payload is the array of keys (or null: everything was flushed). They are
/// the same event as a RESP3 `invalidate` push, so they become one: PW_KIND_INVALIDATE with the
/// raw RESP of the keys as the payload. A bulk string payload stays an ordinary message (anyone
/// may PUBLISH on the channel).
const invalidation_channel = "__redis__:invalidate";

fn isRedirectedInvalidation(frame: parser.Frame, channel: []const u8) bool {
    if (!std.mem.eql(u8, channel, invalidation_channel)) return false;
    return switch (readElement(frame, 2)) {
        .null_value => true,
        .other => |type_byte| type_byte == '*',
        .string, .integer => false,
    };
}

fn subscriptionKindOf(name: PushName) abi.Kind {
    return switch (name) {
        .subscribe => .subscribe,
        .psubscribe => .psubscribe,
        .ssubscribe => .ssubscribe,
        .unsubscribe => .unsubscribe,
        .punsubscribe => .punsubscribe,
        .sunsubscribe => .sunsubscribe,
        else => unreachable,
    };
}

/// Shape checks of one push; each failure says which element, at which offset, and why.
const Shape = struct {
    frame: parser.Frame,
    context: Context,
    name: []const u8,

    fn expectCount(self: *Shape, count: u64) errors.Error!void {
        if (self.frame.element_count == count) return;
        return self.failAt(0, "'{s}' push needs {d} elements, found {d}", .{ self.name, count, self.frame.element_count });
    }

    fn expectString(self: *Shape, index: usize) errors.Error![]const u8 {
        const element = readElement(self.frame, index);
        if (element == .string) return element.string;
        return self.failElement(index, "a bulk string");
    }

    fn readSubscription(self: *Shape, view: *View, name: PushName) errors.Error!void {
        const may_be_null = name == .unsubscribe or name == .punsubscribe or name == .sunsubscribe;
        switch (readElement(self.frame, 1)) {
            .string => |channel| view.channel = channel,
            .null_value => {
                if (!may_be_null) return self.failElement(1, "a bulk string");
                view.flags |= abi.flag_null_channel;
                view.channel_is_null = true;
            },
            else => return self.failElement(1, if (may_be_null) "a bulk string or null" else "a bulk string"),
        }
        const count_element = readElement(self.frame, 2);
        if (count_element != .integer or count_element.integer < 0 or count_element.integer > std.math.maxInt(u32)) {
            return self.failElement(2, "an integer count in 0..4294967295");
        }
        view.count = @intCast(count_element.integer);
    }

    fn failElement(self: *Shape, index: usize, expected: []const u8) errors.Error {
        const offset = self.frame.children[index].start;
        const found = self.frame.bytes[offset];
        return self.failAt(offset, "'{s}' push element {d} must be {s}, found type '{c}'", .{ self.name, index, expected, found });
    }

    fn failAt(self: *Shape, offset: usize, comptime detail_format: []const u8, detail_arguments: anytype) errors.Error {
        const stream_offset = self.context.stream_offset + offset;
        self.context.error_text.set(errors.labelOf(error.PushShape), stream_offset, detail_format, detail_arguments);
        return error.PushShape;
    }
};
