// One encoded event log shared by every sse() stream of a channel that encodes it alike (a "feed").
// Rule: a message costs one encoding and one append, whatever the number of streams: no stream is
// touched per message. Each stream keeps only a cursor into the log (and its own few control events),
// and builds its chunk — its own `id:` lines in front of the shared bytes — when the process's write
// budget gives the feed its turn (src/write_budget.ts). The log keeps what the slowest stream
// still needs, and no stream may need more than its queue limits: the flow rule of src/sse.ts holds
// per stream (a quarter of its limits waiting: written at once and holding its subscription's
// reading; over them after a stall: its oldest events are skipped, counted and reported).
// Why: with one queue per stream, 10,000 streams on one channel meant 10,000 calls and ~7 objects
// reached per message (~0.7 µs of CPU each on a 2-core VM, most of it cache misses), more than the
// socket writes themselves.
import type { BudgetedWriter } from "../write_budget.ts";
import { sharedWriteBudget } from "../write_budget.ts";
import { digits, writeIdLine } from "./queue.ts";

/** A message as the feed sees it (pushwire's Frame). */
export interface FeedMessage {
  readonly channel: string;
  readonly data: Uint8Array;
}

/** The per-stream part: src/sse.ts EventStream in feed mode. */
export interface FeedMember {
  /** Sequence number of the next shared event this stream writes. */
  cursor: number;
  /** The id of the shared event at `cursor` minus `cursor` (ids are consecutive per stream). */
  readonly idOffset: number;
  readonly maxQueuedEvents: number;
  readonly maxQueuedBytes: number;
  /** Its turn: write what waits (events from `cursor`, its control events) while its body wants more. */
  writeTurn(): void;
  /** The feed found it (possibly) a quarter of its limits behind: apply the flow rule now. */
  checkBacklog(): void;
  /** The shared event `seq` is the invalid-utf8 fallback (text mode met a payload that is not UTF-8). */
  invalidEvent(seq: number): void;
  /** Has control events or a dropped notice waiting (they need a turn even with no new shared event). */
  readonly hasOwnEvents: boolean;
}

export interface EncodedEvent {
  readonly bytes: Uint8Array;
  readonly invalid: boolean;
}

export class SharedFeed implements BudgetedWriter {
  waitingForWrite = false;
  readonly #encode: (message: FeedMessage) => EncodedEvent;
  readonly #release: () => void;
  readonly #counters: { delivered: number };
  /** Events from sequence number `#base` on. */
  #log: Uint8Array[] = [];
  /** #sums[i]: bytes of the log before log[i] (one more entry than the log). */
  #sums: number[] = [0];
  #base = 0;
  #members: FeedMember[] = [];
  /** Members found a quarter of their limits behind, looked at on every event until they drain. */
  readonly #lagging: Set<FeedMember> = new Set();
  /** Round-robin position of the write turns. */
  #next = 0;
  /** No cursor of a member that is not lagging is below this (a lower bound, exact after each full round). */
  #knownMin = 0;
  /** The smallest quarter of the members' limits (never raised while the feed lives: conservative). */
  #quarterEvents = Infinity;
  #quarterBytes = Infinity;
  #released = false;

  /** `counters.delivered` counts a message once per member (the client's stats, as per-stream delivery did). */
  constructor(encode: (message: FeedMessage) => EncodedEvent, release: () => void, counters: { delivered: number }) {
    this.#encode = encode;
    this.#release = release;
    this.#counters = counters;
  }

  /** Sequence number the next event gets. */
  get end(): number {
    return this.#base + this.#log.length;
  }

  get members(): number {
    return this.#members.length;
  }

  /** Bytes of the shared events from `from` to the end, with the id lines `member` writes for them. */
  backlogBytes(member: FeedMember, from: number): number {
    const count = this.end - from;
    if (count <= 0) return 0;
    const ids = count * (5 + digits(this.end - 1 + member.idOffset));
    return this.#sums[this.#log.length] - this.#sums[from - this.#base] + ids;
  }

  join(member: FeedMember): void {
    member.cursor = this.end;
    this.#members.push(member);
    this.#quarterEvents = Math.min(this.#quarterEvents, member.maxQueuedEvents / 4);
    this.#quarterBytes = Math.min(this.#quarterBytes, member.maxQueuedBytes / 4);
  }

