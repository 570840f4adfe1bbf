// A local subscription: what one caller of subscribe()/psubscribe()/ssubscribe() holds. It receives
// routed messages into a bounded buffer and hands them out through an async iterator, or calls an
// onMessage callback synchronously instead. Several subscriptions may share one server subscription.
// Rule: every message that reaches a subscription is delivered, or dropped and counted (and reported
// with a `dropped` event), or is still buffered. Nothing disappears silently.
// Flow rule (src/flow.ts): once a consumer reads (iterator) or takes messages as calls (deliverTo), a
// buffer above its high-water mark holds the connection's reading until it drains, so a consumer that
// keeps up loses nothing however big the burst; only a stalled consumer (it held for slowConsumerMs
// without draining), a buffer over its bounds, or one that was never read meets the overflow policy.
// Durable rule (src/durable/feed.ts): a subscription with history hands its live messages to its feed,
// which opens their envelope and fills gaps from the history before passing them on (deliver(frame, true)).
import { DurableFeed, type DurableTarget } from "./durable/feed.ts";
import type { ResolvedHistory } from "./durable/history.ts";
import { OverflowError } from "./errors.ts";
import { PayloadSlabs } from "./detach.ts";
import { Pacer } from "./flow.ts";
import type { Frame, Message } from "./frame.ts";
import type { ResolvedFlow, SubscriptionType } from "./options.ts";
import type { NameRecord, Receiver } from "./router.ts";

export type { Receiver };

/** Makes the receiver shared by the muted subscriptions of one server subscription (Subscription.shareDelivery). */
export type ShareFactory = (release: () => void, counters: Counters) => Receiver;
import type { Counters, SubscriptionStats } from "./stats.ts";

/**
 * What happens to a subscription besides its messages, as `subscription.onEvent()` reports it (`at`:
 * Date.now() of the event). The loss of a connection is never silent: `disconnected`, then
 * `reconnected` once every name is subscribed again (or `end` with the error when reconnection gave
 * up). See onEvent() for each variant.
 */
export type LifecycleEvent =
  | { type: "disconnected"; at: number; error?: Error }
  | { type: "reconnected"; at: number; downtimeMs: number }
  | { type: "dropped"; at: number; count: number }
  | { type: "recovered"; at: number; count: number; complete: boolean; lost?: number }
  | { type: "end"; at: number; error?: Error };

/** What a subscription needs from the client that owns it. */
export interface SubscriptionOwner {
  readonly counters: Counters;
  /** Drops this subscription's share of the server subscriptions (UNSUBSCRIBE for the last one). */
  release(subscription: Subscription): Promise<void>;
  /**
   * Hold the reading of the socket(s) this subscription's messages come from: its buffer is above its
   * high-water mark (or an eager consumer such as sse() is behind). Called once per hold.
   */
  requestPause(subscription: Subscription): void;
  /** The hold ends (drained below the low-water mark, stalled, or ended): reading may resume. */
  releasePause(subscription: Subscription): void;
  /** The subscription ended (for any reason). */
  ended(subscription: Subscription): void;
  /**
   * Routes this subscription's messages through the receiver kept under `key` for its server
   * subscription (made by `create` for the first one), and stops handing them to the subscription
   * itself. Undefined when the owner cannot (more than one name, or an owner without it).
   */
  share?(subscription: Subscription, key: string, create: ShareFactory): Receiver | undefined;
}

/** The subscription's flow (bounds, high-water marks, stall time, policy) and its consumer. */
export interface ResolvedSubscribeOptions extends ResolvedFlow {
  onMessage: ((message: Message) => void) | undefined;
  onError: ((error: unknown, message: Message) => void) | undefined;
  signal: AbortSignal | undefined;
  /** A durable subscription: where its history is read and where it starts (src/durable/feed.ts). */
  history?: ResolvedHistory;
}

