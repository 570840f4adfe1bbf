// One browser's WebSocket inside the bridge: its topics, and the flow rule of a socket that falls
// behind (the SSE rule of README "Delivery semantics", with the socket's own send buffer as its queue:
// on Deno, with the batch it has waiting for the write budget, src/ws/deno.ts).
// Rule: a socket whose buffered bytes reach a quarter of `maxBufferedBytes` holds the reading of its
// topics' subscriptions (src/flow.ts Pacer) until it drained below an eighth, so a socket that keeps
// reading loses nothing; one that holds for `slowConsumerMs` without draining is stalled and lets go.
// A stalled socket over `maxBufferedBytes` leaves the fan-out (policy "drop": it misses messages,
// counted per topic, until it drained, then gets one `dropped` frame first) or is closed ("close").
// Nothing here runs per message: the fan-out calls `check()` only when a send found the socket behind.
// Every frame to the browser goes through the handle's send(), which on Deno queues it behind the
// socket's batch: answers, lifecycle and `dropped` frames never overtake messages.
import { Pacer } from "../flow.ts";
import { encodeFrame } from "./protocol.ts";

/** The runtime's socket, as the bridge uses it (src/ws/bun.ts, src/ws/deno.ts make one). */
export interface SocketHandle {
  /** Sends a frame after every frame sent before it (on Deno, possibly inside its next batch frame). */
  send(text: string): void;
  /** Bytes accepted for this socket and not yet written to the kernel (on Deno, its batch's as well). */
  bufferedAmount(): number;
  close(code: number, reason: string): void;
}

/**
 * What a socket asks of a topic it is on (src/ws/topics.ts Topic is the one kind there is; declared
 * here so this file needs nothing from topics.ts, which needs BridgeSocket: no import cycle).
 */
export interface SocketTopic {
  readonly key: string;
  /** Messages the topic received so far: a socket out of the fan-out missed the difference. */
  readonly published: number;
  /** A socket behind holds the topic's subscription's reading (the first holder pauses it). */
  hold(socket: BridgeSocket): void;
  unhold(socket: BridgeSocket): void;
}

/**
 * How a socket joins and leaves a topic's fan-out (Bun: the native topic; Deno: a JS set). The
 * implementations take the Topic they are given: every topic a socket has came from the topic table.
 */
export interface Fanout {
  join(socket: BridgeSocket, topic: SocketTopic): void;
  leave(socket: BridgeSocket, topic: SocketTopic): void;
  /** Sends `text` to every socket in the topic's fan-out. */
  publish(topic: SocketTopic, text: string): void;
}

/** What a socket needs from the bridge that owns it. */
export interface SocketOwner {
  readonly fanout: Fanout;
  readonly maxBufferedBytes: number;
  readonly slowSocket: "drop" | "close";
  /** Start or stop calling check() on a timer (the runtime says when a socket drained only on Bun). */
  watch(socket: BridgeSocket): void;
  unwatch(socket: BridgeSocket): void;
  countDropped(count: number): void;
  /** Closes a socket too far behind (slowSocket "close"): off every topic now, whenever its close event comes. */
  closeSlow(socket: BridgeSocket): void;
}

/** The close code for a socket closed because it fell too far behind ("Try Again Later"). */
export const slowSocketCloseCode = 1013;

export class BridgeSocket {
  readonly handle: SocketHandle;
  /** What the application passed to upgrade() (who this is, for the authorization hooks). */
  readonly context: unknown;
  /** Topics this socket is on, by key (src/ws/protocol.ts topicKey). */
  readonly topics: Map<string, SocketTopic> = new Map();
  /** Frames from the browser are handled one after the other (a hook may be async). */
  chain: Promise<void> = Promise.resolve();
  closed = false;
  readonly #owner: SocketOwner;
  readonly #pacer: Pacer;
  #holding = false;
  /** Stalled and over its bound: out of every topic's fan-out, with each topic's count when it left. */
  #missedFrom: Map<SocketTopic, number> | undefined;
  #droppedTotal = 0;
  /** Missed while out of the fan-out, on topics it has left since: told (and counted) at the rejoin or the close. */
  #missedOnLeft = 0;
  /** The most bytes seen buffered for this socket when it was checked. */
  peakBufferedBytes = 0;

