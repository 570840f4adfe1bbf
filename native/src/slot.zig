//! slot.zig — the Valkey/Redis Cluster key slot: CRC16/XMODEM (polynomial 0x1021, initial value 0)
//! of the key's {hash tag} when it has a non-empty one, else of the whole key, mod 16384.
//! Its rule: identical to CLUSTER KEYSLOT for every byte string.

const std = @import("std");

pub const slot_count = 16384;

/// Byte-at-a-time table, built at compile time.
const crc16_table: [256]u16 = blk: {
    @setEvalBranchQuota(10_000);
    var table: [256]u16 = undefined;
    for (&table, 0..) |*entry, index| {
        var crc: u16 = @as(u16, index) << 8;
        for (0..8) |_| crc = if (crc & 0x8000 != 0) (crc << 1) ^ 0x1021 else crc << 1;
        entry.* = crc;
    }
    break :blk table;
};

pub fn crc16(bytes: []const u8) u16 {
    var crc: u16 = 0;
    for (bytes) |byte| crc = (crc << 8) ^ crc16_table[@as(u8, @truncate(crc >> 8)) ^ byte];
    return crc;
}

/// The bytes that decide the slot: between the first '{' and the first '}' after it, when that
/// is non-empty; else the whole key (so "foo{}{bar}" hashes all of it).
pub fn hashedPart(key: []const u8) []const u8 {
    const open = std.mem.indexOfScalar(u8, key, '{') orelse return key;
    const close = std.mem.indexOfScalarPos(u8, key, open + 1, '}') orelse return key;
    if (close == open + 1) return key;
    return key[open + 1 .. close];
}

pub fn keySlot(key: []const u8) u32 {
    return crc16(hashedPart(key)) % slot_count;
}

test "crc16 xmodem check value" {
    try std.testing.expectEqual(@as(u16, 0x31C3), crc16("123456789"));
    try std.testing.expectEqual(@as(u16, 0), crc16(""));
}

test "key slots match CLUSTER KEYSLOT" {
    try std.testing.expectEqual(@as(u32, 12182), keySlot("foo"));
    try std.testing.expectEqual(@as(u32, 5061), keySlot("bar"));
    try std.testing.expectEqual(@as(u32, 0), keySlot(""));
    try std.testing.expectEqual(keySlot("{user1000}.following"), keySlot("{user1000}.followers"));
    try std.testing.expectEqual(keySlot("user1000"), keySlot("{user1000}.following"));
    try std.testing.expectEqual(@as(u32, crc16("foo{}{bar}") % slot_count), keySlot("foo{}{bar}"));
    try std.testing.expectEqualStrings("foo{}{bar}", hashedPart("foo{}{bar}"));
    try std.testing.expectEqualStrings("{bar", hashedPart("foo{{bar}}zap"));
    try std.testing.expectEqualStrings("bar", hashedPart("foo{bar}{zap}"));
    try std.testing.expectEqualStrings("foo{bar", hashedPart("foo{bar"));
    try std.testing.expectEqualStrings("foo}bar{", hashedPart("foo}bar{"));
}
