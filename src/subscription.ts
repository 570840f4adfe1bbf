// A local subscription: what one caller of subscribe()/psubscribe()/ssubscribe() holds. It receives
// routed messages into a bounded buffer and hands them out through an async iterator, or calls an
// onMessage callback synchronously instead. Several subscriptions may share one server subscription.
// Rule: every message that reaches a subscription is delivered, or dropped and counted (and reported
// with a `dropped` event), or is still buffered. Nothing disappears silently.
import { OverflowError } from "./errors.ts";
import type { Frame, Message } from "./frame.ts";
import type { OverflowPolicy, SubscriptionType } from "./options.ts";
import type { NameRecord, Receiver } from "./router.ts";
import type { Counters, SubscriptionStats } from "./stats.ts";

export type LifecycleEvent =
  | { type: "disconnected"; at: number; error?: Error }
  | { type: "reconnected"; at: number; downtimeMs: number }
  | { type: "dropped"; at: number; count: number }
  | { type: "end"; at: number; error?: Error };

/** What a subscription needs from the client that owns it. */
export interface SubscriptionOwner {
  readonly counters: Counters;
  /** Drops this subscription's share of the server subscriptions (UNSUBSCRIBE for the last one). */
  release(subscription: Subscription): Promise<void>;
  /** "pause" policy: the buffer is full — stop reading the socket. */
  requestPause(subscription: Subscription): void;
  /** The buffer drained below half (or the subscription ended): reading may resume. */
  releasePause(subscription: Subscription): void;
  /** The subscription ended (for any reason). */
  ended(subscription: Subscription): void;
}

export interface ResolvedSubscribeOptions {
  bufferSize: number;
  overflow: OverflowPolicy;
  onMessage: ((message: Message) => void) | undefined;
  onError: ((error: unknown, message: Message) => void) | undefined;
  signal: AbortSignal | undefined;
}

type Waiter = { resolve(result: IteratorResult<Message>): void; reject(error: unknown): void };

/**
 * A FIFO of frames: a ring (power-of-two capacity, doubled when full, never shrunk below its start
 * size), so a push or shift allocates nothing once the ring has grown to the working depth.
 */
class FrameQueue {
  #items: (Frame | undefined)[] = new Array(16).fill(undefined);
  #mask = 15;
  #head = 0;
  #length = 0;

  get length(): number {
    return this.#length;
  }

