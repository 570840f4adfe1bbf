// The neutral FFI symbol table of libpushwire and the constants of native/include/pushwire.h.
// Rule: this file is the only TS copy of the C ABI. The two adapters (bun.ts, deno.ts) translate the
// neutral types below; tests/native/abi.test.ts parses pushwire.h and fails when a number here drifts.
//
// Neutral type vocabulary (what each adapter maps it to):
//   "u32" / "i32" : 32-bit integers as JS Numbers. Every size crosses the ABI as u32 on purpose: Deno
//                   turns usize results into BigInt and deoptimizes callers that pass Numbers as usize.
//   "buffer"      : a JS-owned Uint8Array passed IN; the core reads/writes it only during the call and
//                   keeps no pointer to it (pushwire.h "buffers passed IN").
//   "pointer"     : an opaque native address (a parser or a message) the core owns; JS never reads it
//                   except through the adapter. Bun represents it as a number, Deno as a PointerObject.
//   "void"        : no result.

export type NeutralType = "u32" | "i32" | "buffer" | "pointer" | "void";

export interface SymbolDefinition {
  readonly parameters: readonly NeutralType[];
  readonly result: NeutralType;
}

export const symbols = {
  // uint32_t pw_abi_version(void);
  pw_abi_version: { parameters: [], result: "u32" },

  // pw_parser *pw_parser_new(const pw_options *options /* buffer, 32 bytes, read during the call */);
  // Result: owned by the caller until pw_parser_free (NativeParser.close or its FinalizationRegistry).
  pw_parser_new: { parameters: ["buffer"], result: "pointer" },

  // void pw_parser_free(pw_parser *parser /* invalid afterwards, with all its messages */);
  pw_parser_free: { parameters: ["pointer"], result: "void" },

  // pw_status pw_reset(pw_parser *parser);
  pw_reset: { parameters: ["pointer"], result: "i32" },

  // pw_status pw_feed(pw_parser *parser, const uint8_t *bytes /* copied, not kept */, uint32_t length);
  pw_feed: { parameters: ["pointer", "buffer", "u32"], result: "i32" },

  // pw_status pw_next_message(pw_parser *parser, pw_message **out_message /* buffer, 8 bytes */);
  // *out_message: owned by the parser, borrowed until pw_free_message or pw_parser_free.
  pw_next_message: { parameters: ["pointer", "buffer"], result: "i32" },

  // pw_status pw_free_message(pw_parser *parser, pw_message *message /* invalid afterwards */);
  pw_free_message: { parameters: ["pointer", "pointer"], result: "i32" },

  // pw_status pw_next_batch(pw_parser *parser,
  //     uint32_t *headers /* buffer: max_messages * PW_BATCH_HEADER_WORDS words, written */,
  //     uint32_t max_messages,
  //     uint8_t *data /* buffer: data_capacity bytes, written */, uint32_t data_capacity,
  //     uint32_t *out /* buffer: 2 words, written */);
  // All three buffers are JS-owned; nothing needs freeing afterwards.
  pw_next_batch: { parameters: ["pointer", "buffer", "u32", "buffer", "u32", "buffer"], result: "i32" },

  // pw_status pw_feed_next_batch(pw_parser *parser,
  //     const uint8_t *bytes /* buffer: length bytes, read during the call */, uint32_t length,
  //     uint32_t *headers, uint32_t max_messages, uint8_t *data, uint32_t data_capacity,
  //     uint32_t *out /* buffer: 4 words, written: count, data used/needed, PW_STOP_*, bytes taken */);
  // pw_feed + pw_next_batch in one crossing; complete pushes are read from `bytes` in place.
  pw_feed_next_batch: {
    parameters: ["pointer", "buffer", "u32", "buffer", "u32", "buffer", "u32", "buffer"],
    result: "i32",
  },

  // uint32_t pw_error_message(const pw_parser *parser, uint8_t *buffer /* written */, uint32_t capacity);
  pw_error_message: { parameters: ["pointer", "buffer", "u32"], result: "u32" },

  // pw_status pw_stats(const pw_parser *parser, pw_counters *out /* buffer, 48 bytes, written */);
  pw_stats: { parameters: ["pointer", "buffer"], result: "i32" },

  // pw_status pw_set_flags(pw_parser *parser, uint32_t flags /* PW_OPTION_* */);
  pw_set_flags: { parameters: ["pointer", "u32"], result: "i32" },

  // uint32_t pw_interned_name(const pw_parser *parser, uint32_t id,
  //                           uint8_t *buffer /* written */, uint32_t capacity);
  pw_interned_name: { parameters: ["pointer", "u32", "buffer", "u32"], result: "u32" },

  // uint32_t pw_key_slot(const uint8_t *key /* read during the call */, uint32_t length);
  pw_key_slot: { parameters: ["buffer", "u32"], result: "u32" },

  // uint32_t pw_glob_match(const uint8_t *pattern, uint32_t pattern_length,
  //                        const uint8_t *subject, uint32_t subject_length);  /* both read during the call */
  pw_glob_match: { parameters: ["buffer", "u32", "buffer", "u32"], result: "u32" },
} as const satisfies Record<string, SymbolDefinition>;

