/**
 * `pushwire/sse`: a pushwire subscription streamed to a browser as Server-Sent Events, as a web
 * `Response` for Bun.serve, Deno.serve or a framework on them (Hono, Elysia). One server
 * subscription per channel however many browsers watch it; a browser that keeps reading gets every
 * event, a stalled one cannot hold up the others. A durable subscription's events carry their
 * history id, so `Last-Event-ID` resumes a browser exactly (resumeFrom()).
 *
 * @module
 */
// sse(): one pushwire Subscription streamed to one HTTP client as Server-Sent Events, as a web
// `Response` (works unchanged in Bun.serve and Deno.serve: only Response/ReadableStream are used).
// Rule: whatever happens — the client leaves, stalls, or the subscription ends — the stream ends
// exactly once (`#finish`), the subscription is released (`unsubscribe()`, so the client's refcount
// drops the server subscription with its last local listener), timers stop, and memory held for a
// slow client stays under `maxQueuedBytes` + `highWaterMarkBytes`.
//
// Flow: the subscription is read eagerly (through `deliverTo` when it has it, one call per message,
// else its iterator), each message is encoded at once into bytes (once for all streams alike, see
// SharedEvent) and put in this stream's bounded EventQueue. From there events move into the
// ReadableStream as one chunk: at once when the body is idle, else at the HTTP server's next pull (or
// after `coalesceMs`), and only while the stream wants more (`desiredSize > 0`, counted in bytes).
// The HTTP server pulls as the socket drains. Pacing (src/flow.ts): a queue at a quarter of its limits
// holds the reading of the subscription's connection (`holdReading`), so a browser that keeps reading
// loses nothing however big the burst; a browser that holds for `slowConsumerMs` without draining
// (it reads nothing, or too slowly to catch up) is stalled: it lets go, the other streams flow on,
// and its queue meets the `slowClient` policy (drop-oldest, or close) alone; it rejoins the pacing
// once its queue drained.
//
// Events the browser receives (all names are listenable with `addEventListener`):
//   <message>     id: <n>, optional event: (option `event`), data: the payload (text or base64)
//   dropped       data: {"count": n, "total": n} — n messages were dropped before the next event
//                 (by this stream's queue or by the subscription's own buffer)
//   disconnected  data: {"at": ms, "error"?: string} — the client lost the server; messages may be lost
//   reconnected   data: {"at": ms, "downtimeMs": n} — back; messages published meanwhile are lost, so
//                 refetch state if it matters (a durable subscription fills the gap: see recovered)
//   recovered     data: {"at": ms, "count": n, "complete": bool, "lost"?: n} — a durable subscription
//                 filled a gap from history (README "Durable channels"); complete: false: refetch state
// Ids: a message with a history id (a durable subscription) has it as its `id:`, so a browser's
// Last-Event-ID resumes it on any server process (resumeFrom()); a durable stream's message without
// one has no `id:` line (the browser keeps its last id); a plain stream's messages count 1, 2, 3, …
// (a durable stream never joins a channel's shared feed: its ids are the messages', not counters).
//   invalid-utf8  data: {"channel": s, "base64": s} — text mode met a payload that is not UTF-8
//                 (see `invalidText`); ids still count it, nothing is decoded lossily
// Line breaks: CRLF and CR in a text payload arrive as LF (the format cannot carry CR in data); use
// `encoding: "base64"` for exact bytes. Runtime notes: Bun.serve closes a connection idle for
// `idleTimeout` seconds (default 10, an open SSE response included): keep `heartbeatMs` below it, or
// raise `idleTimeout` / call `server.timeout(req, 0)`. Deno's fetch() (as a client) keeps the
// connection open on abort() once its body was read from; cancel the body reader too.
import { InvalidArgumentError, OverflowError } from "./errors.ts";
import { decodeUtf8Strict, encodeComment, encodeEvent, encodeRetry, escapeEventName, toBase64 } from "./sse/encode.ts";
import { EventQueue } from "./sse/queue.ts";
import { type BudgetedWriter, sharedWriteBudget } from "./write_budget.ts";
import { type EncodedEvent, type FeedMember, SharedFeed } from "./sse/feed.ts";
import { type Beating, startBeating, stopBeating } from "./sse/heartbeat.ts";
import { sseTotals } from "./sse/totals.ts";
import { Pacer } from "./flow.ts";

export { encodeComment, encodeEvent, type SSEEventFields } from "./sse/encode.ts";
export { resumeFrom } from "./sse/resume.ts";

/**
 * What sse() needs from a message: the fields of pushwire's `Message` (src/frame.ts) it reads. Kept
 * structural so this module depends on the ARCHITECTURE contract, not on the client's files.
 */
export interface SSEMessage {
  /** `message`, `pmessage` or `smessage`: the `event:` name with `event: "kind"`. */
  readonly kind: string;
  /** The channel it was published on: the `event:` name with `event: "channel"`. */
  readonly channel: string;
  /** The pattern that matched (psubscribe). */
  readonly pattern?: string | undefined;
  /** The payload, sent as text (UTF-8) or base64 (`encoding`). */
  readonly data: Uint8Array;
  /** The history entry id of a durable subscription's message: used as the event's `id:`. */
  readonly id?: string | undefined;
}

/**
 * A subscription's lifecycle event as sse() reads it (the same union as pushwire's LifecycleEvent):
 * each becomes an event of the same name for the browser; `end` ends the stream.
 */
export type SSELifecycleEvent =
  | { type: "disconnected"; at: number; error?: Error }
  | { type: "reconnected"; at: number; downtimeMs: number }
  | { type: "dropped"; at: number; count: number }
  | { type: "recovered"; at: number; count: number; complete: boolean; lost?: number }
  | { type: "end"; at: number; error?: Error };

