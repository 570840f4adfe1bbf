// The envelope v1 of a durable message on its pub/sub channel: `"pw1 " <entry id> "\n" <payload>`.
// Written by the history script (src/durable/script.ts), read here by durable subscriptions; readable by
// any subscriber (README "Durable channels"). Rule: a payload that does not start with a well-formed
// v1 header is not an envelope (a message published without history), and is delivered as it is.
import { readEntryId } from "./ids.ts";

/** The parts of an opened envelope: the entry id (text and numbers) and where the payload starts. */
export interface OpenedEnvelope {
  id: string;
  epoch: number;
  seq: number;
  payloadOffset: number;
}

/** The header of `data` when it is a v1 envelope, else undefined. */
export function openEnvelope(data: Uint8Array): OpenedEnvelope | undefined {
  // "pw1 " = 0x70 0x77 0x31 0x20
  if (data.length < 8 || data[0] !== 0x70 || data[1] !== 0x77 || data[2] !== 0x31 || data[3] !== 0x20) return undefined;
  const id = readEntryId(data, 4);
  if (id === undefined || data[id.end] !== 0x0a /* LF */) return undefined;
  return { id: `${id.epoch}-${id.seq}`, epoch: id.epoch, seq: id.seq, payloadOffset: id.end + 1 };
}
