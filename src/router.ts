// Routing of pub/sub messages to local subscriptions, and the table of server subscriptions they
// share (one server subscription per (type, name), refcounted by the local subscriptions in it).
// Rule: keys are binary-safe. A name whose bytes decode to a string that encodes back to the same
// bytes is keyed by that string (the fast path: frame.channel is already that string). Any other
// name (not UTF-8) is keyed by the latin1 spelling of its bytes, one char per byte, in a second map.
import { InvalidArgumentError } from "./errors.ts";
import type { Frame } from "./frame.ts";
import type { ParserLimits } from "./native/parser.ts";
import { PW_DEFAULT_MAX_BULK_LENGTH } from "./native/symbols.ts";
import type { SubscriptionType } from "./options.ts";
import { bytesKey } from "./name_key.ts";

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
  members: MemberSet;
  /** Receivers that deliver for several of its (muted) members at once, by key (src/sse/feed.ts). */
  shared?: Map<string, Receiver>;
  /** Settles when the server confirmed (or refused) the subscribe that created this entry. */
  ready: Promise<void>;
  /** onOccupied was called for it (so onVacated must be called when it goes). */
  occupied: boolean;
}

/**
 * The receivers of one server subscription: a Set (what client code adds, deletes, counts and
 * spreads) that also keeps its members in a plain array, in insertion order, for the routing loop.
 * A member deleted while a route is iterating leaves a hole (undefined) that is closed once no
 * route iterates any more, and a member added then is appended: the loop, which re-reads the length,
 * visits exactly what a `for...of` over the Set would (deleted ones not yet reached are skipped,
 * added ones are reached), without an iterator per message.
 */
export class MemberSet extends Set<Receiver> {
  /** @internal insertion order; holes (undefined) only while `iterating` > 0. */
  order: (Receiver | undefined)[] = [];
  /** @internal routes in progress over `order` (re-entrancy safe). */
  iterating = 0;
  /** @internal holes in `order`. */
  holes = 0;

  override add(member: Receiver): this {
    if (!super.has(member)) {
      super.add(member);
      this.order.push(member);
    }
    return this;
  }

  override delete(member: Receiver): boolean {
    if (!super.delete(member)) return false;
    this.#unlist(member);
    return true;
  }

  /**
   * @internal A member that stays a member (it counts for the server subscription) but is handed
   * no frame any more: a shared receiver (addReceiver) delivers for it.
   */
  mute(member: Receiver): void {
    if (super.has(member)) this.#unlist(member);
  }

  /** @internal A receiver that is handed every frame without being a member (it holds no refcount). */
  addReceiver(receiver: Receiver): void {
    if (!this.order.includes(receiver)) this.order.push(receiver);
  }

  /** @internal Ends addReceiver(). */
  removeReceiver(receiver: Receiver): void {
    if (!super.has(receiver)) this.#unlist(receiver);
  }

  #unlist(member: Receiver): void {
    const index = this.order.indexOf(member);
    if (index < 0) return; // muted, or never listed
    if (this.iterating > 0) {
      this.order[index] = undefined;
      this.holes++;
    } else {
      this.order.splice(index, 1);
    }
  }

  override clear(): void {
    super.clear();
    if (this.iterating > 0) {
      this.holes += this.order.length;
      this.order.fill(undefined);
    } else {
      this.order.length = 0;
    }
  }

  /** @internal closes the holes left by deletions during a route. */
  compact(): void {
    const order = this.order;
    let kept = 0;
    for (let i = 0; i < order.length; i++) {
      const member = order[i];
      if (member !== undefined) order[kept++] = member;
    }
    order.length = kept;
    this.holes = 0;
  }
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

/**
 * A collision-free string key for a name, for telling names apart (the same name given twice is one
 * server subscription): its text when that is exact, else its bytes one char per byte. Any length
 * (a 1 MiB binary name included): the bytes are converted in bounded slices.
 */
export function nameKey(record: NameRecord): string {
  return record.exact ? `t${record.name}` : `b${bytesKey(record.bytes)}`;
}

/**
 * The server confirms each subscribed name by sending it back in one bulk string, which the parser
 * refuses past maxBulkLength (default 512 MiB, the server's own proto-max-bulk-len): such a name could
 * never be confirmed (its confirmation would fail the connection), so it is refused before anything
 * is sent. Below that, any length and any bytes work.
 */
export function checkNameLength(type: SubscriptionType, record: NameRecord, limits: ParserLimits | undefined): void {
  const maxBytes = limits?.maxBulkLength || PW_DEFAULT_MAX_BULK_LENGTH;
  if (record.bytes.length > maxBytes) {
    throw new InvalidArgumentError(
      `${type}: a name of ${record.bytes.length} bytes is longer than parserLimits.maxBulkLength (${maxBytes} bytes)`,
    );
  }
}

