// The pure-TypeScript RESP2/RESP3 reader that pushwire's native path has to beat (bench/core.bench.ts).
// Rule: a straightforward but honest parser — what a careful TS author would ship without native code:
// incremental (a frame split across feeds is re-scanned from its start once more bytes arrive),
// no recursion (an element counter walks nested aggregates), lengths read from bytes (no TextDecoder),
// channel names interned by hash, and one owned copy of every payload, so it builds the same message
// objects as NativeParser.drain (src/frame.ts `Frame`, same constructor). Benchmark-only: no limits.

import { Frame, type FrameKind } from "../../src/frame.ts";

const textDecoder = new TextDecoder();
const EMPTY = new Uint8Array(0);
interface InternedName {
  bytes: Uint8Array;
  text: string;
}
const NO_NAME: InternedName = { bytes: EMPTY, text: "" };
const CR = 13;

// Pub/sub names by [length][first byte] → kind, checked byte for byte below.
const PUSH_NAMES: readonly FrameKind[] = [
  "message", "pmessage", "smessage", "subscribe", "psubscribe", "ssubscribe", "unsubscribe", "punsubscribe",
  "sunsubscribe", "pong", "invalidate",
];
const PUSH_NAME_BYTES = PUSH_NAMES.map((name) => new TextEncoder().encode(name));

export class ProtocolError extends Error {}

export class BaselineParser {
  #buffer: Uint8Array = EMPTY;
  #offset = 0;
  #resp2PushArrays: boolean;
  // Interning: hash → [bytes, string] pairs (collisions checked by comparing bytes).
  #names = new Map<number, InternedName[]>();

  constructor(options: { resp2PushArrays?: boolean } = {}) {
    this.#resp2PushArrays = options.resp2PushArrays ?? false;
  }

  feed(bytes: Uint8Array): void {
    if (this.#offset >= this.#buffer.length) {
      this.#buffer = bytes;
      this.#offset = 0;
      return;
    }
    const rest = this.#buffer.length - this.#offset;
    const joined = new Uint8Array(rest + bytes.length);
    joined.set(this.#buffer.subarray(this.#offset), 0);
    joined.set(bytes, rest);
    this.#buffer = joined;
    this.#offset = 0;
  }

  /** Every complete frame, in order; returns how many. Incomplete tail bytes stay buffered. */
  drain(sink: (frame: Frame) => void): number {
    const buffer = this.#buffer;
    const end = buffer.length;
    let delivered = 0;
    while (this.#offset < end) {
      const start = this.#offset;
      const frame = this.#parseFrame(buffer, start, end);
      if (frame === undefined) break;
      delivered++;
      sink(frame);
    }
    if (this.#offset >= end) {
      this.#buffer = EMPTY;
      this.#offset = 0;
    }
    return delivered;
  }

  // Parses one top-level frame at `start`; undefined (offset unchanged) when incomplete.
  #parseFrame(buffer: Uint8Array, start: number, end: number): Frame | undefined {
    const type = buffer[start];
    if (type === 0x3e /* > */ || (type === 0x2a /* * */ && this.#resp2PushArrays)) {
      const push = this.#parsePush(buffer, start, end);
      if (push !== null) return push;
    }
    const frameEnd = skipValues(buffer, start, end, 1);
    if (frameEnd < 0) return undefined;
    this.#offset = frameEnd;
    if (type === 0x2d /* - */) return new Frame("error", "", EMPTY, undefined, undefined, buffer.slice(start + 1, frameEnd - 2), 0);
    if (type === 0x21 /* ! */) {
      const lineEnd = findCr(buffer, start, end);
      return new Frame("error", "", EMPTY, undefined, undefined, buffer.slice(lineEnd + 2, frameEnd - 2), 0);
    }
    return new Frame(type === 0x3e ? "push" : "reply", "", EMPTY, undefined, undefined, buffer.slice(start, frameEnd), 0);
  }

  // A pub/sub push ([name, ...] with a known name and shape); null = not one (parse generically);
  // undefined = incomplete.
  #parsePush(buffer: Uint8Array, start: number, end: number): Frame | null | undefined {
    let cursor = findCr(buffer, start, end);
    if (cursor < 0) return undefined;
    const elements = readInteger(buffer, start + 1, cursor);
    cursor += 2;
    if (elements < 2 || elements > 4 || cursor >= end) return cursor >= end ? undefined : null;
    if (buffer[cursor] !== 0x24 /* $ */) return null;
    let lineEnd = findCr(buffer, cursor, end);
    if (lineEnd < 0) return undefined;
    const nameLength = readInteger(buffer, cursor + 1, lineEnd);
    const nameStart = lineEnd + 2;
    if (nameStart + nameLength + 2 > end) return undefined;
    const kindIndex = matchPushName(buffer, nameStart, nameLength);
    if (kindIndex < 0) return null;
    const kind = PUSH_NAMES[kindIndex];
    cursor = nameStart + nameLength + 2;
    let pattern: InternedName | undefined;
    if (kind === "pmessage") {
      if (elements !== 4 || buffer[cursor] !== 0x24) return null;
      lineEnd = findCr(buffer, cursor, end);
      if (lineEnd < 0) return undefined;
      const length = readInteger(buffer, cursor + 1, lineEnd);
      if (lineEnd + 2 + length + 2 > end) return undefined;
      pattern = this.#intern(buffer, lineEnd + 2, length);
      cursor = lineEnd + 4 + length;
    } else if (kind === "pong" || kind === "invalidate") {
      if (elements !== 2) return null;
      const valueEnd = skipValues(buffer, cursor, end, 1);
      if (valueEnd < 0) return undefined;
      let data: Uint8Array;
      if (kind === "pong" && buffer[cursor] === 0x24) {
        lineEnd = findCr(buffer, cursor, end);
        data = buffer.slice(lineEnd + 2, valueEnd - 2);
      } else {
        data = buffer.slice(cursor, valueEnd);
      }
      this.#offset = valueEnd;
      return new Frame(kind, "", EMPTY, undefined, undefined, data, 0);
    } else if (elements !== 3) {
      return null;
    }
    // channel (bulk, or null for the unsubscribe family)
    if (cursor >= end) return undefined;
    lineEnd = findCr(buffer, cursor, end);
    if (lineEnd < 0) return undefined;
    let channel = NO_NAME;
    if (buffer[cursor] === 0x24) {
      const length = readInteger(buffer, cursor + 1, lineEnd);
      if (length >= 0) {
        if (lineEnd + 2 + length + 2 > end) return undefined;
        channel = this.#intern(buffer, lineEnd + 2, length);
        cursor = lineEnd + 4 + length;
      } else {
        cursor = lineEnd + 2;
      }
    } else if (buffer[cursor] === 0x5f /* _ */) {
      cursor = lineEnd + 2;
    } else {
      return null;
    }
    if (cursor >= end) return undefined;
    lineEnd = findCr(buffer, cursor, end);
    if (lineEnd < 0) return undefined;
    if (kind === "message" || kind === "pmessage" || kind === "smessage") {
      if (buffer[cursor] !== 0x24) return null;
      const length = readInteger(buffer, cursor + 1, lineEnd);
      const payloadStart = lineEnd + 2;
      if (payloadStart + length + 2 > end) return undefined;
      this.#offset = payloadStart + length + 2;
      const data = buffer.slice(payloadStart, payloadStart + length);
      return new Frame(kind, channel.text, channel.bytes, pattern?.text, pattern?.bytes, data, 0);
    }
    if (buffer[cursor] !== 0x3a /* : */) return null;
    const count = readInteger(buffer, cursor + 1, lineEnd);
    this.#offset = lineEnd + 2;
    return new Frame(kind, channel.text, channel.bytes, undefined, undefined, EMPTY, count);
  }

