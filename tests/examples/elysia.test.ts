// Method: examples/elysia/server.ts started as it is (its start(): Elysia's listen(), i.e. Bun.serve)
// against a real redis-server, driven over real HTTP by fetch(); nothing is faked. The server
// subscription is read with PUBSUB NUMSUB through the raw RESP helper. Bun only: Elysia's listen()
// serves with Bun.serve (its default adapter), so under Deno the tests are skipped and say why.
import { assert, runtime, test, waitFor } from "../shim.ts";
import { keySlot, nativeMemory } from "../../src/native/parser.ts";
import { RedisServer } from "../helpers/redis_server.ts";
import { EventStreamClient, numsub, subscribeReceiveAbort } from "./support.ts";

// Load libpushwire outside any test: Deno's sanitizer counts a library first opened inside a test as a leak.
keySlot("load");

const skip = runtime === "deno" ? "Elysia serves with Bun.serve (listen()); the example is for Bun" : false;
// Imported only where it runs.
const startExample = async () => (await import("../../examples/elysia/server.ts")).start;

test("examples/elysia: SSE route receives what the publish route sent; an abort ends the server subscription", async () => {
  const redis = await RedisServer.start();
  const example = await (await startExample())({ redisUrl: redis.url, port: 0 });
  try {
    await subscribeReceiveAbort(example.url, redis, "elysia:news");
    await subscribeReceiveAbort(example.url, redis, "elysia:news"); // the route works again after an abort
  } finally {
    await example.stop();
    await redis.stop();
  }
  assert.equal(nativeMemory().liveBytes, 0);
  assert.equal(nativeMemory().liveMessages, 0);
}, { skip });

test("examples/elysia: a body over 64 KiB is refused with 413 and publishes nothing", async () => {
  const redis = await RedisServer.start();
  const example = await (await startExample())({ redisUrl: redis.url, port: 0 });
  const stream = await EventStreamClient.open(`${example.url}/channels/elysia:limit/events`);
  try {
    await waitFor(async () => (await numsub(redis, "elysia:limit")) === 1, "the SSE route's subscription");
    const response = await fetch(`${example.url}/channels/elysia:limit`, { method: "POST", body: "x".repeat(64 * 1024 + 1) });
    assert.equal(response.status, 413);
    await response.body?.cancel();
  } finally {
    await stream.abort();
    await example.stop();
    await redis.stop();
  }
  assert.deepEqual(stream.parser.events, []);
}, { skip });

test("examples/elysia: stopping the example ends open streams", async () => {
  const redis = await RedisServer.start();
  const example = await (await startExample())({ redisUrl: redis.url, port: 0 });
  try {
    const stream = await EventStreamClient.open(`${example.url}/channels/elysia:stop/events`);
    await waitFor(async () => (await numsub(redis, "elysia:stop")) === 1, "the SSE route's subscription");
    const stopped = example.stop();
    await stream.readToEnd();
    await stopped;
  } finally {
    await example.stop();
    await redis.stop();
  }
  assert.equal(nativeMemory().liveBytes, 0);
}, { skip });
