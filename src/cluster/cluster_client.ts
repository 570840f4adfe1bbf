// ClusterClient: the Client API over a Valkey/Redis Cluster. Shard channels (SSUBSCRIBE/SPUBLISH) go
// to the primary owning their slot, one node Client per primary in use; classic pub/sub (broadcast
// cluster-wide) uses one node, any node. Subscriptions follow their slots: a server-side sunsubscribe,
// a MOVED, a lost node or a topology refresh that shows a new owner moves the affected part of a
// subscription to the new owner, and the subscription sees `disconnected` then `reconnected`
// (messages published in between may be missed — pub/sub is at-most-once).
// Rule: a user Subscription is one local object whose parts ("members": one per slot for shard
// channels, one for classic names) live on node clients and can move; the user's buffer, overflow
// policy and events live in that one object, so a move never loses what was already buffered.
import { ClosedError, ConnectionError, InvalidArgumentError, PushwireError, ReplyError, TimeoutError } from "../errors.ts";
import type { Frame, Message } from "../frame.ts";
import { keySlot } from "../native/parser.ts";
import { abortable } from "../reconnect.ts";
import {
  type ClientOptions,
  defaultCloseTimeoutMs,
  defaultReconnect,
  resolveSettings,
  type ResolvedReconnect,
  type SubscribeOptions,
  type SubscriptionType,
  validateBufferSize,
  validateOverflow,
} from "../options.ts";
import { nameKey, nameRecord, type NameRecord } from "../router.ts";
import { type ClientStats, Counters } from "../stats.ts";
import { type ResolvedSubscribeOptions, Subscription, type SubscriptionOwner } from "../subscription.ts";
import { ClusterNodeConnection } from "./node.ts";
import {
  formatAddress,
  parseClusterShards,
  parseClusterSlots,
  parseRedirection,
  type Topology,
  type TopologySnapshot,
} from "./topology.ts";

export type NameInput = string | Uint8Array;
export type SubscribeArgument = NameInput | readonly NameInput[] | SubscribeOptions | ((message: Message) => void);

export interface ClusterOptions extends ClientOptions {
  /** Re-reads the topology this often (ms) even when nothing failed; 0 turns it off. Default 30 s. */
  topologyRefreshMs?: number;
  /** Attempts (redirections and retries together) per publish or subscribe call. Default 5. */
  maxRedirections?: number;
}

export interface ClusterStats extends ClientStats {
  /** Node clients open right now. */
  nodes: number;
  topologyRefreshes: number;
  /** MOVED replies followed. */
  redirections: number;
  /** Parts of subscriptions moved to another (or the same, reconnected) node. */
  resubscriptions: number;
}

export const defaultTopologyRefreshMs = 30_000;
export const defaultMaxRedirections = 5;

/** Discovers the cluster from any reachable seed and returns a ready ClusterClient. */
export async function connectCluster(seedUrls: string | readonly string[], options: ClusterOptions = {}): Promise<ClusterClient> {
  const client = new ClusterClient(seedUrls, options); // validates the options; opens nothing yet
  options.signal?.throwIfAborted();
  try {
    await abortable(client.refreshTopology(), options.signal, () => {});
  } catch (error) {
    await client.close();
    throw error;
  }
  client.startPeriodicRefresh();
  return client;
}

interface SubscriptionState {
  subscription: Subscription;
  members: Member[];
  /** Members currently moving; `disconnected` is emitted on 0 → 1 and `reconnected` on 1 → 0. */
  moving: number;
  lostAt: number;
  /** Set by the first release; later callers (unsubscribe after an end) await the same one. */
  released: Promise<void> | undefined;
  /** "pause" policy: the buffer is full, so every member's node socket is held (Member.heldOn). */
  paused: boolean;
}

interface Member {
  state: SubscriptionState;
  type: SubscriptionType;
  records: NameRecord[];
  /** The slot of every name (shard channels); undefined for classic names (any node serves them). */
  slot: number | undefined;
  node: Subscription | undefined;
  /** The node client `node` lives on (where the member is subscribed now); undefined while moving. */
  connection: ClusterNodeConnection | undefined;
  /** The node whose reading this member holds (its connection while the subscription is paused). */
  heldOn: ClusterNodeConnection | undefined;
  removeListener: (() => void) | undefined;
  moving: boolean;
  /** The user left; nothing may be (re)subscribed for this member any more. */
  detached: boolean;
}

