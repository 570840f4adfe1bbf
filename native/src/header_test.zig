//! header_test.zig — method: @cImport the real include/pushwire.h and compare every #define,
//! struct size, field offset and function signature with the Zig side, so the contract and the
//! implementation cannot drift apart silently.

const std = @import("std");
const testing = std.testing;
const abi = @import("abi.zig");
const lib = @import("lib.zig");
const c = @cImport(@cInclude("pushwire.h"));

fn expectSame(header_value: anytype, zig_value: anytype) !void {
    try testing.expectEqual(@as(i64, @intCast(zig_value)), @as(i64, @intCast(header_value)));
}

test "statuses match" {
    try expectSame(c.PW_ABI_VERSION, abi.abi_version);
    try expectSame(c.PW_OK, abi.status_ok);
    try expectSame(c.PW_PENDING, abi.status_pending);
    try expectSame(c.PW_BUFFER_TOO_SMALL, abi.status_buffer_too_small);
    try expectSame(c.PW_STOP_NOTHING, abi.stop_nothing);
    try expectSame(c.PW_STOP_ROOM, abi.stop_room);
    try expectSame(c.PW_STOP_ERROR, abi.stop_error);
    try expectSame(c.PW_STOP_CUT, abi.stop_cut);
    try expectSame(c.PW_ERR_PROTOCOL, abi.status_error_protocol);
    try expectSame(c.PW_ERR_BULK_TOO_LONG, abi.status_error_bulk_too_long);
    try expectSame(c.PW_ERR_TOO_DEEP, abi.status_error_too_deep);
    try expectSame(c.PW_ERR_AGGREGATE_TOO_LONG, abi.status_error_aggregate_too_long);
    try expectSame(c.PW_ERR_QUEUE_FULL, abi.status_error_queue_full);
    try expectSame(c.PW_ERR_PUSH_SHAPE, abi.status_error_push_shape);
    try expectSame(c.PW_ERR_OUT_OF_MEMORY, abi.status_error_out_of_memory);
    try expectSame(c.PW_ERR_INVALID_ARGUMENT, abi.status_error_invalid_argument);
    try expectSame(c.PW_ERR_FOREIGN_MESSAGE, abi.status_error_foreign_message);
    // The one mapping covers every error with the status of the same meaning.
    try expectSame(c.PW_ERR_PROTOCOL, lib.statusOf(error.Protocol));
    try expectSame(c.PW_ERR_BULK_TOO_LONG, lib.statusOf(error.BulkTooLong));
    try expectSame(c.PW_ERR_TOO_DEEP, lib.statusOf(error.TooDeep));
    try expectSame(c.PW_ERR_AGGREGATE_TOO_LONG, lib.statusOf(error.AggregateTooLong));
    try expectSame(c.PW_ERR_QUEUE_FULL, lib.statusOf(error.QueueFull));
    try expectSame(c.PW_ERR_PUSH_SHAPE, lib.statusOf(error.PushShape));
    try expectSame(c.PW_ERR_OUT_OF_MEMORY, lib.statusOf(error.OutOfMemory));
    try expectSame(c.PW_ERR_INVALID_ARGUMENT, lib.statusOf(error.InvalidArgument));
    try expectSame(c.PW_ERR_FOREIGN_MESSAGE, lib.statusOf(error.ForeignMessage));
}

test "kinds and flags match" {
    try expectSame(c.PW_KIND_MESSAGE, @intFromEnum(abi.Kind.message));
    try expectSame(c.PW_KIND_PMESSAGE, @intFromEnum(abi.Kind.pmessage));
    try expectSame(c.PW_KIND_SMESSAGE, @intFromEnum(abi.Kind.smessage));
    try expectSame(c.PW_KIND_SUBSCRIBE, @intFromEnum(abi.Kind.subscribe));
    try expectSame(c.PW_KIND_PSUBSCRIBE, @intFromEnum(abi.Kind.psubscribe));
    try expectSame(c.PW_KIND_SSUBSCRIBE, @intFromEnum(abi.Kind.ssubscribe));
    try expectSame(c.PW_KIND_UNSUBSCRIBE, @intFromEnum(abi.Kind.unsubscribe));
    try expectSame(c.PW_KIND_PUNSUBSCRIBE, @intFromEnum(abi.Kind.punsubscribe));
    try expectSame(c.PW_KIND_SUNSUBSCRIBE, @intFromEnum(abi.Kind.sunsubscribe));
    try expectSame(c.PW_KIND_PONG, @intFromEnum(abi.Kind.pong));
    try expectSame(c.PW_KIND_INVALIDATE, @intFromEnum(abi.Kind.invalidate));
    try expectSame(c.PW_KIND_OTHER_PUSH, @intFromEnum(abi.Kind.other_push));
    try expectSame(c.PW_KIND_REPLY, @intFromEnum(abi.Kind.reply));
    try expectSame(c.PW_KIND_ERROR_REPLY, @intFromEnum(abi.Kind.error_reply));
    try expectSame(c.PW_KIND_COUNT, abi.kind_count);
    try expectSame(c.PW_KIND_COUNT, @typeInfo(abi.Kind).@"enum".fields.len + 1);
    try expectSame(c.PW_FLAG_NULL_CHANNEL, abi.flag_null_channel);
    try expectSame(c.PW_FLAG_RESP3_PUSH, abi.flag_resp3_push);
    try expectSame(c.PW_FLAG_PAYLOAD_IN_INPUT, abi.flag_payload_in_input);
    try expectSame(c.PW_OPTION_RESP2_PUSH_ARRAYS, abi.option_resp2_push_arrays);
}