/** What sse() needs from a Subscription (a pushwire `Subscription` satisfies it). */
export interface SSESubscription<M extends SSEMessage = SSEMessage> extends AsyncIterable<M> {
  /** Called once when the stream ends, whatever the reason: the stream owns the subscription. */
  unsubscribe(): Promise<void>;
  /** Lifecycle events; the stream forwards them to the browser. Returns the listener's remover. */
  onEvent(listener: (event: SSELifecycleEvent) => void): () => void;
  /** Optional: a durable subscription; its messages without a history id then get no `id:` line. */
  readonly durable?: boolean;
  /**
   * Optional: deliver every message (the buffered ones first) to `listener` instead of through the
   * iterator, and say true; the end then comes as the `end` lifecycle event. pushwire's Subscription
   * has it; without it (or when it says false) sse() reads the iterator.
   */
  deliverTo?(listener: (message: M) => void): boolean;
  /**
   * Optional: stop (and resume) reading the connection the messages come from, while this stream's
   * queue is behind (pushwire's Subscription has them). Without them the stream paces only an
   * iterator source, by not asking it for more.
   */
  holdReading?(): void;
  /** Optional: ends holdReading(). */
  releaseReading?(): void;
  /**
   * Optional (pushwire's Subscription has it): hand the messages to one receiver shared by every
   * stream of the same channel that encodes them alike (src/sse/feed.ts), made by `create` for the
   * first; undefined when it cannot (then deliverTo or the iterator is used).
   */
  shareDelivery?<R extends { deliver(message: M): void }>(
    key: string,
    create: (release: () => void, counters: { delivered: number }) => R,
  ): R | undefined;
}

/**
 * What sse() streams: a subscription, or the promise of one (`client.subscribe(...)` as it is). A
 * promise that rejects ends the stream with `closeReason` "error".
 */
export type SSESource<M extends SSEMessage = SSEMessage> = SSESubscription<M> | Promise<SSESubscription<M>>;

/** One message's event as an `SSEOptions.serialize` function writes it. */
export interface SSESerialized {
  /** The `event:` name; absent or "": the browser's default `message` event. One line (no CR, LF). */
  event?: string;
  /** The payload; each line break starts a new `data:` line (the browser joins them with LF). */
  data: string;
  /** Replaces the stream's counter for this event (the counter still advances). */
  id?: string;
}

/**
 * Options of sse() and openSSE(). Every bad value is an InvalidArgumentError, thrown by the call
 * before the stream exists; the source is then not taken (unsubscribe it if it should go).
 */
export interface SSEOptions<M extends SSEMessage = SSEMessage> {
  /**
   * When it aborts (client gone) the stream ends and the subscription is released. Bun: `req.signal`.
   * Deno: a signal aborted when the handler info's `completed` promise settles (README, "SSE").
   */
  signal?: AbortSignal;
  /** `event:` field: the message kind, its channel (CR, LF, % percent-escaped), a function, or none (default: the browser's "message"). */
  event?: "kind" | "channel" | ((message: M) => string | undefined);
  /** Payload as UTF-8 text (default) or base64 of the exact bytes. */
  encoding?: "text" | "base64";
  /** Text mode, payload not valid UTF-8: send an `invalid-utf8` event carrying base64 (default), or close the stream with an error. */
  invalidText?: "event" | "close";
  /** Full control of an event; replaces `event`/`encoding`. Throwing (or CR/LF in event/id) ends the stream with that error. */
  serialize?: (message: M) => SSESerialized;
  /** Comment sent when nothing else is waiting, every this many ms (default 15000; 0 = off). */
  heartbeatMs?: number;
  /** `retry:` hint sent first: how long the browser waits before reconnecting. */
  retryMs?: number;
  /**
   * The request's `Last-Event-ID` header: when it is an integer, a plain stream's ids continue after
   * it. To resume a durable subscription from it, give `since: resumeFrom(header)` to subscribe().
   */
  lastEventId?: string | null;
  /** Bytes the ReadableStream itself may hold before we stop enqueueing (default 64 KiB). */
  highWaterMarkBytes?: number;
  /**
   * Hold events for up to this many ms and write them as one chunk (default 0: an event goes out at
   * once when the stream is idle, and events that come while a chunk is still being written go out
   * together after it; past the process's write budget streams batch by themselves). Holding events
   * trades latency for CPU at a few thousand streams: 1,000 browsers on a 100 msgs/s channel take
   * 0.24 (Bun) / 0.41 (Deno) core of the server by default, 0.21 / 0.34 with `coalesceMs: 50`. Not
   * at 10,000 and more: a stream with `coalesceMs` keeps its own queue, off its channel's shared log,
   * and 10,000 of them took ~1 core where the default takes under half (bench/README.md, SSE fan-out).
   */
  coalesceMs?: number;
  /** Events this stream may queue for a stalled client (default 65,536). */
  maxQueuedEvents?: number;
  /** Encoded bytes this stream may queue for a stalled client (default 1 MiB). */
  maxQueuedBytes?: number;
  /**
   * A client whose queue holds a quarter of either limit holds the subscription's reading until it
   * drained below an eighth; a hold that lasts this long means the client is stalled: it lets go and
   * its queue meets `slowClient` (default 3000 ms; 0: never hold, the limits alone decide).
   */
  slowConsumerMs?: number;
  /** A stalled client over either limit: drop the oldest messages and send `event: dropped` (default), or close the stream. */
  slowClient?: "drop-oldest" | "close";
  /** Extra response headers (they may override the defaults, e.g. to add CORS). */
  headers?: HeadersInit;
  /** Called once, after the stream ended and the subscription was released. */
  onClose?: (stats: SSEStats) => void;
}

