// Method: real redis-server, pushwire's client and sse() on this runtime's HTTP server, read by fetch().
// The server cuts the client's pub/sub connection (CLIENT KILL TYPE pubsub, a real disconnect, not a
// simulation); the stream must say so (`disconnected`, then `reconnected` with downtimeMs) and keep
// delivering afterwards. Then the client closes: the subscription ends and the body ends cleanly.
import { assert, test, waitFor } from "../shim.ts";
import { connect } from "../../mod.ts";
import { openSSE, type SSEStream } from "../../src/sse.ts";
import { keySlot, nativeMemory } from "../../src/native/parser.ts";
import { RedisServer } from "../helpers/redis_server.ts";
import { EventStreamParser, readEvents } from "./helpers.ts";
import { serve } from "./http.ts";

// Load libpushwire outside any test: Deno's sanitizer counts a library first opened inside a test as a leak.
keySlot("load");

test("sse lifecycle: a lost Valkey connection shows as disconnected → reconnected; client close ends the body", async () => {
  const redis = await RedisServer.start();
  const client = await connect(redis.url, { reconnect: { initialDelayMs: 20, maxDelayMs: 100, maxAttempts: 50 } });
  let stream: SSEStream | undefined;
  let subscribed: Promise<unknown> | undefined;
  const server = await serve((request) => {
    subscribed = client.subscribe("sse:life");
    stream = openSSE(subscribed as never, { signal: request.signal, heartbeatMs: 0 });
    return stream.response;
  });
  const response = await fetch(server.url);
  const reader = response.body!.getReader();
  const parser = new EventStreamParser();
  try {
    await waitFor(() => subscribed, "request handled");
    await subscribed;
    assert.equal(await client.publish("sse:life", "before"), 1);
    assert.ok(await readEvents(reader, parser, (p) => p.events.length >= 1));

    await redis.command("CLIENT", "KILL", "TYPE", "pubsub");
    assert.ok(await readEvents(reader, parser, (p) => p.events.some((e) => e.type === "reconnected")));
    const types = parser.events.map((event) => event.type);
    assert.deepEqual(types, ["message", "disconnected", "reconnected"]);
    const reconnected = JSON.parse(parser.events[2].data);
    assert.equal(typeof reconnected.downtimeMs, "number");
    assert.ok(reconnected.downtimeMs >= 0);

    await waitFor(async () => (await client.publish("sse:life", "after")) === 1, "resubscribed", 5_000, 50);
    assert.ok(await readEvents(reader, parser, (p) => p.events.some((e) => e.data === "after")));
    const after = parser.events.find((event) => event.data === "after")!;
    assert.equal(after.lastEventId, "2", "ids continue across the reconnect");

    await client.close();
    assert.equal(await readEvents(reader, parser, () => false), false, "the body ends when the client closes");
    const stats = await stream!.done;
    assert.equal(stats.closeReason, "ended");
  } finally {
    await reader.cancel().catch(() => {});
    await client.close();
    await server.stop();
    await redis.stop();
  }
  assert.equal(nativeMemory().liveBytes, 0, "every native message freed");
});
