// Reads a channel's history for a durable subscription: a batch of entries after a position, or the
// stream's last entry, each together with the epoch key in one round trip (the commands of one call go
// out in one write, to the node that holds both keys).
// Rule: replies are decoded as bytes, views of the reply (payloads are binary, and a copy each cost
// most of a replay on Deno); an entry that is not pushwire's (no `d` field, or an id that is not two
// safe integers) is skipped, never delivered half-read.
import type { CommandArgument } from "../protocol/encode.ts";
import type { ReplyValue } from "../protocol/reply.ts";
import type { HistoryKeys } from "./keys.ts";
import { type EntryId, rangeStartAfter, readEntryId } from "./ids.ts";

/** Runs commands in one round trip on the node holding the history keys; bulk strings come back as bytes. */
export type RunReads = (commands: CommandArgument[][]) => Promise<ReplyValue[]>;

export interface HistoryEntry {
  id: EntryId;
  /** The id as the stream spells it (Message.id). */
  text: string;
  data: Uint8Array;
}

export interface HistoryBatch {
  /** The stream's epoch from its epoch key; undefined when that key is missing (the stream is gone). */
  epoch: number | undefined;
  entries: HistoryEntry[];
  /** Payload bytes of the entries. */
  bytes: number;
}

const decoder = new TextDecoder();

export class HistoryReader {
  constructor(readonly keys: HistoryKeys, readonly run: RunReads) {}

  /** Up to `count` entries after `position`, oldest first, and the stream's epoch. */
  async after(position: EntryId, count: number): Promise<HistoryBatch> {
    const [range, epoch] = await this.run([
      ["XRANGE", this.keys.stream, rangeStartAfter(position), "+", "COUNT", String(count)],
      ["GET", this.keys.epoch],
    ]);
    return toBatch(range, epoch);
  }

  /** The stream's newest entry (undefined when it has none) and its epoch. */
  async last(): Promise<HistoryBatch> {
    const [range, epoch] = await this.run([
      ["XREVRANGE", this.keys.stream, "+", "-", "COUNT", "1"],
      ["GET", this.keys.epoch],
    ]);
    return toBatch(range, epoch);
  }
}

function toBatch(range: ReplyValue, epochReply: ReplyValue): HistoryBatch {
  const entries: HistoryEntry[] = [];
  let bytes = 0;
  if (Array.isArray(range)) {
    for (const item of range) {
      const entry = toEntry(item);
      if (entry === undefined) continue;
      entries.push(entry);
      bytes += entry.data.byteLength;
    }
  }
  const epochText = epochReply instanceof Uint8Array ? decoder.decode(epochReply) : undefined;
  const epoch = epochText !== undefined && /^\d{1,16}$/.test(epochText) ? Number(epochText) : undefined;
  return { epoch: Number.isSafeInteger(epoch) ? epoch : undefined, entries, bytes };
}

function toEntry(item: ReplyValue): HistoryEntry | undefined {
  if (!Array.isArray(item) || !(item[0] instanceof Uint8Array) || !Array.isArray(item[1])) return undefined;
  const read = readEntryId(item[0], 0);
  if (read === undefined || read.end !== item[0].length) return undefined;
  const id = { epoch: read.epoch, seq: read.seq };
  const text = `${id.epoch}-${id.seq}`;
  const fields = item[1];
  for (let index = 0; index + 1 < fields.length; index += 2) {
    const name = fields[index];
    const value = fields[index + 1];
    if (name instanceof Uint8Array && name.length === 1 && name[0] === 0x64 /* d */ && value instanceof Uint8Array) {
      return { id, text, data: value };
    }
  }
  return undefined;
}
