// The per-stream bounded queue of encoded events waiting for a slow HTTP client.
// Rule: the queue never holds more than maxEvents entries / maxBytes bytes after `trim()`; what it
// discards is counted, never silent. Control events (reconnected, disconnected, ...) are tiny and
// rare, so they are never dropped: trimming moves them to a side list that is written first.

export interface QueuedEvent {
  /** The encoded event; with `id`, without its id line (and then shared by every stream: read-only). */
  bytes: Uint8Array;
  /** A control event: survives drop-oldest (moved to the front list instead of being dropped). */
  control: boolean;
  /** This stream's event id, written as an `id:` line in front of `bytes` (ASCII digits). */
  id?: string;
}

/** Bytes the event takes on the wire: `bytes`, plus "id: <id>\n" when it has an id. */
export function eventSize(event: QueuedEvent): number {
  return event.id === undefined ? event.bytes.byteLength : event.bytes.byteLength + event.id.length + 5;
}

/** Control events kept aside while trimming; more than this means something is flapping: oldest go. */
const maxFrontEvents = 64;

export class EventQueue {
  #entries: QueuedEvent[] = [];
  #head = 0;
  #bytes = 0;
  #front: QueuedEvent[] = [];

  constructor(readonly maxEvents: number, readonly maxBytes: number) {}

  /** Events waiting (front list excluded: it is bounded by `maxFrontEvents`, not by the options). */
  get length(): number {
    return this.#entries.length - this.#head;
  }

  /** Bytes waiting (front list excluded). */
  get bytes(): number {
    return this.#bytes;
  }

  get empty(): boolean {
    return this.length === 0 && this.#front.length === 0;
  }

  get overLimit(): boolean {
    return this.length > this.maxEvents || this.#bytes > this.maxBytes;
  }

  /**
   * A quarter of either limit is waiting: enough to write as one batch now rather than wait longer,
   * and the mark at which a stream holds its subscription's reading (src/sse.ts).
   */
  get overBatch(): boolean {
    return this.length * 4 >= this.maxEvents || this.#bytes * 4 >= this.maxBytes;
  }

  /** Below an eighth of both limits: a stream that held its subscription's reading lets go. */
  get belowLowWater(): boolean {
    return this.length * 8 < this.maxEvents && this.#bytes * 8 < this.maxBytes;
  }

  push(event: QueuedEvent): void {
    this.#entries.push(event);
    this.#bytes += eventSize(event);
  }

  /** Whether the next event comes from the front list (control events salvaged by trim()). */
  get nextIsFront(): boolean {
    return this.#front.length > 0;
  }

  shift(): QueuedEvent | undefined {
    if (this.#front.length > 0) return this.#front.shift();
    if (this.#head >= this.#entries.length) return undefined;
    const event = this.#entries[this.#head];
    this.#entries[this.#head] = undefined as unknown as QueuedEvent;
    this.#head++;
    this.#bytes -= eventSize(event);
    // Compact once the consumed prefix dominates, so shift stays O(1) amortized.
    if (this.#head > 1024 && this.#head * 2 > this.#entries.length) {
      this.#entries = this.#entries.slice(this.#head);
      this.#head = 0;
    }
    return event;
  }

  /** Drops the oldest message events until within limits; returns how many messages were dropped. */
  trim(): number {
    let dropped = 0;
    while (this.overLimit) {
      const event = this.#entries[this.#head];
      this.#entries[this.#head] = undefined as unknown as QueuedEvent;
      this.#head++;
      this.#bytes -= eventSize(event);
      if (event.control) {
        this.#front.push(event);
        if (this.#front.length > maxFrontEvents) this.#front.shift();
      } else {
        dropped++;
      }
    }
    if (this.#head > 0 && this.#head * 2 > this.#entries.length) {
      this.#entries = this.#entries.slice(this.#head);
      this.#head = 0;
    }
    return dropped;
  }

  clear(): void {
    this.#entries = [];
    this.#head = 0;
    this.#bytes = 0;
    this.#front = [];
  }
}
