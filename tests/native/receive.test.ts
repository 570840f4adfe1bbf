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

const assembleMinBytes = loadLibrary().batchStrategy.assembleMinBytes;

/** Splits `stream` at the given offsets; each piece is its own buffer, as a socket read is. */
function piecesAt(stream: Uint8Array, cuts: number[]): Uint8Array[] {
  const edges = [0, ...cuts, stream.length];
  return edges.slice(1).map((end, index) => stream.slice(edges[index], end));
}

test(`receive: a long frame cut by chunk ends is assembled once, in a buffer of its own; the core buffers none of it (${runtime})`, () => {
  assert.ok(assembleMinBytes >= inPlaceMinBytes && assembleMinBytes > 0, `assembleMinBytes ${assembleMinBytes}`);
  const payloadBytes = (index: number) => assembleMinBytes + index * 700;
  const frameBytes = (index: number) => push(bulk("message"), bulk(`c${index % 3}`), bulk(new Uint8Array(payloadBytes(index)))).length;
  const stream = messages(12, payloadBytes);
  const expected = parsePlain(stream);
  // Chunks smaller than most frames (a frame may span four), and larger.
  for (const size of [Math.floor(assembleMinBytes / 3) + 1, Math.floor(assembleMinBytes * 0.8), assembleMinBytes + 4096, 3 * assembleMinBytes]) {
    withParser({ retainedInput: true }, (parser) => {
      const frames: Frame[] = [];
      const chunks = chunksOf(stream, size);
      const chunkBuffers = new Set(chunks.map((chunk) => chunk.buffer));
      let mostBuffered = 0;
      let assembling = 0;
      for (const chunk of chunks) {
        parser.receive(chunk, (frame) => frames.push(frame), true);
        const stats = parser.stats();
        mostBuffered = Math.max(mostBuffered, stats.bufferedBytes);
        if (stats.assemblingBytes > 0) assembling++;
      }
      assert.deepEqual(frames.map(plain), expected, `chunks of ${size} bytes`);
      const stats = parser.stats();
      assert.equal(stats.bufferedBytes, 0);
      assert.equal(stats.assemblingBytes, 0);
      assert.equal(stats.totalBytesFed, stream.length);
      assert.ok(assembling > 0, `chunks of ${size}: no frame was being assembled between chunks`);
      // Only a frame cut inside its first bytes (its length not known yet) goes through the core.
      assert.ok(mostBuffered < 64, `chunks of ${size}: ${mostBuffered} bytes buffered in the core`);
      // Each payload is a view: of its chunk, or of the buffer its frame was assembled in, which
      // holds that frame and nothing else.
      const assembled = frames.filter((frame, index) => {
        if (chunkBuffers.has(frame.data.buffer)) return false;
        assert.equal(frame.data.buffer.byteLength, frameBytes(index), `frame ${index}: a view of its own frame's bytes`);
        return true;
      });
      assert.ok(assembled.length >= 3, `chunks of ${size}: ${assembled.length} frames assembled`);
    });
  }
});

test(`receive: a chunk that only completes an assembled frame is not kept (${runtime})`, () => {
  const stream = messages(1, () => assembleMinBytes + 1000);
  withParser({ retainedInput: true }, (parser) => {
    const [first, second] = piecesAt(stream, [2000]);
    const frames: Frame[] = [];
    assert.equal(parser.receive(first, (frame) => frames.push(frame), true), 0);
    assert.equal(parser.stats().assemblingBytes, 2000);
    assert.equal(parser.receive(second, (frame) => frames.push(frame), true), 1);
    assert.equal(parser.inputKept, false);
    assert.notEqual(frames[0].data.buffer, first.buffer);
    assert.notEqual(frames[0].data.buffer, second.buffer);
    assert.deepEqual(frames.map(plain), parsePlain(stream));
  });
});

