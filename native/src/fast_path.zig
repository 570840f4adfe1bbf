//! fast_path.zig — one pass over the frame that dominates a subscriber's stream: a complete
//! `message`, `smessage` or `pmessage` push (RESP3 `>`, or a RESP2 `*` array when
//! PW_OPTION_RESP2_PUSH_ARRAYS is set) of bulk strings, read straight into a classified view.
//!
//! Its one rule: it never decides anything the general path (parser.zig then push.zig) would
//! decide differently. It accepts only what the general path accepts and classifies the same way,
//! and declines everything else — incomplete bytes, any limit crossed, upper-case or simple-string
//! names, nulls, leading attributes, odd lengths — so the caller falls back to the general path,
//! which then reports exactly what it always did. core_test.zig and the fuzz loop run both paths
//! over the same streams and compare.
//!
//! Bulk bodies are skipped by their announced length, never scanned.

const std = @import("std");
const assert = std.debug.assert;
const abi = @import("abi.zig");
const parser = @import("parser.zig");
const push = @import("push.zig");

/// `>3\r\n$7\r\nmessage\r\n$0\r\n\r\n$0\r\n\r\n`: nothing shorter can be accepted.
const frame_length_min = 29;
/// The bytes after the type byte that name the push. All three are 16 bytes long, so one
/// 16-byte compare tells them apart; the two 8-byte names end with one more byte ('\n').
const message_prefix = "3\r\n$7\r\nmessage\r\n";
const smessage_prefix = "3\r\n$8\r\nsmessage\r";
const pmessage_prefix = "4\r\n$8\r\npmessage\r";
const Prefix = @Vector(16, u8);

/// Lengths above 10 digits exceed every max_bulk_length (a u32): decline rather than parse them.
const length_digits_max = 10;

/// Classifies the frame at the start of `bytes` into `view` and returns its length in bytes, or
/// returns 0 (`view` undefined) to let the general path read it. Inline (as is readBulk): it runs
/// once per message; the out-parameter, not an optional struct, keeps the view in registers.
pub inline fn readMessage(bytes: []const u8, limits: parser.Limits, option_flags: u32, view: *push.View) usize {
    if (bytes.len < frame_length_min) return 0;
    const flags: u32 = switch (bytes[0]) {
        '>' => abi.flag_resp3_push,
        '*' => if (option_flags & abi.option_resp2_push_arrays != 0) 0 else return 0,
        else => return 0,
    };
    const prefix: Prefix = bytes[1..17].*;
    view.* = .{ .kind = .message, .flags = flags };
    var element_count: u32 = 3;
    var position: usize = 17;
    if (@reduce(.And, prefix == @as(Prefix, message_prefix.*))) {
        if (limits.max_bulk_length < 7) return 0;
    } else {
        if (bytes[17] != '\n' or limits.max_bulk_length < 8) return 0;
        position = 18;
        if (@reduce(.And, prefix == @as(Prefix, smessage_prefix.*))) {
            view.kind = .smessage;
        } else if (@reduce(.And, prefix == @as(Prefix, pmessage_prefix.*))) {
            view.kind = .pmessage;
            element_count = 4;
        } else return 0;
    }
    // A top-level aggregate is depth 1, allowed by every max_nesting_depth (0 means the default).
    assert(limits.max_nesting_depth >= 1);
    if (element_count > limits.max_aggregate_length) return 0;
    if (view.kind == .pmessage) {
        const pattern = readBulk(bytes, position, limits.max_bulk_length) orelse return 0;
        view.pattern = pattern.body;
        position = pattern.end;
    }
    const channel = readBulk(bytes, position, limits.max_bulk_length) orelse return 0;
    const payload = readBulk(bytes, channel.end, limits.max_bulk_length) orelse return 0;
    view.channel = channel.body;
    view.payload = payload.body;
    assert(payload.end >= frame_length_min and payload.end <= bytes.len);
    return payload.end;
}