export type SymbolName = keyof typeof symbols;

// ---- constants mirrored from pushwire.h (names as in C, minus nothing) -------------------------

export const PW_ABI_VERSION = 2;

// Status codes (pw_status, int32_t). > 0 is "nothing yet", < 0 is an error.
export const PW_OK = 0;
export const PW_PENDING = 1;
export const PW_BUFFER_TOO_SMALL = 2;
export const PW_ERR_PROTOCOL = -1;
export const PW_ERR_BULK_TOO_LONG = -2;
export const PW_ERR_TOO_DEEP = -3;
export const PW_ERR_AGGREGATE_TOO_LONG = -4;
export const PW_ERR_QUEUE_FULL = -5;
export const PW_ERR_PUSH_SHAPE = -6;
export const PW_ERR_OUT_OF_MEMORY = -7;
export const PW_ERR_INVALID_ARGUMENT = -8;
export const PW_ERR_FOREIGN_MESSAGE = -9;

// pw_feed_next_batch out[2]: why the batch ended (out[3]: bytes taken; with PW_STOP_ROOM the rest goes next;
// with PW_STOP_CUT the rest is the start of a frame of out[4] bytes for the caller to assemble).
export const PW_STOP_NOTHING = 0;
export const PW_STOP_ROOM = 1;
export const PW_STOP_ERROR = 2;
export const PW_STOP_CUT = 3;
/** Words of pw_feed_next_batch's `out` (5 with pw_options.assemble_min_bytes). */
export const FEED_BATCH_OUT_WORDS = 5;

/** Names of the negative statuses, for error messages (index = -status). */
export const STATUS_NAMES: readonly string[] = [
  "PW_OK",
  "PW_ERR_PROTOCOL",
  "PW_ERR_BULK_TOO_LONG",
  "PW_ERR_TOO_DEEP",
  "PW_ERR_AGGREGATE_TOO_LONG",
  "PW_ERR_QUEUE_FULL",
  "PW_ERR_PUSH_SHAPE",
  "PW_ERR_OUT_OF_MEMORY",
  "PW_ERR_INVALID_ARGUMENT",
  "PW_ERR_FOREIGN_MESSAGE",
];

// Message kinds (pw_kind, uint32_t).
export const PW_KIND_MESSAGE = 1;
export const PW_KIND_PMESSAGE = 2;
export const PW_KIND_SMESSAGE = 3;
export const PW_KIND_SUBSCRIBE = 4;
export const PW_KIND_PSUBSCRIBE = 5;
export const PW_KIND_SSUBSCRIBE = 6;
export const PW_KIND_UNSUBSCRIBE = 7;
export const PW_KIND_PUNSUBSCRIBE = 8;
export const PW_KIND_SUNSUBSCRIBE = 9;
export const PW_KIND_PONG = 10;
export const PW_KIND_INVALIDATE = 11;
export const PW_KIND_OTHER_PUSH = 12;
export const PW_KIND_REPLY = 13;
export const PW_KIND_ERROR_REPLY = 14;
export const PW_KIND_COUNT = 15;

/**
 * FrameKind string of each pw_kind, indexed by the kind's value (index 0 is not a kind).
 * OTHER_PUSH is "push" and ERROR_REPLY is "error" in the TS vocabulary (docs/ARCHITECTURE.md).
 */
