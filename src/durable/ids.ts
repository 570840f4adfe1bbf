// History entry ids: `<epoch>-<seq>`, a valid stream id whose ms part is the epoch (fixed for the life
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
