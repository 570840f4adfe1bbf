// The per-stream bounded queue of encoded events waiting for a slow HTTP client.
// Rule: the queue never holds more than maxEvents entries / maxBytes bytes after `trim()`; what it
// discards is counted, never silent. Control events (reconnected, disconnected, ...) are tiny and
// rare, so they are never dropped: trimming moves them to a side list that is written first.
// Leanness rule (10,000 streams × 100 events/s go through here): a message event shared by every
// stream of its channel is queued as its bytes alone — no object, no id string per event per
// stream. Message ids are consecutive, so the queue knows each one from the id of its oldest message
// (`#headId`) and writes the `id:` lines only when it builds a chunk.

/** A stream's own event: a control event (no id, survives trim), or a message whose bytes carry its id. */
export interface OwnEvent {
  readonly bytes: Uint8Array;
  readonly control: boolean;
}

/** A shared message event (read-only bytes without an id line) or a stream's own event. */
export type QueuedEvent = Uint8Array | OwnEvent;

/** Digits of a positive integer id (ids are decimal counters, below 2^53); comparisons, no division. */
export function digits(id: number): number {
  if (id < 1e4) return id < 10 ? 1 : id < 100 ? 2 : id < 1e3 ? 3 : 4;
  if (id < 1e8) return id < 1e5 ? 5 : id < 1e6 ? 6 : id < 1e7 ? 7 : 8;
  return String(id).length;
}

/** Bytes of "id: <id>\n". */
function idLineLength(id: number): number {
  return digits(id) + 5;
}

/** Writes "id: <id>\n" at `offset`; returns the offset after it. */
export function writeIdLine(out: Uint8Array, offset: number, id: number): number {
  out[offset++] = 0x69; // i
  out[offset++] = 0x64; // d
  out[offset++] = 0x3a; // :
  out[offset++] = 0x20; // space
  const end = offset + digits(id);
  for (let value = id, at = end - 1; at >= offset; at--) {
    const digit = value % 10;
    out[at] = 0x30 + digit;
    value = (value - digit) / 10;
  }
  out[end] = 0x0a; // LF
  return end + 1;
}

/** Control events kept aside while trimming; more than this means something is flapping: oldest go. */
const maxFrontEvents = 64;

/** Parts of the chunk being built (reused: one chunk is built at a time, synchronously). */
const partBytes: Uint8Array[] = [];
const partIds: number[] = [];

export class EventQueue {
  readonly maxEvents: number;
  readonly maxBytes: number;
  #entries: QueuedEvent[] = [];
  #head = 0;
  #bytes = 0;
  #front: OwnEvent[] = [];
  /** The id the next message event gets. */
  #nextId: number;
  /** The id of the oldest queued message event. */
  #headId: number;
  /** Messages trimmed and not yet reported by a `dropped` event (it goes just before the head). */
  pendingDropped = 0;
  /** Message events in the last chunk `take()` built. */
  takenMessages = 0;
  /** Highest `bytes` seen by notePeak() (kept here: the queue is at hand whenever an event is queued). */
  peakBytes = 0;

  constructor(maxEvents: number, maxBytes: number, firstId: number) {
    this.maxEvents = maxEvents;
    this.maxBytes = maxBytes;
    this.#nextId = firstId;
    this.#headId = firstId;
  }

  /** The id the next message event gets (a stream's own encoding writes it itself). */
  get nextId(): number {
    return this.#nextId;
  }

  /** Events waiting (front list excluded: it is bounded by `maxFrontEvents`, not by the options). */
  get length(): number {
    return this.#entries.length - this.#head;
  }

  /** Bytes waiting (front list excluded), id lines included. */
  get bytes(): number {
    return this.#bytes;
  }

