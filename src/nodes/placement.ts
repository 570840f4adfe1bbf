// Placement: which node client serves which part of a user subscription, and moving those parts
// ("members": one per slot for shard channels, one for classic names) when the source says another
// node should serve them, when a node is lost or when a server ends a subscription on its own. The
// subscription sees `disconnected` when its first member starts moving and `reconnected` when the
// last one arrived (messages published in between may be missed: pub/sub is at-most-once).
// Rule: a user Subscription is one local object; its buffer, overflow policy and events stay in it
// while its members move, so a move never loses what was already buffered.
import { ConnectionError } from "../errors.ts";
import type { Frame } from "../frame.ts";
import { keySlot } from "../native/parser.ts";
import type { ClientOptions, SubscriptionType } from "../options.ts";
import type { NameRecord } from "../router.ts";
import type { Counters } from "../stats.ts";
import { type ResolvedSubscribeOptions, Subscription } from "../subscription.ts";
import type { Lifetime } from "./lifetime.ts";
import type { Member, PlacedSubscription } from "./members.ts";
import type { NodeClient } from "./node_client.ts";
import type { NodePool } from "./node_pool.ts";
import type { NodeSource } from "./node_source.ts";
import { Occupancy } from "./occupancy.ts";
import { PlacedSubscriptionOwner } from "./placed_owner.ts";
import type { Retries } from "./retries.ts";

export interface PlacementSettings {
  /** Attempts of a subscribe call (redirections and retries together). */
  subscribeAttempts: number;
  /** Attempts of a member's move after a loss before its subscription ends (the reconnect policy's). */
  moveAttempts: number;
  onOccupied: ClientOptions["onOccupied"];
  onVacated: ClientOptions["onVacated"];
}

export class Placement {
  readonly #placed = new Map<Subscription, PlacedSubscription>();
  readonly #owner: PlacedSubscriptionOwner;
  readonly #occupancy: Occupancy;
  /** Members moved to another (or the same, reconnected) node. */
  resubscriptions = 0;