/** Why a stream ended (`SSEStats.closeReason`). */
export type SSECloseReason =
  | "aborted" //      options.signal aborted
  | "cancelled" //    the HTTP server cancelled the body (client disconnected)
  | "write-failed" // enqueue threw
  | "ended" //        the subscription finished without error (unsubscribed elsewhere, client closed)
  | "error" //        the source failed, the subscription ended with an error, or serialize/event threw
  | "slow-client" //  queue over its limit with slowClient: "close"
  | "closed"; //      SSEStream.close()

/** Counters of one stream (`SSEStream.stats()`, `onClose`, `done`), as a plain object. */
export interface SSEStats {
  /** Message events handed to the response body (`invalid-utf8` fallbacks included). */
  sent: number;
  /** Messages this client will never see: this stream's queue drops plus the subscription's reported drops. */
  dropped: number;
  /** Text-mode payloads that were not valid UTF-8. */
  invalidText: number;
  /** Heartbeat comments sent. */
  heartbeats: number;
  /** Bytes handed to the response body (everything: events, comments, control events). */
  bytes: number;
  /** Events waiting in this stream's queue now. */
  queuedEvents: number;
  /** Their encoded bytes (bounded by `maxQueuedBytes` for a stalled client). */
  queuedBytes: number;
  /** Highest queuedBytes seen after each trim (never above maxQueuedBytes). */
  peakQueuedBytes: number;
  /** Times the client was found stalled (it held reading for slowConsumerMs without draining). */
  stalls: number;
  /** Why the stream ended; undefined while it runs. */
  closeReason: SSECloseReason | undefined;
}

/** The handle behind sse(): the Response plus live stats and a server-side close. */
export interface SSEStream {
  /** The `text/event-stream` response to return from the HTTP handler (status 200). */
  readonly response: Response;
  /** This stream's counters now. */
  stats(): SSEStats;
  /** Ends the stream from the server side: queued events are still written, then the body ends. */
  close(): void;
  /** Resolves once the stream ended and the subscription was released (same stats as `onClose`). */
  readonly done: Promise<SSEStats>;
}

/**
 * The queue limits bound only a stalled client: a live one holds the reading at a quarter of them,
 * and a socket read of up to 512 KiB past that mark must still fit (so a burst never trims a client
 * that keeps reading). Events a stalled stream queues are mostly shared with every other stream of its
 * channel (SharedEvent), so many stalled streams on one channel cost far less than N × the limit.
 */
const defaults = {
  heartbeatMs: 15_000,
  coalesceMs: 0,
  highWaterMarkBytes: 64 * 1024,
  maxQueuedEvents: 65_536,
  maxQueuedBytes: 1024 * 1024,
  slowConsumerMs: 3_000,
} as const;

const encoder = new TextEncoder();

/**
 * A message's encoded event without its id line, shared by every stream whose options encode it the
 * same way (`key`). The router hands one Message object to every subscription of its channel, so with
 * N browsers the payload is decoded and encoded once instead of N times; each stream writes its own
 * `id:` line in front. Measured on Deno (TextDecoder/TextEncoder are runtime calls there), 1,000
 * streams at 1,000 msgs/s, coalesceMs 10: ~0.40 M → ~0.97 M events/s, 3.1 → 1.1 µs of server CPU
 * per event. `invalid`: the payload is not UTF-8 (text mode); `bytes` is then the invalid-utf8 event.
 */
interface SharedEvent {
  readonly key: string;
  readonly bytes: Uint8Array;
  readonly invalid: boolean;
}
const sharedEvents = new WeakMap<object, SharedEvent>();
/**
 * The router hands one message to every stream of its channel in a row, so the last message looked up
 * is nearly always the one asked for: 9,999 of 10,000 lookups skip the WeakMap (measured on Bun at
 * 10,000 streams: the WeakMap lookup made #offerMessage ~20 % of the server's profile).
 */
let lastShared: { message: object | undefined; event: SharedEvent | undefined } = { message: undefined, event: undefined };

function sharedEventOf(message: object, key: string): SharedEvent | undefined {
  if (lastShared.message === message && lastShared.event!.key === key) return lastShared.event;
  const event = sharedEvents.get(message);
  if (event !== undefined && event.key === key) lastShared = { message, event };
  return event?.key === key ? event : undefined;
}

function rememberShared(message: object, event: SharedEvent): void {
  sharedEvents.set(message, event);
  lastShared = { message, event };
}

/**
 * A Server-Sent Events response for one HTTP client. `source` is a Subscription or a promise of one
 * (so `sse(client.subscribe(room), { signal: req.signal })` works); ownership passes to the stream,
 * which calls `unsubscribe()` when it ends: when `signal` aborts (the browser left), the body is
 * cancelled, or the subscription ends. Throws InvalidArgumentError for a bad option (README
 * "Delivery semantics" says what a stream does for a slow browser).
 *
 * @example On Bun
 * ```ts ignore
 * import { connect } from "pushwire";
 * import { sse } from "pushwire/sse";
 *
 * const client = await connect("redis://127.0.0.1:6379");
 * Bun.serve({
 *   idleTimeout: 30, // above heartbeatMs (15 s): Bun closes idle connections after 10 s by default
 *   fetch: (request) => sse(client.subscribe("news"), { signal: request.signal }),
 * });
 * ```
 *
 * @example On Deno: the signal comes from the handler info's `completed` promise
 * ```ts
 * import { connect } from "pushwire";
 * import { sse } from "pushwire/sse";
 *
 * const client = await connect("redis://127.0.0.1:6379");
 * Deno.serve((_request, info) => {
 *   const gone = new AbortController();
 *   info.completed.then(() => gone.abort(), () => gone.abort());
 *   return sse(client.subscribe("news"), { signal: gone.signal });
 * });
 * ```
 */