  /** The member is done with the feed; the last one out takes the feed off its server subscription. */
  leave(member: FeedMember): void {
    const index = this.#members.indexOf(member);
    if (index < 0) return;
    this.#members.splice(index, 1);
    this.#lagging.delete(member);
    if (index < this.#next) this.#next--;
    if (this.#members.length > 0) return;
    this.#log = [];
    this.#sums = [0];
    this.#base = this.end;
    if (!this.#released) {
      this.#released = true;
      this.#release();
    }
  }

  /** The router hands over one message for every member: encoded and appended once. */
  deliver(message: FeedMessage): void {
    const event = this.#encode(message);
    this.#log.push(event.bytes);
    this.#sums.push(this.#sums[this.#sums.length - 1] + event.bytes.byteLength);
    const members = this.#members;
    this.#counters.delivered += members.length;
    if (event.invalid) for (const member of [...members]) member.invalidEvent(this.end - 1);
    // Streams known to be behind are looked at on every event; the others only when one of them may
    // be a quarter behind too (a burst, a body that stopped taking).
    for (const member of this.#lagging) member.checkBacklog();
    const behind = this.end - this.#knownMin;
    if (behind >= this.#quarterEvents || this.#sums[this.#log.length] - this.#sums[this.#knownMin - this.#base] >= this.#quarterBytes) {
      this.#checkAll();
    }
    sharedWriteBudget.request(this);
  }

  /** A member is (or is no longer) a quarter of its limits behind. */
  lagging(member: FeedMember, behind: boolean): void {
    if (behind) this.#lagging.add(member);
    else if (this.#lagging.delete(member)) this.#knownMin = Math.min(this.#knownMin, member.cursor);
  }

  /** A member has something to write (its body wants more, or it has control events). */
  requestTurn(): void {
    sharedWriteBudget.request(this);
  }

  #checkAll(): void {
    for (const member of [...this.#members]) member.checkBacklog();
    this.#trim();
  }

  /** The write budget's grant: up to `writes` members write, in turn; the feed asks again if some wait. */
  writeGranted(writes = 1): number {
    const members = this.#members;
    let used = 0;
    let visited = 0;
    while (used < writes && visited < members.length) {
      if (this.#next >= members.length) {
        this.#next = 0;
        this.#trim();
      }
      const member = members[this.#next++];
      visited++;
      if (member.cursor < this.end || member.hasOwnEvents) {
        member.writeTurn();
        used++;
      }
    }
    if (visited < members.length) sharedWriteBudget.request(this);
    return used;
  }

  /**
   * Bytes for `member` from its cursor on (shared events with its id lines, up to `limit`: its next
   * own event), at most `budget` bytes but at least one event, written into a new chunk after `prefix`
   * (its own events due now); advances the cursor. Undefined when neither waits.
   */
  take(member: FeedMember, prefix: readonly Uint8Array[], budget: number, limit: number): Uint8Array | undefined {
    let length = 0;
    for (const part of prefix) length += part.byteLength;
    const start = member.cursor;
    let stop = start;
    const end = Math.min(this.end, limit);
    while (stop < end && (length < budget || (stop === start && prefix.length === 0))) {
      length += this.#log[stop - this.#base].byteLength + 5 + digits(stop + member.idOffset);
      stop++;
    }
    if (stop === start && prefix.length === 0) return undefined;
    if (stop === start && prefix.length === 1) return prefix[0];
    const chunk = new Uint8Array(length);
    let offset = 0;
    for (const part of prefix) {
      chunk.set(part, offset);
      offset += part.byteLength;
    }
    for (let seq = start; seq < stop; seq++) {
      offset = writeIdLine(chunk, offset, seq + member.idOffset);
      const bytes = this.#log[seq - this.#base];
      chunk.set(bytes, offset);
      offset += bytes.byteLength;
    }
    member.cursor = stop;
    return chunk;
  }

  /** Forgets the events every member is past; the lowest cursor of the others is the new known minimum. */
  #trim(): void {
    let lowest = this.end;
    let lowestOther = this.end;
    for (const member of this.#members) {
      if (member.cursor < lowest) lowest = member.cursor;
      if (member.cursor < lowestOther && !this.#lagging.has(member)) lowestOther = member.cursor;
    }
    this.#knownMin = lowestOther;
    const drop = lowest - this.#base;
    // Slices only once the consumed part dominates, so a trim stays O(1) amortized per event.
    if (drop < 1024 || drop * 2 < this.#log.length) return;
    const total = this.#sums[drop];
    this.#log = this.#log.slice(drop);
    this.#sums = this.#sums.slice(drop).map((sum) => sum - total);
    this.#base = lowest;
  }
}
