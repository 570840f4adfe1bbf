// Payloads that outlive their socket read: a Frame's data may be a view of the read it arrived in
// (src/native/parser.ts, Frame.data), so a frame kept long in a buffer keeps that whole read alive.
// A subscription nobody reads, or one that stalled, moves its frames' payloads here instead.
// Rule: a copy, never a move of anything else; the slab a copy lives in is kept alive by the frames
// in it only, and buffers drop their oldest frames first, so old slabs go as their frames go.

/** Copies up to this size share slabs; a bigger payload gets a buffer of its own. */
const slabCopyMaxBytes = 4 * 1024;
/**
 * One allocation per many payloads: a small ArrayBuffer each costs ~0.8 KiB beyond its bytes in both
 * engines (16,384 copies of 512 B: 21.8 MiB RSS on Deno, 18.1 on Bun, against 14.8 / 11.4 in one
 * slab), which is most of what a full 8 MiB buffer of small messages would cost.
 */
const slabBytes = 64 * 1024;

export class PayloadSlabs {
  #slab: Uint8Array | undefined;
  #offset = 0;

  /** `data` itself when it owns its buffer already, else a copy that pins nothing else. */
  detach(data: Uint8Array): Uint8Array {
    const length = data.byteLength;
    if (length === data.buffer.byteLength) return data;
    if (length > slabCopyMaxBytes) return data.slice();
    let slab = this.#slab;
    if (slab === undefined || this.#offset + length > slab.length) {
      slab = this.#slab = new Uint8Array(slabBytes);
      this.#offset = 0;
    }
    const start = this.#offset;
    slab.set(data, start);
    this.#offset = start + length;
    return slab.subarray(start, start + length);
  }
}