export function sse<M extends SSEMessage>(source: SSESource<M>, options: SSEOptions<M> = {}): Response {
  return openSSE(source, options).response;
}

/**
 * Like sse(), but returns the stream's handle: its `response`, live `stats()`, a server-side
 * `close()` and `done`, which resolves with the final stats once the subscription was released.
 *
 * @example On Bun
 * ```ts ignore
 * import { connect } from "pushwire";
 * import { openSSE } from "pushwire/sse";
 *
 * const client = await connect("redis://127.0.0.1:6379");
 * Bun.serve({
 *   idleTimeout: 30,
 *   fetch(request) {
 *     const stream = openSSE(client.subscribe("news"), { signal: request.signal, slowClient: "close" });
 *     stream.done.then((stats) => console.log(stats.closeReason, stats.sent, stats.dropped));
 *     return stream.response;
 *   },
 * });
 * ```
 */
export function openSSE<M extends SSEMessage>(source: SSESource<M>, options: SSEOptions<M> = {}): SSEStream {
  return new EventStream(source, options);
}

function positiveInteger(name: string, value: number | undefined, fallback: number, allowZero = false): number {
  if (value === undefined) return fallback;
  if (!Number.isSafeInteger(value) || value < (allowZero ? 0 : 1)) {
    throw new InvalidArgumentError(`sse: ${name} must be an integer ≥ ${allowZero ? 0 : 1}, got ${value}`);
  }
  return value;
}

function positiveNumber(name: string, value: number | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  if (typeof value !== "number" || !(value >= 0)) {
    throw new InvalidArgumentError(`sse: ${name} must be a number ≥ 0, got ${value}`);
  }
  return value;
}

function firstIdAfter(lastEventId: string | null | undefined): number {
  if (lastEventId === undefined || lastEventId === null || !/^\d{1,15}$/.test(lastEventId)) return 1;
  return Number(lastEventId) + 1;
}

