// Method: everything real — a redis-server (RedisServer.start), pushwire's client, the pushwire/ws
// bridge served by this runtime's own HTTP server (Bun.serve with native topics / Deno.serve with
// Deno.upgradeWebSocket) and 500 of the runtime's own WebSocket clients. Messages are published and
// PUBSUB NUMSUB is read through the independent raw RESP client, so pushwire cannot vouch for itself.
// Default bridge options throughout.
import { assert, test, waitFor } from "../shim.ts";
import { keySlot } from "../../src/native/parser.ts";
import type { RedisServer } from "../helpers/redis_server.ts";
import { asText } from "../helpers/raw_resp.ts";
import { withBridge } from "./helpers.ts";

// Load libpushwire outside any test: Deno's sanitizer counts a library first opened inside a test as a leak.
keySlot("load");

const socketCount = 500;

async function numsub(redis: RedisServer, name: string): Promise<number> {
  return (asText(await redis.command("PUBSUB", "NUMSUB", name)) as [string, number])[1];
}

async function numpat(redis: RedisServer): Promise<number> {
  return Number(asText(await redis.command("PUBSUB", "NUMPAT")));
}

test("ws fan-out: 500 sockets on one topic get every message in order over one server subscription, 0 after they close", () =>
  withBridge({}, async ({ redis, bridge, publisher, browsers: open }) => {
    const browsers = await open(socketCount);
    await Promise.all(browsers.map((browser) => browser.subscribe("room:fanout")));
    assert.equal(await numsub(redis, "room:fanout"), 1, "one server subscription for 500 sockets");
    assert.equal(bridge.stats().topics, 1);

    const payloads = Array.from({ length: 200 }, (_, index) => index % 3 === 0 ? `ünïcödé ✓ ${index}` : `message ${index}`);
    const replies = await publisher.pipeline(payloads.map((payload) => ["PUBLISH", "room:fanout", payload]));
    assert.deepEqual(replies, payloads.map(() => 1), "redis counts one receiver: the bridge");
    await waitFor(() => browsers.every((browser) => browser.of("message").length >= payloads.length), "every socket got 200", 20_000);
    for (const browser of browsers) {
      const messages = browser.of("message");
      assert.deepEqual(messages.map((frame) => frame.data), payloads);
      assert.ok(messages.every((frame) => frame.topic === "room:fanout" && frame.channel === "room:fanout" && frame.kind === "channel"));
    }
    const stats = bridge.stats();
    assert.equal(stats.messages, payloads.length, "each message came from Valkey once");
    assert.equal(stats.deliveries, payloads.length * socketCount);
    assert.equal(stats.dropped, 0);

    await Promise.all(browsers.map((browser) => browser.close()));
    await waitFor(() => bridge.stats().sockets === 0, "the bridge saw every close");
    await waitFor(async () => (await numsub(redis, "room:fanout")) === 0, "NUMSUB 0 after the last socket closed");
    assert.equal(bridge.stats().topics, 0);
  }), { timeoutMs: 60_000 });

test("ws topics: channel, pattern and shard topics; unsubscribe by the last socket removes the server subscription", () =>
  withBridge({}, async ({ redis, publisher, browsers }) => {
    const [first, second] = await browsers(2);
    await first.subscribe("news.*", "pattern");
    await second.subscribe("news.*", "pattern");
    await first.subscribe("shard:a", "shard");
    assert.equal(await numpat(redis), 1, "one PSUBSCRIBE for two sockets");
    await publisher.command("PUBLISH", "news.sport", "goal");
    await publisher.command("SPUBLISH", "shard:a", new Uint8Array([0xff, 0x00, 0x41]));
    await waitFor(() => first.of("message").length === 2 && second.of("message").length === 1, "pattern and shard messages");
    assert.deepEqual(first.of("message")[0], { type: "message", topic: "news.*", kind: "pattern", channel: "news.sport", pattern: "news.*", data: "goal" });
    assert.deepEqual(first.of("message")[1], { type: "message", topic: "shard:a", kind: "shard", channel: "shard:a", data: "/wBB", encoding: "base64" });
    assert.equal(second.of("message")[0].data, "goal");

    // Subscribing twice is one membership; unsubscribing by one of two keeps the server subscription.
    await first.subscribe("news.*", "pattern");
    first.send({ op: "unsubscribe", topic: "news.*", kind: "pattern", id: "u1" });
    await first.next("unsubscribed", "u1");
    assert.equal(await numpat(redis), 1);
    second.send({ op: "unsubscribe", topic: "news.*", kind: "pattern", id: "u2" });
    await second.next("unsubscribed", "u2");
    await waitFor(async () => (await numpat(redis)) === 0, "NUMPAT 0 after the last unsubscribe");
    await publisher.command("PUBLISH", "news.sport", "after");
    first.send({ op: "unsubscribe", topic: "shard:a", kind: "shard", id: "u3" });
    await first.next("unsubscribed", "u3");
    assert.equal(first.of("message").length, 2, "nothing after unsubscribe");
    await waitFor(async () => {
      const reply = asText(await redis.command("PUBSUB", "SHARDNUMSUB", "shard:a")) as [string, number];
      return reply[1] === 0;
    }, "SHARDNUMSUB 0");
  }));
