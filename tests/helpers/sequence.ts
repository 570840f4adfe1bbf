// Payloads that carry their own sequence number (tests only): the first 10 bytes are the number,
// zero-padded ASCII, the rest dots. A lost, repeated or reordered message shows in the consumer.
const encoder = new TextEncoder();

/** Payload number `sequence`, `size` bytes long (at least 10). */
export function sequencePayload(sequence: number, size: number): Uint8Array {
  const bytes = new Uint8Array(size).fill(0x2e);
  encoder.encodeInto(String(sequence).padStart(10, "0"), bytes);
  return bytes;
}

/** The sequence number a sequencePayload carries. */
export function sequenceOf(data: Uint8Array): number {
  let value = 0;
  for (let i = 0; i < 10; i++) value = value * 10 + data[i] - 48;
  return value;
}
