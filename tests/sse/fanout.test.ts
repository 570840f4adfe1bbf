// Method: everything real — a redis-server (RedisServer.start), pushwire's client, sse() served by
// this runtime's own HTTP server (Bun.serve / Deno.serve on 127.0.0.1:0) and 200 streaming fetch()
// clients. Messages are published and PUBSUB NUMSUB is read through the independent raw RESP client,
// so pushwire's parser cannot vouch for itself. Each HTTP client gets its own client.subscribe(): the
// client's refcount must still hold exactly one server subscription, and drop it with the last one.
import { assert, test, waitFor } from "../shim.ts";
import { connect } from "../../mod.ts";
import { openSSE, type SSEStats, type SSEStream } from "../../src/sse.ts";
import { keySlot, nativeMemory } from "../../src/native/parser.ts";
import { RedisServer } from "../helpers/redis_server.ts";
import { asText, RawConnection } from "../helpers/raw_resp.ts";
import { EventStreamParser, readEvents } from "./helpers.ts";
import { serve } from "./http.ts";

// Load libpushwire outside any test: Deno's sanitizer counts a library first opened inside a test as a leak.
keySlot("load");

const clientCount = 200;
const channel = "sse:fanout";

async function numsub(redis: RedisServer, name: string): Promise<number> {
  const reply = asText(await redis.command("PUBSUB", "NUMSUB", name)) as [string, number];
  return reply[1];
}

test("sse fan-out: 200 streaming clients, one server subscription, every event exactly and in order", async () => {
  const redis = await RedisServer.start();
  const hooks = { occupied: 0, vacated: 0 };
  const client = await connect(redis.url, {
    onOccupied: () => hooks.occupied++,
    onVacated: () => hooks.vacated++,
  });
  const streams: SSEStream[] = [];
  const subscribed: Promise<unknown>[] = [];
  const server = await serve((request) => {
    const subscription = client.subscribe(channel);
    subscribed.push(subscription);
    const stream = openSSE(subscription, { signal: request.signal, event: "channel" });
    streams.push(stream);
    return stream.response;
  });
  const publisher = await RawConnection.connect(redis.port);
  const aborts = Array.from({ length: clientCount }, () => new AbortController());
  try {
    const readers = await Promise.all(aborts.map(async (abort) => {
      const response = await fetch(`${server.url}/`, { signal: abort.signal });
      assert.equal(response.headers.get("content-type"), "text/event-stream; charset=utf-8");
      return { reader: response.body!.getReader(), parser: new EventStreamParser() };
    }));
    await waitFor(() => subscribed.length === clientCount, "every request reached the handler");
    await Promise.all(subscribed);
    assert.equal(await numsub(redis, channel), 1, "one server subscription for 200 local ones");
    assert.equal(hooks.occupied, 1);

    const payloads = Array.from({ length: 40 }, (_, index) => {
      const variants = [
        `plain ${index}`,
        `two\nlines ${index}`,
        `crlf\r\nline ${index}\r\n`,
        `ünïcödé ✓ 日本語 🎉 ${index}`,
        `  leading spaces, data: inside\n\n${index}`,
      ];
      return variants[index % variants.length];
    });
    const expected = payloads.map((payload) => payload.replace(/\r\n|\r/g, "\n"));
    const replies = await publisher.pipeline(payloads.map((payload) => ["PUBLISH", channel, payload]));
    assert.deepEqual(replies, payloads.map(() => 1), "redis counts one receiver: the shared subscription");

    await Promise.all(readers.map(({ reader, parser }) =>
      readEvents(reader, parser, (p) => p.events.length >= payloads.length)
    ));
    for (const { parser } of readers) {
      assert.deepEqual(parser.events.map((event) => event.data), expected);
      assert.deepEqual(parser.events.map((event) => event.lastEventId), payloads.map((_, index) => String(index + 1)));
      assert.ok(parser.events.every((event) => event.type === channel));
    }
    for (const stream of streams) assert.equal(stream.stats().sent, payloads.length);

    // The clients leave. Abort AND cancel: Deno's fetch keeps the connection open on abort() alone
    // once its body has been read from (observed with Deno 2.9.6), so the server would never know.
    for (const abort of aborts) abort.abort();
    await Promise.all(readers.map(({ reader }) => reader.cancel().catch(() => {})));
    const finals: SSEStats[] = await Promise.all(streams.map((stream) => stream.done));
    for (const stats of finals) {
      assert.ok(stats.closeReason === "aborted" || stats.closeReason === "cancelled", String(stats.closeReason));
    }
    await waitFor(async () => (await numsub(redis, channel)) === 0, "NUMSUB 0 after every client left");
    await waitFor(() => hooks.vacated === 1, "onVacated");
    assert.equal(hooks.vacated, 1, "onVacated fired once, for the last leaver");
    assert.equal(hooks.occupied, 1);
  } finally {
    for (const abort of aborts) abort.abort();
    await publisher.close();
    await client.close();
    await server.stop();
    await redis.stop();
  }
  assert.equal(nativeMemory().liveBytes, 0, "every native message freed");
});