  push(frame: Frame): void {
    if (this.#length > this.#mask) this.#grow();
    this.#items[(this.#head + this.#length) & this.#mask] = frame;
    this.#length++;
  }

  shift(): Frame | undefined {
    if (this.#length === 0) return undefined;
    const head = this.#head;
    const frame = this.#items[head];
    this.#items[head] = undefined; // let the frame be collected
    this.#head = (head + 1) & this.#mask;
    this.#length--;
    return frame;
  }

  clear(): number {
    const dropped = this.#length;
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

export class Subscription implements AsyncIterable<Message>, AsyncDisposable, Disposable, Receiver {
  readonly names: readonly string[];
  readonly type: SubscriptionType;
  /** @internal the names with their exact bytes and routing keys. */
  readonly records: readonly NameRecord[];
  #owner: SubscriptionOwner;
  #options: ResolvedSubscribeOptions;
  #queue = new FrameQueue();
  #waiters = new WaiterQueue();
  /** Copies of the options read on every message. */
  #onMessage: ((message: Message) => void) | undefined;
  #bufferSize: number;
  #pauseOnFull: boolean;
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
  #pausing = false;
  #released: Promise<void> | undefined;
  #onAbort = () => void this.unsubscribe();

  /** @internal created by Client. */
  constructor(owner: SubscriptionOwner, type: SubscriptionType, records: NameRecord[], options: ResolvedSubscribeOptions) {
    this.#owner = owner;
    this.type = type;
    this.records = records;
    this.names = Object.freeze(records.map((record) => record.name));
    this.#options = options;
    this.#onMessage = options.onMessage;
    this.#bufferSize = options.bufferSize;
    this.#pauseOnFull = options.overflow === "pause";
    options.signal?.addEventListener("abort", this.#onAbort, { once: true });
  }

  /** True once the subscription ended (unsubscribe, close, abort, overflow error, lost connection). */
  get closed(): boolean {
    return this.#ended;
  }

  stats(): SubscriptionStats {
    return {
      received: this.#received,
      delivered: this.#delivered,
      dropped: this.#dropped,
      queueDepth: this.#queue.length,
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

  async [Symbol.asyncDispose](): Promise<void> {
    await this.unsubscribe();
  }

  /** Ends the iterator now; the UNSUBSCRIBE goes out in the background. */
  [Symbol.dispose](): void {
    this.unsubscribe().catch(() => {
      // Only a closed or lost connection fails here, and that already ended the server subscription.
    });
  }

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
    const frame = this.#queue.shift();
    if (frame !== undefined) {
      this.#countDelivered();
      this.#checkPressure();
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

  /** @internal the router hands over a message (the same Frame object every subscription gets). */
  deliver(frame: Frame): void {
    if (this.#ended || this.#draining) return;
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
    if (queue.length < this.#bufferSize) {
      queue.push(frame);
      if (this.#pauseOnFull && queue.length >= this.#bufferSize) this.#pause();
      return;
    }
    this.#overflow(frame);
  }

  #overflow(frame: Frame): void {
    switch (this.#options.overflow) {
      case "drop-oldest":
        this.#queue.shift();
        this.#queue.push(frame);
        this.#countDropped(1);
        return;
      case "drop-newest":
        this.#countDropped(1);
        return;
      case "pause":
        // Reading stops, but what the current socket chunk already held still arrives: keep it.
        this.#queue.push(frame);
        this.#pause();
        return;
      case "error":
        this.#countDropped(1);
        this.end(new OverflowError(
          `subscription to ${this.names.join(", ")} overflowed: more than bufferSize ` +
            `(${this.#options.bufferSize}) messages were waiting for the consumer`,
        ), true);
        this.#released ??= this.#owner.release(this).catch(() => {});
        return;
    }
  }

  #pause(): void {
    if (this.#pausing) return;
    this.#pausing = true;
    this.#owner.requestPause(this);
  }

  #checkPressure(): void {
    if (this.#pausing && this.#queue.length < this.#bufferSize / 2) {
      this.#pausing = false;
      this.#owner.releasePause(this);
    }
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

  /** @internal delivers a lifecycle event to every listener; a throwing listener is counted. */
  emit(event: LifecycleEvent): void {
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
   */
  deliverTo(listener: (message: Message) => void): boolean {
    if (this.#onMessage !== undefined || this.#ended || this.#waiters.length > 0) return false;
    this.#onMessage = listener;
    for (let frame = this.#queue.shift(); frame !== undefined; frame = this.#queue.shift()) {
      this.#countDelivered();
      try {
        listener(frame as Message);
      } catch (error) {
        this.#callbackFailed(error, frame);
      }
    }
    this.#checkPressure();
    if (this.#draining) this.end(undefined, false);
    return true;
  }

  /** @internal close(): stop taking messages; end once the consumer emptied the buffer. */
  beginDrain(): void {
    if (this.#ended) return;
    this.#draining = true;
    if (this.#queue.length === 0) this.end(undefined, false);
  }

  /** @internal buffered but undelivered messages (for draining on close). */
  get queueDepth(): number {
    return this.#queue.length;
  }

  /**
   * @internal ends the iterator. With `keepBuffered` the consumer still gets what is buffered before
   * the end (and then `error`, if any); otherwise the buffer is discarded.
   * Idempotent: the first end wins.
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
    if (this.#pausing) {
      this.#pausing = false;
      this.#owner.releasePause(this);
    }
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
