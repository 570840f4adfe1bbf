// What placement keeps per user subscription: the subscription itself and its members, the parts
// that live on node clients and move between them (one per slot for shard channels, one for classic
// names). Types only, shared by placement and the subscription owner it hands to each subscription.
import type { NameRecord } from "../router.ts";
import type { SubscriptionType } from "../options.ts";
import type { Subscription } from "../subscription.ts";
import type { NodeClient } from "./node_client.ts";

export interface PlacedSubscription {
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

export interface Member {
  placed: PlacedSubscription;
  type: SubscriptionType;
  records: NameRecord[];
  /** The slot of every name (shard channels); undefined for classic names (any node serves them). */
  slot: number | undefined;
  node: Subscription | undefined;
  /** The node client `node` lives on (where the member is subscribed now); undefined while moving. */
  connection: NodeClient | undefined;
  /** The node whose reading this member holds (its connection while the subscription is paused). */
  heldOn: NodeClient | undefined;
  removeListener: (() => void) | undefined;
  moving: boolean;
  /** The user left; nothing may be (re)subscribed for this member any more. */
  detached: boolean;
}