/// The first bytes of the last message push read — through its channel bulk's CRLF — with what
/// reading them decided and the names' interned ids. A subscriber's stream mostly repeats one
/// header (same kind, same channel), and a frame that starts with exactly these bytes needs only
/// its payload bulk read: no name compare, no channel length parse, no interning (callgrind, in
/// place at 256 B: those were ~90 of ~315 instructions a message).
///
/// It decides nothing readMessage would decide differently: readMessage judges those bytes alone
/// (with the limits, fixed for a parser's life, and the option flags, on whose change the owner
/// forgets the header), and the payload bulk goes through the same readBulk. Interned ids are
/// stable for the parser's life, so the remembered ones are what interning would give again; a
/// header whose name got no id (0: over the limit, out of memory) is not remembered, since a
/// later interning could give one.
pub const RepeatedHeader = struct {
    pub const length_max = 96;
    /// After a header that was never read again, only every this-many-th other header is
    /// remembered: where the channel changes with every message, remembering each header cost more
    /// than it saved (alternating channels, callgrind: 504 → 570 instructions a message).
    pub const misses_per_try = 8;
    /// 0 = nothing remembered.
    length: u32 = 0,
    /// The remembered header was read again at least once.
    repeated: bool = false,
    /// Headers not remembered since the last one that was.
    skipped: u8 = 0,
    bytes: [length_max]u8 = undefined,
    kind: abi.Kind = .message,
    flags: u32 = 0,
    channel_start: u32 = 0,
    channel_length: u32 = 0,
    pattern_start: u32 = 0,
    pattern_length: u32 = 0,
    channel_id: u32 = 0,
    pattern_id: u32 = 0,

    /// Reads the frame at the start of `bytes` into `view` when it starts with the remembered
    /// header and its payload bulk is complete; returns its length, else 0.
    pub inline fn read(self: *RepeatedHeader, bytes: []const u8, max_bulk_length: u32, view: *push.View) usize {
        const length: usize = self.length;
        if (length == 0 or bytes.len < length or !startsWith(bytes, self.bytes[0..length])) return 0;
        const payload = readBulk(bytes, length, max_bulk_length) orelse return 0;
        self.repeated = true;
        view.* = .{
            .kind = self.kind,
            .flags = self.flags,
            .channel = bytes[self.channel_start..][0..self.channel_length],
            .pattern = bytes[self.pattern_start..][0..self.pattern_length],
            .payload = payload.body,
        };
        return payload.end;
    }

    /// Remembers the header of the message push `view` that readMessage read from the start of
    /// `bytes`, and its names' ids (pattern_id is 0 but for pmessage) — unless the one remembered
    /// now was never read again and this is not the misses_per_try-th header since.
    pub fn remember(self: *RepeatedHeader, bytes: []const u8, view: push.View, channel_id: u32, pattern_id: u32) void {
        if (self.length != 0 and !self.repeated and self.skipped + 1 < misses_per_try) {
            self.skipped += 1;
            return;
        }
        self.skipped = 0;
        self.repeated = false;
        self.length = 0;
        if (channel_id == 0 or (view.kind == .pmessage and pattern_id == 0)) return;
        const start = @intFromPtr(bytes.ptr);
        const channel_start = @intFromPtr(view.channel.ptr) - start;
        const length = channel_start + view.channel.len + 2;
        assert(length <= bytes.len and length >= 16);
        if (length > length_max) return;
        @memcpy(self.bytes[0..length], bytes[0..length]);
        self.kind = view.kind;
        self.flags = view.flags;
        self.channel_start = @intCast(channel_start);
        self.channel_length = @intCast(view.channel.len);
        self.pattern_start = if (view.pattern.len == 0) 0 else @intCast(@intFromPtr(view.pattern.ptr) - start);
        self.pattern_length = @intCast(view.pattern.len);
        self.channel_id = channel_id;
        self.pattern_id = pattern_id;
        self.length = @intCast(length);
    }

    /// Byte equality of `prefix` (16..length_max bytes) with the start of `bytes`, 16 at a time
    /// (the last 16 overlapping), inline: std.mem.startsWith (a call into eqlBytes, which picks a
    /// vector size at run time) was 12 more instructions a message of ~222 (callgrind).
    inline fn startsWith(bytes: []const u8, prefix: []const u8) bool {
        assert(bytes.len >= prefix.len and prefix.len >= 16);
        var index: usize = 0;
        while (index + 16 < prefix.len) : (index += 16) {
            if (!@reduce(.And, @as(Prefix, bytes[index..][0..16].*) == @as(Prefix, prefix[index..][0..16].*))) return false;
        }
        const tail = prefix.len - 16;
        return @reduce(.And, @as(Prefix, bytes[tail..][0..16].*) == @as(Prefix, prefix[tail..][0..16].*));
    }
};

/// How long the message push starting at `bytes` is, judged from its first bytes alone: what
/// pw_feed_next_batch needs to complete a frame that straddles two chunks with only that frame's
/// missing bytes, so the rest of the new chunk is read in place instead of being buffered.
pub const Extent = union(enum) {
    /// Not a frame readMessage reads (or already wrong): the general path must judge it.
    declined,
    /// Could be one; the bytes that say how long are missing. At least this many bytes long.
    at_least: usize,
    /// A message push of exactly this many bytes, if the bytes still missing are well formed.
    exactly: usize,
};

