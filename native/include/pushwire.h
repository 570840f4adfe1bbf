/*
 * pushwire.h — the C ABI of the pushwire native core. This file is the contract.
 *
 * The core is a pull-only, single-threaded RESP2/RESP3 reader for pub/sub connections:
 *   bytes in  : pw_feed(parser, bytes, length)      (the core copies what it keeps)
 *   frames out: pw_next_message / pw_free_message    (simple API, one allocation per message)
 *               pw_next_batch                        (hot path, copies into caller memory)
 * No function ever calls back into the caller and the core starts no threads. A parser is not
 * thread-safe: one thread (the JS event loop) uses it at a time.
 *
 * Status convention: 0 = ok, > 0 = "nothing yet / try again with more room" (not an error),
 * < 0 = error. Errors from PW_ERR_PROTOCOL to PW_ERR_OUT_OF_MEMORY are STICKY: the parser is
 * poisoned and every later pw_feed / pw_next_* returns the same code until pw_reset.
 * pw_error_message explains the error (what was expected, at which stream offset).
 *
 * Integer widths: every length and count that crosses the ABI is uint32_t on purpose
 * (Deno turns usize results into BigInt and deoptimizes callers passing Numbers as usize).
 *
 * Ownership, in one place:
 *   - pw_parser*  : owned by the caller from pw_parser_new until pw_parser_free.
 *   - pw_message* : owned by the parser; borrowed by the caller from pw_next_message until
 *                   pw_free_message(parser, message) or pw_parser_free, whichever comes first.
 *                   Every pointer inside it lives exactly as long as the message.
 *   - buffers passed IN (bytes, headers, data, out, options): owned by the caller; the core
 *     reads/writes them only during the call and keeps no pointer to them afterwards.
 *   - Memory the core allocates is freed only by the core (heaps differ across DLLs on Windows).
 */
#ifndef PUSHWIRE_H
#define PUSHWIRE_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Bumped on any incompatible change to a type, value or function below. The TS loader refuses a
 * library whose pw_abi_version() differs from the version it was written for. */
#define PW_ABI_VERSION 2

/* ---------------------------------------------------------------------------------------------
 * Status codes (int32_t).
 * ------------------------------------------------------------------------------------------- */
typedef int32_t pw_status;
#define PW_OK 0
#define PW_PENDING 1             /* no complete frame buffered yet: feed more bytes */
#define PW_BUFFER_TOO_SMALL 2    /* pw_next_batch: the next message does not fit in `data`;
                                    out[1] holds the number of data bytes it needs */
/* sticky (poison the parser until pw_reset): */
#define PW_ERR_PROTOCOL -1       /* malformed stream: unknown type byte, bad length, missing CRLF */
#define PW_ERR_BULK_TOO_LONG -2  /* a bulk/verbatim/bulk-error/big-number length > max_bulk_length
                                    (also a simple string/error line longer than that) */