  constructor(owner: SocketOwner, handle: SocketHandle, context: unknown, slowConsumerMs: number) {
    this.#owner = owner;
    this.handle = handle;
    this.context = context;
    this.#pacer = new Pacer(slowConsumerMs, {
      hold: () => {
        this.#holding = true;
        for (const topic of this.topics.values()) topic.hold(this);
      },
      release: () => {
        this.#holding = false;
        for (const topic of this.topics.values()) topic.unhold(this);
      },
      stalled: () => {},
    });
  }

  get stalls(): number {
    return this.#pacer.stalls;
  }

  /** Out of the fan-out for being too far behind. */
  get detached(): boolean {
    return this.#missedFrom !== undefined;
  }

  /** Joins a topic (the topic's subscription is ready): from now on its messages reach this socket. */
  join(topic: SocketTopic): void {
    this.topics.set(topic.key, topic);
    if (this.#holding) topic.hold(this);
    if (this.#missedFrom !== undefined) this.#missedFrom.set(topic, topic.published);
    else this.#owner.fanout.join(this, topic);
  }

  leave(topic: SocketTopic): void {
    if (this.topics.get(topic.key) !== topic) return;
    this.topics.delete(topic.key);
    topic.unhold(this);
    const from = this.#missedFrom?.get(topic);
    if (from !== undefined) {
      this.#missedOnLeft += topic.published - from;
      this.#missedFrom!.delete(topic);
    } else if (this.#missedFrom === undefined) this.#owner.fanout.leave(this, topic);
  }

  send(text: string): void {
    if (this.closed) return;
    try {
      this.handle.send(text);
    } catch {
      // The runtime closed it under us; its close event cleans up.
    }
  }

  /** The socket was found behind (or the timer asks): apply the flow rule to its buffered bytes now. */
  check(): void {
    if (this.closed) return;
    const buffered = this.handle.bufferedAmount();
    if (buffered > this.peakBufferedBytes) this.peakBufferedBytes = buffered;
    const bound = this.#owner.maxBufferedBytes;
    if (this.#missedFrom !== undefined) {
      if (buffered * 8 < bound) this.#rejoin();
      return;
    }
    if (buffered > bound) {
      this.#pacer.overBound();
      if (this.#owner.slowSocket === "close") {
        this.#owner.closeSlow(this);
        return;
      }
      this.#detach();
      return;
    }
    if (buffered * 4 >= bound) {
      this.#pacer.above();
      this.#owner.watch(this);
    } else if (buffered * 8 < bound) {
      this.#pacer.below();
      this.#owner.unwatch(this);
    } else {
      this.#owner.watch(this);
    }
  }

  #detach(): void {
    const missedFrom = new Map<SocketTopic, number>();
    for (const topic of this.topics.values()) {
      missedFrom.set(topic, topic.published);
      this.#owner.fanout.leave(this, topic);
    }
    this.#missedFrom = missedFrom;
    this.#owner.watch(this);
  }

  /** Drained after missing messages: say how many first, then take part in the fan-out again. */
  #rejoin(): void {
    const missedFrom = this.#missedFrom!;
    this.#missedFrom = undefined;
    let count = this.#missedOnLeft;
    this.#missedOnLeft = 0;
    for (const [topic, published] of missedFrom) count += topic.published - published;
    if (count > 0) {
      this.#droppedTotal += count;
      this.#owner.countDropped(count);
      this.send(encodeFrame("dropped", { count, total: this.#droppedTotal }));
    }
    for (const topic of missedFrom.keys()) {
      if (this.topics.get(topic.key) === topic) this.#owner.fanout.join(this, topic);
    }
    this.#pacer.below();
    this.#owner.unwatch(this);
  }

  /** The socket is gone: off every topic, no hold, no timer. Idempotent. */
  dispose(): void {
    this.closed = true;
    this.#pacer.stop();
    this.#owner.unwatch(this);
    for (const topic of [...this.topics.values()]) this.leave(topic);
    // Closed while out of the fan-out: what it missed is dropped all the same (nobody is left to tell).
    if (this.#missedOnLeft > 0) this.#owner.countDropped(this.#missedOnLeft);
    this.#missedOnLeft = 0;
  }
}