/// `bytes` is an incomplete prefix of the frame (readMessage returned 0 for it or would). Only a
/// guess that saves copies: whatever it says, the frame is still read and judged by readMessage
/// or the general path once complete.
pub fn messageExtent(bytes: []const u8, limits: parser.Limits, option_flags: u32) Extent {
    if (bytes.len == 0) return .{ .at_least = frame_length_min };
    // Small limits are for tests of refusals: leave those frames to the general path entirely.
    if (limits.max_bulk_length < 8 or limits.max_aggregate_length < 4) return .declined;
    switch (bytes[0]) {
        '>' => {},
        '*' => if (option_flags & abi.option_resp2_push_arrays == 0) return .declined,
        else => return .declined,
    }
    // The name: the 16-byte prefix after the type byte (plus '\n' for the 8-byte names).
    const names = [_]*const [17]u8{ message_prefix ++ "$", smessage_prefix ++ "\n", pmessage_prefix ++ "\n" };
    const seen = bytes[1..@min(bytes.len, 18)];
    var name_index: ?usize = null;
    for (names, 0..) |name, index| {
        if (std.mem.eql(u8, name[0..seen.len], seen)) name_index = index;
    }
    const index = name_index orelse return .declined;
    if (seen.len < 17) return .{ .at_least = frame_length_min };
    var position: usize = if (index == 0) 17 else 18;
    var bulks_left: usize = if (index == 2) 3 else 2;
    while (true) : (bulks_left -= 1) {
        // `$<digits>\r\n`: incomplete digits give a lower bound (each bulk left is ≥ 6 bytes).
        if (position >= bytes.len) return .{ .at_least = position + 6 * bulks_left };
        if (bytes[position] != '$') return .declined;
        var digits_end = position + 1;
        var length: u64 = 0;
        while (digits_end < bytes.len and digits_end - position - 1 < length_digits_max) : (digits_end += 1) {
            const digit = bytes[digits_end] -% '0';
            if (digit > 9) break;
            length = length * 10 + digit;
        }
        // Anything the general path would refuse as soon as it sees it is declined at once, so
        // both paths report a bad stream at the same byte.
        if (length > limits.max_bulk_length) return .declined;
        if (digits_end == bytes.len or (digits_end + 1 == bytes.len and bytes[digits_end] == '\r')) {
            return .{ .at_least = digits_end + 2 + 2 + 6 * (bulks_left - 1) };
        }
        if (digits_end == position + 1 or bytes[digits_end] != '\r' or bytes[digits_end + 1] != '\n') return .declined;
        const body_end = digits_end + 2 + @as(usize, @intCast(length));
        if (body_end + 2 <= bytes.len and (bytes[body_end] != '\r' or bytes[body_end + 1] != '\n')) return .declined;
        if (bulks_left == 1) return .{ .exactly = body_end + 2 };
        position = body_end + 2;
    }
}

const Bulk = struct { body: []const u8, end: usize };

/// A complete `$<length>\r\n<body>\r\n` at `start`, or null (decline): no null, no sign, no
/// length above max_bulk_length, nothing incomplete. The body is skipped, not scanned.
inline fn readBulk(bytes: []const u8, start: usize, max_bulk_length: u32) ?Bulk {
    if (start >= bytes.len or bytes[start] != '$') return null;
    const digits_start = start + 1;
    const digits_end = @min(bytes.len, digits_start + length_digits_max);
    var index = digits_start;
    // Ten digits fit in u64 with room to spare: no overflow check in the loop.
    var length: u64 = 0;
    while (index < digits_end) : (index += 1) {
        const digit = bytes[index] -% '0';
        if (digit > 9) break;
        length = length * 10 + digit;
    }
    // The general path reads an empty, signed or overlong length as an error or a null: decline.
    if (index == digits_start or index + 1 >= bytes.len) return null;
    if (bytes[index] != '\r' or bytes[index + 1] != '\n') return null;
    if (length > max_bulk_length) return null;
    const body_start = index + 2;
    // No overflow: length ≤ max_bulk_length < 2^32 and body_start ≤ bytes.len.
    const body_end = body_start + @as(usize, @intCast(length));
    if (body_end + 2 > bytes.len) return null;
    if (bytes[body_end] != '\r' or bytes[body_end + 1] != '\n') return null;
    return .{ .body = bytes[body_start..body_end], .end = body_end + 2 };
}

const default_limits: parser.Limits = .{
    .max_bulk_length = abi.default_max_bulk_length,
    .max_nesting_depth = abi.default_max_nesting_depth,
    .max_aggregate_length = abi.default_max_aggregate_length,
};