test(`receive: bytes read straight into readTarget() complete an assembled frame without a copy (${runtime})`, () => {
  const stream = messages(2, (index) => (index === 0 ? assembleMinBytes + 5000 : 40));
  const frameLength = push(bulk("message"), bulk("c0"), bulk(new Uint8Array(assembleMinBytes + 5000))).length;
  withParser({ retainedInput: true }, (parser) => {
    assert.equal(parser.readTarget(), undefined, "nothing is being assembled");
    const frames: Frame[] = [];
    const sink = (frame: Frame) => frames.push(frame);
    assert.equal(parser.receive(stream.slice(0, 3000), sink, true), 0);
    const target = parser.readTarget()!;
    assert.equal(target.length, frameLength - 3000);
    // The transport's part: read the next bytes into the target, then hand over that view.
    const copies: unknown[] = [];
    const set = Uint8Array.prototype.set;
    Uint8Array.prototype.set = function (this: Uint8Array, ...args: Parameters<typeof set>) {
      copies.push(args);
      return set.apply(this, args);
    };
    try {
      for (let at = 0; at < 1000; at++) target[at] = stream[3000 + at];
      assert.equal(parser.receive(target.subarray(0, 1000), sink, true), 0);
      const rest = parser.readTarget()!;
      assert.equal(rest.buffer, target.buffer);
      assert.equal(rest.byteOffset, target.byteOffset + 1000);
      for (let at = 0; at < rest.length; at++) rest[at] = stream[4000 + at];
      assert.equal(parser.receive(rest, sink, true), 1);
    } finally {
      Uint8Array.prototype.set = set;
    }
    assert.equal(copies.length, 0, "bytes already in place were copied again");
    assert.equal(parser.readTarget(), undefined);
    assert.equal(frames[0].data.buffer, target.buffer);
    assert.equal(parser.receive(stream.slice(frameLength), sink, true), 1);
    assert.deepEqual(frames.map(plain), parsePlain(stream));
    assert.equal(parser.stats().assemblingBytes + parser.stats().bufferedBytes, 0);
  });
});

test(`receive: a sink that throws around an assembled frame loses nothing and keeps the order (${runtime})`, () => {
  // One small frame, a long one cut twice, then small ones: the sink throws at each position in turn.
  const stream = messages(8, (index) => (index === 1 ? assembleMinBytes + 6000 : 10));
  const expected = parsePlain(stream);
  const first = push(bulk("message"), bulk("c0"), bulk(new Uint8Array(10))).length;
  for (let throwAt = 0; throwAt < 8; throwAt++) {
    withParser({ retainedInput: true }, (parser) => {
      const seen: Frame[] = [];
      let calls = 0;
      const sink = (frame: Frame) => {
        if (calls++ === throwAt) throw new Error("consumer failed");
        seen.push(frame);
      };
      for (const chunk of piecesAt(stream, [first + 100, first + 3000 + assembleMinBytes / 2])) {
        try {
          parser.receive(chunk, sink, true);
        } catch (error) {
          assert.match(String(error), /consumer failed/);
        }
      }
      parser.drain(sink);
      assert.equal(calls, 8, `throw at ${throwAt}`);
      assert.deepEqual(seen.map(plain), expected.filter((_, index) => index !== throwAt));
      assert.equal(parser.stats().assemblingBytes + parser.stats().bufferedBytes, 0);
    });
  }
});

test(`receive: feed() while a frame is assembled keeps the stream's order; reset() drops it (${runtime})`, () => {
  const stream = messages(3, (index) => (index === 0 ? assembleMinBytes + 5000 : 20));
  const [first, second] = piecesAt(stream, [1500]);
  withParser({ retainedInput: true }, (parser) => {
    assert.equal(parser.receive(first, () => assert.fail("no frame is complete yet"), true), 0);
    assert.equal(parser.stats().assemblingBytes, 1500);
    parser.feed(second);
    assert.equal(parser.stats().assemblingBytes, 0);
    const frames: Frame[] = [];
    parser.drain((frame) => frames.push(frame));
    assert.deepEqual(frames.map(plain), parsePlain(stream));

    parser.receive(first, () => assert.fail("no frame is complete yet"), true);
    parser.reset();
    assert.equal(parser.stats().assemblingBytes, 0);
    const again: Frame[] = [];
    parser.receive(stream, (frame) => again.push(frame), true);
    assert.deepEqual(again.map(plain), parsePlain(stream));
  });
});
