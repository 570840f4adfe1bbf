// Method: a real cluster-enabled redis-server (one node; CLUSTER KEYSLOT needs no assigned slots) is
// the oracle; keySlot() from the Zig core must agree for 10,000 random names: ASCII, UTF-8, raw binary
// bytes and every hash-tag shape ({tag}, {}, unclosed {, nested and repeated braces). The KEYSLOT
// commands are pipelined through the independent raw client, so pushwire's own parser is not involved.
import { assert, runtime, test } from "../shim.ts";
import { RedisServer } from "../helpers/redis_server.ts";
import { clusterKeySlots } from "../helpers/redis_cluster.ts";
import { keySlot } from "../../src/native/parser.ts";

const encoder = new TextEncoder();
// Load libpushwire before any test runs: Deno's resource sanitizer counts a library opened inside a
// test (and kept open for the process, as the loader caches it) as a leak of that test.
keySlot("load the native library");

/** A deterministic generator (mulberry32), so a failure names a reproducible seed. */
function random(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let value = state;
    value = Math.imul(value ^ (value >>> 15), value | 1);
    value ^= value + Math.imul(value ^ (value >>> 7), value | 61);
    return ((value ^ (value >>> 14)) >>> 0) / 4_294_967_296;
  };
}

function randomName(next: () => number): Uint8Array {
  const pick = (text: string) => text[Math.floor(next() * text.length)];
  const shape = Math.floor(next() * 6);
  const ascii = (length: number) => Array.from({ length }, () => pick("abcdefghijklmnopqrstuvwxyz0123456789:._-")).join("");
  const binary = (length: number) => Uint8Array.from({ length }, () => Math.floor(next() * 256));
  const length = Math.floor(next() * 24);
  switch (shape) {
    case 0:
      return encoder.encode(ascii(length));
    case 1: // a hash tag somewhere
      return encoder.encode(`${ascii(length % 5)}{${ascii(length % 7)}}${ascii(length)}`);
    case 2: // braces in awkward places: {}, unclosed, nested, repeated
      return encoder.encode(Array.from({ length }, () => pick("ab{}{}x")).join(""));
    case 3:
      return encoder.encode(Array.from({ length }, () => pick("é中😀ß{}")).join(""));
    case 4: { // raw bytes, sometimes with a tag of raw bytes
      const bytes = binary(length);
      if (next() < 0.5 || length < 4) return bytes;
      bytes[1] = 123; // {
      bytes[length - 1] = 125; // }
      return bytes;
    }
    default:
      return encoder.encode(`{user${Math.floor(next() * 1000)}}.${ascii(length)}`);
  }
}

test(`cluster slot: keySlot matches CLUSTER KEYSLOT for 10,000 random names (${runtime})`, async () => {
  const server = await RedisServer.start({ args: ["--cluster-enabled", "yes"] });
  try {
    const seed = 20_240_601;
    const next = random(seed);
    const names = Array.from({ length: 10_000 }, () => randomName(next));
    names.push(new Uint8Array(0), encoder.encode("{}"), encoder.encode("{"), encoder.encode("}{a}"));
    const expected = await clusterKeySlots(server.port, names);
    let mismatches = 0;
    for (const [index, name] of names.entries()) {
      if (keySlot(name) === expected[index]) continue;
      if (++mismatches <= 5) console.error(`seed ${seed}: ${JSON.stringify([...name])} → ${keySlot(name)}, server says ${expected[index]}`);
    }
    assert.equal(mismatches, 0);
    // Strings go through the same UTF-8 encoding the client uses on the wire.
    assert.equal(keySlot("é中{😀}x"), keySlot(encoder.encode("😀")));
  } finally {
    await server.stop();
  }
});
