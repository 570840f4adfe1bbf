// The bridge's topics: one pushwire subscription per topic (a channel, pattern or shard channel) for
// every socket of this process on it. Rule: the first socket on a topic subscribes, the last one to
// leave or close unsubscribes; a socket joins the fan-out only once the server confirmed the
// subscription, and a topic whose subscription ends (client closed, reconnect given up) takes every
// socket off it with an `end` frame. The Client refcounts names too, so a topic that is left and
// joined again at once is ordered by it (UNSUBSCRIBE then SUBSCRIBE, or no command at all).
import type { BridgeSocket, SocketTopic } from "./socket.ts";
import { topicKey, type TopicKind, type WSMessage } from "./protocol.ts";

/**
 * A topic subscription's lifecycle event as the bridge reads it (the same union as pushwire's
 * LifecycleEvent): `disconnected`, `reconnected` and `recovered` become frames of the same name to
 * every socket on the topic; `end` sends an `end` frame to each and takes them all off the topic;
 * `dropped` is ignored (the bridge's subscriptions deliver through `onMessage`, which has no buffer
 * to drop from). `at` is the time of the event (ms since the epoch), `downtimeMs` how long the
 * connection was down.
 */
export type TopicLifecycleEvent =
  | { type: "disconnected"; at: number; error?: Error }
  | { type: "reconnected"; at: number; downtimeMs: number }
  | { type: "dropped"; at: number; count: number }
  | { type: "recovered"; at: number; count: number; complete: boolean; lost?: number }
  | { type: "end"; at: number; error?: Error };

/**
 * What the bridge needs from a subscription (pushwire's Subscription has it). The bridge owns the
 * subscriptions it makes: one per topic, shared by every socket on it, released when the last
 * socket leaves or the bridge closes.
 */
export interface TopicSubscription {
  /**
   * Called when the last socket left the topic or the bridge closed; a rejection is ignored. It may
   * come twice for one subscription (a topic left before its subscribe was answered): it must be
   * idempotent, as pushwire's is.
   */
  unsubscribe(): Promise<void>;
  /** Lifecycle events; the bridge forwards them to the topic's sockets. Returns the listener's remover. */
  onEvent(listener: (event: TopicLifecycleEvent) => void): () => void;
  /**
   * Optional: stop reading the connection the messages come from, while a socket on this topic is
   * behind (the first such socket calls it; pushwire's Subscription has it). Without it a socket
   * behind is not paced, only dropped from or closed.
   */
  holdReading?(): void;
  /** Optional: ends holdReading() (called when the last socket holding it drained, stalled or left). */
  releaseReading?(): void;
}

/**
 * How the bridge subscribes one topic through BridgeClient: `name` is the topic, `onMessage` gets
 * each of its messages, and `history: {}` (given for a durable topic, WSBridgeOptions.history) makes
 * the subscription durable from now on. Resolves once the server confirmed the subscription; a
 * rejection is sent to the socket that asked as a `failed` error frame.
 */
export type SubscribeCall = (
  name: string,
  options: { onMessage: (message: WSMessage) => void; history?: Record<string, never> },
) => Promise<TopicSubscription>;

/**
 * What the bridge needs from a client (pushwire's Client and ClusterClient have it): the bridge makes
 * one subscription per topic through it and publishes what browsers may publish. The client stays the
 * caller's: the bridge's close() unsubscribes its topics but does not close the client.
 */
export interface BridgeClient {
  /** Subscribes a `channel` topic. */
  subscribe: SubscribeCall;
  /** Subscribes a `pattern` topic. */
  psubscribe: SubscribeCall;
  /** Subscribes a `shard` topic. */
  ssubscribe: SubscribeCall;
  /** A browser's publish to a `channel` topic (one authorizePublish allowed); resolves the number of receivers. */
  publish(channel: string, data: string): Promise<number>;
  /** A publish with history (a durable topic, WSBridgeOptions.history); resolves the number of receivers in `receivers`. */
  publish(channel: string, data: string, options: { history: { maxLength: number; ttlMs?: number } }): Promise<{ receivers: number }>;
  /** A browser's publish to a `shard` topic; resolves the number of receivers. */
  spublish(channel: string, data: string): Promise<number>;
  /** A shard publish with history (a durable topic); resolves the number of receivers in `receivers`. */
  spublish(channel: string, data: string, options: { history: { maxLength: number; ttlMs?: number } }): Promise<{ receivers: number }>;
}

const subscribeMethod = { channel: "subscribe", pattern: "psubscribe", shard: "ssubscribe" } as const;

export class Topic implements SocketTopic {
  readonly key: string;
  readonly kind: TopicKind;
  readonly name: string;
  /** Sockets on this topic (joined or waiting for the subscription): the refcount. */
  readonly members: Set<BridgeSocket> = new Set();
  /** Sockets in the fan-out (Deno sends to each; Bun's native topic has the same sockets). */
  readonly receivers: Set<BridgeSocket> = new Set();
  /** Messages this topic received: a socket out of the fan-out missed the difference. */
  published = 0;
  subscription: TopicSubscription | undefined;
  ready!: Promise<void>;
  /** The fan-out of this task already looked for sockets behind (Bun). */
  swept = false;
  /** Text published since the fan-out last looked at every socket (Bun: it looks after a sixteenth of the bound). */
  sinceSweep = 0;
  readonly #holders = new Set<BridgeSocket>();

  constructor(kind: TopicKind, name: string) {
    this.kind = kind;
    this.name = name;
    this.key = topicKey(kind, name);
  }

