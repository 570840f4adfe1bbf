//! lib.zig — the one export point of libpushwire: every `pw_*` function of
//! native/include/pushwire.h, the layout asserts of its structs, and the one exhaustive mapping
//! from Zig errors to pw_status. Its rule: argument checks and status mapping live here; the work
//! lives in core.zig and the modules it uses.

const std = @import("std");
const builtin = @import("builtin");
const abi = @import("abi.zig");
const errors = @import("errors.zig");
const core = @import("core.zig");
const slot = @import("slot.zig");
const glob = @import("glob.zig");

pub const Status = abi.Status;
pub const Options = abi.Options;
pub const Message = abi.Message;
pub const Counters = abi.Counters;

/// C: pw_parser (opaque to callers).
pub const ParserHandle = opaque {};

/// One heap for the whole library: the C heap when linked with libc (the host process's malloc),
/// else Zig's multi-threaded allocator. Each parser uses it through its own accounting.
/// raw_c_allocator is plain malloc/realloc/free: nothing here needs more than malloc's alignment
/// (asserted below), while std.heap.c_allocator goes through posix_memalign for every
/// allocation (measured: ~45 instructions of each pw_next_message), and grows buffers by
/// realloc (mremap for large ones) instead of allocate-copy-free.
const allocator = if (builtin.link_libc) std.heap.raw_c_allocator else std.heap.smp_allocator;

comptime {
    // raw_c_allocator hands out malloc's alignment only.
    if (builtin.link_libc) std.debug.assert(@alignOf(Message) <= @alignOf(std.c.max_align_t));
    std.debug.assert(@sizeOf(Options) == 36);
    std.debug.assert(@offsetOf(Options, "max_interned_names") == 16);
    std.debug.assert(@offsetOf(Options, "flags") == 20);
    std.debug.assert(@offsetOf(Options, "in_place_min_bytes") == 24);
    std.debug.assert(@offsetOf(Options, "assemble_min_bytes") == 28);
    std.debug.assert(@offsetOf(Options, "reserved") == 32);
    std.debug.assert(@sizeOf(Counters) == 48);
    std.debug.assert(@offsetOf(Counters, "buffered_bytes") == 40);
    std.debug.assert(@offsetOf(Message, "payload_length") == 28);
    std.debug.assert(@offsetOf(Message, "channel") == 32);
    if (@sizeOf(usize) == 8) {
        std.debug.assert(@sizeOf(Message) == 56);
        std.debug.assert(@offsetOf(Message, "pattern") == 40);
        std.debug.assert(@offsetOf(Message, "payload") == 48);
    }
}

/// The single mapping from Zig errors to C statuses; exhaustive so a new error cannot be missed.
pub fn statusOf(err: errors.Error) Status {
    return switch (err) {
        error.Protocol => abi.status_error_protocol,
        error.BulkTooLong => abi.status_error_bulk_too_long,
        error.TooDeep => abi.status_error_too_deep,
        error.AggregateTooLong => abi.status_error_aggregate_too_long,
        error.QueueFull => abi.status_error_queue_full,
        error.PushShape => abi.status_error_push_shape,
        error.OutOfMemory => abi.status_error_out_of_memory,
        error.InvalidArgument => abi.status_error_invalid_argument,
        error.ForeignMessage => abi.status_error_foreign_message,
    };
}

fn parserOf(handle: ?*ParserHandle) ?*core.Parser {
    return @ptrCast(@alignCast(handle));
}

fn constParserOf(handle: ?*const ParserHandle) ?*const core.Parser {
    return @ptrCast(@alignCast(handle));
}

/// C: pw_abi_version
pub export fn pw_abi_version() u32 {
    return abi.abi_version;
}

/// C: pw_parser_new
pub export fn pw_parser_new(options: ?*const Options) ?*ParserHandle {
    const parser = core.Parser.create(allocator, if (options) |given| given.* else .{}) catch return null;
    return @ptrCast(parser);
}

/// C: pw_parser_free
pub export fn pw_parser_free(handle: ?*ParserHandle) void {
    const parser = parserOf(handle) orelse return;
    parser.destroy();
}

/// C: pw_reset
pub export fn pw_reset(handle: ?*ParserHandle) Status {
    const parser = parserOf(handle) orelse return abi.status_error_invalid_argument;
    parser.reset();
    return abi.status_ok;
}

/// C: pw_feed
pub export fn pw_feed(handle: ?*ParserHandle, bytes: ?[*]const u8, length: u32) Status {
    const parser = parserOf(handle) orelse return abi.status_error_invalid_argument;
    if (parser.sticky_error) |err| return statusOf(err);
    if (length == 0) return abi.status_ok;
    const given = bytes orelse return abi.status_error_invalid_argument;
    parser.feed(given[0..length]) catch |err| return statusOf(err);
    return abi.status_ok;
}

/// C: pw_next_message
pub export fn pw_next_message(handle: ?*ParserHandle, out_message: ?*?*Message) Status {
    const out = out_message orelse return abi.status_error_invalid_argument;
    out.* = null;
    const parser = parserOf(handle) orelse return abi.status_error_invalid_argument;
    const message = parser.nextMessage() catch |err| return statusOf(err);
    out.* = message orelse return abi.status_pending;
    return abi.status_ok;
}

/// C: pw_free_message
pub export fn pw_free_message(handle: ?*ParserHandle, message: ?*Message) Status {
    const parser = parserOf(handle) orelse return abi.status_error_invalid_argument;
    const given = message orelse return abi.status_ok;
    parser.freeMessage(given) catch |err| return statusOf(err);
    return abi.status_ok;
}

