//! abi.zig — the Zig mirror of native/include/pushwire.h: status codes, kinds, flags, defaults,
//! batch header words and the extern structs. Its one rule: every value here equals the header's
//! (header_test.zig @cImports the header and fails when they drift; lib.zig asserts the layouts).

pub const abi_version: u32 = 2;

/// C: pw_status
pub const Status = i32;
pub const status_ok: Status = 0;
pub const status_pending: Status = 1;
pub const status_buffer_too_small: Status = 2;
pub const status_error_protocol: Status = -1;
pub const status_error_bulk_too_long: Status = -2;
pub const status_error_too_deep: Status = -3;
pub const status_error_aggregate_too_long: Status = -4;
pub const status_error_queue_full: Status = -5;
pub const status_error_push_shape: Status = -6;
pub const status_error_out_of_memory: Status = -7;
pub const status_error_invalid_argument: Status = -8;
pub const status_error_foreign_message: Status = -9;

/// C: pw_kind
pub const Kind = enum(u32) {
    message = 1,
    pmessage = 2,
    smessage = 3,
    subscribe = 4,
    psubscribe = 5,
    ssubscribe = 6,
    unsubscribe = 7,
    punsubscribe = 8,
    sunsubscribe = 9,
    pong = 10,
    invalidate = 11,
    other_push = 12,
    reply = 13,
    error_reply = 14,
};
pub const kind_count: u32 = 15;

pub const flag_null_channel: u32 = 1;
pub const flag_resp3_push: u32 = 2;
pub const flag_payload_in_input: u32 = 4;

pub const default_max_bulk_length: u32 = 536870912;
pub const default_max_nesting_depth: u32 = 64;
pub const default_max_aggregate_length: u32 = 16777216;
pub const default_max_queued_bytes: u32 = 1073741824;
pub const default_max_interned_names: u32 = 4096;
pub const no_interning: u32 = 0xFFFFFFFF;
/// Names longer than this get id 0: interning exists to skip decoding short, repeated channel
/// names; a long name would only pin memory (4096 names of 512 MiB each is not a cache).
pub const max_interned_name_length: u32 = 1024;

pub const option_resp2_push_arrays: u32 = 1;
pub const options_known_mask: u32 = option_resp2_push_arrays;

pub const batch_header_words: u32 = 8;
/// pw_feed_next_batch out[2]: why the batch ended (core.BatchResult.stop has the same values).
pub const stop_nothing: u32 = 0;
pub const stop_room: u32 = 1;
pub const stop_error: u32 = 2;
pub const stop_cut: u32 = 3;
pub const batch_kind: u32 = 0;
pub const batch_flags: u32 = 1;
pub const batch_count: u32 = 2;
pub const batch_name_ids: u32 = 3;
pub const batch_data_offset: u32 = 4;
pub const batch_channel_length: u32 = 5;
pub const batch_pattern_length: u32 = 6;
pub const batch_payload_length: u32 = 7;
/// The same word as batch_count: with flag_payload_in_input (message kinds, whose count is 0).
pub const batch_payload_input_offset: u32 = 2;

/// C: pw_options
pub const Options = extern struct {
    max_bulk_length: u32 = 0,
    max_nesting_depth: u32 = 0,
    max_aggregate_length: u32 = 0,
    max_queued_bytes: u32 = 0,
    max_interned_names: u32 = 0,
    flags: u32 = 0,
    in_place_min_bytes: u32 = 0,
    assemble_min_bytes: u32 = 0,
    reserved: u32 = 0,
};

/// C: pw_message. Allocated by the core as one block: this struct, then channel, pattern and
/// payload bytes, so one free releases everything the pointers inside refer to.
pub const Message = extern struct {
    kind: u32,
    flags: u32,
    count: u32,
    channel_id: u32,
    pattern_id: u32,
    channel_length: u32,
    pattern_length: u32,
    payload_length: u32,
    channel: ?[*]const u8,
    pattern: ?[*]const u8,
    payload: ?[*]const u8,
};

/// C: pw_counters
pub const Counters = extern struct {
    live_messages: u64 = 0,
    live_bytes: u64 = 0,
    total_messages: u64 = 0,
    total_bytes_fed: u64 = 0,
    errors: u64 = 0,
    buffered_bytes: u64 = 0,
};