  get empty(): boolean {
    return this.length === 0 && this.#front.length === 0 && this.pendingDropped === 0;
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

  /** A message event shared with other streams; its id line is written when the chunk is built. */
  pushShared(bytes: Uint8Array): void {
    this.#entries.push(bytes);
    this.#bytes += bytes.byteLength + idLineLength(this.#nextId++);
  }

  /** A message event encoded by this stream alone, its id (`nextId`, or its own) inside `bytes`. */
  pushOwnMessage(bytes: Uint8Array): void {
    this.#entries.push({ bytes, control: false });
    this.#bytes += bytes.byteLength;
    this.#nextId++;
  }

  pushControl(bytes: Uint8Array): void {
    this.#entries.push({ bytes, control: true });
    this.#bytes += bytes.byteLength;
  }

  /** Bytes `entry` takes on the wire when it is the next message (shared ones get their id line). */
  #size(entry: QueuedEvent): number {
    return entry instanceof Uint8Array ? entry.byteLength + idLineLength(this.#headId) : entry.bytes.byteLength;
  }

  /** Removes the head entry; returns the id to write in front of it (-1: none). */
  #shift(): number {
    const entry = this.#entries[this.#head];
    this.#bytes -= this.#size(entry);
    this.#entries[this.#head] = undefined as unknown as QueuedEvent;
    this.#head++;
    if (entry instanceof Uint8Array) return this.#headId++;
    if (!entry.control) this.#headId++;
    return -1;
  }

  #compact(threshold: number): void {
    if (this.#head > threshold && this.#head * 2 > this.#entries.length) {
      this.#entries = this.#entries.slice(this.#head);
      this.#head = 0;
    }
  }

  /**
   * Up to `budget` bytes of waiting events (at least one) as one chunk: salvaged control events
   * first, then a `dropped` event for a gap (from `droppedEvent`), then messages with their id lines.
   * Undefined when nothing waits. `takenMessages` says how many messages it holds.
   */
  take(budget: number, droppedEvent: (count: number) => Uint8Array): Uint8Array | undefined {
    let length = 0;
    let messages = 0;
    partBytes.length = 0;
    partIds.length = 0;
    while (length < budget) {
      let bytes: Uint8Array;
      let id = -1;
      if (this.#front.length > 0) {
        bytes = this.#front.shift()!.bytes;
      } else if (this.pendingDropped > 0) {
        bytes = droppedEvent(this.pendingDropped);
        this.pendingDropped = 0;
      } else if (this.#head < this.#entries.length) {
        const entry = this.#entries[this.#head];
        bytes = entry instanceof Uint8Array ? entry : entry.bytes;
        if (entry instanceof Uint8Array || !entry.control) messages++;
        id = this.#shift();
      } else {
        break;
      }
      partBytes.push(bytes);
      partIds.push(id);
      length += bytes.byteLength + (id < 0 ? 0 : idLineLength(id));
    }
    this.#compact(1024);
    this.takenMessages = messages;
    if (partBytes.length === 0) return undefined;
    if (partBytes.length === 1 && partIds[0] < 0) return partBytes[0];
    const chunk = new Uint8Array(length);
    let offset = 0;
    for (let index = 0; index < partBytes.length; index++) {
      if (partIds[index] >= 0) offset = writeIdLine(chunk, offset, partIds[index]);
      chunk.set(partBytes[index], offset);
      offset += partBytes[index].byteLength;
    }
    partBytes.length = 0;
    return chunk;
  }

  /** Drops the oldest message events until within limits; returns how many messages were dropped. */
  trim(): number {
    let dropped = 0;
    while (this.overLimit) {
      const entry = this.#entries[this.#head];
      this.#shift();
      if (entry instanceof Uint8Array || !entry.control) {
        dropped++;
      } else {
        this.#front.push(entry);
        if (this.#front.length > maxFrontEvents) this.#front.shift();
      }
    }
    this.#compact(0);
    this.pendingDropped += dropped;
    return dropped;
  }

  /** Records `bytes` as the peak if it is one (called after each event is queued and trimmed). */
  notePeak(): void {
    if (this.#bytes > this.peakBytes) this.peakBytes = this.#bytes;
  }

  /** Forgets everything queued (the client is gone). */
  clear(): void {
    this.#entries = [];
    this.#head = 0;
    this.#bytes = 0;
    this.#front = [];
    this.#headId = this.#nextId;
    this.pendingDropped = 0;
  }
}