class Table {
  readonly text = new Map<string, ServerSubscription>();
  readonly binary = new Map<string, ServerSubscription>();

  get(record: NameRecord): ServerSubscription | undefined {
    return record.exact ? this.text.get(record.name) : this.binary.get(bytesKey(record.bytes));
  }

  set(record: NameRecord, entry: ServerSubscription): void {
    if (record.exact) this.text.set(record.name, entry);
    else this.binary.set(bytesKey(record.bytes), entry);
  }

  delete(record: NameRecord): void {
    if (record.exact) this.text.delete(record.name);
    else this.binary.delete(bytesKey(record.bytes));
  }

  /**
   * Lookup of a name whose exact bytes could not be matched by its decoded spelling (the text map
   * missed): only a lossy decode (which inserts U+FFFD) can hide a non-UTF-8 name.
   */
  findBinary(name: string, bytes: Uint8Array | undefined): ServerSubscription | undefined {
    if (this.binary.size === 0 || bytes === undefined || !name.includes("\uFFFD")) return undefined;
    return this.binary.get(bytesKey(bytes));
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
    const entry: ServerSubscription = { type, record, members: new MemberSet(), ready: Promise.resolve(), occupied: false };
    this.#tables[type].set(record, entry);
    this.#forget();
    return entry;
  }

  /** Removes `entry` if it is still the one registered for its name. */
  remove(entry: ServerSubscription): void {
    this.#forget();
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

  // The last routed (table, decoded name) and the entry the text map gave for it: a stream of
  // messages on one channel skips the map lookup. Only text-map hits are cached (they depend on the
  // name alone); any add/remove of an entry forgets it. Membership changes need no invalidation:
  // the entry object stays and its members are read at each route.
  #lastTable: Table | undefined;
  #lastName = "";
  #lastEntry: ServerSubscription | undefined;

  #forget(): void {
    this.#lastTable = undefined;
    this.#lastName = "";
    this.#lastEntry = undefined;
  }

  /**
   * Hands `frame` (the same object, no copy) to every subscription of its channel, pattern or shard
   * channel. Returns how many received it; 0 means nobody listens (e.g. just unsubscribed).
   */
  route(frame: Frame): number {
    let table: Table;
    let name: string;
    switch (frame.kind) {
      case "message":
        table = this.#tables.subscribe;
        name = frame.channel;
        break;
      case "smessage":
        table = this.#tables.ssubscribe;
        name = frame.channel;
        break;
      case "pmessage":
        table = this.#tables.psubscribe;
        name = frame.pattern ?? "";
        break;
      default:
        return 0;
    }
    let entry: ServerSubscription | undefined;
    if (table === this.#lastTable && name === this.#lastName) {
      entry = this.#lastEntry;
    } else {
      entry = table.text.get(name);
      if (entry !== undefined) {
        this.#lastTable = table;
        this.#lastName = name;
        this.#lastEntry = entry;
      } else {
        entry = table.findBinary(name, frame.kind === "pmessage" ? frame.patternBytes : frame.channelBytes);
        if (entry === undefined) return 0;
      }
    }
    const members = entry!.members;
    const order = members.order;
    if (order.length === 1 && members.iterating === 0 && members.holes === 0) {
      // One subscription per name is the usual case: it gets the frame without the loop (replay
      // 256 B on Bun, 8 A/B pairs: +6 % msgs/s median), under the loop's rules all the same.
      const member = order[0]!;
      members.iterating = 1;
      try {
        member.deliver(frame);
      } catch (error) {
        members.iterating = 0;
        if (members.holes > 0) members.compact();
        throw error;
      }
      members.iterating = 0;
      // No hole and nothing appended: the delivery changed nothing (the usual case).
      if (order.length === 1 && members.holes === 0) return 1;
      // Members added during the delivery (order[1..]) get it too, as in the loop, which then
      // closes the holes.
      return 1 + this.#deliverFrom(members, frame, 1);
    }
    return this.#deliverFrom(members, frame, 0);
  }

  /** Hands `frame` to members[start..], like a Set iteration; returns how many got it. */
  #deliverFrom(members: MemberSet, frame: Frame, start: number): number {
    const order = members.order;
    let count = 0;
    members.iterating++;
    try {
      // order.length is re-read: members added by a delivery are reached, like a Set iteration.
      for (let i = start; i < order.length; i++) {
        const member = order[i];
        if (member !== undefined) {
          member.deliver(frame);
          count++;
        }
      }
    } finally {
      if (--members.iterating === 0 && members.holes > 0) members.compact();
    }
    return count;
  }
}
