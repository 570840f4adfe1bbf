// Shared helpers for the integration tests (not a test file): a seeded random source, byte
// comparison, and the native-memory check every test ends with.
import { assert } from "../shim.ts";
import { nativeMemory } from "../../mod.ts";
import { RedisServer } from "../helpers/redis_server.ts";

/** Mulberry32: a small seeded PRNG, so a failing run can be repeated exactly. */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6D2B79F5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export function randomBytes(random: () => number, length: number): Uint8Array {
  const bytes = new Uint8Array(length);
  for (let i = 0; i < length; i++) bytes[i] = Math.floor(random() * 256);
  return bytes;
}

export function sameBytes(left: Uint8Array, right: Uint8Array): boolean {
  if (left.length !== right.length) return false;
  for (let i = 0; i < left.length; i++) if (left[i] !== right[i]) return false;
  return true;
}

/** Every parser closed, no native byte or message left behind. */
export function assertNoNativeMemory(): void {
  const memory = nativeMemory();
  assert.equal(memory.liveBytes, 0, "native live bytes after close");
  assert.equal(memory.liveMessages, 0, "native live messages after close");
  assert.equal(memory.openParsers, 0, "open native parsers after close");
}

/** Runs `body` against a fresh redis-server, stops it afterwards, then checks native memory. */
export async function withServer(
  body: (server: RedisServer) => Promise<void>,
  args: string[] = [],
): Promise<void> {
  const server = await RedisServer.start({ args });
  try {
    await body(server);
  } finally {
    await server.stop();
  }
  assertNoNativeMemory();
}

/** Number of server subscribers of `channel` (PUBSUB NUMSUB through the independent client). */
export async function numsub(server: RedisServer, channel: string): Promise<number> {
  const reply = await server.command("PUBSUB", "NUMSUB", channel) as unknown[];
  return Number(reply[1]);
}