/** Server errors that a fresh topology or a short wait can cure. */
const retryableServerCodes = new Set(["MOVED", "ASK", "TRYAGAIN", "CLUSTERDOWN", "LOADING", "MASTERDOWN"]);

export class ClusterClient implements AsyncDisposable {
  readonly #nodeOptions: ClientOptions;
  readonly #secure: boolean;
  readonly #seeds: string[];
  readonly #reconnect: ResolvedReconnect | undefined;
  readonly #refreshMs: number;
  readonly #maxAttempts: number;
  readonly #closeTimeoutMs: number;
  readonly #bufferSize: number;
  readonly #overflow: ResolvedSubscribeOptions["overflow"];
  readonly #onOccupied: ClientOptions["onOccupied"];
  readonly #onVacated: ClientOptions["onVacated"];
  readonly #counters = new Counters();
  readonly #owner: SubscriptionOwner;
  readonly #nodes = new Map<string, Promise<ClusterNodeConnection>>();
  readonly #states = new Map<Subscription, SubscriptionState>();
  readonly #occupancy = new Map<string, number>();
  readonly #background = new Set<Promise<unknown>>();
  readonly #sleepers = new Set<{ timer: ReturnType<typeof setTimeout>; wake: () => void }>();
  #topology: Topology | undefined;
  #refreshing: Promise<Topology> | undefined;
  #refreshTimer: ReturnType<typeof setTimeout> | undefined;
  #broadcast: string | undefined;
  #shardsUnsupported = false;
  #closed = false;
  #closing: Promise<void> | undefined;
  #topologyRefreshes = 0;
  #redirections = 0;
  #resubscriptions = 0;

