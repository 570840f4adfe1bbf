// Method: everything real — a server, pushwire's client, sse() with DEFAULT options on this runtime's
// HTTP server — and two HTTP clients on one channel while 20 MB (20,000 × 1 KiB) are published as
// fast as the server takes them, from a process of its own (tests/helpers/flood_process.ts): a
// fetch() reader that reads as fast as loopback allows, and a raw socket that sends a GET and then
// never reads (StalledClient). The burst is not paced to the reader. What is checked: the reading
// browser gets every event, in order (its stream paces the connection); the stalled one holds up
// nobody once found stalled, and stays within its byte limit with its drops counted.
import { assert, runtime, test, waitFor } from "../shim.ts";
import { connect } from "../../mod.ts";
import { openSSE, type SSEStream } from "../../src/sse.ts";
import { keySlot, nativeMemory } from "../../src/native/parser.ts";
import { RedisServer } from "../helpers/redis_server.ts";
import { asText } from "../helpers/raw_resp.ts";
import { floodFromProcess } from "../helpers/flood_process.ts";
import { sequencePayload } from "../helpers/sequence.ts";
import { EventStreamParser, readEvents } from "./helpers.ts";
import { serve, StalledClient } from "./http.ts";

// Load libpushwire outside any test: Deno's sanitizer counts a library first opened inside a test as a leak.
keySlot("load");

const channel = "sse:flow";
const messageBytes = 1024;
const messageCount = 20_000;
/** sse()'s default maxQueuedBytes (src/sse.ts). */
const defaultMaxQueuedBytes = 1024 * 1024;
const decoder = new TextDecoder();

test(`sse flow: a reading browser beside a stalled one gets every event of a 20 MB burst, with default options (${runtime})`, async () => {
  const redis = await RedisServer.start();
  const client = await connect(redis.url);
  const streams = new Map<string, SSEStream>();
  const subscribed: Promise<unknown>[] = [];
  const server = await serve((request) => {
    const role = new URL(request.url).searchParams.get("role")!;
    const subscription = client.subscribe(channel);
    subscribed.push(subscription);
    const stream = openSSE(subscription, { signal: request.signal });
    streams.set(role, stream);
    return stream.response;
  });
  const stalled = await StalledClient.connect(server.port, "/?role=stalled");
  const fast = await fetch(`${server.url}/?role=fast`);
  const reader = fast.body!.getReader();
  const parser = new EventStreamParser();
  try {
    await waitFor(() => subscribed.length === 2, "both requests handled");
    await Promise.all(subscribed);
    let verified = 0;
    const fastReading = readEvents(reader, parser, (p) => {
      for (const event of p.events) {
        const expected = decoder.decode(sequencePayload(verified, messageBytes));
        if (event.type !== "message" || event.lastEventId !== String(verified + 1) || event.data !== expected) {
          throw new Error(`fast client: event ${verified} differs (type ${event.type}, id ${event.lastEventId})`);
        }
        verified++;
      }
      p.events.length = 0;
      return verified >= messageCount;
    });
    const started = performance.now();
    await floodFromProcess({ port: redis.port, channels: [channel], size: messageBytes, total: messageCount, batch: 1_000 });
    assert.ok(await fastReading, "fast stream still open");
    console.log(`[${runtime}] the reading browser got all ${messageCount} events ${(performance.now() - started).toFixed(0)} ms after the burst started`);

    assert.equal(verified, messageCount);
    const fastStats = streams.get("fast")!.stats();
    assert.equal(fastStats.dropped, 0);
    assert.equal(fastStats.stalls, 0, "a browser that reads is never stalled");

    const stalledStats = streams.get("stalled")!.stats();
    console.log(
      `[${runtime}] stalled stream: sent ${stalledStats.sent}, dropped ${stalledStats.dropped}, queued ${stalledStats.queuedEvents} ` +
        `(peak ${stalledStats.peakQueuedBytes} B), stalls ${stalledStats.stalls}`,
    );
    assert.ok(stalledStats.stalls >= 1, "the stalled browser was found stalled");
    assert.ok(stalledStats.peakQueuedBytes <= defaultMaxQueuedBytes, `peak queued ${stalledStats.peakQueuedBytes} ≤ ${defaultMaxQueuedBytes}`);
    assert.ok(stalledStats.dropped > 0, "what it could not hold was dropped, and counted");
    assert.equal(stalledStats.sent + stalledStats.dropped + stalledStats.queuedEvents, messageCount, "every message accounted for");
    assert.equal(client.stats().reconnects, 0, "the server never cut the client");

    await stalled.destroy();
    await reader.cancel();
    await Promise.all([...streams.values()].map((stream) => stream.done));
    await waitFor(async () => (asText(await redis.command("PUBSUB", "NUMSUB", channel)) as unknown[])[1] === 0, "NUMSUB 0");
  } finally {
    await stalled.destroy();
    await reader.cancel().catch(() => {});
    await client.close();
    await server.stop();
    await redis.stop();
  }
  assert.equal(nativeMemory().liveBytes, 0, "every native message freed");
}, { timeoutMs: 60_000 });
