// The SubscriptionOwner (src/subscription.ts) of a placed subscription: the one seam between a user's
// Subscription, whose buffer lives here in one object, and its members on node clients. Counters,
// release and end go to placement; a flow-control hold of the subscription (src/flow.ts: its buffer
// above its high-water mark, or an sse() stream behind) becomes holds on the node sockets the members
// read from (a member holds its node while its subscription holds, and lets go when it drains, is
// found stalled, moves or ends).
// Rule: a member holds at most one node, always the one it is subscribed on, and only while its
// subscription holds and the member still belongs to it.
import type { Counters } from "../stats.ts";
import type { Subscription, SubscriptionOwner } from "../subscription.ts";
import type { Member, PlacedSubscription } from "./members.ts";

/** What the owner needs from placement. */
export interface PlacementOfOwner {
  placed(subscription: Subscription): PlacedSubscription | undefined;
  release(subscription: Subscription): Promise<void>;
  ended(subscription: Subscription): void;
}

export class PlacedSubscriptionOwner implements SubscriptionOwner {
  constructor(readonly counters: Counters, readonly placement: PlacementOfOwner) {}

  release(subscription: Subscription): Promise<void> {
    return this.placement.release(subscription);
  }

  /** The subscription holds reading (flow control): hold every member's node. */
  requestPause(subscription: Subscription): void {
    this.#setPaused(subscription, true);
  }

  /** The hold ended (drained below half, stalled, or the subscription ended): let go of the members' nodes. */
  releasePause(subscription: Subscription): void {
    this.#setPaused(subscription, false);
  }

  ended(subscription: Subscription): void {
    this.placement.ended(subscription);
  }

  /** Makes member.heldOn what it should be: its node while its subscription is paused, else none. */
  hold(member: Member): void {
    const wanted = member.placed.paused && !member.detached ? member.connection : undefined;
    if (member.heldOn === wanted) return;
    member.heldOn?.releaseReading(member);
    member.heldOn = wanted;
    wanted?.holdReading(member);
  }

  #setPaused(subscription: Subscription, paused: boolean): void {
    const placed = this.placement.placed(subscription);
    if (placed === undefined) return;
    placed.paused = paused;
    for (const member of placed.members) this.hold(member);
  }
}
