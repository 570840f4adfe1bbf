// onOccupied / onVacated for a client whose subscriptions are spread over node clients: counts the
// local subscriptions of each (type, name) and calls the hook when the first one arrives and when
// the last one leaves. Rule: a throwing hook is counted in `errors` and changes nothing else.
import type { ClientOptions, SubscriptionType } from "../options.ts";
import type { Counters } from "../stats.ts";

type Hook = ClientOptions["onOccupied"];

export class Occupancy {
  readonly #counts = new Map<string, number>();

  constructor(readonly counters: Counters, readonly onOccupied: Hook, readonly onVacated: Hook) {}

  occupy(type: SubscriptionType, name: string): void {
    const key = `${type}\u0000${name}`;
    const count = this.#counts.get(key) ?? 0;
    this.#counts.set(key, count + 1);
    if (count === 0) this.#call(this.onOccupied, name, type);
  }

  vacate(type: SubscriptionType, name: string): void {
    const key = `${type}\u0000${name}`;
    const count = this.#counts.get(key);
    if (count === undefined) return;
    if (count > 1) {
      this.#counts.set(key, count - 1);
      return;
    }
    this.#counts.delete(key);
    this.#call(this.onVacated, name, type);
  }

  #call(hook: Hook, name: string, type: SubscriptionType): void {
    try {
      hook?.(name, type);
    } catch {
      this.counters.errors++;
    }
  }
}
