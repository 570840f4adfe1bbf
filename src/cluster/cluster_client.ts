// ClusterClient: the Client API over a Valkey/Redis Cluster. Shard channels (SSUBSCRIBE/SPUBLISH) go
// to the primary owning their slot, one node client per primary in use; classic pub/sub (broadcast
// cluster-wide) uses one node, any node. Subscriptions follow their slots: a server-side sunsubscribe,
// a MOVED, a lost node or a topology refresh that shows a new owner moves the affected part of a
// subscription to the new owner, and the subscription sees `disconnected` then `reconnected`
// (messages published in between may be missed — pub/sub is at-most-once).
// Rule: this file only composes the parts and holds the public API: the topology source
// (cluster_topology.ts), the node pool, placement and retries (src/nodes/) each do one job.
import { parseSubscribeArguments, type NameInput, type SubscribeArgument, validatePublishArguments } from "../arguments.ts";
import { type KeyedCommand, publishWithHistory, resolveHistory } from "../durable/history.ts";
import { type HistoryOptions, parsePublishOptions, type PublishOptions } from "../durable/options.ts";
import type { PublishResult } from "../durable/script.ts";
import { ClosedError, InvalidArgumentError } from "../errors.ts";
import { keySlot } from "../native/parser.ts";
import { abortable } from "../reconnect.ts";
import { type ClientOptions, resolveSettings, type Settings, type SubscriptionType } from "../options.ts";
import { type ClientStats, Counters } from "../stats.ts";
import type { Subscription } from "../subscription.ts";
import { Lifetime } from "../nodes/lifetime.ts";
import { NodeClient } from "../nodes/node_client.ts";
import { NodePool } from "../nodes/node_pool.ts";
import { Placement } from "../nodes/placement.ts";
import { Retries } from "../nodes/retries.ts";
import { ClusterTopology } from "./cluster_topology.ts";
import { formatAddress, type Topology, type TopologySnapshot } from "./topology.ts";

export type { NameInput, SubscribeArgument };

/**
 * Options of `connectCluster()`: the ClientOptions (applied to every node client; the first seed's
 * URL gives the user, password, name, protocol and TLS for all of them) and the cluster's own.
 */
export interface ClusterOptions extends ClientOptions {
  /** Re-reads the topology this often (ms) even when nothing failed; 0 turns it off. Default 30 s. */
  topologyRefreshMs?: number;
  /** Attempts (redirections and retries together) per publish or subscribe call. Default 5. */
  maxRedirections?: number;
}

/**
 * What `ClusterClient.stats()` returns: the client totals over every node (`reconnects` counts
 * subscription parts moved, as `resubscriptions` does), and the cluster's own counters.
 */
export interface ClusterStats extends ClientStats {
  /** Node clients open right now. */
  nodes: number;
  /** Topology reads that succeeded (the first, periodic ones, and those after MOVED or a lost node). */
  topologyRefreshes: number;
  /** MOVED replies followed. */
  redirections: number;
  /** Parts of subscriptions moved to another (or the same, reconnected) node. */
  resubscriptions: number;
}

export const defaultTopologyRefreshMs = 30_000;
export const defaultMaxRedirections = 5;

/**
 * Discovers the cluster from any reachable seed (`CLUSTER SHARDS`, falling back to `CLUSTER SLOTS`)
 * and returns a ready ClusterClient. The seeds must all use TLS or all not, and be TCP addresses
 * (else InvalidArgumentError). Rejects with a ConnectionError listing every seed's failure when
 * none answers; when every seed refused its certificate, with that TlsError (its `reason`), and when
 * every seed refused our credentials, with that ReplyError (WRONGPASS, NOAUTH…); with the signal's
 * reason when `signal` aborts. Whatever the failure, nothing stays open.
 *
 * @example
 * ```ts
 * import { connectCluster } from "pushwire";
 *
 * await using cluster = await connectCluster(["redis://10.0.0.1:7000", "redis://10.0.0.2:7000"]);
 * const orders = await cluster.ssubscribe("orders:{eu}");
 * await cluster.spublish("orders:{eu}", JSON.stringify({ id: 1 }));
 * for await (const message of orders) console.log(message.json());
 * ```
 */
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

/**
 * The Client API over a Valkey/Redis Cluster; made by `connectCluster()`. Shard channels go to the
 * primary owning their slot (one connection per primary in use), classic channels and patterns to
 * one node. A subscription follows its slots through migrations and failovers by itself, with
 * `disconnected` then `reconnected` events (what was published during the move may be missed).
 */
export class ClusterClient implements AsyncDisposable {
  readonly #settings: Settings;
  readonly #maxAttempts: number;
  readonly #counters = new Counters();
  readonly #lifetime = new Lifetime("the pushwire cluster client is closed: call connectCluster() again");
  readonly #pool: NodePool;
  readonly #topology: ClusterTopology;
  readonly #retries: Retries;
  readonly #placement: Placement;
  #closing: Promise<void> | undefined;

