// Method: examples/hono/server.ts started as it is (its start(), on this runtime's own server: Bun.serve
// or Deno.serve) against a real redis-server, driven over real HTTP by fetch(); nothing is faked. The
// server subscription is read with PUBSUB NUMSUB through the raw RESP helper. The whole file watches
// console.warn for Deno.serve's "legacy behavior" warning, which fires when a handler read
// request.signal and its response ended well (a stream the server ends; often an abort too): the
// example must take its signal from Deno's `completed` promise instead. sse() also ends a stream
// whose body the server cancels, so the abort test alone would pass without any signal.
import { assert, test, waitFor } from "../shim.ts";
import { start } from "../../examples/hono/server.ts";
import { keySlot, nativeMemory } from "../../src/native/parser.ts";
import { RedisServer } from "../helpers/redis_server.ts";
import { EventStreamClient, numsub, subscribeReceiveAbort, watchLegacyAbortWarning } from "./support.ts";

// Load libpushwire outside any test: Deno's sanitizer counts a library first opened inside a test as a leak.
keySlot("load");
const legacyAbortWarnings = watchLegacyAbortWarning();

test("examples/hono: SSE route receives what the publish route sent; an abort ends the server subscription", async () => {
  const redis = await RedisServer.start();
  const example = await start({ redisUrl: redis.url, port: 0 });
  try {
    await subscribeReceiveAbort(example.url, redis, "hono:news");
    await subscribeReceiveAbort(example.url, redis, "hono:news"); // the route works again after an abort
  } finally {
    await example.stop();
    await redis.stop();
  }
  assert.equal(nativeMemory().liveBytes, 0);
  assert.equal(nativeMemory().liveMessages, 0);
  assert.deepEqual(legacyAbortWarnings(), []);
});

test("examples/hono: a body over 64 KiB is refused with 413 and publishes nothing", async () => {
  const redis = await RedisServer.start();
  const example = await start({ redisUrl: redis.url, port: 0 });
  const stream = await EventStreamClient.open(`${example.url}/channels/hono:limit/events`);
  try {
    await waitFor(async () => (await numsub(redis, "hono:limit")) === 1, "the SSE route's subscription");
    const response = await fetch(`${example.url}/channels/hono:limit`, { method: "POST", body: "x".repeat(64 * 1024 + 1) });
    assert.equal(response.status, 413);
    await response.body?.cancel();
  } finally {
    await stream.abort();
    await example.stop();
    await redis.stop();
  }
  assert.deepEqual(stream.parser.events, []);
});

test("examples/hono: stopping the example ends open streams without Deno.serve's legacy-abort warning", async () => {
  const redis = await RedisServer.start();
  const example = await start({ redisUrl: redis.url, port: 0 });
  try {
    const stream = await EventStreamClient.open(`${example.url}/channels/hono:stop/events`);
    await waitFor(async () => (await numsub(redis, "hono:stop")) === 1, "the SSE route's subscription");
    const stopped = example.stop(); // the client closes: sse() ends the body, a response that ended well
    await stream.readToEnd();
    await stopped;
  } finally {
    await example.stop();
    await redis.stop();
  }
  assert.deepEqual(legacyAbortWarnings(), []);
  assert.equal(nativeMemory().liveBytes, 0);
});
