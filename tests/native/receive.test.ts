// Method: real libpushwire through this runtime's FFI adapter, driven the way a connection drives it:
// NativeParser.receive(chunk, sink, retained) — pw_feed_next_batch, which reads message pushes from
// the chunk itself, leaves the rest of a chunk untaken when a batch fills, and (on Bun, with
// retainedInput) hands out long payloads as views of the chunk. Every test compares with the frames
// feed() + drain() give for the same bytes.
import { assert, runtime, test } from "../shim.ts";
import type { Frame } from "../../src/frame.ts";
import { loadLibrary } from "../../src/native/load.ts";
import { bulk, bytes, integer, parsePlain, plain, push, withParser } from "./resp.ts";

const inPlaceMinBytes = loadLibrary().batchStrategy.inPlaceMinBytes;

function messages(count: number, payloadBytes: (index: number) => number): Uint8Array {
  const parts: Uint8Array[] = [];
  for (let index = 0; index < count; index++) {
    const payload = new Uint8Array(payloadBytes(index)).fill(65 + (index % 26));
    payload.set(new TextEncoder().encode(String(index)).subarray(0, payload.length));
    parts.push(push(bulk("message"), bulk(`c${index % 3}`), bulk(payload)));
  }
  return bytes(...parts);
}

/** Splits `stream` into chunks of the given sizes (the last takes the rest). */
function chunksOf(stream: Uint8Array, size: number): Uint8Array[] {
  const chunks: Uint8Array[] = [];
  // Copies: each chunk is its own buffer, as a socket read is.
  for (let at = 0; at < stream.length; at += size) chunks.push(stream.slice(at, at + size));
  return chunks;
}

test(`receive: one chunk of 3,000 messages (three full batches) gives every frame, nothing left buffered (${runtime})`, () => {
  const stream = messages(3000, (index) => index % 50);
  const expected = parsePlain(stream);
  withParser({ retainedInput: true }, (parser) => {
    const frames: Frame[] = [];
    assert.equal(parser.receive(stream, (frame) => frames.push(frame), true), 3000);
    assert.deepEqual(frames.map(plain), expected);
    assert.equal(parser.stats().bufferedBytes, 0);
    assert.equal(parser.stats().totalBytesFed, stream.length);
  });
});

test(`receive: frames cut at every chunk size from 1 to 300 bytes stay exact (${runtime})`, () => {
  const stream = messages(40, (index) => (index * 37) % 1500);
  const expected = parsePlain(stream);
  for (let size = 1; size <= 300; size += size < 40 ? 1 : 13) {
    withParser({ retainedInput: true }, (parser) => {
      const frames: Frame[] = [];
      for (const chunk of chunksOf(stream, size)) parser.receive(chunk, (frame) => frames.push(frame), true);
      assert.deepEqual(frames.map(plain), expected, `chunks of ${size} bytes`);
      assert.equal(parser.stats().bufferedBytes, 0);
    });
  }
});

test(`receive: long payloads are views of the retained chunk; not retained, they are copies (${runtime})`, () => {
  const stream = messages(20, (index) => (index % 2 === 0 ? 2048 : 16));
  const expected = parsePlain(stream);
  for (const retained of [true, false]) {
    withParser({ retainedInput: true }, (parser) => {
      const chunk = stream.slice();
      const frames: Frame[] = [];
      parser.receive(chunk, (frame) => frames.push(frame), retained);
      assert.deepEqual(frames.map(plain), expected);
      const views = frames.filter((frame) => frame.data.buffer === chunk.buffer).length;
      const expectViews = retained && inPlaceMinBytes > 0 ? 10 : 0;
      assert.equal(views, expectViews, `views of the chunk (retained: ${retained}, inPlaceMinBytes ${inPlaceMinBytes})`);
      assert.equal(parser.inputKept, expectViews > 0);
    });
  }
});

test(`receive: after a frame the fast path declines, later chunks are still read in place (${runtime})`, () => {
  // A subscribe confirmation shares the first chunk with messages; every chunk cuts a message. The
  // core once left each cut message half-read by its general reader, and from then on buffered
  // every chunk whole: right frames, but copied (on Bun, no payload was a view of its chunk any more).
  const stream = bytes(push(bulk("subscribe"), bulk("c0"), integer(1)), messages(40, () => 2048));
  const expected = parsePlain(stream);
  withParser({ retainedInput: true }, (parser) => {
    const frames: Frame[] = [];
    const chunks = chunksOf(stream, 9000);
    const viewsPerChunk = chunks.map((chunk) => {
      let views = 0;
      parser.receive(chunk, (frame) => {
        frames.push(frame);
        if (frame.data.buffer === chunk.buffer) views++;
      }, true);
      return views;
    });
    assert.deepEqual(frames.map(plain), expected);
    assert.equal(parser.stats().bufferedBytes, 0);
    // Each later chunk holds at least three whole frames; at most one of them is read from the
    // parser's buffer (the bytes taken to complete a cut frame whose length was not known yet).
    const later = viewsPerChunk.slice(1, -1);
    if (inPlaceMinBytes > 0) assert.ok(later.every((views) => views >= 2), `views per chunk: ${viewsPerChunk}`);
    else assert.ok(viewsPerChunk.every((views) => views === 0), `views per chunk: ${viewsPerChunk}`);
  });
});

test(`receive: a sink that throws while part of the chunk is untaken loses nothing (${runtime})`, () => {
  const stream = messages(2500, () => 8);
  withParser({ retainedInput: true }, (parser) => {
    const seen: number[] = [];
    assert.throws(() =>
      parser.receive(stream, (frame) => {
        seen.push(Number(frame.text().replace(/[A-Z]+$/, "")));
        if (seen.length === 100) throw new Error("consumer failed");
      }, true), /consumer failed/);
    // The rest of the first batch waits in the parser, the untaken bytes in its buffer.
    parser.drain((frame) => seen.push(Number(frame.text().replace(/[A-Z]+$/, ""))));
    assert.equal(seen.length, 2500);
    assert.deepEqual(seen, Array.from({ length: 2500 }, (_, index) => index));
  });
});