  /** @internal use connectCluster(). */
  constructor(seedUrls: string | readonly string[], options: ClusterOptions = {}) {
    const urls = typeof seedUrls === "string" ? [seedUrls] : [...seedUrls];
    if (urls.length === 0) throw new InvalidArgumentError("connectCluster(seedUrls): give at least one seed URL");
    if (options === null || typeof options !== "object") {
      throw new InvalidArgumentError("connectCluster(seedUrls, options): options must be an object");
    }
    const { topologyRefreshMs, maxRedirections, ...clientOptions } = options;
    const seeds = urls.map((url) => resolveSettings(url, clientOptions));
    for (const seed of seeds) {
      if (seed.endpoint.kind !== "tcp") throw new InvalidArgumentError("connectCluster: cluster nodes are TCP addresses, not unix sockets");
    }
    const first = seeds[0];
    // Every node client follows the first seed's TLS setting: a plain-text seed first would send the
    // password in clear to the nodes another seed names as TLS.
    if (seeds.some((seed) => (seed.tls === undefined) !== (first.tls === undefined))) {
      throw new InvalidArgumentError("connectCluster: the seed URLs mix TLS (rediss://, valkeys://) and plain text");
    }
    this.#seeds = seeds.map((seed) => seed.endpoint.kind === "tcp" ? formatAddress(seed.endpoint.host, seed.endpoint.port) : "");
    this.#secure = first.tls !== undefined;
    this.#nodeOptions = {
      ...clientOptions,
      username: first.username,
      password: first.password,
      name: first.name,
      protocol: first.protocol,
      tls: first.tls,
    };
    this.#reconnect = first.reconnect;
    this.#refreshMs = nonNegative("topologyRefreshMs", topologyRefreshMs, defaultTopologyRefreshMs);
    this.#maxAttempts = Math.max(1, Math.floor(nonNegative("maxRedirections", maxRedirections, defaultMaxRedirections)));
    this.#closeTimeoutMs = first.closeTimeoutMs ?? defaultCloseTimeoutMs;
    this.#bufferSize = first.bufferSize;
    this.#overflow = first.overflow;
    this.#onOccupied = first.onOccupied;
    this.#onVacated = first.onVacated;
    this.#owner = {
      counters: this.#counters,
      release: (subscription) => this.#release(subscription),
      // The user's buffer is here and the sockets are in the node clients: each member holds its node.
      requestPause: (subscription) => this.#setPaused(subscription, true),
      releasePause: (subscription) => this.#setPaused(subscription, false),
      ended: (subscription) => this.#ended(subscription),
    };
  }

  // ---- public API -------------------------------------------------------------------------------

  /** SUBSCRIBE (classic, broadcast cluster-wide): served by one node, moved when that node fails. */
  subscribe(...args: SubscribeArgument[]): Promise<Subscription> {
    return this.#subscribe("subscribe", args);
  }

  /** PSUBSCRIBE (classic patterns), like subscribe(). */
  psubscribe(...args: SubscribeArgument[]): Promise<Subscription> {
    return this.#subscribe("psubscribe", args);
  }

  /** SSUBSCRIBE: each name on the primary owning its slot; names of one slot share one command. */
  ssubscribe(...args: SubscribeArgument[]): Promise<Subscription> {
    return this.#subscribe("ssubscribe", args);
  }

  /** PUBLISH on any node (the cluster broadcasts it); resolves with the receivers on that node's view. */
  // deno-lint-ignore require-await -- async so that a bad argument is a rejection, not a throw
  async publish(channel: NameInput, data: NameInput): Promise<number> {
    validatePublish("publish", channel, data);
    return this.#withRetries("publish", this.#maxAttempts, () =>
      this.#onNode(this.#broadcastAddress(), (node) => node.publish("publish", channel, data)));
  }

  /** SPUBLISH to the primary owning the channel's slot, following MOVED. */
  // deno-lint-ignore require-await -- async so that a bad argument is a rejection, not a throw
  async spublish(channel: NameInput, data: NameInput): Promise<number> {
    validatePublish("spublish", channel, data);
    const slot = keySlot(channel);
    return this.#withRetries("spublish", this.#maxAttempts, () =>
      this.#onNode(this.#ownerOf(slot), (node) => node.publish("spublish", channel, data)));
  }

  /** Nodes and slot ranges as plain data (a copy). */
  topology(): TopologySnapshot {
    if (this.#topology === undefined) throw new ClosedError("the cluster topology is not known (connectCluster failed?)");
    return structuredClone(this.#topology.snapshot);
  }

  stats(): ClusterStats {
    let queueDepth = 0;
    for (const subscription of this.#states.keys()) queueDepth += subscription.queueDepth;
    let nativeLiveMessages = 0;
    let nativeLiveBytes = 0;
    let nodes = 0;
    for (const node of this.#settledNodes()) {
      const native = node.stats();
      nativeLiveMessages += native.nativeLiveMessages;
      nativeLiveBytes += native.nativeLiveBytes;
      nodes++;
    }
    const counters = this.#counters;
    return {
      received: counters.received,
      delivered: counters.delivered,
      dropped: counters.dropped,
      errors: counters.errors,
      reconnects: this.#resubscriptions,
      queueDepth,
      nativeLiveMessages,
      nativeLiveBytes,
      nodes,
      topologyRefreshes: this.#topologyRefreshes,
      redirections: this.#redirections,
      resubscriptions: this.#resubscriptions,
    };
  }

  /**
   * Lets consumers take what is buffered (up to closeTimeoutMs), ends every subscription, stops all
   * retries and timers and closes every node client (freeing their native parsers). Idempotent.
   */
  close(): Promise<void> {
    this.#closing ??= this.#shutdown();
    return this.#closing;
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }

  // ---- topology -----------------------------------------------------------------------------------

  /** @internal reads the topology now (single flight: concurrent callers share one refresh). */
  refreshTopology(): Promise<Topology> {
    this.#refreshing ??= this.#readTopology().finally(() => {
      this.#refreshing = undefined;
    });
    return this.#refreshing;
  }

  /**
   * A topology read that starts after this call: a read already in flight may have been answered
   * before the event that made us ask (e.g. the old primary's CLUSTER SHARDS, just before CLUSTER
   * FAILOVER demoted it), so it is waited out and followed by a new one (still shared).
   */
  async #freshTopology(): Promise<Topology> {
    const inFlight = this.#refreshing;
    if (inFlight !== undefined) await inFlight.catch(() => {});
    return this.refreshTopology();
  }

  /** @internal called once by connectCluster. */
  startPeriodicRefresh(): void {
    if (this.#refreshMs === 0 || this.#closed) return;
    this.#refreshTimer = setTimeout(() => {
      this.#refreshTimer = undefined;
      this.#track(this.refreshTopology().catch(() => {}).finally(() => this.startPeriodicRefresh()));
    }, this.#refreshMs);
  }

  async #readTopology(): Promise<Topology> {
    const tried: string[] = [];
    const candidates = new Set<string>();
    for (const node of this.#settledNodes()) candidates.add(node.address);
    for (const address of this.#topology?.addresses() ?? []) candidates.add(address);
    for (const seed of this.#seeds) candidates.add(seed);
    // A node held paused ("pause" policy) answers only once its consumer drains (RESP3 sends commands
    // on the subscriber socket): ask the others first.
    const held = new Set<string>();
    for (const state of this.#states.values()) {
      for (const member of state.members) if (member.heldOn !== undefined) held.add(member.heldOn.address);
    }
    const ordered = held.size === 0 ? [...candidates] : [...candidates].sort((a, b) => Number(held.has(a)) - Number(held.has(b)));
    for (const address of ordered) {
      this.#assertOpen();
      try {
        const topology = await this.#onNode(Promise.resolve(address), (node) => this.#queryTopology(node));
        if (topology.snapshot.slots.length === 0) {
          tried.push(`${address}: serves no slots yet`);
          continue;
        }
        this.#apply(topology);
        return topology;
      } catch (error) {
        if (this.#closed) throw new ClosedError();
        tried.push(`${address}: ${(error as Error).message}`);
      }
    }
    throw new ConnectionError(`cluster: no node answered CLUSTER SHARDS or CLUSTER SLOTS. Tried:\n  ${tried.join("\n  ")}`);
  }

  async #queryTopology(node: ClusterNodeConnection): Promise<Topology> {
    const host = node.address.slice(0, node.address.lastIndexOf(":")).replace(/^\[(.*)\]$/, "$1");
    if (!this.#shardsUnsupported) {
      try {
        return parseClusterShards(await node.command(["CLUSTER", "SHARDS"]), host, { tls: this.#secure });
      } catch (error) {
        // Servers before 7.0 answer "unknown subcommand": use CLUSTER SLOTS from now on.
        if (!(error instanceof ReplyError) || !/unknown|subcommand/i.test(error.message)) throw error;
        this.#shardsUnsupported = true;
      }
    }
    return parseClusterSlots(await node.command(["CLUSTER", "SLOTS"]), host);
  }

  /** Installs a new topology, moves members whose slot changed owner and closes unused node clients. */
  #apply(topology: Topology): void {
    this.#topology = topology;
    this.#topologyRefreshes++;
    for (const state of this.#states.values()) {
      for (const member of state.members) {
        if (member.slot === undefined || member.connection === undefined || member.moving) continue;
        const owner = topology.primaryFor(member.slot);
        if (owner !== undefined && owner !== member.connection.address) {
          this.#memberLost(member, new ConnectionError(`slot ${member.slot} moved from ${member.connection.address} to ${owner}`));
        }
      }
    }
    const primaries = new Set(topology.primaries());
    for (const [address, pending] of this.#nodes) {
      if (primaries.has(address) || address === this.#broadcast || this.#hasMembersOn(address)) continue;
      this.#nodes.delete(address);
      this.#track(pending.then((node) => this.#closeNode(node), () => {}));
    }
  }

  /** The primary owning `slot` per the current topology (refreshing once when nobody owns it). */
  async #ownerOf(slot: number): Promise<string> {
    let owner = this.#topology?.primaryFor(slot);
    if (owner === undefined) owner = (await this.refreshTopology()).primaryFor(slot);
    if (owner === undefined) throw new ConnectionError(`cluster: no primary serves slot ${slot} right now`);
    return owner;
  }

  /** The node serving classic pub/sub: kept while it works, else the first primary that answers. */
  async #broadcastAddress(): Promise<string> {
    if (this.#broadcast !== undefined) return this.#broadcast;
    const topology = this.#topology ?? await this.refreshTopology();
    let lastError: unknown;
    for (const address of topology.addresses()) {
      try {
        await this.#node(address);
        this.#broadcast = address;
        return address;
      } catch (error) {
        lastError = error;
      }
    }
    throw new ConnectionError(`cluster: no node is reachable for classic pub/sub: ${(lastError as Error)?.message}`);
  }

  // ---- node clients -------------------------------------------------------------------------------

  #node(address: string): Promise<ClusterNodeConnection> {
    this.#assertOpen();
    const existing = this.#nodes.get(address);
    if (existing !== undefined) return existing;
    const opening = ClusterNodeConnection.open(address, this.#secure, this.#nodeOptions, (name, type) =>
      this.#serverUnsubscribed(address, name, type)
    ).then(async (node) => {
      if (this.#closed) {
        await node.close();
        throw new ClosedError();
      }
      this.#openNodes.add(node);
      return node;
    });
    this.#nodes.set(address, opening);
    opening.catch(() => {
      if (this.#nodes.get(address) === opening) this.#nodes.delete(address);
    });
    return opening;
  }

  /** Runs `work` on the node at `address`; a lost connection drops that node (and moves its members). */
  async #onNode<T>(address: Promise<string>, work: (node: ClusterNodeConnection) => Promise<T>): Promise<T> {
    const node = await this.#node(await address);
    try {
      return await work(node);
    } catch (error) {
      if (isConnectionFailure(error) && !this.#closed) this.#dropNode(node, error as Error);
      throw error;
    }
  }

  #dropNode(node: ClusterNodeConnection, error: Error): void {
    if (node.failed && !this.#hasMembersOn(node.address)) return;
    void this.#nodes.get(node.address)?.then((current) => {
      if (current === node) this.#nodes.delete(node.address);
    }, () => {});
    if (this.#broadcast === node.address) this.#broadcast = undefined;
    this.#track(this.#closeNode(node));
    for (const state of this.#states.values()) {
      for (const member of state.members) if (member.connection === node) this.#memberLost(member, error);
    }
    this.#track(this.refreshTopology().catch(() => {}));
  }

  /** The server ended a subscription on `address` that the member did not give up (slot migration). */
  #serverUnsubscribed(address: string, name: string, type: SubscriptionType): void {
    let affected = false;
    for (const state of this.#states.values()) {
      for (const member of state.members) {
        if (member.connection?.address !== address || member.type !== type || member.moving) continue;
        if (!member.records.some((record) => record.name === name)) continue;
        affected = true;
        this.#memberLost(member, new ConnectionError(`${address} ended the ${type} of ${JSON.stringify(name)} (slot migrated?)`));
      }
    }
    if (affected) this.#track(this.refreshTopology().catch(() => {}));
  }

  #closeNode(node: ClusterNodeConnection): Promise<void> {
    this.#openNodes.delete(node);
    return node.close();
  }

  *#settledNodes(): IterableIterator<ClusterNodeConnection> {
    for (const node of this.#openNodes) if (!node.failed) yield node;
  }

  /** Node clients that finished opening (kept in step with #nodes for synchronous stats()). */
  readonly #openNodes = new Set<ClusterNodeConnection>();

  #hasMembersOn(address: string): boolean {
    for (const state of this.#states.values()) {
      for (const member of state.members) if (member.connection?.address === address) return true;
    }
    return false;
  }

  // ---- subscriptions ------------------------------------------------------------------------------

  async #subscribe(type: SubscriptionType, args: SubscribeArgument[]): Promise<Subscription> {
    const { records, options } = this.#parseSubscribeArguments(type, args);
    this.#assertOpen();
    if (options.signal?.aborted) throw options.signal.reason;
    const subscription = new Subscription(this.#owner, type, records, options);
    const state: SubscriptionState = { subscription, members: [], moving: 0, lostAt: 0, released: undefined, paused: false };
    const groups = new Map<number | undefined, NameRecord[]>();
    for (const record of records) {
      const slot = type === "ssubscribe" ? keySlot(record.bytes) : undefined;
      const group = groups.get(slot);
      if (group === undefined) groups.set(slot, [record]);
      else group.push(record);
    }
    for (const [slot, group] of groups) {
      state.members.push({
        state, type, records: group, slot, node: undefined, connection: undefined,
        heldOn: undefined, removeListener: undefined, moving: false, detached: false,
      });
    }
    this.#states.set(subscription, state);
    try {
      await Promise.all(state.members.map((member) =>
        this.#withRetries(type, this.#maxAttempts, () => this.#attach(member))
      ));
    } catch (error) {
      subscription.end(error as Error, false);
      await this.#release(subscription).catch(() => {});
      throw error;
    }
    for (const record of records) this.#occupy(type, record.name);
    return subscription;
  }

  /** Subscribes `member` on the node that should serve it now. */
  async #attach(member: Member): Promise<void> {
    const address = member.slot === undefined ? this.#broadcastAddress() : this.#ownerOf(member.slot);
    const subscription = member.state.subscription;
    const names = member.records.map((record) => record.argument);
    const onMessage = (frame: Frame) => {
      this.#counters.received++;
      subscription.deliver(frame);
    };
    await this.#onNode(address, async (node) => {
      const nodeSubscription = await node.subscribe(member.type, names, onMessage);
      if (member.detached || this.#closed) {
        await nodeSubscription.unsubscribe().catch(() => {});
        return;
      }
      member.node = nodeSubscription;
      member.connection = node;
      this.#holdFor(member); // a member that moves while its subscription is paused holds its new node
      member.removeListener = nodeSubscription.onEvent((event) => {
        if (event.type !== "end" || member.node !== nodeSubscription) return;
        // Not ended by us: the node's connection is gone (node clients do not reconnect).
        const error = event.error ?? new ConnectionError(`the connection to ${node.address} ended`);
        this.#dropNode(node, error);
        this.#memberLost(member, error);
      });
    });
  }

  /** Starts moving `member`: leave where it was, tell the user once, resubscribe in the background. */
  #memberLost(member: Member, error: Error): void {
    if (member.moving || member.detached || this.#closed) return;
    member.moving = true;
    this.#detachNode(member);
    const state = member.state;
    if (state.moving++ === 0) {
      state.lostAt = Date.now();
      state.subscription.emit({ type: "disconnected", at: state.lostAt, error });
    }
    this.#track(this.#reattach(member));
  }

  async #reattach(member: Member): Promise<void> {
    const state = member.state;
    const attempts = this.#reconnect?.maxAttempts ?? 1;
    try {
      await this.#withRetries(member.type, attempts, () => this.#attach(member), true);
    } catch (error) {
      if (this.#closed || member.detached) return;
      // Out of attempts: the subscription ends with the reason, like a Client that gave up.
      state.subscription.end(error as Error, true);
      await this.#release(state.subscription).catch(() => {});
      return;
    }
    member.moving = false;
    if (member.detached) return;
    this.#resubscriptions++;
    if (--state.moving === 0 && !state.subscription.closed) {
      const at = Date.now();
      state.subscription.emit({ type: "reconnected", at, downtimeMs: at - state.lostAt });
    }
  }

  /** Forgets the member's node subscription and gives it up on the node (if that node still lives). */
  #detachNode(member: Member): void {
    const node = member.node;
    member.node = undefined;
    member.connection = undefined;
    this.#holdFor(member);
    member.removeListener?.();
    member.removeListener = undefined;
    if (node !== undefined) this.#track(node.unsubscribe().catch(() => {}));
  }

  /** "pause" policy: the subscription's buffer filled up (or drained below half): hold (or let go) its members' nodes. */
  #setPaused(subscription: Subscription, paused: boolean): void {
    const state = this.#states.get(subscription);
    if (state === undefined) return;
    state.paused = paused;
    for (const member of state.members) this.#holdFor(member);
  }

  /** Makes member.heldOn what it should be: its node while its subscription is paused, else none. */
  #holdFor(member: Member): void {
    const wanted = member.state.paused && !member.detached ? member.connection : undefined;
    if (member.heldOn === wanted) return;
    member.heldOn?.releaseReading(member);
    member.heldOn = wanted;
    wanted?.holdReading(member);
  }

  #release(subscription: Subscription): Promise<void> {
    const state = this.#states.get(subscription);
    if (state === undefined) return Promise.resolve();
    state.released ??= this.#leave(state);
    return state.released;
  }

  async #leave(state: SubscriptionState): Promise<void> {
    const subscription = state.subscription;
    const leaving: Promise<void>[] = [];
    for (const member of state.members) {
      if (member.detached) continue;
      member.detached = true;
      const node = member.node;
      this.#detachNode(member);
      if (node !== undefined) leaving.push(node.unsubscribe().catch(() => {}));
    }
    for (const record of subscription.records) this.#vacate(subscription.type, record.name);
    await Promise.all(leaving);
    this.#states.delete(subscription);
  }

  #ended(subscription: Subscription): void {
    if (!this.#closed) this.#track(this.#release(subscription));
  }

  #occupy(type: SubscriptionType, name: string): void {
    const key = `${type}\u0000${name}`;
    const count = this.#occupancy.get(key) ?? 0;
    this.#occupancy.set(key, count + 1);
    if (count === 0) this.#callHook(this.#onOccupied, name, type);
  }

  #vacate(type: SubscriptionType, name: string): void {
    const key = `${type}\u0000${name}`;
    const count = this.#occupancy.get(key);
    if (count === undefined) return;
    if (count > 1) {
      this.#occupancy.set(key, count - 1);
      return;
    }
    this.#occupancy.delete(key);
    this.#callHook(this.#onVacated, name, type);
  }

  #callHook(hook: ClientOptions["onOccupied"], name: string, type: SubscriptionType): void {
    try {
      hook?.(name, type);
    } catch {
      this.#counters.errors++;
    }
  }

  #parseSubscribeArguments(type: SubscriptionType, args: SubscribeArgument[]) {
    let given: SubscribeOptions = {};
    let names = args;
    const last = args[args.length - 1];
    if (typeof last === "function") {
      given = { onMessage: last as (message: Message) => void };
      names = args.slice(0, -1);
    } else if (last !== null && typeof last === "object" && !(last instanceof Uint8Array) && !Array.isArray(last)) {
      given = last as SubscribeOptions;
      names = args.slice(0, -1);
    }
    const records: NameRecord[] = [];
    const seen = new Set<string>();
    for (const name of names.flat() as unknown[]) {
      if (typeof name !== "string" && !(name instanceof Uint8Array)) {
        throw new InvalidArgumentError(`${type}: names must be strings or Uint8Arrays, got ${typeof name}`);
      }
      if (name.length === 0) throw new InvalidArgumentError(`${type}: names must not be empty`);
      const record = nameRecord(name);
      const key = nameKey(record);
      if (seen.has(key)) continue;
      seen.add(key);
      records.push(record);
    }
    if (records.length === 0) throw new InvalidArgumentError(`${type}: give at least one name`);
    for (const key of ["onMessage", "onError"] as const) {
      if (given[key] !== undefined && typeof given[key] !== "function") {
        throw new InvalidArgumentError(`${type}: ${key} must be a function`);
      }
    }
    if (given.signal !== undefined && !(given.signal instanceof AbortSignal)) {
      throw new InvalidArgumentError(`${type}: signal must be an AbortSignal`);
    }
    const options: ResolvedSubscribeOptions = {
      bufferSize: validateBufferSize(given.bufferSize ?? this.#bufferSize),
      overflow: validateOverflow(given.overflow ?? this.#overflow),
      onMessage: given.onMessage,
      onError: given.onError,
      signal: given.signal,
    };
    return { records, options };
  }

  // ---- retries, timers, close ---------------------------------------------------------------------

  /**
   * Runs `attempt` until it succeeds, at most `attempts` times. The first MOVED retries at once (the
   * slot table is patched and a refresh starts); further MOVEDs, lost nodes, topology holes and
   * cluster-state errors retry after an exponential backoff with full jitter and a fresh topology;
   * anything else is thrown as it is.
   */
  async #withRetries<T>(label: string, attempts: number, attempt: () => Promise<T>, afterLoss = false): Promise<T> {
    let lastError: unknown;
    let sleeps = 0;
    let redirected = false;
    for (let tries = 0; tries < attempts; tries++) {
      this.#assertOpen();
      if (afterLoss && tries === 0) {
        // After a loss the old owner is suspect: read the topology first (shared with other movers).
        await this.#freshTopology().catch(() => {});
      }
      try {
        return await attempt();
      } catch (error) {
        if (this.#closed) throw new ClosedError();
        lastError = error;
        const redirection = error instanceof ReplyError && error.serverCode === "MOVED"
          ? parseRedirection(error.message)
          : undefined;
        if (redirection !== undefined) {
          this.#redirections++;
          this.#topology?.redirect(redirection.slot, formatAddress(redirection.host, redirection.port));
          // Only the first MOVED is followed at once. Another one means the nodes disagree (two
          // primaries answering MOVED to each other, e.g. a slot set by hand with SETSLOT NODE, until
          // someone fixes it): followed at once, that ping-pong spent every attempt (the whole
          // reconnect policy of a moving subscription) within ~40 ms. It waits like TRYAGAIN below.
          if (!redirected) {
            redirected = true;
            this.#track(this.refreshTopology().catch(() => {}));
            continue;
          }
        }
        if (!isRetryable(error)) throw error;
        await this.#sleep(this.#backoffMs(sleeps++));
        await this.refreshTopology().catch(() => {});
      }
    }
    const message = (lastError as Error)?.message ?? String(lastError);
    if (lastError instanceof PushwireError && !(lastError instanceof ConnectionError)) throw lastError;
    throw new ConnectionError(`cluster ${label}: gave up after ${attempts} attempt(s): ${message}`, { cause: lastError });
  }

  #backoffMs(attempt: number): number {
    const { initialDelayMs, maxDelayMs } = this.#reconnect ?? defaultReconnect;
    return Math.random() * Math.min(maxDelayMs, initialDelayMs * 2 ** attempt);
  }

  #sleep(delayMs: number): Promise<void> {
    return new Promise((resolve) => {
      const sleeper = {
        timer: setTimeout(() => {
          this.#sleepers.delete(sleeper);
          resolve();
        }, delayMs),
        wake: resolve,
      };
      this.#sleepers.add(sleeper);
    });
  }

  #track(work: Promise<unknown>): void {
    const tracked = work.catch(() => {}).finally(() => this.#background.delete(tracked));
    this.#background.add(tracked);
  }

  #assertOpen(): void {
    if (this.#closed) throw new ClosedError("the pushwire cluster client is closed: call connectCluster() again");
  }

  async #shutdown(): Promise<void> {
    this.#closed = true;
    clearTimeout(this.#refreshTimer);
    for (const sleeper of this.#sleepers) {
      clearTimeout(sleeper.timer);
      sleeper.wake();
    }
    this.#sleepers.clear();
    const states = [...this.#states.values()];
    for (const state of states) state.subscription.beginDrain();
    await this.#waitDrained(states);
    for (const state of states) {
      state.subscription.end(undefined, false, true);
      for (const member of state.members) {
        member.detached = true;
        member.removeListener?.();
      }
      for (const record of state.subscription.records) this.#vacate(state.subscription.type, record.name);
    }
    this.#states.clear();
    // Close the node clients BEFORE waiting for the background work: a reattach, topology read or
    // UNSUBSCRIBE still waiting for a node's reply then fails at once with ClosedError. Waiting first
    // tied close() to server replies (a node that postpones commands during CLUSTER FAILOVER, a silent
    // one until its health check gives up). What is left is bounded: retries wake up and see #closed,
    // and a node open in flight ends within connectTimeoutMs and closes itself (see #node).
    const nodes = [...this.#nodes.values()];
    this.#nodes.clear();
    const closing = [...this.#openNodes].map((node) => this.#closeNode(node));
    closing.push(...nodes.map((pending) => pending.then((node) => this.#closeNode(node), () => {})));
    while (this.#background.size > 0) await Promise.all([...this.#background]);
    await Promise.all(closing);
    await Promise.all([...this.#openNodes].map((node) => this.#closeNode(node)));
  }

  async #waitDrained(states: SubscriptionState[]): Promise<void> {
    const deadline = Date.now() + this.#closeTimeoutMs;
    while (states.some((state) => !state.subscription.closed) && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
  }
}

function isConnectionFailure(error: unknown): boolean {
  return error instanceof ConnectionError || error instanceof ClosedError || error instanceof TimeoutError;
}

function isRetryable(error: unknown): boolean {
  if (isConnectionFailure(error)) return true;
  return error instanceof ReplyError && retryableServerCodes.has(error.serverCode);
}

function validatePublish(label: string, channel: unknown, data: unknown): void {
  if (typeof channel !== "string" && !(channel instanceof Uint8Array)) {
    throw new InvalidArgumentError(`${label}: channel must be a string or Uint8Array`);
  }
  if (channel.length === 0) throw new InvalidArgumentError(`${label}: channel must not be empty`);
  if (typeof data !== "string" && !(data instanceof Uint8Array)) {
    throw new InvalidArgumentError(`${label}: data must be a string or Uint8Array`);
  }
}

function nonNegative(name: string, value: unknown, fallback: number): number {
  if (value === undefined) return fallback;
  if (typeof value !== "number" || !(value >= 0)) {
    throw new InvalidArgumentError(`${name}: expected a number >= 0, got ${String(value)}`);
  }
  return value;
}