  /** A socket behind holds this topic's subscription's reading (the first holder pauses it). */
  hold(socket: BridgeSocket): void {
    if (this.#holders.has(socket)) return;
    this.#holders.add(socket);
    if (this.#holders.size === 1) this.subscription?.holdReading?.();
  }

  unhold(socket: BridgeSocket): void {
    if (this.#holders.delete(socket) && this.#holders.size === 0) this.subscription?.releaseReading?.();
  }
}

export interface TopicEvents {
  message(topic: Topic, message: WSMessage): void;
  lifecycle(topic: Topic, event: TopicLifecycleEvent): void;
}

export class TopicTable {
  readonly #client: BridgeClient;
  readonly #events: TopicEvents;
  readonly #topics = new Map<string, Topic>();
  /** Topics each socket is on or waits for (the refcounts it takes part in); no entry for none. */
  readonly #memberOf = new Map<BridgeSocket, Set<Topic>>();
  /** Unsubscribes under way (close() waits for them). */
  readonly #leaving = new Set<Promise<void>>();

  /** A durable topic (channel or shard): its subscription reads history and fills gaps. */
  readonly #durable: (kind: TopicKind, name: string) => boolean;

  constructor(client: BridgeClient, events: TopicEvents, durable: (kind: TopicKind, name: string) => boolean = () => false) {
    this.#client = client;
    this.#events = events;
    this.#durable = durable;
  }

  get size(): number {
    return this.#topics.size;
  }

  get(kind: TopicKind, name: string): Topic | undefined {
    return this.#topics.get(topicKey(kind, name));
  }

  values(): IterableIterator<Topic> {
    return this.#topics.values();
  }

  /**
   * Puts `socket` on the topic; once the server confirmed the subscription, calls `announce` and puts
   * the socket in the fan-out, in the same turn (so the answer goes before the first message), and
   * resolves true (false: the socket left or closed meanwhile). Rejects with the subscribe error.
   */
  async join(socket: BridgeSocket, kind: TopicKind, name: string, announce: () => void): Promise<boolean> {
    const key = topicKey(kind, name);
    let topic = this.#topics.get(key);
    if (topic === undefined) {
      topic = new Topic(kind, name);
      this.#topics.set(key, topic);
      topic.ready = this.#subscribe(topic);
    }
    topic.members.add(socket);
    this.#addMembership(socket, topic);
    try {
      await topic.ready;
    } catch (error) {
      topic.members.delete(socket);
      this.#removeMembership(socket, topic);
      throw error;
    }
    if (socket.closed || !topic.members.has(socket) || this.#topics.get(key) !== topic) return false;
    announce();
    socket.join(topic);
    return true;
  }

  async #subscribe(topic: Topic): Promise<void> {
    const method = subscribeMethod[topic.kind];
    try {
      const onMessage = (message: WSMessage) => {
        topic.published++;
        this.#events.message(topic, message);
      };
      const durable = topic.kind !== "pattern" && this.#durable(topic.kind, topic.name);
      const subscription = await this.#client[method](topic.name, durable ? { onMessage, history: {} } : { onMessage });
      topic.subscription = subscription;
      subscription.onEvent((event) => this.#events.lifecycle(topic, event));
    } catch (error) {
      if (this.#topics.get(topic.key) === topic) this.#topics.delete(topic.key);
      throw error;
    }
    if (topic.members.size === 0) this.#retire(topic);
  }

  /** Takes `socket` off the topic; the last one out unsubscribes. */
  leave(socket: BridgeSocket, topic: Topic): void {
    socket.leave(topic);
    this.#removeMembership(socket, topic);
    if (!topic.members.delete(socket) || topic.members.size > 0) return;
    this.#retire(topic);
  }

  /** A socket closed: off every topic it is on or waits for. */
  leaveAll(socket: BridgeSocket): void {
    for (const topic of [...(this.#memberOf.get(socket) ?? [])]) this.leave(socket, topic);
  }

  /** The topic's subscription ended by itself: everyone is off it. */
  drop(topic: Topic): BridgeSocket[] {
    if (this.#topics.get(topic.key) === topic) this.#topics.delete(topic.key);
    const members = [...topic.members];
    for (const socket of members) {
      socket.leave(topic);
      this.#removeMembership(socket, topic);
    }
    topic.members.clear();
    return members;
  }

  #addMembership(socket: BridgeSocket, topic: Topic): void {
    const topics = this.#memberOf.get(socket);
    if (topics === undefined) this.#memberOf.set(socket, new Set([topic]));
    else topics.add(topic);
  }

  #removeMembership(socket: BridgeSocket, topic: Topic): void {
    const topics = this.#memberOf.get(socket);
    if (topics?.delete(topic) && topics.size === 0) this.#memberOf.delete(socket);
  }

  #retire(topic: Topic): void {
    if (this.#topics.get(topic.key) === topic) this.#topics.delete(topic.key);
    const leaving = topic.ready
      .then(() => topic.subscription?.unsubscribe())
      .catch(() => {
        // Subscribe failed (nothing to undo) or the client is closed (the server subscription went with it).
      });
    this.#leaving.add(leaving);
    void leaving.finally(() => this.#leaving.delete(leaving));
  }

  /** Unsubscribes every topic; resolves when every UNSUBSCRIBE is answered. */
  async close(): Promise<void> {
    for (const topic of [...this.#topics.values()]) {
      for (const socket of [...topic.members]) this.leave(socket, topic);
      if (this.#topics.get(topic.key) === topic) this.#retire(topic);
    }
    await Promise.all(this.#leaving);
  }
}
