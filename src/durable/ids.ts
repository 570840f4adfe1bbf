// History entry ids: `<epoch>-<seq>`, a valid stream id whose first (ms) part is the epoch (fixed for the life
// of a history stream) and whose sequence counts the stream's entries from 0 (README "Durable channels").
// Rule: a position is two safe integers compared as (epoch, seq); epoch 0 means "before any stream"
// (nothing seen: the next entry of whatever stream exists is new), seq -1 "before the epoch's first".
// No dependencies: the SSE side (src/sse/resume.ts) reads ids with the same rules.

/** A position in a history: the last entry delivered, or where reading starts (exclusive). */
export interface EntryId {
  epoch: number;
  seq: number;
}

/** Before any stream: the first entry of any epoch comes after it. */
export const beforeAnyStream: EntryId = Object.freeze({ epoch: 0, seq: -1 });

const idPattern = /^(\d{1,16})-(\d{1,16})$/;

/** `<epoch>-<seq>` as two safe integers, or undefined when it is not one. */
export function parseEntryId(text: string): EntryId | undefined {
  const match = idPattern.exec(text);
  if (match === null) return undefined;
  const epoch = Number(match[1]);
  const seq = Number(match[2]);
  if (!Number.isSafeInteger(epoch) || !Number.isSafeInteger(seq)) return undefined;
  return { epoch, seq };
}

/** Longest digit run accepted per part (epoch: 16 digits, the server's TIME in µs; seq: any safe integer). */
const maxDigits = 16;

/**
 * The id `<digits>-<digits>` at bytes[start…] (stopping at the first byte after the sequence's
 * digits: the caller checks what follows, at `end`), or undefined. No string is made: replies and
 * envelopes are read by the thousand.
 */
export function readEntryId(bytes: Uint8Array, start: number): (EntryId & { end: number }) | undefined {
  let offset = start;
  let epoch = 0;
  while (offset < bytes.length && bytes[offset] >= 0x30 && bytes[offset] <= 0x39) epoch = epoch * 10 + (bytes[offset++] - 0x30);
  const epochDigits = offset - start;
  if (epochDigits === 0 || epochDigits > maxDigits || bytes[offset] !== 0x2d /* - */) return undefined;
  const seqStart = ++offset;
  let seq = 0;
  while (offset < bytes.length && bytes[offset] >= 0x30 && bytes[offset] <= 0x39) seq = seq * 10 + (bytes[offset++] - 0x30);
  const seqDigits = offset - seqStart;
  if (seqDigits === 0 || seqDigits > maxDigits || !Number.isSafeInteger(epoch) || !Number.isSafeInteger(seq)) return undefined;
  return { epoch, seq, end: offset };
}

export function formatEntryId(id: EntryId): string {
  return `${id.epoch}-${id.seq}`;
}

/** Negative, 0 or positive as `left` comes before, is, or comes after `right`. */
export function compareEntryIds(left: EntryId, right: EntryId): number {
  return left.epoch !== right.epoch ? left.epoch - right.epoch : left.seq - right.seq;
}

/** The XRANGE start that reads what comes after `position`: exclusive, or the epoch's first entry. */
export function rangeStartAfter(position: EntryId): string {
  if (position.epoch === 0) return "-";
  return position.seq < 0 ? `${position.epoch}-0` : `(${position.epoch}-${position.seq}`;
}
