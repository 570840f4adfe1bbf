// Routing of pub/sub messages to local subscriptions, and the table of server subscriptions they
// share (one server subscription per (type, name), refcounted by the local subscriptions in it).
// Rule: keys are binary-safe. A name whose bytes decode to a string that encodes back to the same
// bytes is keyed by that string (the fast path: frame.channel is already that string). Any other
// name (not UTF-8) is keyed by the latin1 spelling of its bytes, one char per byte, in a second map.
import type { Frame } from "./frame.ts";
import type { SubscriptionType } from "./options.ts";

/** One subscribed name as the router, the wire and the user see it. */
export interface NameRecord {
  /** Decoded (lossy) name, as Message.channel / Message.pattern show it. */
  name: string;
  /** Exact bytes. */
  bytes: Uint8Array;
  /** True when `name` encodes back to exactly `bytes`. */
  exact: boolean;
  /** What goes on the wire: the caller's string when exact, else the bytes. */
  argument: string | Uint8Array;
}

/** A receiver of routed frames (a Subscription). */
export interface Receiver {
  deliver(frame: Frame): void;
}

/** One server subscription and the local subscriptions that share it. */
export interface ServerSubscription {
  type: SubscriptionType;
  record: NameRecord;
  members: Set<Receiver>;
  /** Settles when the server confirmed (or refused) the subscribe that created this entry. */
  ready: Promise<void>;
  /** onOccupied was called for it (so onVacated must be called when it goes). */
  occupied: boolean;
}

const encoder = new TextEncoder();
const lossyDecoder = new TextDecoder();

export function nameRecord(input: string | Uint8Array): NameRecord {
  if (typeof input === "string") {
    const bytes = encoder.encode(input);
    // A string with lone surrogates does not survive the UTF-8 round trip; route it by its bytes.
    const exact = lossyDecoder.decode(bytes) === input;
    return { name: exact ? input : lossyDecoder.decode(bytes), bytes, exact, argument: exact ? input : bytes };
  }
  const bytes = input.slice();
  const name = lossyDecoder.decode(bytes);
  const exact = bytesEqual(encoder.encode(name), bytes);
  return { name, bytes, exact, argument: exact ? name : bytes };
}

function bytesEqual(left: Uint8Array, right: Uint8Array): boolean {
  if (left.length !== right.length) return false;
  for (let i = 0; i < left.length; i++) if (left[i] !== right[i]) return false;
  return true;
}

/** One char per byte: a collision-free string key for arbitrary bytes. */
function latin1(bytes: Uint8Array): string {
  let text = "";
  for (let i = 0; i < bytes.length; i += 4096) {
    text += String.fromCharCode(...bytes.subarray(i, i + 4096));
  }
  return text;
}

class Table {
  readonly text = new Map<string, ServerSubscription>();
  readonly binary = new Map<string, ServerSubscription>();

  get(record: NameRecord): ServerSubscription | undefined {
    return record.exact ? this.text.get(record.name) : this.binary.get(latin1(record.bytes));
  }

  set(record: NameRecord, entry: ServerSubscription): void {
    if (record.exact) this.text.set(record.name, entry);
    else this.binary.set(latin1(record.bytes), entry);
  }

  delete(record: NameRecord): void {
    if (record.exact) this.text.delete(record.name);
    else this.binary.delete(latin1(record.bytes));
  }

  /** Lookup by what a frame carries: the decoded name, and the exact bytes only when needed. */
  find(name: string, bytes: () => Uint8Array | undefined): ServerSubscription | undefined {
    const found = this.text.get(name);
    if (found !== undefined || this.binary.size === 0) return found;
    // Only a lossy decode (which inserts U+FFFD) can hide a non-UTF-8 name.
    if (!name.includes("\uFFFD")) return undefined;
    const exact = bytes();
    return exact === undefined ? undefined : this.binary.get(latin1(exact));
  }

  get size(): number {
    return this.text.size + this.binary.size;
  }

  *entries(): IterableIterator<ServerSubscription> {
    yield* this.text.values();
    yield* this.binary.values();
  }
}

export class Router {
  readonly #tables: Record<SubscriptionType, Table> = {
    subscribe: new Table(),
    psubscribe: new Table(),
    ssubscribe: new Table(),
  };

  get(type: SubscriptionType, record: NameRecord): ServerSubscription | undefined {
    return this.#tables[type].get(record);
  }

  /** Creates the entry for a name that has no server subscription yet. */
  add(type: SubscriptionType, record: NameRecord): ServerSubscription {
    const entry: ServerSubscription = { type, record, members: new Set(), ready: Promise.resolve(), occupied: false };
    this.#tables[type].set(record, entry);
    return entry;
  }

  /** Removes `entry` if it is still the one registered for its name. */
  remove(entry: ServerSubscription): void {
    const table = this.#tables[entry.type];
    if (table.get(entry.record) === entry) table.delete(entry.record);
  }

  /** Every server subscription, of one type or all. */
  *entries(type?: SubscriptionType): IterableIterator<ServerSubscription> {
    if (type !== undefined) {
      yield* this.#tables[type].entries();
      return;
    }
    for (const table of Object.values(this.#tables)) yield* table.entries();
  }

  get size(): number {
    return this.#tables.subscribe.size + this.#tables.psubscribe.size + this.#tables.ssubscribe.size;
  }

  /**
   * Hands `frame` (the same object, no copy) to every subscription of its channel, pattern or shard
   * channel. Returns how many received it; 0 means nobody listens (e.g. just unsubscribed).
   */
  route(frame: Frame): number {
    let entry: ServerSubscription | undefined;
    switch (frame.kind) {
      case "message":
        entry = this.#tables.subscribe.find(frame.channel, () => frame.channelBytes);
        break;
      case "smessage":
        entry = this.#tables.ssubscribe.find(frame.channel, () => frame.channelBytes);
        break;
      case "pmessage":
        entry = this.#tables.psubscribe.find(frame.pattern ?? "", () => frame.patternBytes);
        break;
      default:
        return 0;
    }
    if (entry === undefined) return 0;
    let count = 0;
    for (const member of entry.members) {
      member.deliver(frame);
      count++;
    }
    return count;
  }
}