#define PW_ERR_TOO_DEEP -3       /* aggregate nesting deeper than max_nesting_depth */
#define PW_ERR_AGGREGATE_TOO_LONG -4 /* an aggregate announced more than max_aggregate_length elements */
#define PW_ERR_QUEUE_FULL -5     /* buffered input + live message bytes would exceed max_queued_bytes */
#define PW_ERR_PUSH_SHAPE -6     /* a pub/sub push with the wrong element count or element types */
#define PW_ERR_OUT_OF_MEMORY -7
/* not sticky (the parser is unchanged): */
#define PW_ERR_INVALID_ARGUMENT -8 /* NULL parser, NULL buffer with non-zero length, bad option */
#define PW_ERR_FOREIGN_MESSAGE -9  /* pw_free_message got a pointer this parser does not own
                                      (double free, or another parser's message); nothing freed */

/* ---------------------------------------------------------------------------------------------
 * Message kinds (uint32_t in structs and batch headers).
 * ------------------------------------------------------------------------------------------- */
typedef uint32_t pw_kind;
#define PW_KIND_MESSAGE 1      /* channel, payload                                    */
#define PW_KIND_PMESSAGE 2     /* pattern, channel, payload                           */
#define PW_KIND_SMESSAGE 3     /* channel (shard channel), payload                    */
#define PW_KIND_SUBSCRIBE 4    /* channel, count                                      */
#define PW_KIND_PSUBSCRIBE 5   /* channel = the pattern, count                        */
#define PW_KIND_SSUBSCRIBE 6   /* channel, count                                      */
#define PW_KIND_UNSUBSCRIBE 7  /* channel (length 0 and PW_FLAG_NULL_CHANNEL when null), count */
#define PW_KIND_PUNSUBSCRIBE 8 /* as UNSUBSCRIBE, channel = the pattern               */
#define PW_KIND_SUNSUBSCRIBE 9 /* as UNSUBSCRIBE                                      */
#define PW_KIND_PONG 10        /* RESP2 subscriber-mode ["pong", payload]; payload = the echoed bulk */
#define PW_KIND_INVALIDATE 11  /* client tracking ["invalidate", keys]: payload = raw RESP of keys
                                  (also RESP2 REDIRECT ["message", "__redis__:invalidate", keys|null]) */
#define PW_KIND_OTHER_PUSH 12  /* any other push: channel = its name, payload = raw RESP of the frame */
#define PW_KIND_REPLY 13       /* any non-push, non-error frame: payload = its raw RESP bytes      */
#define PW_KIND_ERROR_REPLY 14 /* '-' simple error or '!' bulk error: payload = the error text    */
#define PW_KIND_COUNT 15       /* one past the last kind (for table sizes) */

/* Message flags (uint32_t). */
#define PW_FLAG_NULL_CHANNEL 1u /* unsubscribe-family frame whose channel was null (no subscriptions) */
#define PW_FLAG_RESP3_PUSH 2u   /* the frame was a RESP3 '>' push (else a RESP2 array or a reply) */
#define PW_FLAG_PAYLOAD_IN_INPUT 4u /* batch only: the payload was left in pw_feed_next_batch's `bytes`
                                       (pw_options.in_place_min_bytes); see PW_BATCH_PAYLOAD_INPUT_OFFSET */

/* ---------------------------------------------------------------------------------------------
 * Options. A zero field means "the default" (listed here once; lib.zig asserts the same values).
 * ------------------------------------------------------------------------------------------- */
#define PW_DEFAULT_MAX_BULK_LENGTH 536870912u       /* 512 MiB, as redis proto-max-bulk-len    */
#define PW_DEFAULT_MAX_NESTING_DEPTH 64u            /* aggregates inside aggregates             */
#define PW_DEFAULT_MAX_AGGREGATE_LENGTH 16777216u   /* elements announced by one aggregate      */
#define PW_DEFAULT_MAX_QUEUED_BYTES 1073741824u     /* 1 GiB: buffered input + live messages    */
#define PW_DEFAULT_MAX_INTERNED_NAMES 4096u         /* distinct channel/pattern names given ids */
#define PW_MAX_INTERNED_NAME_LENGTH 1024u           /* longer names get id 0 (not an option)    */

/* Parser option flags. */
#define PW_OPTION_RESP2_PUSH_ARRAYS 1u /* classify top-level RESP2 arrays whose first element is
                                          a pub/sub name ("message", "subscribe", ...) as pushes.
                                          Set it on RESP2 subscriber connections only. */

typedef struct pw_options {
    uint32_t max_bulk_length;      /* bytes */
    uint32_t max_nesting_depth;    /* levels; a top-level aggregate is depth 1 */
    uint32_t max_aggregate_length; /* elements (a map of N pairs counts 2N) */
    uint32_t max_queued_bytes;     /* bytes */
    uint32_t max_interned_names;   /* names; PW_NO_INTERNING (0xFFFFFFFF) disables interning */
    uint32_t flags;                /* PW_OPTION_* */
    uint32_t in_place_min_bytes;   /* pw_feed_next_batch leaves payloads of at least this many bytes
                                      in the caller's `bytes` (PW_FLAG_PAYLOAD_IN_INPUT); 0 = never */
    uint32_t assemble_min_bytes;   /* pw_feed_next_batch leaves a message push of at least this many
                                      bytes cut by the end of `bytes` to the caller (PW_STOP_CUT)
                                      instead of buffering it; 0 = never */
    uint32_t reserved;             /* must be zero */
} pw_options;                      /* 36 bytes */
#define PW_NO_INTERNING 0xFFFFFFFFu

/* ---------------------------------------------------------------------------------------------
 * Messages (simple API).
 * ------------------------------------------------------------------------------------------- */
typedef struct pw_message {
    pw_kind kind;
    uint32_t flags;           /* PW_FLAG_* */
    uint32_t count;           /* subscribe family: the server's subscription count; else 0 */
    uint32_t channel_id;      /* interned id of the channel (1..max_interned_names), 0 = none */
    uint32_t pattern_id;      /* interned id of the pattern, 0 = none */
    uint32_t channel_length;
    uint32_t pattern_length;
    uint32_t payload_length;
    const uint8_t *channel;   /* NULL when channel_length == 0 */
    const uint8_t *pattern;   /* NULL when pattern_length == 0 */
    const uint8_t *payload;   /* NULL when payload_length == 0 */
} pw_message;                 /* 56 bytes on 64-bit targets */

/* ---------------------------------------------------------------------------------------------
 * Batch API (hot path). Each message becomes PW_BATCH_HEADER_WORDS uint32_t words in `headers`
 * and its bytes are copied into `data` back to back: channel, then pattern, then payload.
 * ------------------------------------------------------------------------------------------- */
#define PW_BATCH_HEADER_WORDS 8
#define PW_BATCH_KIND 0           /* pw_kind */
#define PW_BATCH_FLAGS 1          /* PW_FLAG_* */
#define PW_BATCH_COUNT 2
#define PW_BATCH_NAME_IDS 3       /* channel_id | (pattern_id << 16) — ids above 65535 are sent as 0 */
#define PW_BATCH_DATA_OFFSET 4    /* offset of the channel bytes in `data` */
#define PW_BATCH_CHANNEL_LENGTH 5
#define PW_BATCH_PATTERN_LENGTH 6 /* pattern bytes start at DATA_OFFSET + CHANNEL_LENGTH */
#define PW_BATCH_PAYLOAD_LENGTH 7 /* payload bytes start after the pattern */
/* With PW_FLAG_PAYLOAD_IN_INPUT the payload is not in `data`: this word (the same as
 * PW_BATCH_COUNT, which is 0 for message kinds) holds its offset in pw_feed_next_batch's `bytes`. */
#define PW_BATCH_PAYLOAD_INPUT_OFFSET 2

/* Counters, read with pw_stats. Live counts return to 0 once every message is freed. */
typedef struct pw_counters {
    uint64_t live_messages;   /* handed out by pw_next_message and not yet freed */
    uint64_t live_bytes;      /* bytes the core holds now: buffered input + live messages */
    uint64_t total_messages;  /* messages produced since pw_parser_new (both APIs) */
    uint64_t total_bytes_fed; /* bytes accepted by pw_feed since pw_parser_new */
    uint64_t errors;          /* sticky errors raised since pw_parser_new */
    uint64_t buffered_bytes;  /* input bytes accepted but not yet turned into messages */
} pw_counters;                /* 48 bytes */

typedef struct pw_parser pw_parser; /* opaque */

/* PW_ABI_VERSION of the loaded library. */
uint32_t pw_abi_version(void);

/* A new parser, or NULL when `options` is invalid (non-zero reserved field) or memory runs out.
 * `options` may be NULL (all defaults); it is read during the call only. */
pw_parser *pw_parser_new(const pw_options *options);

/* Frees the parser and everything it owns, outstanding messages included (their pointers become
 * invalid). NULL is a no-op. */
void pw_parser_free(pw_parser *parser);

/* Clears buffered input and a sticky error so the parser can read a fresh stream (a new
 * connection). Outstanding messages stay valid and must still be freed; interned ids are kept. */
pw_status pw_reset(pw_parser *parser);

/* Appends `length` bytes (copied; `bytes` is not kept) and parses nothing yet: frames are parsed
 * on demand by pw_next_message / pw_next_batch, so any split of a stream gives the same messages.
 * Returns PW_OK, the sticky error, PW_ERR_QUEUE_FULL (the bytes were NOT accepted and the parser
 * is poisoned), or PW_ERR_INVALID_ARGUMENT. A zero length is a no-op. */
pw_status pw_feed(pw_parser *parser, const uint8_t *bytes, uint32_t length);

/* Parses the next complete frame. PW_OK: *out_message is set (borrowed until pw_free_message).
 * PW_PENDING: *out_message = NULL, more bytes are needed. < 0: *out_message = NULL, see status. */
pw_status pw_next_message(pw_parser *parser, pw_message **out_message);

/* Frees one message from pw_next_message. NULL is a no-op (PW_OK). A pointer the parser does not
 * currently own gives PW_ERR_FOREIGN_MESSAGE and frees nothing. */
pw_status pw_free_message(pw_parser *parser, pw_message *message);

/* Parses up to `max_messages` complete frames, writing PW_BATCH_HEADER_WORDS words per message to
 * `headers` (capacity max_messages * PW_BATCH_HEADER_WORDS words) and their bytes to `data`
 * (capacity `data_capacity` bytes). The messages are consumed: nothing needs freeing afterwards.
 * out[0] = messages written, out[1] = data bytes used (or needed, with PW_BUFFER_TOO_SMALL).
 * Returns PW_OK when out[0] >= 1, PW_PENDING when no complete frame is buffered,
 * PW_BUFFER_TOO_SMALL when the first pending message needs more than `data_capacity` bytes, or an
 * error. When an error is found after some messages were written, those are returned with PW_OK
 * and the next call returns the error: nothing already accepted is lost. */
pw_status pw_next_batch(pw_parser *parser, uint32_t *headers, uint32_t max_messages,
                        uint8_t *data, uint32_t data_capacity, uint32_t *out);

/* pw_feed then pw_next_batch in one call (one FFI crossing per socket chunk instead of three), with
 * the same arguments, statuses and guarantees as those two, plus why the batch ended and how much
 * of `bytes` it took (`out` has 4 words; 5 with pw_options.assemble_min_bytes):
 * out[0] = messages written, out[1] = data bytes used (or needed, with PW_BUFFER_TOO_SMALL),
 * out[2] = PW_STOP_NOTHING (no complete frame is left: wait for more bytes), PW_STOP_ROOM (the batch
 * is full or the next message did not fit: call this again with the bytes not taken, or with
 * length 0 when all were taken), PW_STOP_ERROR (the next call returns the sticky error found
 * after these messages) or PW_STOP_CUT (below),
 * out[3] = bytes of `bytes` taken (read, or buffered in the parser). It is `length` except with
 * PW_STOP_ROOM, where the bytes after out[3] were neither read nor buffered: pass them next
 * (and PW_STOP_CUT, below).
 * With PW_ERR_QUEUE_FULL nothing is taken, as with pw_feed. Message pushes that are complete in
 * `bytes` are read from `bytes` directly, without being copied into the parser's input buffer (a
 * push that straddles from the previous call is completed with only its own missing bytes; a
 * message too large for `data` is buffered alone, for pw_next_batch into a buffer that fits).
 * `bytes` may be NULL when length is 0.
 * With pw_options.in_place_min_bytes > 0, the payload of such a push that is at least that long is
 * not copied into `data` either: its header has PW_FLAG_PAYLOAD_IN_INPUT and its offset in `bytes`
 * (PW_BATCH_PAYLOAD_INPUT_OFFSET), and out[1] counts only the bytes written to `data`. The caller
 * then must keep `bytes` unchanged for as long as it uses those payloads.
 * With pw_options.assemble_min_bytes > 0, `out` has 5 words: a message push of at least that many
 * bytes that starts in `bytes` (with nothing buffered before it) but is cut by its end is neither
 * read nor buffered: out[2] = PW_STOP_CUT, out[3] = the bytes before it, out[4] = its whole length.
 * The caller copies it, and the bytes that complete it from its next chunks, into a buffer of
 * out[4] bytes and passes that buffer as the next call's `bytes` (then the rest of the chunk):
 * the frame is copied once, into memory the caller owns, and with in_place_min_bytes its payload
 * stays there. (Buffered in the core, it was copied in and then out again.) Anything else the
 * caller feeds first must start with the bytes it holds. A frame that would not fit
 * max_queued_bytes is buffered as before (and refused there). */
#define PW_STOP_NOTHING 0
#define PW_STOP_ROOM 1
#define PW_STOP_ERROR 2
#define PW_STOP_CUT 3
pw_status pw_feed_next_batch(pw_parser *parser, const uint8_t *bytes, uint32_t length,
                             uint32_t *headers, uint32_t max_messages,
                             uint8_t *data, uint32_t data_capacity, uint32_t *out);

/* Copies a NUL-free explanation of the parser's sticky error (or "" when none) into `buffer`,
 * truncated to `capacity` bytes. Returns the full length of the explanation. */
uint32_t pw_error_message(const pw_parser *parser, uint8_t *buffer, uint32_t capacity);

/* Copies the parser's counters into *out. */
pw_status pw_stats(const pw_parser *parser, pw_counters *out);

/* Replaces the parser's PW_OPTION_* flags (e.g. after HELLO 3 was refused and the connection is
 * RESP2). Takes effect from the next frame parsed. */
pw_status pw_set_flags(pw_parser *parser, uint32_t flags);

/* Copies the bytes of interned name `id` (a channel_id or pattern_id) into `buffer`, truncated to
 * `capacity`. Returns the full length, or 0 for an unknown id. */
uint32_t pw_interned_name(const pw_parser *parser, uint32_t id, uint8_t *buffer, uint32_t capacity);

/* Cluster key slot (0..16383) of `key`: CRC16/XMODEM of the {hash tag} if it has a non-empty one,
 * else of the whole key, mod 16384 — identical to CLUSTER KEYSLOT. */
uint32_t pw_key_slot(const uint8_t *key, uint32_t length);

/* 1 when `subject` matches the redis glob `pattern` (*, ?, [abc], [^a], [a-z], \x escapes),
 * byte-exact and case-sensitive as PSUBSCRIBE matching; else 0. */
uint32_t pw_glob_match(const uint8_t *pattern, uint32_t pattern_length,
                       const uint8_t *subject, uint32_t subject_length);

#ifdef __cplusplus
}
#endif

#endif /* PUSHWIRE_H */
