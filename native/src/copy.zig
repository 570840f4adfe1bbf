//! copy.zig — the core's long byte copies (input into its buffer, message bytes out), made safe
//! from one slow case of x86-64 `memcpy`.
//!
//! glibc's memcpy switches to `rep movsb` from its rep_movsb_threshold up (2112 bytes on the AMD
//! EPYC VM this project is measured on; never below 2048 by default). There, a `rep movsb` whose
//! destination lies 1–31 bytes past its source modulo 4 KiB ran at 1.7–2.8 GB/s instead of
//! 35–45 GB/s (64 KiB copies, every distance from −8 to 72 measured; bench/README.md, item 8 of
//! "What the profile says").
//! That is not a rare case but the usual one: a page-aligned JS buffer copied into a large malloc
//! block (which starts 16 bytes past a page) is exactly 16 bytes apart, and so pw_feed of 64 KiB
//! pieces ran at 2 GB/s on Bun while Deno, whose buffers sit elsewhere, was not slowed.
//! Such copies go in pieces too short for `rep movsb`: glibc's vector loop then moves
//! 11–15 GB/s at those distances. Every other copy is one @memcpy, as before.

const std = @import("std");
const builtin = @import("builtin");
const assert = std.debug.assert;

/// Distances (destination − source, modulo 4 KiB) measured slow: 1 to 31.
const slow_distance_max = 31;
/// Below the lowest default rep_movsb_threshold (2048), so a piece never takes `rep movsb`.
const piece_length = 2016;

/// @memcpy(destination, source), in pieces when the slow case above could apply. The two must not
/// overlap.
pub fn copy(destination: []u8, source: []const u8) void {
    assert(destination.len == source.len);
    if (comptime builtin.cpu.arch == .x86_64) {
        if (source.len > piece_length) {
            const distance = (@intFromPtr(destination.ptr) -% @intFromPtr(source.ptr)) % 4096;
            if (distance != 0 and distance <= slow_distance_max) return copyInPieces(destination, source);
        }
    }
    @memcpy(destination, source);
}

fn copyInPieces(destination: []u8, source: []const u8) void {
    var offset: usize = 0;
    while (offset < source.len) {
        const length = @min(piece_length, source.len - offset);
        @memcpy(destination[offset..][0..length], source[offset..][0..length]);
        offset += length;
    }
}

test "copy: every distance around the slow window and every length around a piece gives the same bytes" {
    const allocator = std.testing.allocator;
    const source_block = try allocator.alloc(u8, 3 * 4096 + 64);
    defer allocator.free(source_block);
    const destination_block = try allocator.alloc(u8, 4 * 4096 + 128);
    defer allocator.free(destination_block);
    for (source_block, 0..) |*byte, index| byte.* = @truncate(index *% 131 +% 7);

    const lengths = [_]usize{ 0, 1, 31, piece_length - 1, piece_length, piece_length + 1, 2 * piece_length + 5, 3 * 4096 };
    for (lengths) |length| {
        const source = source_block[0..length];
        const source_page_offset = @intFromPtr(source.ptr) % 4096;
        var distance: usize = 0;
        while (distance <= 40) : (distance += 1) {
            // A destination `distance` bytes past the source modulo 4 KiB.
            const base_offset = (4096 + source_page_offset - @intFromPtr(destination_block.ptr) % 4096) % 4096;
            const destination = destination_block[base_offset + distance ..][0..length];
            @memset(destination_block, 0xAA);
            copy(destination, source);
            try std.testing.expectEqualSlices(u8, source, destination);
            // Nothing outside the destination was written.
            if (base_offset + distance > 0) try std.testing.expectEqual(@as(u8, 0xAA), destination_block[base_offset + distance - 1]);
            try std.testing.expectEqual(@as(u8, 0xAA), destination_block[base_offset + distance + length]);
        }
    }
}