export const KIND_NAMES = [
  undefined,
  "message",
  "pmessage",
  "smessage",
  "subscribe",
  "psubscribe",
  "ssubscribe",
  "unsubscribe",
  "punsubscribe",
  "sunsubscribe",
  "pong",
  "invalidate",
  "push",
  "reply",
  "error",
] as const;

// Message flags.
export const PW_FLAG_NULL_CHANNEL = 1;
export const PW_FLAG_RESP3_PUSH = 2;
/** Batch only: the payload stayed in pw_feed_next_batch's `bytes` (at PW_BATCH_PAYLOAD_INPUT_OFFSET). */
export const PW_FLAG_PAYLOAD_IN_INPUT = 4;

// Option defaults (a zero field in pw_options means the default).
export const PW_DEFAULT_MAX_BULK_LENGTH = 536870912;
export const PW_DEFAULT_MAX_NESTING_DEPTH = 64;
export const PW_DEFAULT_MAX_AGGREGATE_LENGTH = 16777216;
export const PW_DEFAULT_MAX_QUEUED_BYTES = 1073741824;
export const PW_DEFAULT_MAX_INTERNED_NAMES = 4096;
/** Names longer than this get interned id 0 (decoded per frame); not an option. */
export const PW_MAX_INTERNED_NAME_LENGTH = 1024;
export const PW_OPTION_RESP2_PUSH_ARRAYS = 1;
export const PW_NO_INTERNING = 0xFFFFFFFF;

/** Word indexes of pw_options (9 × uint32_t = 36 bytes). */
export const OPTIONS_WORDS = 9;
export const OPTION_MAX_BULK_LENGTH = 0;
export const OPTION_MAX_NESTING_DEPTH = 1;
export const OPTION_MAX_AGGREGATE_LENGTH = 2;
export const OPTION_MAX_QUEUED_BYTES = 3;
export const OPTION_MAX_INTERNED_NAMES = 4;
export const OPTION_FLAGS = 5;
export const OPTION_IN_PLACE_MIN_BYTES = 6;
export const OPTION_ASSEMBLE_MIN_BYTES = 7;

/** pw_message layout on 64-bit targets: 8 × uint32_t, then 3 pointers (channel, pattern, payload). */
export const MESSAGE_HEADER_WORDS = 8;
export const MESSAGE_POINTERS_OFFSET = 32;
export const MESSAGE_SIZE = 56;
export const MESSAGE_KIND = 0;
export const MESSAGE_FLAGS = 1;
export const MESSAGE_COUNT = 2;
export const MESSAGE_CHANNEL_ID = 3;
export const MESSAGE_PATTERN_ID = 4;
export const MESSAGE_CHANNEL_LENGTH = 5;
export const MESSAGE_PATTERN_LENGTH = 6;
export const MESSAGE_PAYLOAD_LENGTH = 7;
/** Field numbers of the three pointers of pw_message, for NativeLibrary.copyMessageBytes. */
export const MESSAGE_FIELD_CHANNEL = 0;
export const MESSAGE_FIELD_PATTERN = 1;
export const MESSAGE_FIELD_PAYLOAD = 2;

// Batch header words.
export const PW_BATCH_HEADER_WORDS = 8;
export const PW_BATCH_KIND = 0;
export const PW_BATCH_FLAGS = 1;
export const PW_BATCH_COUNT = 2;
export const PW_BATCH_NAME_IDS = 3;
export const PW_BATCH_DATA_OFFSET = 4;
export const PW_BATCH_CHANNEL_LENGTH = 5;
export const PW_BATCH_PATTERN_LENGTH = 6;
export const PW_BATCH_PAYLOAD_LENGTH = 7;
/** With PW_FLAG_PAYLOAD_IN_INPUT: the payload's offset in the fed bytes (the word of PW_BATCH_COUNT). */
export const PW_BATCH_PAYLOAD_INPUT_OFFSET = 2;

/** pw_counters: 6 × uint64_t = 48 bytes, in this order. */
export const COUNTERS_WORDS = 6;
export const COUNTER_LIVE_MESSAGES = 0;
export const COUNTER_LIVE_BYTES = 1;
export const COUNTER_TOTAL_MESSAGES = 2;
export const COUNTER_TOTAL_BYTES_FED = 3;
export const COUNTER_ERRORS = 4;
export const COUNTER_BUFFERED_BYTES = 5;
