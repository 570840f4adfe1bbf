// The envelope v1 of a durable message on its pub/sub channel: `"pw1 " <entry id> "\n" <payload>`.
// Written by the history script (src/durable/script.ts), read here by durable subscriptions; readable by
// any subscriber (README "Durable channels"). Rule: a payload that does not start with a well-formed
// v1 header is not an envelope (a message published without history), and is delivered as it is.

/** The parts of an opened envelope: the entry id (text and numbers) and where the payload starts. */
export interface OpenedEnvelope {
  id: string;
  epoch: number;
  seq: number;
  payloadOffset: number;
}

/** Longest header digits accepted per part (epoch: 13 digits for ms today; seq: any safe integer). */
const maxDigits = 16;

/** The header of `data` when it is a v1 envelope, else undefined. Allocation-free until the id string. */
export function openEnvelope(data: Uint8Array): OpenedEnvelope | undefined {
  // "pw1 " = 0x70 0x77 0x31 0x20
  if (data.length < 8 || data[0] !== 0x70 || data[1] !== 0x77 || data[2] !== 0x31 || data[3] !== 0x20) return undefined;
  let offset = 4;
  let epoch = 0;
  const epochStart = offset;
  while (offset < data.length && data[offset] >= 0x30 && data[offset] <= 0x39) epoch = epoch * 10 + (data[offset++] - 0x30);
  const epochDigits = offset - epochStart;
  if (epochDigits === 0 || epochDigits > maxDigits || data[offset] !== 0x2d /* - */) return undefined;
  offset++;
  let seq = 0;
  const seqStart = offset;
  while (offset < data.length && data[offset] >= 0x30 && data[offset] <= 0x39) seq = seq * 10 + (data[offset++] - 0x30);
  const seqDigits = offset - seqStart;
  if (seqDigits === 0 || seqDigits > maxDigits || data[offset] !== 0x0a /* LF */) return undefined;
  if (!Number.isSafeInteger(epoch) || !Number.isSafeInteger(seq)) return undefined;
  return { id: `${epoch}-${seq}`, epoch, seq, payloadOffset: offset + 1 };
}