test "readMessage reads the three message pushes and declines everything else" {
    const testing = std.testing;
    const message = ">3\r\n$7\r\nmessage\r\n$4\r\nnews\r\n$5\r\nhello\r\n";
    var view: push.View = undefined;
    try testing.expectEqual(message.len, readMessage(message ++ "+OK\r\n", default_limits, 0, &view));
    try testing.expectEqual(abi.Kind.message, view.kind);
    try testing.expectEqual(abi.flag_resp3_push, view.flags);
    try testing.expectEqualStrings("news", view.channel);
    try testing.expectEqualStrings("hello", view.payload);

    const pmessage = "*4\r\n$8\r\npmessage\r\n$2\r\nn*\r\n$4\r\nnews\r\n$0\r\n\r\n";
    try testing.expectEqual(0, readMessage(pmessage, default_limits, 0, &view));
    try testing.expectEqual(pmessage.len, readMessage(pmessage, default_limits, abi.option_resp2_push_arrays, &view));
    try testing.expectEqual(abi.Kind.pmessage, view.kind);
    try testing.expectEqual(@as(u32, 0), view.flags);
    try testing.expectEqualStrings("n*", view.pattern);
    try testing.expectEqualStrings("", view.payload);

    const smessage = ">3\r\n$8\r\nsmessage\r\n$1\r\nc\r\n$3\r\n\r\n\r\r\n";
    try testing.expectEqual(smessage.len, readMessage(smessage, default_limits, 0, &view));
    try testing.expectEqual(abi.Kind.smessage, view.kind);
    try testing.expectEqualStrings("\r\n\r", view.payload);

    // Incomplete at every length; limits crossed; shapes the general path must judge.
    for (0..message.len) |length| try testing.expectEqual(0, readMessage(message[0..length], default_limits, 0, &view));
    var small = default_limits;
    small.max_bulk_length = 4;
    try testing.expectEqual(0, readMessage(message, small, 0, &view));
    small = default_limits;
    small.max_aggregate_length = 2;
    try testing.expectEqual(0, readMessage(message, small, 0, &view));
    const declined = [_][]const u8{
        ">3\r\n$7\r\nMESSAGE\r\n$4\r\nnews\r\n$5\r\nhello\r\n",
        ">3\r\n$7\r\nmessage\r\n$-1\r\n$5\r\nhello\r\n",
        ">3\r\n$7\r\nmessage\r\n$4\r\nnews\r\n*1\r\n$5\r\nhello\r\n",
        ">3\r\n$7\r\nmessage\r\n$4\r\nnews\r\n$5\r\nhelloXY",
        ">3\r\n$7\r\nmessage\r\n$4\r\nnews\r\n$12345678901\r\nhello\r\n",
        ">3\r\n$7\r\nmessage\r\n$4\r\nnews\r\n$5\nhello\r\n",
        ">2\r\n$7\r\nmessage\r\n$4\r\nnews\r\n$5\r\nhello\r\n",
        "|1\r\n+a\r\n:1\r\n>3\r\n$7\r\nmessage\r\n$4\r\nnews\r\n$5\r\nhello\r\n",
    };
    for (declined) |frame| try testing.expectEqual(0, readMessage(frame, default_limits, abi.option_resp2_push_arrays, &view));
}

test "RepeatedHeader backs off from headers that do not repeat, and reads the one it keeps" {
    const testing = std.testing;
    const news = ">3\r\n$7\r\nmessage\r\n$4\r\nnews\r\n$5\r\nhello\r\n";
    const alerts = ">3\r\n$7\r\nmessage\r\n$6\r\nalerts\r\n$3\r\nbye\r\n";
    var view: push.View = undefined;
    var header: RepeatedHeader = .{};
    try testing.expectEqual(news.len, readMessage(news, default_limits, 0, &view));
    header.remember(news, view, 1, 0);
    // "news" was never read again: "alerts" is not remembered until misses_per_try headers passed.
    try testing.expectEqual(alerts.len, readMessage(alerts, default_limits, 0, &view));
    for (1..RepeatedHeader.misses_per_try) |_| {
        header.remember(alerts, view, 2, 0);
        try testing.expectEqual(@as(usize, 0), header.read(alerts, default_limits.max_bulk_length, &view));
    }
    try testing.expectEqual(news.len, header.read(news, default_limits.max_bulk_length, &view));
    try testing.expectEqualStrings("news", view.channel);
    try testing.expectEqualStrings("hello", view.payload);
    // "news" repeated, so the next other header is remembered at once.
    try testing.expectEqual(alerts.len, readMessage(alerts, default_limits, 0, &view));
    header.remember(alerts, view, 2, 0);
    try testing.expectEqual(alerts.len, header.read(alerts, default_limits.max_bulk_length, &view));
    try testing.expectEqual(@as(u32, 2), header.channel_id);
    // The header, not the payload, is what must match: another payload length still reads.
    const longer = ">3\r\n$7\r\nmessage\r\n$6\r\nalerts\r\n$11\r\nhello again\r\n";
    try testing.expectEqual(longer.len, header.read(longer, default_limits.max_bulk_length, &view));
    try testing.expectEqualStrings("hello again", view.payload);
    try testing.expectEqual(@as(usize, 0), header.read(longer[0 .. longer.len - 1], default_limits.max_bulk_length, &view));
}
