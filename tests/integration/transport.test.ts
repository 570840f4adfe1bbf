// Method: a plain TCP server in this process (node:net) writes a known byte pattern; the runtime's
// transport (src/transport) receives it. Checks the contract NativeParser's in-place payloads rely
// on: a chunk for which onData returned true is never written again, so chunks kept until the end
// still hold exactly the bytes of the stream at their position. Every other chunk is kept too, but
// only copied: on Deno its memory is reused by the next read (that is allowed).
import net from "node:net";
import { assert, runtime, test } from "../shim.ts";
import { openTransport } from "../../src/transport/transport.ts";

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