  constructor(
    readonly lifetime: Lifetime,
    readonly pool: NodePool,
    readonly source: NodeSource,
    readonly retries: Retries,
    readonly counters: Counters,
    readonly settings: PlacementSettings,
  ) {
    this.#owner = new PlacedSubscriptionOwner(counters, {
      placed: (subscription) => this.#placed.get(subscription),
      release: (subscription) => this.release(subscription),
      ended: (subscription) => this.#ended(subscription),
    });
    this.#occupancy = new Occupancy(counters, settings.onOccupied, settings.onVacated);
  }

  /** Places a new subscription: each member on the node that serves it; resolves once all are subscribed. */
  async subscribe(type: SubscriptionType, records: NameRecord[], options: ResolvedSubscribeOptions): Promise<Subscription> {
    const subscription = new Subscription(this.#owner, type, records, options);
    const placed: PlacedSubscription = { subscription, members: [], moving: 0, lostAt: 0, released: undefined, paused: false };
    const groups = new Map<number | undefined, NameRecord[]>();
    for (const record of records) {
      const slot = type === "ssubscribe" ? keySlot(record.bytes) : undefined;
      const group = groups.get(slot);
      if (group === undefined) groups.set(slot, [record]);
      else group.push(record);
    }
    for (const [slot, group] of groups) {
      placed.members.push({
        placed, type, records: group, slot, node: undefined, connection: undefined,
        heldOn: undefined, removeListener: undefined, moving: false, detached: false,
      });
    }
    this.#placed.set(subscription, placed);
    try {
      await subscription.prepareHistory(); // durable: where it starts, before it is subscribed
      await Promise.all(placed.members.map((member) =>
        this.retries.run(type, this.settings.subscribeAttempts, () => this.#attach(member))
      ));
      await subscription.startHistory();
    } catch (error) {
      subscription.end(error as Error, false);
      await this.release(subscription).catch(() => {});
      throw error;
    }
    for (const record of records) this.#occupancy.occupy(type, record.name);
    return subscription;
  }

  /** Subscribes `member` on the node that should serve it now. */
  async #attach(member: Member): Promise<void> {
    const subscription = member.placed.subscription;
    const names = member.records.map((record) => record.argument);
    const onMessage = (frame: Frame) => {
      this.counters.received++;
      subscription.deliver(frame);
    };
    await this.pool.onNode(this.source.addressFor(member.slot), async (node) => {
      const nodeSubscription = await node.subscribe(member.type, names, onMessage);
      if (member.detached || this.lifetime.closed) {
        await nodeSubscription.unsubscribe().catch(() => {});
        return;
      }
      member.node = nodeSubscription;
      member.connection = node;
      this.#owner.hold(member); // a member that moves while its subscription is paused holds its new node
      member.removeListener = nodeSubscription.onEvent((event) => {
        if (event.type !== "end" || member.node !== nodeSubscription) return;
        // Not ended by us: the node's connection is gone (node clients do not reconnect).
        const error = event.error ?? new ConnectionError(`the connection to ${node.address} ended`);
        this.pool.drop(node, error);
        this.#memberLost(member, error);
      });
    });
  }

  /** Starts moving `member`: leave where it was, tell the user once, resubscribe in the background. */
  #memberLost(member: Member, error: Error): void {
    if (member.moving || member.detached || this.lifetime.closed) return;
    member.moving = true;
    this.#detachNode(member);
    const placed = member.placed;
    if (placed.moving++ === 0) {
      placed.lostAt = Date.now();
      placed.subscription.emit({ type: "disconnected", at: placed.lostAt, error });
    }
    this.lifetime.track(this.#reattach(member));
  }

  async #reattach(member: Member): Promise<void> {
    const placed = member.placed;
    try {
      await this.retries.run(member.type, this.settings.moveAttempts, () => this.#attach(member), true);
    } catch (error) {
      if (this.lifetime.closed || member.detached) return;
      // Out of attempts: the subscription ends with the reason, like a Client that gave up.
      placed.subscription.end(error as Error, true);
      await this.release(placed.subscription).catch(() => {});
      return;
    }
    member.moving = false;
    if (member.detached) return;
    this.resubscriptions++;
    if (--placed.moving === 0 && !placed.subscription.closed) {
      const at = Date.now();
      placed.subscription.emit({ type: "reconnected", at, downtimeMs: at - placed.lostAt });
    }
  }

  /** Forgets the member's node subscription and gives it up on the node (if that node still lives). */
  #detachNode(member: Member): void {
    const node = member.node;
    member.node = undefined;
    member.connection = undefined;
    this.#owner.hold(member);
    member.removeListener?.();
    member.removeListener = undefined;
    if (node !== undefined) this.lifetime.track(node.unsubscribe().catch(() => {}));
  }

  // ---- what the source and the pool report -------------------------------------------------------

  /** Moves every member with a slot whose owner (per `ownerOf`) is not the node it is on. */
  moveMisplaced(ownerOf: (slot: number) => string | undefined): void {
    for (const member of this.#members()) {
      if (member.slot === undefined || member.connection === undefined || member.moving) continue;
      const owner = ownerOf(member.slot);
      if (owner !== undefined && owner !== member.connection.address) {
        this.#memberLost(member, new ConnectionError(`slot ${member.slot} moved from ${member.connection.address} to ${owner}`));
      }
    }
  }

  /** `node` was dropped: every member on it moves. */
  nodeLost(node: NodeClient, error: Error): void {
    for (const member of this.#members()) if (member.connection === node) this.#memberLost(member, error);
  }

  /** The server at `address` ended a subscription the member did not give up (slot migration); true if one moves. */
  serverUnsubscribed(address: string, name: string, type: SubscriptionType): boolean {
    let affected = false;
    for (const member of this.#members()) {
      if (member.connection?.address !== address || member.type !== type || member.moving) continue;
      if (!member.records.some((record) => record.name === name)) continue;
      affected = true;
      this.#memberLost(member, new ConnectionError(`${address} ended the ${type} of ${JSON.stringify(name)} (slot migrated?)`));
    }
    return affected;
  }

  /** A member is subscribed on the node at `address`. */
  inUse(address: string): boolean {
    for (const member of this.#members()) if (member.connection?.address === address) return true;
    return false;
  }

  /** Addresses of the nodes held (flow control): a topology read asks the others first. */
  heldAddresses(): Set<string> {
    const held = new Set<string>();
    for (const member of this.#members()) if (member.heldOn !== undefined) held.add(member.heldOn.address);
    return held;
  }

  /** The subscriptions placed and not yet ended (for per-channel metrics, src/metrics.ts). */
  get subscriptions(): Iterable<Subscription> {
    return this.#placed.keys();
  }

  get queueDepth(): number {
    let depth = 0;
    for (const subscription of this.#placed.keys()) depth += subscription.queueDepth;
    return depth;
  }

  get queueBytes(): number {
    let bytes = 0;
    for (const subscription of this.#placed.keys()) bytes += subscription.queueBytes;
    return bytes;
  }

  *#members(): IterableIterator<Member> {
    for (const placed of this.#placed.values()) yield* placed.members;
  }

  // ---- leaving --------------------------------------------------------------------------------------

  release(subscription: Subscription): Promise<void> {
    const placed = this.#placed.get(subscription);
    if (placed === undefined) return Promise.resolve();
    placed.released ??= this.#leave(placed);
    return placed.released;
  }

  async #leave(placed: PlacedSubscription): Promise<void> {
    const subscription = placed.subscription;
    const leaving: Promise<void>[] = [];
    for (const member of placed.members) {
      if (member.detached) continue;
      member.detached = true;
      const node = member.node;
      this.#detachNode(member);
      if (node !== undefined) leaving.push(node.unsubscribe().catch(() => {}));
    }
    for (const record of subscription.records) this.#occupancy.vacate(subscription.type, record.name);
    await Promise.all(leaving);
    this.#placed.delete(subscription);
  }

  #ended(subscription: Subscription): void {
    if (!this.lifetime.closed) this.lifetime.track(this.release(subscription));
  }

  /**
   * The owner's close(), once its lifetime ended: lets consumers take what is buffered (up to
   * `closeTimeoutMs`), ends every subscription, closes every node client and waits for the
   * background work.
   */
  async close(closeTimeoutMs: number): Promise<void> {
    await this.#endSubscriptions(closeTimeoutMs);
    // Close the node clients BEFORE waiting for the background work: a reattach, topology read or
    // UNSUBSCRIBE still waiting for a node's reply then fails at once with ClosedError. Waiting first
    // tied close() to server replies (a node that postpones commands during CLUSTER FAILOVER, a silent
    // one until its health check gives up). What is left is bounded: retries wake up and see the
    // lifetime ended, and a node open in flight ends within connectTimeoutMs and closes itself.
    const closing = this.pool.closeAll();
    await this.lifetime.settled();
    await closing;
    await this.pool.closeAll();
  }

  async #endSubscriptions(closeTimeoutMs: number): Promise<void> {
    const placed = [...this.#placed.values()];
    for (const { subscription } of placed) subscription.beginDrain();
    const deadline = Date.now() + closeTimeoutMs;
    while (placed.some(({ subscription }) => !subscription.closed) && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    for (const { subscription, members } of placed) {
      subscription.end(undefined, false, true);
      for (const member of members) {
        member.detached = true;
        member.removeListener?.();
      }
      for (const record of subscription.records) this.#occupancy.vacate(subscription.type, record.name);
    }
    this.#placed.clear();
  }
}