/// C: pw_next_batch
pub export fn pw_next_batch(
    handle: ?*ParserHandle,
    headers: ?[*]u32,
    max_messages: u32,
    data: ?[*]u8,
    data_capacity: u32,
    out: ?[*]u32,
) Status {
    const result_words = out orelse return abi.status_error_invalid_argument;
    result_words[0] = 0;
    result_words[1] = 0;
    const parser = parserOf(handle) orelse return abi.status_error_invalid_argument;
    const buffers = batchBuffers(headers, max_messages, data, data_capacity) orelse
        return abi.status_error_invalid_argument;
    const result = parser.nextBatch(buffers.header_words, buffers.data) catch |err|
        return statusOf(err);
    result_words[0] = result.message_count;
    result_words[1] = result.data_bytes;
    return batchStatus(result.status);
}

/// C: pw_feed_next_batch
pub export fn pw_feed_next_batch(
    handle: ?*ParserHandle,
    bytes: ?[*]const u8,
    length: u32,
    headers: ?[*]u32,
    max_messages: u32,
    data: ?[*]u8,
    data_capacity: u32,
    out: ?[*]u32,
) Status {
    const result_words = out orelse return abi.status_error_invalid_argument;
    result_words[0] = 0;
    result_words[1] = 0;
    result_words[2] = 0;
    result_words[3] = 0;
    const parser = parserOf(handle) orelse return abi.status_error_invalid_argument;
    if (bytes == null and length != 0) return abi.status_error_invalid_argument;
    const buffers = batchBuffers(headers, max_messages, data, data_capacity) orelse
        return abi.status_error_invalid_argument;
    const byte_slice: []const u8 = if (bytes) |given| given[0..length] else &.{};
    const result = parser.feedNextBatch(byte_slice, buffers.header_words, buffers.data) catch |err|
        return statusOf(err);
    result_words[0] = result.message_count;
    result_words[1] = result.data_bytes;
    result_words[2] = @intFromEnum(result.stop);
    result_words[3] = result.bytes_taken;
    // Only then: a caller without assemble_min_bytes may pass 4 words.
    if (result.stop == .cut) result_words[4] = result.cut_length;
    return batchStatus(result.status);
}

fn batchStatus(status: anytype) Status {
    return switch (status) {
        .ok => abi.status_ok,
        .pending => abi.status_pending,
        .buffer_too_small => abi.status_buffer_too_small,
    };
}

const BatchBuffers = struct { header_words: []u32, data: []u8 };

/// The caller's batch buffers as slices, or null when they cannot be valid: shared by both batch
/// calls so they accept and refuse exactly the same arguments.
fn batchBuffers(headers: ?[*]u32, max_messages: u32, data: ?[*]u8, data_capacity: u32) ?BatchBuffers {
    const header_start = headers orelse return null;
    if (max_messages == 0) return null;
    if (data == null and data_capacity != 0) return null;
    // A header-word count above the address space cannot be a real buffer.
    const header_word_count = std.math.mul(usize, max_messages, abi.batch_header_words) catch return null;
    return .{
        .header_words = header_start[0..header_word_count],
        .data = if (data) |given| given[0..data_capacity] else &.{},
    };
}

/// C: pw_error_message
pub export fn pw_error_message(handle: ?*const ParserHandle, buffer: ?[*]u8, capacity: u32) u32 {
    const parser = constParserOf(handle) orelse return 0;
    return copyTruncated(parser.errorMessage(), buffer, capacity);
}

/// C: pw_stats
pub export fn pw_stats(handle: ?*const ParserHandle, out: ?*Counters) Status {
    const parser = constParserOf(handle) orelse return abi.status_error_invalid_argument;
    const destination = out orelse return abi.status_error_invalid_argument;
    destination.* = parser.counters();
    return abi.status_ok;
}

/// C: pw_set_flags
pub export fn pw_set_flags(handle: ?*ParserHandle, flags: u32) Status {
    const parser = parserOf(handle) orelse return abi.status_error_invalid_argument;
    parser.setFlags(flags) catch |err| return statusOf(err);
    return abi.status_ok;
}

/// C: pw_interned_name
pub export fn pw_interned_name(handle: ?*const ParserHandle, id: u32, buffer: ?[*]u8, capacity: u32) u32 {
    const parser = constParserOf(handle) orelse return 0;
    const name = parser.internedName(id) orelse return 0;
    return copyTruncated(name, buffer, capacity);
}

/// C: pw_key_slot
pub export fn pw_key_slot(key: ?[*]const u8, length: u32) u32 {
    const bytes: []const u8 = if (key) |given| given[0..length] else &.{};
    return slot.keySlot(bytes);
}

/// C: pw_glob_match
pub export fn pw_glob_match(pattern: ?[*]const u8, pattern_length: u32, subject: ?[*]const u8, subject_length: u32) u32 {
    const pattern_bytes: []const u8 = if (pattern) |given| given[0..pattern_length] else &.{};
    const subject_bytes: []const u8 = if (subject) |given| given[0..subject_length] else &.{};
    return @intFromBool(glob.match(pattern_bytes, subject_bytes));
}

/// Copies `text` into the caller's buffer, truncated to `capacity`; returns the full length.
fn copyTruncated(text: []const u8, buffer: ?[*]u8, capacity: u32) u32 {
    if (buffer) |destination| {
        const copied = @min(text.len, capacity);
        @memcpy(destination[0..copied], text[0..copied]);
    }
    return @intCast(text.len);
}