type Waiter = { resolve(result: IteratorResult<Message>): void; reject(error: unknown): void };

/** The onMessage of a subscription whose messages a shared receiver takes (it is handed none itself). */
function sharedElsewhere(): void {}

/**
 * A FIFO of frames: a ring (power-of-two capacity, doubled when full, never shrunk below its start
 * size), so a push or shift allocates nothing once the ring has grown to the working depth.
 */
class FrameQueue {
  #items: (Frame | undefined)[] = new Array(16).fill(undefined);
  #mask = 15;
  #head = 0;
  #length = 0;
  /** Payload bytes of the queued frames. */
  bytes = 0;

  get length(): number {
    return this.#length;
  }

  push(frame: Frame): void {
    if (this.#length > this.#mask) this.#grow();
    this.#items[(this.#head + this.#length) & this.#mask] = frame;
    this.#length++;
    this.bytes += frame.data.byteLength;
  }

  shift(): Frame | undefined {
    if (this.#length === 0) return undefined;
    const head = this.#head;
    const frame = this.#items[head]!;
    this.#items[head] = undefined; // let the frame be collected
    this.#head = (head + 1) & this.#mask;
    this.#length--;
    this.bytes -= frame.data.byteLength;
    return frame;
  }

  /** Calls `visit` on every queued frame, oldest first. */
  forEach(visit: (frame: Frame) => void): void {
    for (let i = 0; i < this.#length; i++) visit(this.#items[(this.#head + i) & this.#mask]!);
  }

  clear(): number {
    const dropped = this.#length;
    this.bytes = 0;
    if (this.#items.length > 16) {
      this.#items = new Array(16).fill(undefined);
      this.#mask = 15;
    } else {
      this.#items.fill(undefined);
    }
    this.#head = 0;
    this.#length = 0;
    return dropped;
  }

  #grow(): void {
    const old = this.#items;
    const size = old.length;
    const items: (Frame | undefined)[] = new Array(size * 2).fill(undefined);
    for (let i = 0; i < size; i++) items[i] = old[(this.#head + i) & this.#mask];
    this.#items = items;
    this.#mask = size * 2 - 1;
    this.#head = 0;
  }
}

/** A FIFO of waiting consumers (pending next() calls): an array reused once emptied. */
class WaiterQueue {
  #items: Waiter[] = [];
  #head = 0;

  get length(): number {
    return this.#items.length - this.#head;
  }

  push(waiter: Waiter): void {
    this.#items.push(waiter);
  }

  shift(): Waiter | undefined {
    const items = this.#items;
    if (this.#head >= items.length) return undefined;
    const waiter = items[this.#head];
    items[this.#head++] = undefined as never;
    if (this.#head === items.length) {
      // Reuse the array: length 0 keeps its backing store.
      items.length = 0;
      this.#head = 0;
    }
    return waiter;
  }

  take(): Waiter[] {
    const waiters = this.#items.slice(this.#head);
    this.#items = [];
    this.#head = 0;
    return waiters;
  }
}

/**
 * One caller's subscription to channels, patterns or shard channels, as `subscribe()`,
 * `psubscribe()` and `ssubscribe()` resolve it once the server confirmed every name. Read it with
 * `for await` (leaving the loop unsubscribes), or give `onMessage` when subscribing; or hand it to
 * `sse()`. Several subscriptions to a name share one server subscription; the last to leave removes
 * it. A reader that keeps up loses no message (its buffer paces the connection); what is lost, and
 * when, is counted in stats() and reported by onEvent() (README "Delivery semantics").
 *
 * @example
 * ```ts
 * import { connect } from "pushwire";
 *
 * await using client = await connect("redis://127.0.0.1:6379");
 * await using alerts = await client.subscribe(["alerts", "news"]);
 * alerts.onEvent((event) => {
 *   if (event.type === "reconnected") console.warn(`missed up to ${event.downtimeMs} ms of messages`);
 * });
 * for await (const message of alerts) console.log(message.channel, message.text());
 * ```
 */
// The router's Receiver is met structurally (the client adds subscriptions to its member sets):
// naming it in `implements` would show an internal type in the docs.
export class Subscription implements AsyncIterable<Message>, AsyncDisposable, Disposable {
  /** The names as subscribed (decoded as UTF-8, lossy, for names that are bytes), deduplicated. */
  readonly names: readonly string[];
  /** Which subscribe command made it. */
  readonly type: SubscriptionType;
  /**
   * @internal the names with their exact bytes and routing keys.
   * @ignore
   */
  readonly records: readonly NameRecord[];
  #owner: SubscriptionOwner;
  #options: ResolvedSubscribeOptions;
  #queue = new FrameQueue();
  #waiters = new WaiterQueue();
  /** Copies of the options read on every message. */
  #onMessage: ((message: Message) => void) | undefined;
  #bufferSize: number;
  #bufferBytes: number;
  #highWaterMark: number;
  #highWaterMarkBytes: number;
  /** The buffer takes part in the pacing: a consumer reads it (or the policy is "pause"). */
  #paces: boolean;
  #pacer: Pacer;
  /** Where unread or stalled frames' payloads are copied, so they pin no socket read (src/detach.ts). */
  #slabs: PayloadSlabs | undefined;
  /** Holders of the connection's reading among this subscription's parts: the pacer, an eager consumer. */
  #holds = 0;
  #heldByConsumer = false;
  #listeners = new Set<(event: LifecycleEvent) => void>();
  #received = 0;
  #delivered = 0;
  #dropped = 0;
  #droppedNotReported = 0;
  #ended = false;
  /** close() in progress: no new messages, the consumer empties the buffer, then the end. */
  #draining = false;
  #endError: Error | undefined;
  #endErrorThrown = false;
  #released: Promise<void> | undefined;
  #onAbort = () => void this.unsubscribe();
  /** The history side of a durable subscription; undefined for a plain one. */
  #durable: DurableFeed | undefined;

  /**
   * @internal created by Client.
   * @ignore
   */
  constructor(owner: SubscriptionOwner, type: SubscriptionType, records: NameRecord[], options: ResolvedSubscribeOptions) {
    this.#owner = owner;
    this.type = type;
    this.records = records;
    this.names = Object.freeze(records.map((record) => record.name));
    this.#options = options;
    this.#onMessage = options.onMessage;
    this.#bufferSize = options.bufferSize;
    this.#bufferBytes = options.bufferBytes;
    // A high-water mark above the bounds would never be reached before the policy applies.
    this.#highWaterMark = Math.min(options.highWaterMark, options.bufferSize);
    this.#highWaterMarkBytes = Math.min(options.highWaterMarkBytes, options.bufferBytes);
    const pause = options.overflow === "pause";
    this.#paces = pause;
    this.#pacer = new Pacer(pause ? Infinity : options.slowConsumerMs, {
      hold: () => this.#hold(),
      release: () => this.#unhold(),
      stalled: () => this.#queue.forEach((frame) => this.#detach(frame)),
    });
    options.signal?.addEventListener("abort", this.#onAbort, { once: true });
    if (options.history !== undefined) {
      const kind = type === "ssubscribe" ? "smessage" : "message";
      this.#durable = new DurableFeed(this.#durableTarget(), { ...options.history, record: records[0], kind, flow: options });
    }
  }

  /** True when the subscription has history (`since` or `history` given): Message.id is the entry id. */
  get durable(): boolean {
    return this.#durable !== undefined;
  }

  /** True once the subscription ended (unsubscribe, close, abort, overflow error, lost connection). */
  get closed(): boolean {
    return this.#ended;
  }

  /** This subscription's counters and buffer now, as a plain object. */
  stats(): SubscriptionStats {
    return {
      received: this.#received,
      delivered: this.#delivered,
      dropped: this.#dropped,
      queueDepth: this.#queue.length,
      queueBytes: this.#queue.bytes,
      stalls: this.#pacer.stalls,
    };
  }

  /**
   * Adds a lifecycle listener; returns the function that removes it. Listeners are called
   * synchronously; one that throws is counted in the client's stats().errors and the others still run.
   *
   * The gap of a lost connection is never silent — pub/sub is at-most-once, so messages published
   * while the connection was down are lost, and every subscription hears about it:
   * - `{ type: "disconnected", at, error? }` the connection was lost (`at`: Date.now() of the loss;
   *   `error`: why — ConnectionError for a closed socket, ProtocolError for a malformed or over-limit
   *   stream, TimeoutError for a failed health-check PING);
   * - `{ type: "reconnected", at, downtimeMs }` the client reconnected and the server confirmed the
   *   resubscription of every name; messages published during `downtimeMs` may have been missed;
   * - `{ type: "dropped", at, count }` the overflow policy dropped `count` messages (one event per burst);
   * - `{ type: "recovered", at, count, complete, lost? }` (durable subscriptions) a gap was filled from
   *   the history: after a reconnect, a resume (`since: <id>`), a live gap or a full buffer. `count`
   *   messages came from history; `complete: false` when entries were lost (trimmed: `lost` says how
   *   many; the stream reset or gone: `lost` is undefined);
   * - `{ type: "end", at, error? }` the subscription ended (unsubscribe, close, abort, overflow
   *   "error", reconnection given up or disabled — then `error` says why).
   */
  onEvent(listener: (event: LifecycleEvent) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /** Ends the iterator (buffered messages are discarded) and leaves the server subscriptions. */
  unsubscribe(): Promise<void> {
    this.end(undefined, false);
    this.#released ??= this.#owner.release(this);
    return this.#released;
  }

  /** `await using` unsubscribes at the end of the scope (unsubscribe()). */
  async [Symbol.asyncDispose](): Promise<void> {
    await this.unsubscribe();
  }

  /** Ends the iterator now; the UNSUBSCRIBE goes out in the background. */
  [Symbol.dispose](): void {
    this.unsubscribe().catch(() => {
      // Only a closed or lost connection fails here, and that already ended the server subscription.
    });
  }

  /**
   * The messages in order, from the buffer. Reading paces the connection (README "Delivery
   * semantics"). It ends when the subscription ends: done after unsubscribe(), close() (once what was
   * buffered is taken) or an abort; it throws the error of an end by a failure (OverflowError, a lost
   * connection when reconnection gave up). Leaving a `for await` early unsubscribes. One reader at a
   * time: two loops would share the messages between them.
   */
  [Symbol.asyncIterator](): AsyncIterator<Message> {
    return {
      next: () => this.#next(),
      return: async () => {
        await this.unsubscribe();
        return { value: undefined, done: true };
      },
    };
  }

  #next(): Promise<IteratorResult<Message>> {
    if (!this.#paces) this.#startPacing();
    const frame = this.#queue.shift();
    if (frame !== undefined) {
      this.#countDelivered();
      this.#checkPressure();
      if (this.#durable?.waitingForRoom) this.#checkReplayRoom();
      if (this.#draining && this.#queue.length === 0) this.end(undefined, false);
      return Promise.resolve({ value: frame as Message, done: false });
    }
    if (this.#ended) return this.#finished();
    const waiter = Promise.withResolvers<IteratorResult<Message>>();
    this.#waiters.push(waiter);
    return waiter.promise;
  }

  #finished(): Promise<IteratorResult<Message>> {
    if (this.#endError !== undefined && !this.#endErrorThrown) {
      this.#endErrorThrown = true;
      return Promise.reject(this.#endError);
    }
    return Promise.resolve({ value: undefined, done: true });
  }

  /**
   * @internal the router hands over a message (the same Frame object every subscription gets); a
   * durable subscription's goes to its feed first, which hands it (and replayed ones) back with
   * `fromFeed` (one method, so the plain path costs no extra call).
   * @ignore
   */
  deliver(frame: Frame, fromFeed?: boolean): void {
    if (this.#ended || this.#draining) return;
    if (this.#durable !== undefined && fromFeed !== true) {
      this.#durable.live(frame);
      return;
    }
    this.#received++;
    const onMessage = this.#onMessage;
    if (onMessage !== undefined) {
      this.#delivered++;
      this.#owner.counters.delivered++;
      try {
        onMessage(frame as Message);
      } catch (error) {
        this.#callbackFailed(error, frame);
      }
      return;
    }
    if (this.#waiters.length > 0) {
      this.#delivered++;
      this.#owner.counters.delivered++;
      this.#waiters.shift()!.resolve({ value: frame as Message, done: false });
      return;
    }
    const queue = this.#queue;
    // An empty buffer always takes one message, whatever its size.
    if (queue.length >= this.#bufferSize || (queue.length > 0 && queue.bytes + frame.data.byteLength > this.#bufferBytes)) {
      this.#overflow(frame);
      return;
    }
    // Unread (or stalled) frames may wait long: they must not pin the read they are a view of.
    if (!this.#paces || this.#pacer.stalled) this.#detach(frame);
    queue.push(frame);
    if ((queue.length >= this.#highWaterMark || queue.bytes >= this.#highWaterMarkBytes) && this.#paces) {
      this.#pacer.above();
    }
  }

  /** Over a bound: the consumer is behind by more than pacing allows, so the policy decides. */
  #overflow(frame: Frame): void {
    const queue = this.#queue;
    switch (this.#options.overflow) {
      case "drop-oldest": {
        this.#pacer.overBound();
        let dropped = 0;
        const size = frame.data.byteLength;
        while (queue.length > 0 && (queue.length >= this.#bufferSize || queue.bytes + size > this.#bufferBytes)) {
          queue.shift();
          dropped++;
        }
        this.#detach(frame);
        queue.push(frame);
        this.#countDropped(dropped);
        return;
      }
      case "drop-newest":
        this.#pacer.overBound();
        this.#countDropped(1);
        return;
      case "pause":
        // Reading is held, but what the current socket chunk already held still arrives: keep it.
        queue.push(frame);
        this.#pacer.above();
        return;
      case "error":
        this.#countDropped(1);
        this.end(new OverflowError(
          `subscription to ${this.names.join(", ")} overflowed: more than bufferSize ` +
            `(${this.#bufferSize}) messages or bufferBytes (${this.#bufferBytes}) bytes were waiting ` +
            `for a consumer that did not keep up (slowConsumerMs ${this.#options.slowConsumerMs} ms)`,
        ), true);
        this.#released ??= this.#owner.release(this).catch(() => {});
        return;
    }
  }

  #detach(frame: Frame): void {
    frame.data = (this.#slabs ??= new PayloadSlabs()).detach(frame.data);
  }

  /** The consumer reads for the first time: from now on its buffer paces the connection. */
  #startPacing(): void {
    this.#paces = true;
    const queue = this.#queue;
    if (queue.length >= this.#highWaterMark || queue.bytes >= this.#highWaterMarkBytes) this.#pacer.above();
  }

  /** Below half of both high-water marks: the hold ends and a stalled consumer rejoins the pacing. */
  #checkPressure(): void {
    const pacer = this.#pacer;
    if (!pacer.holding && !pacer.stalled) return;
    const queue = this.#queue;
    if (queue.length * 2 < this.#highWaterMark && queue.bytes * 2 < this.#highWaterMarkBytes) pacer.below();
  }

  /** A replay waits for room: it gets it below half of both high-water marks (as a hold ends). */
  #checkReplayRoom(): void {
    const queue = this.#queue;
    if (queue.length * 2 < this.#highWaterMark && queue.bytes * 2 < this.#highWaterMarkBytes) this.#durable!.roomMade();
  }

  /** What the durable feed may do with this subscription (kept off the public surface). */
  #durableTarget(): DurableTarget {
    return {
      closed: () => this.#ended || this.#draining,
      replayRoom: () => {
        if (this.#heldByConsumer) return false;
        if (this.#onMessage !== undefined) return true;
        const queue = this.#queue;
        return queue.length < this.#highWaterMark && queue.bytes < this.#highWaterMarkBytes;
      },
      accept: (frame) => this.deliver(frame, true),
      wouldOverflow: (frame) => {
        if (this.#onMessage !== undefined || this.#waiters.length > 0) return false;
        const queue = this.#queue;
        return queue.length >= this.#bufferSize ||
          (queue.length > 0 && queue.bytes + frame.data.byteLength > this.#bufferBytes);
      },
      countDropped: (count) => this.#countDropped(count),
      emit: (event) => this.emit(event),
      fail: (error) => {
        this.end(error, true);
        this.#released ??= this.#owner.release(this).catch(() => {});
      },
    };
  }

  /**
   * @internal before the subscribe command (Client, placement): a durable feed learns where it starts.
   * @ignore
   */
  prepareHistory(): Promise<void> {
    return this.#durable?.prepare() ?? Promise.resolve();
  }

  /**
   * @internal after the server confirmed it: a durable feed's first read (see DurableFeed.start).
   * @ignore
   */
  startHistory(): Promise<void> {
    return this.#durable?.start() ?? Promise.resolve();
  }

  #hold(): void {
    if (this.#holds++ === 0) this.#owner.requestPause(this);
  }

  #unhold(): void {
    if (--this.#holds === 0) this.#owner.releasePause(this);
  }

  /**
   * @internal For a consumer that takes messages as calls (deliverTo) but cannot pass them on as fast
   * as they come (sse(): a browser behind): hold the reading of this subscription's connection until
   * releaseReading(). Idempotent; ends with the subscription.
   * @ignore
   */
  holdReading(): void {
    if (this.#heldByConsumer || this.#ended) return;
    this.#heldByConsumer = true;
    this.#hold();
  }

  /**
   * @internal ends holdReading(). Idempotent.
   * @ignore
   */
  releaseReading(): void {
    if (!this.#heldByConsumer) return;
    this.#heldByConsumer = false;
    this.#unhold();
    this.#durable?.roomMade();
  }

  #countDelivered(): void {
    this.#delivered++;
    this.#owner.counters.delivered++;
  }

  #countDropped(count: number): void {
    this.#dropped += count;
    this.#owner.counters.dropped += count;
    // One event per burst, not per message: a flood must not turn into a flood of events.
    if (this.#droppedNotReported === 0) queueMicrotask(() => this.#reportDropped());
    this.#droppedNotReported += count;
  }

  #reportDropped(): void {
    const count = this.#droppedNotReported;
    this.#droppedNotReported = 0;
    if (count > 0) this.emit({ type: "dropped", at: Date.now(), count });
  }

  #callbackFailed(error: unknown, frame: Frame): void {
    this.#owner.counters.errors++;
    try {
      this.#options.onError?.(error, frame as Message);
    } catch {
      // An onError that throws too has nowhere left to report to; it is counted above.
    }
  }

  /**
   * @internal delivers a lifecycle event to every listener; a throwing listener is counted.
   * @ignore
   */
  emit(event: LifecycleEvent): void {
    if (event.type === "reconnected") this.#durable?.reconnected();
    for (const listener of this.#listeners) {
      try {
        listener(event);
      } catch {
        this.#owner.counters.errors++;
      }
    }
  }

  /**
   * @internal Hands every message to `listener` from now on, as an `onMessage` given at subscribe time
   * would, after first handing it what is buffered. For a consumer that reads eagerly anyway (sse()):
   * one call per message instead of a promise and an await per message, which was most of sse()'s
   * own cost on Deno. False (and nothing changes) when the subscription has an onMessage, a pending
   * next(), or has ended.
   * @ignore
   */
  deliverTo(listener: (message: Message) => void): boolean {
    if (this.#onMessage !== undefined || this.#ended || this.#waiters.length > 0) return false;
    this.#onMessage = listener;
    this.#paces = true;
    for (let frame = this.#queue.shift(); frame !== undefined; frame = this.#queue.shift()) {
      this.#countDelivered();
      try {
        listener(frame as Message);
      } catch (error) {
        this.#callbackFailed(error, frame);
      }
    }
    this.#checkPressure();
    this.#durable?.roomMade();
    if (this.#draining) this.end(undefined, false);
    return true;
  }

  /**
   * @internal For a consumer that many subscriptions of one channel feed alike (sse(): every stream
   * of a channel writes the same encoded events): the messages of this subscription go to the
   * receiver shared under `key` by every subscription of its server subscription that asked, made by
   * `create` for the first one, instead of to this one — one call per message for all of them, not
   * one each. Its lifecycle events, holdReading() and end stay its own. Undefined (and nothing
   * changes) when it cannot: an onMessage, a pending next(), buffered messages, more than one name,
   * an owner without sharing, or ended. The caller tells the receiver when it leaves.
   * @ignore
   */
  shareDelivery<R extends Receiver>(key: string, create: (release: () => void, counters: Counters) => R): R | undefined {
    if (this.#onMessage !== undefined || this.#ended || this.#draining || this.#waiters.length > 0) return undefined;
    if (this.#queue.length > 0 || this.#owner.share === undefined) return undefined;
    const receiver = this.#owner.share(this, key, create) as R | undefined;
    if (receiver === undefined) return undefined;
    this.#paces = true;
    this.#onMessage = sharedElsewhere;
    return receiver;
  }

  /**
   * @internal close(): stop taking messages; end once the consumer emptied the buffer.
   * @ignore
   */
  beginDrain(): void {
    if (this.#ended) return;
    this.#draining = true;
    if (this.#queue.length === 0) this.end(undefined, false);
  }

  /**
   * @internal buffered but undelivered messages (for draining on close).
   * @ignore
   */
  get queueDepth(): number {
    return this.#queue.length;
  }

  /**
   * @internal their payload bytes.
   * @ignore
   */
  get queueBytes(): number {
    return this.#queue.bytes;
  }

  /**
   * @internal ends the iterator. With `keepBuffered` the consumer still gets what is buffered before
   * the end (and then `error`, if any); otherwise the buffer is discarded.
   * Idempotent: the first end wins.
   * @ignore
   */
  end(error: Error | undefined, keepBuffered: boolean, countLeftoverAsDropped = false): void {
    if (this.#ended) {
      if (!keepBuffered) this.#discard(countLeftoverAsDropped);
      return;
    }
    this.#ended = true;
    this.#draining = false;
    this.#endError = error;
    this.#options.signal?.removeEventListener("abort", this.#onAbort);
    if (!keepBuffered) this.#discard(countLeftoverAsDropped);
    this.#pacer.stop();
    this.releaseReading();
    this.#durable?.stop();
    // Waiters exist only when the buffer is empty: each gets the end (the first one the error).
    const waiters = this.#waiters.take();
    for (const waiter of waiters) this.#finished().then(waiter.resolve, waiter.reject);
    this.#reportDropped();
    this.emit(error === undefined ? { type: "end", at: Date.now() } : { type: "end", at: Date.now(), error });
    this.#owner.ended(this);
  }

  #discard(countAsDropped: boolean): void {
    const leftover = this.#queue.clear();
    if (countAsDropped && leftover > 0) this.#countDropped(leftover);
  }
}
