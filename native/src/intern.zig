//! intern.zig — gives channel and pattern names small ids (1..max) so the TS side decodes each
//! distinct name once and then looks it up by id. Its rule: an id, once given, names the same
//! bytes until the parser is freed (pw_reset keeps them); past the limit names get id 0 (none),
//! and interning never fails a message (out of memory also means id 0).

const std = @import("std");
const assert = std.debug.assert;
const Allocator = std.mem.Allocator;
const abi = @import("abi.zig");

pub const Interner = struct {
    /// Owned name bytes → id. Keys are the slices stored in `names`.
    ids_by_name: std.StringHashMapUnmanaged(u32) = .empty,
    /// names.items[id - 1] = the bytes of id.
    names: std.ArrayList([]u8) = .empty,
    /// 0 disables interning.
    names_max: u32,
    /// The last name looked up: consecutive messages on one channel skip hashing.
    /// recent_name is names.items[recent_id - 1] (owned), or empty while recent_id is 0.
    recent_id: u32 = 0,
    recent_name: []const u8 = &.{},

    /// `max_interned_names` as in pw_options: 0 = default, PW_NO_INTERNING = disabled.
    pub fn init(max_interned_names: u32) Interner {
        const names_max = switch (max_interned_names) {
            0 => abi.default_max_interned_names,
            abi.no_interning => 0,
            else => max_interned_names,
        };
        return .{ .names_max = names_max };
    }

    pub fn deinit(self: *Interner, allocator: Allocator) void {
        for (self.names.items) |name| allocator.free(name);
        self.names.deinit(allocator);
        self.ids_by_name.deinit(allocator);
        self.* = undefined;
    }

    /// The id of `name`, giving it the next free id if it has none; 0 when it cannot have one.
    /// Inline for the common case (the channel of the previous message): a length and bytes
    /// compare against the recent name, no hashing, no call.
    pub inline fn intern(self: *Interner, allocator: Allocator, name: []const u8) u32 {
        if (name.len == self.recent_name.len and self.recent_id != 0 and
            equalBytes(self.recent_name, name)) return self.recent_id;
        return self.internLookup(allocator, name);
    }

    /// Byte equality of two equally long names. Up to 16 bytes (most channel names) it compares
    /// the first and the last 4 or 8 bytes, overlapping, instead of calling std.mem.eql (which
    /// was a call and ~40 instructions a message on the simple path).
    fn equalBytes(left: []const u8, right: []const u8) bool {
        assert(left.len == right.len);
        const length = left.len;
        return switch (length) {
            0 => true,
            1...3 => left[0] == right[0] and left[length / 2] == right[length / 2] and left[length - 1] == right[length - 1],
            4...7 => equalOverlapping(4, left, right),
            8...16 => equalOverlapping(8, left, right),
            else => std.mem.eql(u8, left, right),
        };
    }

    fn equalOverlapping(comptime width: usize, left: []const u8, right: []const u8) bool {
        assert(left.len >= width and left.len <= 2 * width and right.len == left.len);
        const Word = std.meta.Int(.unsigned, width * 8);
        const tail = left.len - width;
        const head_equal = @as(Word, @bitCast(left[0..width].*)) == @as(Word, @bitCast(right[0..width].*));
        const tail_equal = @as(Word, @bitCast(left[tail..][0..width].*)) == @as(Word, @bitCast(right[tail..][0..width].*));
        return head_equal and tail_equal;
    }

    fn internLookup(self: *Interner, allocator: Allocator, name: []const u8) u32 {
        if (name.len == 0 or name.len > abi.max_interned_name_length) return 0;
        const id = self.ids_by_name.get(name) orelse self.add(allocator, name);
        if (id != 0) {
            self.recent_id = id;
            self.recent_name = self.names.items[id - 1];
        }
        return id;
    }

    fn add(self: *Interner, allocator: Allocator, name: []const u8) u32 {
        if (self.names.items.len >= self.names_max) return 0;
        self.names.ensureUnusedCapacity(allocator, 1) catch return 0;
        self.ids_by_name.ensureUnusedCapacity(allocator, 1) catch return 0;
        const owned = allocator.dupe(u8, name) catch return 0;
        self.names.appendAssumeCapacity(owned);
        const id: u32 = @intCast(self.names.items.len);
        self.ids_by_name.putAssumeCapacityNoClobber(owned, id);
        assert(id >= 1 and id <= self.names_max);
        return id;
    }

    /// The bytes of `id`, or null for 0 and ids never given.
    pub fn nameOf(self: *const Interner, id: u32) ?[]const u8 {
        if (id == 0 or id > self.names.items.len) return null;
        return self.names.items[id - 1];
    }
};

test "interning gives stable ids 1..max, then 0" {
    const allocator = std.testing.allocator;
    var interner = Interner.init(2);
    defer interner.deinit(allocator);
    try std.testing.expectEqual(@as(u32, 1), interner.intern(allocator, "news"));
    try std.testing.expectEqual(@as(u32, 2), interner.intern(allocator, "alerts"));
    try std.testing.expectEqual(@as(u32, 0), interner.intern(allocator, "third"));
    try std.testing.expectEqual(@as(u32, 1), interner.intern(allocator, "news"));
    try std.testing.expectEqual(@as(u32, 2), interner.intern(allocator, "alerts"));
    try std.testing.expectEqual(@as(u32, 0), interner.intern(allocator, ""));
    try std.testing.expectEqualStrings("alerts", interner.nameOf(2).?);
    try std.testing.expect(interner.nameOf(0) == null);
    try std.testing.expect(interner.nameOf(3) == null);
}

test "interning disabled and over-long names give 0" {
    const allocator = std.testing.allocator;
    var disabled = Interner.init(abi.no_interning);
    defer disabled.deinit(allocator);
    try std.testing.expectEqual(@as(u32, 0), disabled.intern(allocator, "news"));
    var interner = Interner.init(0);
    defer interner.deinit(allocator);
    try std.testing.expectEqual(abi.default_max_interned_names, interner.names_max);
    const long = [_]u8{'a'} ** (abi.max_interned_name_length + 1);
    try std.testing.expectEqual(@as(u32, 0), interner.intern(allocator, &long));
    try std.testing.expectEqual(@as(u32, 1), interner.intern(allocator, long[0..abi.max_interned_name_length]));
}

test "the recent-name compare sees every differing byte at every length" {
    var left: [40]u8 = undefined;
    var right: [40]u8 = undefined;
    for (0..left.len + 1) |length| {
        for (0..length) |index| {
            for (&left, &right, 0..) |*l, *r, position| {
                l.* = @truncate(position * 7 + 1);
                r.* = l.*;
            }
            try std.testing.expect(Interner.equalBytes(left[0..length], right[0..length]));
            right[index] ^= 0x20;
            try std.testing.expect(!Interner.equalBytes(left[0..length], right[0..length]));
        }
    }
}

test "interning survives out of memory with id 0" {
    var failing = std.testing.FailingAllocator.init(std.testing.allocator, .{ .fail_index = 0 });
    const allocator = failing.allocator();
    var interner = Interner.init(0);
    defer interner.deinit(allocator);
    try std.testing.expectEqual(@as(u32, 0), interner.intern(allocator, "news"));
}