function errorText(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** The event for `message` in a feed's log (no id line): one encoding per message for all its streams. */
function encodeSharedEvent(message: SSEMessage, event: "kind" | "channel" | undefined, encoding: "text" | "base64" | undefined): EncodedEvent {
  const name = event === "kind" ? message.kind : event === "channel" ? escapeEventName(message.channel) : undefined;
  const { text, invalid } = encodeMessageEvent(message, name, encoding, undefined);
  return { bytes: encoder.encode(text), invalid };
}

/**
 * The event for `message` with the event name `name` and `encoding`, with an `id:` line when `id` is
 * given. `invalid`: text mode met a payload that is not UTF-8, and the text is the `invalid-utf8` event.
 */
function encodeMessageEvent(message: SSEMessage, name: string | undefined, encoding: "text" | "base64" | undefined, id: string | undefined): { text: string; invalid: boolean } {
  if (encoding === "base64") return { text: encodeEvent({ event: name, id, data: toBase64(message.data) }), invalid: false };
  const text = decodeUtf8Strict(message.data);
  if (text !== undefined) return { text: encodeEvent({ event: name, id, data: text }), invalid: false };
  const data = JSON.stringify({ channel: message.channel, base64: toBase64(message.data) });
  return { text: encodeEvent({ event: "invalid-utf8", id, data }), invalid: true };
}

/** A stream's own event waiting in feed mode: it goes before the shared event `seq`. */
interface OwnFeedEvent {
  readonly seq: number;
  readonly bytes: Uint8Array;
}

class EventStream<M extends SSEMessage> implements SSEStream, BudgetedWriter, Beating, FeedMember {
  readonly response: Response;
  readonly done: Promise<SSEStats>;
  readonly #options: SSEOptions<M>;
  readonly #queue: EventQueue;
  readonly #slowClient: "drop-oldest" | "close";
  readonly #source: Promise<SSESubscription<M> | undefined>;
  #controller!: ReadableStreamDefaultController<Uint8Array>;
  #controllerDone = false;
  #ending = false;
  /** Set and cleared by the process's write budget (src/write_budget.ts). */
  waitingForWrite = false;
  readonly #heartbeatMs: number;
  #beating = false;
  readonly #coalesceMs: number;
  readonly #highWaterMark: number;
  /** Pending coalesced write (coalesceMs > 0): the events queued since the last flush go out with it. */
  #coalesceTimer: ReturnType<typeof setTimeout> | undefined;
  #removeLifecycle: (() => void) | undefined;
  #resolveDone!: (stats: SSEStats) => void;
  #closeReason: SSECloseReason | undefined;
  /** The subscription calls #offerMessage itself (deliverTo); its end arrives as a lifecycle event. */
  #delivered = false;
  /** How this stream encodes a message without its id; undefined when a function decides (`serialize`, `event`). */
  readonly #shareKey: string | undefined;
  /** The source once it resolved: the pacer holds its reading. */
  #subscription: SSESubscription<M> | undefined;
  /** The source is durable: ids are its messages' history ids, never the counter. */
  #durable = false;
  readonly #pacer: Pacer;
  /** The iterator loop (a source without deliverTo) waits here while the queue holds reading. */
  #resumeRun: (() => void) | undefined;
  /**
   * Feed mode (src/sse/feed.ts): the shared log of this stream's channel, this stream's place in it,
   * and its own events (control events, a dropped notice) — instead of #queue.
   */
  #feed: SharedFeed | undefined;
  cursor = 0;
  idOffset = 0;
  readonly maxQueuedEvents: number;
  readonly maxQueuedBytes: number;
  #ownEvents: OwnFeedEvent[] = [];
  #feedDropped = 0;
  #feedPeakBytes = 0;
  /** In feed mode and still in the feed (a stream leaves it when it ends). */
  #inFeed = false;
  #counters = { sent: 0, dropped: 0, invalidText: 0, heartbeats: 0, bytes: 0 };

  constructor(source: SSESource<M>, options: SSEOptions<M>) {
    this.#options = options;
    const heartbeatMs = positiveInteger("heartbeatMs", options.heartbeatMs, defaults.heartbeatMs, true);
    this.#heartbeatMs = heartbeatMs;
    this.#coalesceMs = positiveInteger("coalesceMs", options.coalesceMs, defaults.coalesceMs, true);
    this.#shareKey = options.serialize !== undefined || typeof options.event === "function"
      ? undefined
      : `${options.event ?? ""}|${options.encoding ?? "text"}`;
    const highWaterMark = positiveInteger("highWaterMarkBytes", options.highWaterMarkBytes, defaults.highWaterMarkBytes);
    this.#highWaterMark = highWaterMark;
    this.maxQueuedEvents = positiveInteger("maxQueuedEvents", options.maxQueuedEvents, defaults.maxQueuedEvents);
    this.maxQueuedBytes = positiveInteger("maxQueuedBytes", options.maxQueuedBytes, defaults.maxQueuedBytes);
    this.#queue = new EventQueue(this.maxQueuedEvents, this.maxQueuedBytes, firstIdAfter(options.lastEventId));
    this.#pacer = new Pacer(positiveNumber("slowConsumerMs", options.slowConsumerMs, defaults.slowConsumerMs), {
      hold: () => this.#subscription?.holdReading?.(),
      release: () => {
        this.#subscription?.releaseReading?.();
        const resume = this.#resumeRun;
        this.#resumeRun = undefined;
        resume?.();
      },
      stalled: () => {},
    });
    this.#slowClient = options.slowClient ?? "drop-oldest";
    if (this.#slowClient !== "drop-oldest" && this.#slowClient !== "close") {
      throw new InvalidArgumentError(`sse: slowClient must be "drop-oldest" or "close", got ${this.#slowClient}`);
    }
    sseTotals.openStreams++;
    const opening = ": pushwire\n" + (options.retryMs !== undefined ? encodeRetry(options.retryMs) : "") + "\n";
    this.done = new Promise((resolve) => (this.#resolveDone = resolve));
    const body = new ReadableStream<Uint8Array>(
      {
        start: (controller) => {
          this.#controller = controller;
          this.#enqueue(encoder.encode(opening));
        },
        pull: () => this.#requestWrite(),
        cancel: () => {
          this.#controllerDone = true;
          this.#finish("cancelled");
        },
      },
      { highWaterMark, size: (chunk) => chunk.byteLength },
    );
    this.response = new Response(body, { status: 200, headers: responseHeaders(options.headers) });
    // A rejected source ends the stream; the handled promise never rejects.
    this.#source = Promise.resolve(source).then(
      (subscription) => subscription,
      (error) => {
        this.#finish("error", error);
        return undefined;
      },
    );
    // A subscription given directly is watched at once, so no lifecycle event slips by before #run.
    if (!isPromiseLike(source)) this.#removeLifecycle = source.onEvent(this.#onLifecycle);
    const signal = options.signal;
    if (signal?.aborted) this.#finish("aborted");
    else signal?.addEventListener("abort", this.#onAbort, { once: true });
    if (heartbeatMs > 0 && this.#closeReason === undefined) {
      this.#beating = true;
      startBeating(this, heartbeatMs);
    }
    void this.#run();
  }

  stats(): SSEStats {
    const feed = this.#feed;
    return {
      ...this.#counters,
      queuedEvents: feed === undefined ? this.#queue.length : this.#inFeed ? feed.end - this.cursor + this.#ownEvents.length : 0,
      queuedBytes: feed === undefined ? this.#queue.bytes : this.#inFeed ? this.#feedBacklogBytes() : 0,
      peakQueuedBytes: feed === undefined ? this.#queue.peakBytes : this.#feedPeakBytes,
      stalls: this.#pacer.stalls,
      closeReason: this.#closeReason,
    };
  }

  close(): void {
    this.#finish("closed");
  }

  #onAbort = (): void => this.#finish("aborted");

  async #run(): Promise<void> {
    const subscription = await this.#source;
    if (subscription === undefined || this.#closeReason !== undefined) return;
    this.#subscription = subscription;
    this.#durable = subscription.durable === true;
    this.#removeLifecycle ??= subscription.onEvent(this.#onLifecycle);
    if (this.#joinFeed(subscription)) {
      this.#delivered = true;
      return;
    }
    // A bound method rather than an arrow: one object fewer to reach per message per stream.
    if (subscription.deliverTo?.(this.#offerMessage.bind(this)) === true) {
      this.#delivered = true;
      return;
    }
    const iterator = subscription[Symbol.asyncIterator]();
    try {
      while (this.#closeReason === undefined) {
        if (this.#pacer.holding) await new Promise<void>((resolve) => (this.#resumeRun = resolve));
        if (this.#closeReason !== undefined) break;
        const step = await iterator.next();
        if (step.done || this.#closeReason !== undefined) break;
        this.#offerMessage(step.value);
      }
      this.#finish("ended");
    } catch (error) {
      this.#finish("error", error);
    }
  }

  #onLifecycle = (event: SSELifecycleEvent): void => {
    switch (event.type) {
      case "disconnected": {
        const data = event.error ? { at: event.at, error: errorText(event.error) } : { at: event.at };
        this.#offerControl("disconnected", data);
        return;
      }
      case "reconnected":
        this.#offerControl("reconnected", { at: event.at, downtimeMs: event.downtimeMs });
        return;
      case "dropped":
        // Dropped by the subscription's own buffer: the gap is here, after what this stream queued
        // so far (its own drops, by trim(), are reported where they happen: at the head).
        this.#counters.dropped += event.count;
        sseTotals.eventsDropped += event.count;
        this.#offerControl("dropped", { count: event.count, total: this.#counters.dropped });
        return;
      case "recovered": {
        const data = { at: event.at, count: event.count, complete: event.complete };
        this.#offerControl("recovered", event.lost === undefined ? data : { ...data, lost: event.lost });
        return;
      }
      case "end":
        // Without an error the iterator finishes too and `#run` ends the stream after the last message;
        // with deliverTo there is no iterator, and every message came before this event.
        if (event.error) this.#finish("error", event.error);
        else if (this.#delivered) this.#finish("ended");
        return;
    }
  };

  #offerMessage(message: M): void {
    if (this.#closeReason !== undefined) return;
    // A durable stream's ids are its messages' own (the same for every stream: still shared, id
    // line included); a plain stream's are its counter, written by the queue.
    const ownId = this.#durable;
    const key = this.#shareKey === undefined ? undefined : ownId ? `${this.#shareKey}|own-id` : this.#shareKey;
    let encoded: { bytes: Uint8Array; invalid: boolean };
    try {
      if (key === undefined) {
        encoded = this.#encodeOwn(message, ownId ? message.id : String(this.#queue.nextId));
      } else {
        let shared = sharedEventOf(message, key);
        if (shared === undefined) {
          const { text, invalid } = this.#encodeText(message, ownId ? message.id : undefined);
          shared = { key, bytes: encoder.encode(text), invalid };
          rememberShared(message, shared);
        }
        encoded = shared;
      }
    } catch (error) {
      this.#finish("error", error);
      return;
    }
    if (encoded.invalid) {
      this.#counters.invalidText++;
      if (this.#options.invalidText === "close") {
        this.#finish("error", new TypeError(
          `sse: payload on ${JSON.stringify(message.channel)} is not valid UTF-8 (invalidText: "close")`,
        ));
        return;
      }
    }
    // A shared event has no id line: this stream's goes in front of it when the chunk is built.
    if (key === undefined || ownId) this.#queue.pushOwnMessage(encoded.bytes);
    else this.#queue.pushShared(encoded.bytes);
    this.#queued();
  }

  /** This stream's own encoding of `message`, id included: `serialize`, or an `event` function. */
  #encodeOwn(message: M, id: string | undefined): { bytes: Uint8Array; invalid: boolean } {
    const serialize = this.#options.serialize;
    if (serialize) {
      const out = serialize(message);
      const text = encodeEvent({ event: out.event, data: out.data, id: out.id ?? id });
      return { bytes: encoder.encode(text), invalid: false };
    }
    const { text, invalid } = this.#encodeText(message, id);
    return { bytes: encoder.encode(text), invalid };
  }

  /**
   * The event for `message` with the `event`/`encoding` options, with an `id:` line when `id` is given.
   * `invalid`: text mode met a payload that is not UTF-8, and the text is the `invalid-utf8` event.
   */
  #encodeText(message: M, id: string | undefined): { text: string; invalid: boolean } {
    return encodeMessageEvent(message, this.#eventName(message), this.#options.encoding, id);
  }

  #eventName(message: M): string | undefined {
    const event = this.#options.event;
    if (event === undefined) return undefined;
    if (event === "kind") return message.kind;
    if (event === "channel") return escapeEventName(message.channel);
    return event(message);
  }

  #offerControl(event: string, data: unknown): void {
    if (this.#closeReason !== undefined) return;
    const bytes = encoder.encode(encodeEvent({ event, data: JSON.stringify(data) }));
    const feed = this.#feed;
    if (feed !== undefined) {
      // After every message the feed has now: the ones that came before this event.
      this.#ownEvents.push({ seq: feed.end, bytes });
      feed.requestTurn();
      return;
    }
    this.#queue.pushControl(bytes);
    this.#queued();
  }

  /** An event was queued: write it now, ask the write budget, or leave it for a pull or the coalesce timer. */
  #queued(): void {
    // A quarter of the queue's limits waiting goes out now in either mode: holding more would drop
    // events of a burst that a fast client could take.
    // A stream already in line for a write (most of them, when many are busy) has nothing to decide.
    if (this.#queue.overBatch) this.#flush();
    else if (this.#coalesceMs === 0) {
      if (!this.waitingForWrite && this.#bodyIdle()) this.#requestWrite();
    } else this.#coalesceTimer ??= setTimeout(this.#flushCoalesced, this.#coalesceMs);
    if (this.#queue.overBatch) this.#pacer.above();
    if (this.#queue.overLimit) {
      // Over a limit is behind by more than pacing allows: stalled now, whatever the clock says.
      this.#pacer.overBound();
      if (this.#slowClient === "close") {
        const error = new OverflowError(
          `sse: client too slow (${this.#queue.length} events, ${this.#queue.bytes} bytes queued; ` +
            `limits ${this.#queue.maxEvents} events, ${this.#queue.maxBytes} bytes): closing the stream`,
        );
        this.#finish("slow-client", error);
        return;
      }
      const dropped = this.#queue.trim();
      this.#counters.dropped += dropped;
      sseTotals.eventsDropped += dropped;
    }
    this.#queue.notePeak();
  }

  /**
   * Nothing is waiting in the body for the HTTP server to write. Without coalescing an event goes out
   * at once only then; while the server still has a chunk to write, events wait here and go out
   * together at its next pull() (or once a quarter of the queue's limits is reached), one write for
   * many. Deno writes every chunk separately: 1,000 streams at 1,000 msgs/s went from ~0.1 M to
   * ~0.98 M events/s delivered (bench/README.md).
   */
  #bodyIdle(): boolean {
    return (this.#controller.desiredSize ?? 0) >= this.#highWaterMark;
  }

  #flushCoalesced = (): void => {
    this.#coalesceTimer = undefined;
    this.#flush();
  };

  /** Events wait and the body may take them: write when the process's write budget says so. */
  #requestWrite(): void {
    if (this.#controllerDone) return;
    const feed = this.#feed;
    if (feed !== undefined) {
      if (this.#ending) this.writeTurn();
      else if (this.#inFeed && (this.cursor < feed.end || this.hasOwnEvents)) feed.requestTurn();
      return;
    }
    if (this.#queue.empty) return;
    sharedWriteBudget.request(this);
  }

  /** @internal the write budget's turn for this stream (src/write_budget.ts). */
  writeGranted(): void {
    this.#flush();
  }

  /** Moves queued events into the body while it wants more; the only writer besides the heartbeat. */
  #flush(): void {
    if (this.#controllerDone) return;
    if (this.#feed !== undefined) {
      this.writeTurn();
      return;
    }
    let budget = this.#controller.desiredSize ?? 0;
    while (budget > 0) {
      const chunk = this.#queue.take(budget, this.#droppedEvent);
      if (chunk === undefined) break;
      this.#counters.sent += this.#queue.takenMessages;
      sseTotals.eventsSent += this.#queue.takenMessages;
      if (!this.#enqueue(chunk)) return;
      budget = this.#controller.desiredSize ?? 0;
    }
    if ((this.#pacer.holding || this.#pacer.stalled) && this.#queue.belowLowWater) this.#pacer.below();
    if (this.#ending && this.#queue.empty) this.#closeController();
  }

  /** The event for a gap of `count` messages dropped by this stream's queue (just before its head). */
  #droppedEvent = (count: number): Uint8Array =>
    encoder.encode(encodeEvent({ event: "dropped", data: JSON.stringify({ count, total: this.#counters.dropped }) }));

  #enqueue(chunk: Uint8Array): boolean {
    try {
      this.#controller.enqueue(chunk);
    } catch {
      this.#controllerDone = true;
      this.#finish("write-failed");
      return false;
    }
    this.#counters.bytes += chunk.byteLength;
    return true;
  }

  /** @internal the shared heartbeat clock's tick (src/sse/heartbeat.ts). */
  beat(): void {
    if (this.#controllerDone || !this.#queue.empty) return;
    if (this.#inFeed && (this.cursor < this.#feed!.end || this.hasOwnEvents)) return;
    if ((this.#controller.desiredSize ?? 0) <= 0) return;
    if (this.#enqueue(encoder.encode(encodeComment("heartbeat")))) this.#counters.heartbeats++;
  }

  #closeController(): void {
    if (this.#controllerDone) return;
    this.#controllerDone = true;
    try {
      this.#controller.close();
    } catch {
      // Already closed or errored by the runtime: nothing left to end.
    }
  }

  #errorController(error: unknown): void {
    if (this.#controllerDone) return;
    this.#controllerDone = true;
    this.#queue.clear();
    try {
      this.#controller.error(error);
    } catch {
      // Already closed or errored by the runtime.
    }
  }

  /** The one way a stream ends: idempotent; releases the subscription, timers and listeners. */
  #finish(reason: SSECloseReason, error?: unknown): void {
    if (this.#closeReason !== undefined) return;
    this.#closeReason = reason;
    sseTotals.openStreams--;
    if (this.#beating) stopBeating(this, this.#heartbeatMs);
    this.#beating = false;
    if (this.#coalesceTimer !== undefined) clearTimeout(this.#coalesceTimer);
    this.#coalesceTimer = undefined;
    this.#options.signal?.removeEventListener("abort", this.#onAbort);
    this.#pacer.stop();
    this.#removeLifecycle?.();
    this.#removeLifecycle = undefined;
    if (reason === "error" || reason === "slow-client") {
      this.#errorController(error);
    } else if (reason === "ended" || reason === "closed") {
      // Graceful: what is queued is still written, then the body ends (see #flush).
      this.#ending = true;
      this.#flush();
    } else {
      // The client is gone: nothing queued can reach it.
      this.#queue.clear();
      this.#closeController();
    }
    if (this.#controllerDone) this.#leaveFeed();
    void this.#release();
  }

  // ---- feed mode (src/sse/feed.ts): the stream's channel log is shared; this stream has a cursor ----

  /** Joins the feed of this stream's channel when the source can share one; false: read it alone. */
  #joinFeed(subscription: SSESubscription<M>): boolean {
    const key = this.#shareKey;
    // coalesceMs keeps the stream's own timer and queue; anything queued before now stays first there.
    // A durable stream's ids are its messages' (the feed counts them): it stays on its own queue.
    if (key === undefined || this.#coalesceMs > 0 || subscription.shareDelivery === undefined || !this.#queue.empty) return false;
    if (subscription.durable === true) return false;
    const event = this.#options.event as "kind" | "channel" | undefined;
    const encoding = this.#options.encoding;
    const feed = subscription.shareDelivery(key, (release, counters) =>
      new SharedFeed((message) => encodeSharedEvent(message as unknown as SSEMessage, event, encoding), release, counters)
    );
    if (!(feed instanceof SharedFeed)) return false;
    this.#feed = feed;
    this.idOffset = this.#queue.nextId - feed.end;
    feed.join(this);
    this.#inFeed = true;
    return true;
  }

  get hasOwnEvents(): boolean {
    return this.#ownEvents.length > 0 || this.#feedDropped > 0;
  }

  #feedBacklogBytes(): number {
    let bytes = this.#feed!.backlogBytes(this, this.cursor);
    for (const own of this.#ownEvents) bytes += own.bytes.byteLength;
    return bytes;
  }

  /** @internal the feed's turn for this stream: what waits for it goes into the body while it wants more. */
  writeTurn(): void {
    const feed = this.#feed!;
    if (this.#controllerDone || !this.#inFeed) return;
    let budget = this.#controller.desiredSize ?? 0;
    const own = this.#ownEvents;
    while (budget > 0) {
      const prefix: Uint8Array[] = [];
      let due = 0;
      while (due < own.length && own[due].seq <= this.cursor) prefix.push(own[due++].bytes);
      if (due > 0) own.splice(0, due);
      // Drops move the cursor on: the gap is right before it.
      if (this.#feedDropped > 0) {
        prefix.push(this.#droppedEvent(this.#feedDropped));
        this.#feedDropped = 0;
      }
      const before = this.cursor;
      const chunk = feed.take(this, prefix, budget, own.length > 0 ? own[0].seq : feed.end);
      if (chunk === undefined) break;
      this.#counters.sent += this.cursor - before;
      sseTotals.eventsSent += this.cursor - before;
      if (!this.#enqueue(chunk)) return;
      budget = this.#controller.desiredSize ?? 0;
    }
    const pacer = this.#pacer;
    if ((pacer.holding || pacer.stalled) && this.#feedBelow(8)) {
      pacer.below();
      feed.lagging(this, false);
    }
    if (this.#ending && this.cursor === feed.end && !this.hasOwnEvents) {
      this.#closeController();
      this.#leaveFeed();
    }
  }

  /** The backlog is below 1/`fraction` of both limits. */
  #feedBelow(fraction: number): boolean {
    return (this.#feed!.end - this.cursor) * fraction < this.maxQueuedEvents && this.#feedBacklogBytes() * fraction < this.maxQueuedBytes;
  }

  /** @internal the feed found this stream possibly a quarter behind: the flow rule, as #queued applies it. */
  checkBacklog(): void {
    if (this.#closeReason !== undefined || !this.#inFeed) return;
    if (!this.#feedBelow(4)) {
      // A quarter of the limits waiting goes out now, whatever the write budget says.
      this.writeTurn();
      if (!this.#inFeed) return;
      if (!this.#feedBelow(4)) {
        this.#pacer.above();
        this.#feed!.lagging(this, true);
      }
    }
    const feed = this.#feed!;
    if (feed.end - this.cursor > this.maxQueuedEvents || this.#feedBacklogBytes() > this.maxQueuedBytes) {
      // Over a limit is behind by more than pacing allows: stalled now, whatever the clock says.
      this.#pacer.overBound();
      feed.lagging(this, true);
      if (this.#slowClient === "close") {
        this.#finish("slow-client", new OverflowError(
          `sse: client too slow (${feed.end - this.cursor} events, ${this.#feedBacklogBytes()} bytes queued; ` +
            `limits ${this.maxQueuedEvents} events, ${this.maxQueuedBytes} bytes): closing the stream`,
        ));
        return;
      }
      this.#skipOldest();
    }
    const bytes = this.#feedBacklogBytes();
    if (bytes > this.#feedPeakBytes) this.#feedPeakBytes = bytes;
  }

  /** drop-oldest in feed mode: the cursor skips the oldest events until the backlog is within the limits. */
  #skipOldest(): void {
    const feed = this.#feed!;
    const end = feed.end;
    let from = Math.max(this.cursor, end - this.maxQueuedEvents);
    while (from < end - 1 && feed.backlogBytes(this, from) > this.maxQueuedBytes) from++;
    const skipped = from - this.cursor;
    this.cursor = from;
    this.#feedDropped += skipped;
    this.#counters.dropped += skipped;
    sseTotals.eventsDropped += skipped;
  }

  /** @internal the shared event `seq` is the invalid-utf8 fallback of a payload that is not UTF-8. */
  invalidEvent(_seq: number): void {
    this.#counters.invalidText++;
    if (this.#options.invalidText === "close") {
      this.#finish("error", new TypeError(`sse: a payload is not valid UTF-8 (invalidText: "close")`));
    }
  }

  #leaveFeed(): void {
    if (!this.#inFeed) return;
    this.#inFeed = false;
    this.#ownEvents = [];
    this.#feed!.leave(this);
  }

  async #release(): Promise<void> {
    const subscription = await this.#source;
    try {
      await subscription?.unsubscribe();
    } catch {
      // Already closed (client closed, connection lost): the server subscription is gone with it.
    }
    const stats = this.stats();
    try {
      this.#options.onClose?.(stats);
    } finally {
      this.#resolveDone(stats);
    }
  }
}

function isPromiseLike(value: unknown): value is PromiseLike<unknown> {
  return typeof (value as PromiseLike<unknown> | undefined)?.then === "function";
}

function responseHeaders(extra: HeadersInit | undefined): Headers {
  const headers = new Headers({
    "content-type": "text/event-stream; charset=utf-8",
    "cache-control": "no-cache, no-transform",
    "x-accel-buffering": "no",
    "connection": "keep-alive",
  });
  if (extra !== undefined) new Headers(extra).forEach((value, name) => headers.set(name, value));
  return headers;
}
