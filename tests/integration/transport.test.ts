// Method: a plain TCP server in this process (node:net) writes a known byte pattern; the runtime's
// transport (src/transport) receives it. Checks the contract NativeParser's in-place payloads rely
// on: a chunk for which onData returned true is never written again, so chunks kept until the end
// still hold exactly the bytes of the stream at their position. Every other chunk is kept too, but
// only copied: on Deno its memory is reused by the next read (that is allowed).
import net from "node:net";
import { assert, runtime, test } from "../shim.ts";
import { openTransport } from "../../src/transport/open.ts";

const STREAM_BYTES = 8 * 1024 * 1024;

function patternAt(position: number): number {
  // Not periodic at any chunk size a socket would use: a chunk written twice shows.
  return (position * 2654435761 + (position >>> 13)) >>> 24;
}

test(`transport: a chunk onData keeps is never written again (${runtime})`, async () => {
  const stream = new Uint8Array(STREAM_BYTES);
  for (let at = 0; at < stream.length; at++) stream[at] = patternAt(at);
  const server = net.createServer((socket) => socket.end(stream));
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const port = (server.address() as net.AddressInfo).port;
  const kept: { at: number; chunk: Uint8Array; copy: Uint8Array; keep: boolean }[] = [];
  let received = 0;
  let closed!: () => void;
  const done = new Promise<void>((resolve) => (closed = resolve));
  try {
    const transport = await openTransport({ endpoint: { kind: "tcp", host: "127.0.0.1", port }, tls: undefined }, {
      onData(chunk) {
        // Keep every other chunk: the transport must handle both answers in one stream.
        const keep = kept.length % 2 === 0;
        kept.push({ at: received, chunk, copy: chunk.slice(), keep });
        received += chunk.length;
        return keep;
      },
      onClose: () => closed(),
    });
    await done;
    await transport.close();
    assert.equal(received, STREAM_BYTES);
    assert.ok(kept.length > 2, "the stream should arrive in several chunks");
    for (const { at, chunk, copy, keep } of kept) {
      assert.deepEqual(copy, stream.subarray(at, at + copy.length), `chunk at ${at} differs from the stream`);
      if (!keep) continue;
      if (chunk.length !== copy.length || !chunk.every((byte, index) => byte === copy[index])) {
        assert.fail(`the chunk at ${at} was written after onData returned`);
      }
    }
  } finally {
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }
});

test(`transport: after a kept chunk the next read goes into fresh memory, not a new buffer per read (${runtime})`, async () => {
  // Small reads (a server writing 1 KiB pieces with pauses), each kept. Deno must read on into the
  // unused rest of its buffer: a new 256 KiB buffer per kept read cost 44 µs each. Bun reads every
  // chunk into memory of its own anyway. Either way no kept chunk overlaps another.
  const pieces = 12;
  const piece = new Uint8Array(1024).fill(7);
  const server = net.createServer(async (socket) => {
    for (let index = 0; index < pieces; index++) {
      socket.write(piece);
      await new Promise((resolve) => setTimeout(resolve, 15));
    }
    socket.end();
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const port = (server.address() as net.AddressInfo).port;
  const chunks: Uint8Array[] = [];
  let closed!: () => void;
  const done = new Promise<void>((resolve) => (closed = resolve));
  try {
    const transport = await openTransport({ endpoint: { kind: "tcp", host: "127.0.0.1", port }, tls: undefined }, {
      onData(chunk) {
        chunks.push(chunk);
        return true;
      },
      onClose: () => closed(),
    });
    await done;
    await transport.close();
    assert.equal(chunks.reduce((sum, chunk) => sum + chunk.length, 0), pieces * piece.length);
    assert.ok(chunks.length > 2, `the pieces should arrive in several reads, got ${chunks.length}`);
    const buffers = new Set(chunks.map((chunk) => chunk.buffer));
    for (let index = 1; index < chunks.length; index++) {
      const before = chunks[index - 1];
      const chunk = chunks[index];
      if (chunk.buffer !== before.buffer) continue;
      assert.ok(chunk.byteOffset >= before.byteOffset + before.length, `read ${index} overlaps the kept read before it`);
    }
    if (runtime === "deno") assert.equal(buffers.size, 1, `${chunks.length} small kept reads used ${buffers.size} buffers`);
  } finally {
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }
});

test(`transport: reads go straight into readTarget while it offers room (Deno; Bun ignores it) (${runtime})`, async () => {
  // The stream: 64 KiB of pattern. While the consumer offers a 40 KiB target, Deno must read into it
  // (never past its end) and pass onData a view of it; afterwards it reads into its own buffer again.
  // Bun hands over its own chunks and never writes to the target.
  const stream = new Uint8Array(64 * 1024);
  for (let at = 0; at < stream.length; at++) stream[at] = patternAt(at);
  const server = net.createServer((socket) => socket.end(stream));
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const port = (server.address() as net.AddressInfo).port;
  const target = new Uint8Array(40 * 1024);
  let filled = 0;
  const chunks: { chunk: Uint8Array; copy: Uint8Array }[] = [];
  let closed!: () => void;
  const done = new Promise<void>((resolve) => (closed = resolve));
  try {
    const transport = await openTransport({ endpoint: { kind: "tcp", host: "127.0.0.1", port }, tls: undefined }, {
      readTarget: () => (filled < target.length ? target.subarray(filled) : undefined),
      onData(chunk) {
        chunks.push({ chunk, copy: chunk.slice() });
        const intoTarget = chunk.buffer === target.buffer;
        if (intoTarget) {
          assert.equal(chunk.byteOffset, filled, "a read into the target starts where the last one ended");
          filled += chunk.length;
        } else if (filled < target.length) {
          filled = target.length; // Bun: the target was not used; stop offering it
        }
        return true;
      },
      onClose: () => closed(),
    });
    await done;
    await transport.close();
    let at = 0;
    for (const { copy } of chunks) {
      assert.deepEqual(copy, stream.subarray(at, at + copy.length), `chunk at ${at} differs from the stream`);
      at += copy.length;
    }
    assert.equal(at, stream.length);
    const intoTarget = chunks.filter(({ chunk }) => chunk.buffer === target.buffer);
    if (runtime === "deno") {
      assert.equal(intoTarget.reduce((sum, { chunk }) => sum + chunk.length, 0), target.length, "the target was filled exactly");
      assert.deepEqual(target, stream.subarray(0, target.length));
      assert.ok(chunks.length > intoTarget.length, "after the target, reads go to the transport's own buffer");
    } else {
      assert.equal(intoTarget.length, 0);
      assert.ok(target.every((byte) => byte === 0), "Bun never writes to the target");
    }
  } finally {
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }
});