  /**
   * @internal use connectCluster().
   * @ignore
   */
  constructor(seedUrls: string | readonly string[], options: ClusterOptions = {}) {
    const urls = typeof seedUrls === "string" ? [seedUrls] : [...seedUrls];
    if (urls.length === 0) throw new InvalidArgumentError("connectCluster(seedUrls): give at least one seed URL");
    if (options === null || typeof options !== "object") {
      throw new InvalidArgumentError("connectCluster(seedUrls, options): options must be an object");
    }
    const { topologyRefreshMs, maxRedirections, ...clientOptions } = options;
    const seeds = urls.map((url) => resolveSettings(url, clientOptions));
    const addresses = seeds.map((seed) => {
      if (seed.endpoint.kind !== "tcp") throw new InvalidArgumentError("connectCluster: cluster nodes are TCP addresses, not unix sockets");
      return formatAddress(seed.endpoint.host, seed.endpoint.port);
    });
    const first = seeds[0];
    // Every node client follows the first seed's TLS setting: a plain-text seed first would send the
    // password in clear to the nodes another seed names as TLS.
    if (seeds.some((seed) => (seed.tls === undefined) !== (first.tls === undefined))) {
      throw new InvalidArgumentError("connectCluster: the seed URLs mix TLS (rediss://, valkeys://) and plain text");
    }
    this.#settings = first;
    this.#maxAttempts = Math.max(1, Math.floor(nonNegative("maxRedirections", maxRedirections, defaultMaxRedirections)));
    const nodeOptions: ClientOptions = {
      ...clientOptions,
      username: first.username,
      password: first.password,
      name: first.name,
      protocol: first.protocol,
      tls: first.tls,
    };
    this.#pool = new NodePool(this.#lifetime, {
      open: (address, onServerUnsubscribe) => NodeClient.open(address, first.tls !== undefined, nodeOptions, onServerUnsubscribe),
      inUse: (address) => this.#placement.inUse(address),
      dropped: (node, error) => {
        this.#placement.nodeLost(node, error);
        this.#lifetime.track(this.#topology.refresh());
      },
      serverUnsubscribed: (address, name, type) => {
        if (this.#placement.serverUnsubscribed(address, name, type)) this.#lifetime.track(this.#topology.refresh());
      },
    });
    const refreshMs = nonNegative("topologyRefreshMs", topologyRefreshMs, defaultTopologyRefreshMs);
    this.#topology = new ClusterTopology(addresses, first.tls !== undefined, refreshMs, this.#lifetime, this.#pool, {
      heldAddresses: () => this.#placement.heldAddresses(),
      applied: (topology) => this.#placement.moveMisplaced((slot) => topology.primaryFor(slot)),
    });
    this.#retries = new Retries(this.#lifetime, this.#topology, first.reconnect, "cluster");
    this.#placement = new Placement(this.#lifetime, this.#pool, this.#topology, this.#retries, this.#counters, {
      subscribeAttempts: this.#maxAttempts,
      moveAttempts: first.reconnect?.maxAttempts ?? 1,
      onOccupied: first.onOccupied,
      onVacated: first.onVacated,
    });
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

  async #subscribe(type: SubscriptionType, args: SubscribeArgument[]): Promise<Subscription> {
    const { records, options, history } = parseSubscribeArguments(type, args, this.#settings);
    this.#lifetime.assertOpen();
    if (options.signal?.aborted) throw options.signal.reason;
    // A durable subscription reads its history on the primary owning the stream key's slot.
    if (history !== undefined) options.history = await resolveHistory(type, records[0].bytes, history, this.#onKeyOwner);
    return this.#placement.subscribe(type, records, options);
  }

  /**
   * PUBLISH on any node (the cluster broadcasts it); resolves with the receivers on that node's view.
   * With `history`, the script runs on the primary owning the history key's slot (following MOVED,
   * like spublish) and it resolves with `{ receivers, id }`.
   */
  publish(channel: NameInput, data: NameInput): Promise<number>;
  /** PUBLISH with history, on the primary owning the history key's slot: resolves with `{ receivers, id }`. */
  publish(channel: NameInput, data: NameInput, options: PublishOptions & { history: HistoryOptions }): Promise<PublishResult>;
  /** PUBLISH with options known only at run time: the number without `history`, a PublishResult with it. */
  publish(channel: NameInput, data: NameInput, options?: PublishOptions): Promise<number | PublishResult>;
  // deno-lint-ignore require-await -- async so that a bad argument is a rejection, not a throw
  async publish(channel: NameInput, data: NameInput, options?: PublishOptions): Promise<number | PublishResult> {
    validatePublishArguments("publish", channel, data);
    const history = parsePublishOptions("publish", options);
    if (history !== undefined) return publishWithHistory("PUBLISH", channel, data, history, this.#onKeyOwner);
    return this.#retries.run("publish", this.#maxAttempts, () =>
      this.#pool.onNode(this.#topology.addressFor(undefined), (node) => node.publish("publish", channel, data)));
  }

  /** SPUBLISH to the primary owning the channel's slot, following MOVED; with `history`, as publish(). */
  spublish(channel: NameInput, data: NameInput): Promise<number>;
  /** SPUBLISH with history, as publish() with history. */
  spublish(channel: NameInput, data: NameInput, options: PublishOptions & { history: HistoryOptions }): Promise<PublishResult>;
  /** SPUBLISH with options known only at run time, as publish(). */
  spublish(channel: NameInput, data: NameInput, options?: PublishOptions): Promise<number | PublishResult>;
  // deno-lint-ignore require-await -- async so that a bad argument is a rejection, not a throw
  async spublish(channel: NameInput, data: NameInput, options?: PublishOptions): Promise<number | PublishResult> {
    validatePublishArguments("spublish", channel, data);
    const history = parsePublishOptions("spublish", options);
    if (history !== undefined) return publishWithHistory("SPUBLISH", channel, data, history, this.#onKeyOwner);
    const slot = keySlot(channel);
    return this.#retries.run("spublish", this.#maxAttempts, () =>
      this.#pool.onNode(this.#topology.addressFor(slot), (node) => node.publish("spublish", channel, data)));
  }

  /** A command for the primary owning the history keys' slot, following MOVED and retrying like spublish. */
  #onKeyOwner: KeyedCommand = (keys) => {
    const slot = keySlot(keys.stream);
    return (args, decode) =>
      this.#retries.run(String(args[0]).toLowerCase(), this.#maxAttempts, () =>
        this.#pool.onNode(this.#topology.addressFor(slot), (node) => node.command(args, decode)));
  };

  /** Nodes and slot ranges as plain data (a copy). */
  topology(): TopologySnapshot {
    const current = this.#topology.current;
    if (current === undefined) throw new ClosedError("the cluster topology is not known (connectCluster failed?)");
    return structuredClone(current.snapshot);
  }

  /**
   * @internal the subscriptions not yet ended, for per-channel metrics (src/metrics.ts).
   * @ignore
   */
  liveSubscriptions(): Iterable<Subscription> {
    return this.#placement.subscriptions;
  }

  /** Counters and gauges of now, summed over the node clients (a plain object). */
  stats(): ClusterStats {
    let nativeLiveMessages = 0;
    let nativeLiveBytes = 0;
    let nodes = 0;
    for (const node of this.#pool.settled()) {
      const native = node.stats();
      nativeLiveMessages += native.nativeLiveMessages;
      nativeLiveBytes += native.nativeLiveBytes;
      nodes++;
    }
    const counters = this.#counters;
    const resubscriptions = this.#placement.resubscriptions;
    return {
      received: counters.received,
      delivered: counters.delivered,
      dropped: counters.dropped,
      errors: counters.errors,
      reconnects: resubscriptions,
      queueDepth: this.#placement.queueDepth,
      queueBytes: this.#placement.queueBytes,
      nativeLiveMessages,
      nativeLiveBytes,
      nodes,
      topologyRefreshes: this.#topology.refreshes,
      redirections: this.#retries.redirections,
      resubscriptions,
    };
  }

  /**
   * @internal reads the topology now (single flight: concurrent callers share one refresh).
   * @ignore
   */
  refreshTopology(): Promise<Topology> {
    return this.#topology.refresh();
  }

  /**
   * @internal called once by connectCluster.
   * @ignore
   */
  startPeriodicRefresh(): void {
    this.#topology.startPeriodicRefresh();
  }

  /**
   * Lets consumers take what is buffered (up to closeTimeoutMs), ends every subscription, stops all
   * retries and timers and closes every node client (freeing their native parsers). Idempotent.
   */
  close(): Promise<void> {
    this.#closing ??= this.#shutdown();
    return this.#closing;
  }

  /** `await using` closes the client (close()). */
  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }

  async #shutdown(): Promise<void> {
    this.#lifetime.end();
    this.#topology.stopPeriodicRefresh();
    await this.#placement.close(this.#settings.closeTimeoutMs);
  }
}

function nonNegative(name: string, value: unknown, fallback: number): number {
  if (value === undefined) return fallback;
  if (typeof value !== "number" || !(value >= 0)) {
    throw new InvalidArgumentError(`${name}: expected a number >= 0, got ${String(value)}`);
  }
  return value;
}
