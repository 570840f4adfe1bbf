// The cluster as a source of where things go: reads the topology (CLUSTER SHARDS, falling back to
// CLUSTER SLOTS on servers before 7.0) from any node that answers, refreshes it (on request, after a
// loss or a MOVED, and every topologyRefreshMs), and says which node serves a slot or classic pub/sub.
// Rule: one read at a time (concurrent callers share it); each read that shows new owners is handed
// to `applied` (placement moves what it must), and node clients nobody needs any more are closed.
// No node answering is a ConnectionError listing each one's refusal; every node refusing its
// certificate (TlsError) or our credentials (ReplyError) is that error, so the caller sees what to fix.
import { ConnectionError, ReplyError } from "../errors.ts";
import type { Lifetime } from "../nodes/lifetime.ts";
import type { NodeClient } from "../nodes/node_client.ts";
import type { NodePool } from "../nodes/node_pool.ts";
import { askInTurn, describeRefusals, finalRefusal, type NodeSource } from "../nodes/node_source.ts";
import {
  formatAddress,
  parseClusterShards,
  parseClusterSlots,
  parseRedirection,
  type Topology,
} from "./topology.ts";

export interface ClusterTopologyEvents {
  /** Addresses to ask last: nodes whose reading a subscription holds (flow control). */
  heldAddresses(): Set<string>;
  /** A new topology is in place. */
  applied(topology: Topology): void;
}

export class ClusterTopology implements NodeSource {
  #current: Topology | undefined;
  #refreshing: Promise<Topology> | undefined;
  #timer: ReturnType<typeof setTimeout> | undefined;
  #shardsUnsupported = false;
  /** Topology reads that succeeded. */
  refreshes = 0;

  constructor(
    readonly seeds: readonly string[],
    /** The nodes are reached over TLS: CLUSTER SHARDS' "tls-port" is where they listen for it. */
    readonly tls: boolean,
    readonly refreshMs: number,
    readonly lifetime: Lifetime,
    readonly pool: NodePool,
    readonly events: ClusterTopologyEvents,
  ) {}

  /** The last topology read (undefined before the first). */
  get current(): Topology | undefined {
    return this.#current;
  }

  /** Reads the topology now (single flight: concurrent callers share one read). */
  refresh(): Promise<Topology> {
    this.#refreshing ??= this.#read().finally(() => {
      this.#refreshing = undefined;
    });
    return this.#refreshing;
  }

  /**
   * A topology read that starts after this call: a read already in flight may have been answered
   * before the event that made us ask (e.g. the old primary's CLUSTER SHARDS, just before CLUSTER
   * FAILOVER demoted it), so it is waited out and followed by a new one (still shared).
   */
  async fresh(): Promise<Topology> {
    const inFlight = this.#refreshing;
    if (inFlight !== undefined) await inFlight.catch(() => {});
    return this.refresh();
  }

  /** Re-reads every refreshMs (0: never) until the lifetime ends. */
  startPeriodicRefresh(): void {
    if (this.refreshMs === 0 || this.lifetime.closed) return;
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      this.lifetime.track(this.refresh().catch(() => {}).finally(() => this.startPeriodicRefresh()));
    }, this.refreshMs);
  }

  stopPeriodicRefresh(): void {
    clearTimeout(this.#timer);
    this.#timer = undefined;
  }

  addressFor(slot: number | undefined): Promise<string> {
    if (slot === undefined) {
      return this.pool.anyNode(
        async () => (this.#current ?? await this.refresh()).addresses(),
        "cluster: no node is reachable for classic pub/sub",
      );
    }
    return this.#ownerOf(slot);
  }

  /** The primary owning `slot` per the current topology (refreshing once when nobody owns it). */
  async #ownerOf(slot: number): Promise<string> {
    let owner = this.#current?.primaryFor(slot);
    if (owner === undefined) owner = (await this.refresh()).primaryFor(slot);
    if (owner === undefined) throw new ConnectionError(`cluster: no primary serves slot ${slot} right now`);
    return owner;
  }

  redirect(error: unknown): boolean {
    if (!(error instanceof ReplyError) || error.serverCode !== "MOVED") return false;
    const redirection = parseRedirection(error.message);
    if (redirection === undefined) return false;
    this.#current?.redirect(redirection.slot, formatAddress(redirection.host, redirection.port));
    return true;
  }

  async #read(): Promise<Topology> {
    const candidates = new Set<string>();
    for (const node of this.pool.settled()) candidates.add(node.address);
    for (const address of this.#current?.addresses() ?? []) candidates.add(address);
    for (const seed of this.seeds) candidates.add(seed);
    // A node held paused answers only once its consumer drains (RESP3 sends commands on the
    // subscriber socket): ask the others first.
    const held = this.events.heldAddresses();
    const ordered = held.size === 0 ? [...candidates] : [...candidates].sort((a, b) => Number(held.has(a)) - Number(held.has(b)));
    const result = await askInTurn(ordered, async (address) => {
      const topology = await this.pool.onNode(address, (node) => this.#query(node));
      if (topology.snapshot.slots.length === 0) throw new Error("serves no slots yet");
      return topology;
    }, () => this.lifetime.assertOpen());
    if ("refusals" in result) {
      // Every node refused its certificate or our credentials: said as that, not as "no answer".
      const final = finalRefusal(result.refusals, (address) => `cluster node ${address}`);
      if (final !== undefined) throw final;
      throw new ConnectionError(`cluster: no node answered CLUSTER SHARDS or CLUSTER SLOTS. Tried:\n${describeRefusals(result.refusals)}`);
    }
    this.#apply(result.answer);
    return result.answer;
  }

  async #query(node: NodeClient): Promise<Topology> {
    const host = node.address.slice(0, node.address.lastIndexOf(":")).replace(/^\[(.*)\]$/, "$1");
    if (!this.#shardsUnsupported) {
      try {
        return parseClusterShards(await node.command(["CLUSTER", "SHARDS"]), host, { tls: this.tls });
      } catch (error) {
        // Servers before 7.0 answer "unknown subcommand": use CLUSTER SLOTS from now on.
        if (!(error instanceof ReplyError) || !/unknown|subcommand/i.test(error.message)) throw error;
        this.#shardsUnsupported = true;
      }
    }
    return parseClusterSlots(await node.command(["CLUSTER", "SLOTS"]), host);
  }

  /** Installs a new topology, lets placement move what it must, closes node clients nobody needs. */
  #apply(topology: Topology): void {
    this.#current = topology;
    this.refreshes++;
    this.events.applied(topology);
    const primaries = new Set(topology.primaries());
    this.pool.prune((address) => primaries.has(address));
  }
}
