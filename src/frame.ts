// Frame: one parsed RESP frame as JS sees it; a Message is a Frame of a pub/sub message kind.
// Rule: the constructor only assigns fields (always in the same order, so every Frame shares one
// hidden class); decoding and byte copies happen on demand in text(), json() and the byte getters.

/**
 * What a frame is. A subscription only ever yields the message kinds (`message` for a channel,
 * `pmessage` for a pattern, `smessage` for a shard channel); the others are the client's own traffic
 * (subscribe confirmations, PONGs, command replies, errors) and never reach a consumer.
 */
export type FrameKind =
  | "message"
  | "pmessage"
  | "smessage"
  | "subscribe"
  | "psubscribe"
  | "ssubscribe"
  | "unsubscribe"
  | "punsubscribe"
  | "sunsubscribe"
  | "pong"
  | "invalidate"
  | "push"
  | "reply"
  | "error";

// Lossy on purpose: a payload that is not UTF-8 still gives a string (with U+FFFD), never a throw.
const decoder = new TextDecoder();

/**
 * One parsed RESP frame, made by the client's parser and copied out of native memory once: what a
 * subscription yields (as a {@link Message}). Its fields are plain properties; `text()` and `json()`
 * decode on demand, each call anew.
 */
export class Frame {
  /** What the frame is; a subscription's frames are `message`, `pmessage` or `smessage`. */
  kind: FrameKind;
  /** Decoded once per interned name (UTF-8, lossy); "" when the frame has no channel. */
  channel: string;
  /** The pattern of a pmessage; undefined for every other kind. */
  pattern: string | undefined;
  /**
   * The payload: the message body; raw RESP for "reply", "push" and "invalidate"; the error text for
   * "error". Copied out of native memory exactly once; never rewritten by later parsing. It may be a
   * view (byteOffset ≠ 0) of a larger JS buffer (see src/native/parser.ts): a payload of 256 B or
   * more on Bun, 512 B or more on Deno, is a view of the socket read it arrived in (never copied at
   * all; Bun: a chunk of up to 512 KiB, Deno: a read buffer of 256 KiB); on Deno smaller payloads
   * share a slab of at most 128 KiB; holding `data` keeps that chunk, buffer or slab alive. A large
   * payload cut by the end of a read is a view of a buffer of its own, which holds only its frame
   * (from 32 KiB: RESP header and channel bytes too) or only its message's bytes. Treat it as
   * read-only; copy it (`data.slice()`) to keep a payload for long without pinning its neighbours.
   */
  data: Uint8Array;
  /** Subscribe family: the server's subscription count after the change; else 0. */
  count: number;
  /**
   * The history entry id (`<epoch>-<seq>`) of a message on a durable subscription, live or replayed
   * (README "Durable channels"); undefined on every other frame, and for a message published without
   * history.
   */
  id: string | undefined;
  #channelBytes: Uint8Array;
  #patternBytes: Uint8Array | undefined;

  /**
   * @internal made by the parser (src/native/parser.ts) and the durable feed.
   * @ignore
   */
  constructor(
    kind: FrameKind,
    channel: string,
    channelBytes: Uint8Array,
    pattern: string | undefined,
    patternBytes: Uint8Array | undefined,
    data: Uint8Array,
    count: number,
    id?: string,
  ) {
    this.kind = kind;
    this.channel = channel;
    this.pattern = pattern;
    this.data = data;
    this.count = count;
    this.id = id;
    this.#channelBytes = channelBytes;
    this.#patternBytes = patternBytes;
  }

  /**
   * @internal The same message with `data` as its payload and `id` as its history id: a durable
   * subscription's view of an envelope (src/durable/envelope.ts). A new object, since the router hands
   * one Frame to every subscription of the channel and a plain one must still see the envelope.
   * @ignore
   */
  withHistoryId(data: Uint8Array, id: string): Frame {
    return new Frame(this.kind, this.channel, this.#channelBytes, this.pattern, this.#patternBytes, data, this.count, id);
  }

  /** The exact channel bytes (for names that are not UTF-8). A fresh copy on every read. */
  get channelBytes(): Uint8Array {
    return this.#channelBytes.slice();
  }

  /** The exact pattern bytes of a pmessage, else undefined. A fresh copy on every read. */
  get patternBytes(): Uint8Array | undefined {
    return this.#patternBytes?.slice();
  }

  /** The payload decoded as UTF-8 (invalid sequences become U+FFFD). */
  text(): string {
    return decoder.decode(this.data);
  }

  /** JSON.parse of text(); throws SyntaxError when the payload is not JSON. */
  json<T = unknown>(): T {
    return JSON.parse(this.text()) as T;
  }
}

/**
 * A pub/sub message, as subscriptions yield it: `channel` is the channel it was published on (for a
 * `pmessage` too, with `pattern` the pattern that matched), `data` its payload, `id` its history id on
 * a durable subscription. The same object reaches every local subscription it matched.
 *
 * @example
 * ```ts
 * import { connect } from "pushwire";
 *
 * await using client = await connect("redis://127.0.0.1:6379");
 * for await (const message of await client.psubscribe("orders.*")) {
 *   console.log(message.pattern, message.channel, message.json<{ id: number }>().id);
 * }
 * ```
 */
export type Message = Frame & { kind: "message" | "pmessage" | "smessage" };