  #intern(buffer: Uint8Array, start: number, length: number): InternedName {
    let hash = 0x811c9dc5;
    for (let i = start; i < start + length; i++) hash = Math.imul(hash ^ buffer[i], 0x01000193);
    let bucket = this.#names.get(hash);
    if (bucket !== undefined) {
      for (const entry of bucket) {
        const bytes = entry.bytes;
        if (bytes.length !== length) continue;
        let same = true;
        for (let i = 0; i < length; i++) {
          if (bytes[i] !== buffer[start + i]) {
            same = false;
            break;
          }
        }
        if (same) return entry;
      }
    } else {
      bucket = [];
      this.#names.set(hash, bucket);
    }
    const bytes = buffer.slice(start, start + length);
    const entry = { bytes, text: textDecoder.decode(bytes) };
    bucket.push(entry);
    return entry;
  }
}

function matchPushName(buffer: Uint8Array, start: number, length: number): number {
  for (let k = 0; k < PUSH_NAME_BYTES.length; k++) {
    const name = PUSH_NAME_BYTES[k];
    if (name.length !== length) continue;
    let i = 0;
    while (i < length && (buffer[start + i] | 0x20) === name[i]) i++;
    if (i === length) return k;
  }
  return -1;
}

function findCr(buffer: Uint8Array, from: number, end: number): number {
  for (let i = from; i + 1 < end; i++) if (buffer[i] === CR) return i;
  return -1;
}

function readInteger(buffer: Uint8Array, from: number, to: number): number {
  let negative = false;
  let i = from;
  if (buffer[i] === 0x2d) {
    negative = true;
    i++;
  }
  let value = 0;
  for (; i < to; i++) {
    const digit = buffer[i] - 0x30;
    if (digit < 0 || digit > 9) throw new ProtocolError(`baseline: bad integer at offset ${i}`);
    value = value * 10 + digit;
  }
  return negative ? -value : value;
}

// Skips `values` complete values starting at `cursor`; returns the end offset or -1 when incomplete.
// No recursion: an aggregate adds its element count to the number of values still to skip.
function skipValues(buffer: Uint8Array, cursor: number, end: number, values: number): number {
  let remaining = values;
  while (remaining > 0) {
    if (cursor >= end) return -1;
    const type = buffer[cursor];
    const lineEnd = findCr(buffer, cursor, end);
    if (lineEnd < 0) return -1;
    remaining--;
    switch (type) {
      case 0x2b: case 0x2d: case 0x3a: case 0x5f: case 0x23: case 0x2c: case 0x28: // + - : _ # , (
        cursor = lineEnd + 2;
        break;
      case 0x24: case 0x21: case 0x3d: { // $ ! =
        const length = readInteger(buffer, cursor + 1, lineEnd);
        cursor = length < 0 ? lineEnd + 2 : lineEnd + 2 + length + 2;
        if (cursor > end) return -1;
        break;
      }
      case 0x2a: case 0x3e: case 0x7e: { // * > ~
        const length = readInteger(buffer, cursor + 1, lineEnd);
        if (length > 0) remaining += length;
        cursor = lineEnd + 2;
        break;
      }
      case 0x25: // % map: N pairs
        remaining += 2 * readInteger(buffer, cursor + 1, lineEnd);
        cursor = lineEnd + 2;
        break;
      case 0x7c: // | attribute: N pairs, then the value it annotates
        remaining += 2 * readInteger(buffer, cursor + 1, lineEnd) + 1;
        cursor = lineEnd + 2;
        break;
      default:
        throw new ProtocolError(`baseline: unknown type byte ${type} at offset ${cursor}`);
    }
  }
  return cursor;
}