test "defaults, limits and batch words match" {
    try expectSame(c.PW_DEFAULT_MAX_BULK_LENGTH, abi.default_max_bulk_length);
    try expectSame(c.PW_DEFAULT_MAX_NESTING_DEPTH, abi.default_max_nesting_depth);
    try expectSame(c.PW_DEFAULT_MAX_AGGREGATE_LENGTH, abi.default_max_aggregate_length);
    try expectSame(c.PW_DEFAULT_MAX_QUEUED_BYTES, abi.default_max_queued_bytes);
    try expectSame(c.PW_DEFAULT_MAX_INTERNED_NAMES, abi.default_max_interned_names);
    try expectSame(c.PW_MAX_INTERNED_NAME_LENGTH, abi.max_interned_name_length);
    try expectSame(c.PW_NO_INTERNING, abi.no_interning);
    try expectSame(c.PW_BATCH_HEADER_WORDS, abi.batch_header_words);
    try expectSame(c.PW_BATCH_KIND, abi.batch_kind);
    try expectSame(c.PW_BATCH_FLAGS, abi.batch_flags);
    try expectSame(c.PW_BATCH_COUNT, abi.batch_count);
    try expectSame(c.PW_BATCH_NAME_IDS, abi.batch_name_ids);
    try expectSame(c.PW_BATCH_DATA_OFFSET, abi.batch_data_offset);
    try expectSame(c.PW_BATCH_CHANNEL_LENGTH, abi.batch_channel_length);
    try expectSame(c.PW_BATCH_PATTERN_LENGTH, abi.batch_pattern_length);
    try expectSame(c.PW_BATCH_PAYLOAD_LENGTH, abi.batch_payload_length);
    try expectSame(c.PW_BATCH_PAYLOAD_INPUT_OFFSET, abi.batch_payload_input_offset);
}

/// Same size, and every field of the C struct at the same offset with the same size in Zig.
fn expectSameLayout(comptime CType: type, comptime ZigType: type) !void {
    try testing.expectEqual(@sizeOf(CType), @sizeOf(ZigType));
    const c_fields = @typeInfo(CType).@"struct".fields;
    const zig_fields = @typeInfo(ZigType).@"struct".fields;
    try testing.expectEqual(c_fields.len, zig_fields.len);
    inline for (c_fields, zig_fields) |c_field, zig_field| {
        try testing.expectEqualStrings(c_field.name, zig_field.name);
        try testing.expectEqual(@offsetOf(CType, c_field.name), @offsetOf(ZigType, zig_field.name));
        try testing.expectEqual(@sizeOf(c_field.type), @sizeOf(zig_field.type));
    }
}

test "struct layouts match" {
    try expectSameLayout(c.pw_options, abi.Options);
    try expectSameLayout(c.pw_message, abi.Message);
    try expectSameLayout(c.pw_counters, abi.Counters);
    try testing.expectEqual(@as(usize, 36), @sizeOf(c.pw_options));
    try testing.expectEqual(@as(usize, 48), @sizeOf(c.pw_counters));
    if (@sizeOf(usize) == 8) try testing.expectEqual(@as(usize, 56), @sizeOf(c.pw_message));
}

/// Parameter and return sizes of each exported function equal the header's prototype.
fn expectSameSignature(comptime header_function: anytype, comptime zig_function: anytype) !void {
    const header_info = @typeInfo(@TypeOf(header_function)).@"fn";
    const zig_info = @typeInfo(@TypeOf(zig_function)).@"fn";
    try testing.expectEqual(header_info.params.len, zig_info.params.len);
    inline for (header_info.params, zig_info.params) |header_param, zig_param| {
        try testing.expectEqual(@sizeOf(header_param.type.?), @sizeOf(zig_param.type.?));
        try testing.expectEqual(isSigned(header_param.type.?), isSigned(zig_param.type.?));
    }
    try testing.expectEqual(@sizeOf(header_info.return_type.?), @sizeOf(zig_info.return_type.?));
    try testing.expectEqual(isSigned(header_info.return_type.?), isSigned(zig_info.return_type.?));
}

fn isSigned(comptime T: type) bool {
    return switch (@typeInfo(T)) {
        .int => |int| int.signedness == .signed,
        else => false,
    };
}

test "function signatures match" {
    try expectSameSignature(c.pw_abi_version, lib.pw_abi_version);
    try expectSameSignature(c.pw_parser_new, lib.pw_parser_new);
    try expectSameSignature(c.pw_parser_free, lib.pw_parser_free);
    try expectSameSignature(c.pw_reset, lib.pw_reset);
    try expectSameSignature(c.pw_feed, lib.pw_feed);
    try expectSameSignature(c.pw_next_message, lib.pw_next_message);
    try expectSameSignature(c.pw_free_message, lib.pw_free_message);
    try expectSameSignature(c.pw_next_batch, lib.pw_next_batch);
    try expectSameSignature(c.pw_feed_next_batch, lib.pw_feed_next_batch);
    try expectSameSignature(c.pw_error_message, lib.pw_error_message);
    try expectSameSignature(c.pw_stats, lib.pw_stats);
    try expectSameSignature(c.pw_set_flags, lib.pw_set_flags);
    try expectSameSignature(c.pw_interned_name, lib.pw_interned_name);
    try expectSameSignature(c.pw_key_slot, lib.pw_key_slot);
    try expectSameSignature(c.pw_glob_match, lib.pw_glob_match);
}
