// Decodes the raw RESP bytes of one `reply` Frame (frame.data) into JS values. The native parser has
// already checked the frame is complete and well formed; this only turns bytes into values.
// Rule: iterative (an explicit stack, no recursion), so nesting depth costs heap, never call stack.
import { ProtocolError, ReplyError } from "../errors.ts";

export type ReplyValue =
  | string
  | number
  | bigint
  | boolean
  | null
  | Uint8Array
  | ReplyError
  | ReplyValue[]
  | Map<ReplyValue, ReplyValue>;

export interface DecodeOptions {
  /**
   * "string" (default): bulk strings decode as UTF-8 text; "bytes": as Uint8Array copies; "views": as
   * views of the reply's bytes (no copy: a long reply's values then keep all of it alive, as a
   * message's payload keeps its read; a Frame's bytes are never rewritten). A copy per value was most
   * of the cost of an XRANGE reply on Deno: ~3 µs of ~3.5 per entry.
   */
  bulkAs?: "string" | "bytes" | "views";
}

interface OpenAggregate {
  items: ReplyValue[];
  remaining: number;
  isMap: boolean;
  /** An attribute (`|`) is read and thrown away; the value after it is the real one. */
  isAttribute: boolean;
}

const decoder = new TextDecoder();
const malformed = -1;

/** Decodes exactly one RESP value from `bytes`. Throws ProtocolError when the bytes are not one value. */
export function decodeReply(bytes: Uint8Array, options: DecodeOptions = {}): ReplyValue {
  const asBytes = options.bulkAs === "bytes";
  const asViews = options.bulkAs === "views";
  const stack: OpenAggregate[] = [];
  let offset = 0;
  for (;;) {
    const lineEnd = findLineEnd(bytes, offset);
    const type = bytes[offset];
    // Lengths and counts are parsed from the bytes: a decoded string per header line was most of the
    // cost of a long reply on Deno (an XRANGE of 1,024 entries: ~5 µs per entry, ~2 µs after).
    const counted = type === 36 || type === 42 || type === 33 || type === 61 || type === 126 || type === 62 || type === 37 || type === 124;
    const size = counted ? asciiInteger(bytes, offset + 1, lineEnd) : 0;
    if (Number.isNaN(size)) throw new ProtocolError(malformed, `reply: a length or count that is not a number at offset ${offset}`);
    const line = counted ? "" : decoder.decode(bytes.subarray(offset + 1, lineEnd));
    offset = lineEnd + 2;
    let value: ReplyValue;
    let aggregate: OpenAggregate | undefined;
    switch (type) {
      case 43: /* + */ value = line; break;
      case 45: /* - */ value = new ReplyError(line); break;
      case 58: /* : */ value = integer(line); break;
      case 95: /* _ */ value = null; break;
      case 35: /* # */ value = line === "t"; break;
      case 44: /* , */ value = double(line); break;
      case 40: /* ( */ value = BigInt(line); break;
      case 36: /* $ */
      case 33: /* ! */
      case 61: /* = */ {
        const length = size;
        if (length < 0) {
          value = null;
          break;
        }
        if (offset + length + 2 > bytes.length) throw truncated(offset);
        const body = bytes.subarray(offset, offset + length);
        offset += length + 2;
        if (type === 33) value = new ReplyError(decoder.decode(body));
        else if (type === 61) value = decoder.decode(body.subarray(4)); // drop the "txt:" format prefix
        else value = asViews ? body : asBytes ? body.slice() : decoder.decode(body);
        break;
      }
      case 42: /* * */
      case 126: /* ~ */
      case 62: /* > */
      case 37: /* % */
      case 124: /* | */ {
        const count = size;
        if (count < 0) {
          value = null;
          break;
        }
        const paired = type === 37 || type === 124;
        aggregate = { items: [], remaining: paired ? count * 2 : count, isMap: type === 37, isAttribute: type === 124 };
        value = null;
        break;
      }
      default:
        throw new ProtocolError(malformed, `reply: unexpected RESP type byte ${type} at offset ${offset}`);
    }
    if (aggregate) {
      if (aggregate.remaining > 0) {
        stack.push(aggregate);
        continue;
      }
      if (aggregate.isAttribute) continue;
      value = aggregate.isMap ? new Map() : [];
    }
    // Close every aggregate this value completes.
    for (;;) {
      const parent = stack[stack.length - 1];
      if (!parent) {
        if (offset !== bytes.length) throw new ProtocolError(malformed, `reply: ${bytes.length - offset} trailing bytes`);
        return value;
      }
      parent.items.push(value);
      if (--parent.remaining > 0) break;
      stack.pop();
      if (parent.isAttribute) {
        value = undefined as never; // the attribute is dropped; keep reading the value it annotates
        break;
      }
      value = parent.isMap ? toMap(parent.items) : parent.items;
    }
  }
}

function findLineEnd(bytes: Uint8Array, from: number): number {
  for (let i = from; i + 1 < bytes.length; i++) if (bytes[i] === 13 && bytes[i + 1] === 10) return i;
  throw truncated(from);
}

function truncated(offset: number): ProtocolError {
  return new ProtocolError(malformed, `reply: truncated RESP value at offset ${offset}`);
}

/** The decimal integer in bytes[start, end) ("-1" for a null), or NaN when it is not one. */
function asciiInteger(bytes: Uint8Array, start: number, end: number): number {
  let index = start;
  const negative = bytes[index] === 45; // -
  if (negative) index++;
  if (index === end || end - index > 15) return NaN;
  let value = 0;
  for (; index < end; index++) {
    const digit = bytes[index] - 48;
    if (digit < 0 || digit > 9) return NaN;
    value = value * 10 + digit;
  }
  return negative ? -value : value;
}

function integer(line: string): number | bigint {
  const value = Number(line);
  return Number.isSafeInteger(value) ? value : BigInt(line);
}

function double(line: string): number {
  if (line === "inf") return Infinity;
  if (line === "-inf") return -Infinity;
  if (line === "nan") return NaN;
  return Number(line);
}

function toMap(items: ReplyValue[]): Map<ReplyValue, ReplyValue> {
  const map = new Map<ReplyValue, ReplyValue>();
  for (let i = 0; i + 1 < items.length; i += 2) map.set(items[i], items[i + 1]);
  return map;
}
