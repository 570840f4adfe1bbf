// Method: a real redis-server per file; messages are published by the independent raw client
// (tests/helpers/raw_resp.ts, pipelined), so pushwire's encoder is not on the publishing side, and
// received through pushwire's full path (transport → native parser → router → subscription).
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { assert, runtime, test } from "../shim.ts";
import { connect, type Message } from "../../mod.ts";
import { RawConnection } from "../helpers/raw_resp.ts";
import { numsub, randomBytes, sameBytes, seededRandom, withServer } from "./support.ts";

/** PUBLISHes every payload to `channel` in one pipeline from the raw client; each must reach one subscriber. */
async function publishEach(port: number, channel: string, payloads: Uint8Array[]): Promise<void> {
  const publisher = await RawConnection.connect(port);
  try {
    const replies = await publisher.pipeline(payloads.map((payload) => ["PUBLISH", channel, payload]));
    assert.ok(replies.every((reply) => reply === 1));
  } finally {
    await publisher.close();
  }
}

test(`roundtrip: connect, subscribe, publish, receive (${runtime})`, () =>
  withServer(async (server) => {
    await using client = await connect(server.url);
    const subscription = await client.subscribe("news", "alerts");
    assert.deepEqual(subscription.names, ["news", "alerts"]);
    assert.equal(subscription.type, "subscribe");
    assert.equal(await numsub(server, "news"), 1);
    assert.equal(await client.publish("news", "hello"), 1);
    assert.equal(await client.publish("alerts", new Uint8Array([0, 255])), 1);
    assert.equal(await client.publish("nobody", "x"), 0);
    const received: Message[] = [];
    for await (const message of subscription) {
      received.push(message);
      if (received.length === 2) break;
    }
    assert.equal(received[0].kind, "message");
    assert.equal(received[0].channel, "news");
    assert.equal(received[0].text(), "hello");
    assert.equal(received[1].channel, "alerts");
    assert.deepEqual([...received[1].data], [0, 255]);
    assert.equal(subscription.closed, true, "break ends the subscription");
    assert.equal(await numsub(server, "news"), 0);
    const stats = client.stats();
    assert.equal(stats.received, 2);
    assert.equal(stats.delivered, 2);
    assert.equal(stats.dropped, 0);
  }));

test(`roundtrip: 10,000 random binary payloads (0 B-64 KiB) arrive exact and in order (${runtime})`, () =>
  withServer(async (server) => {
    const random = seededRandom(0xC0FFEE);
    const payloads: Uint8Array[] = [];
    for (let i = 0; i < 10_000; i++) {
      // Mostly small, 1% up to 64 KiB, a few empty: ~4 MB in all.
      const roll = random();
      const length = roll < 0.01 ? Math.floor(random() * 65_537) : roll < 0.02 ? 0 : Math.floor(random() * 200);
      payloads.push(randomBytes(random, length));
    }
    await using client = await connect(server.url);
    const subscription = await client.subscribe("firehose");
    await publishEach(server.port, "firehose", payloads);
    let index = 0;
    for await (const message of subscription) {
      assert.equal(message.channel, "firehose");
      if (!sameBytes(message.data, payloads[index])) {
        assert.fail(`payload ${index} differs (length ${message.data.length}, expected ${payloads[index].length})`);
      }
      if (++index === payloads.length) break;
    }
    assert.equal(index, payloads.length);
    assert.equal(client.stats().dropped, 0);
  }), { timeoutMs: 60_000 });

test(`roundtrip: 300 long payloads (32 KiB-300 KiB, most cut by a read's end) arrive exact, held ones intact (${runtime})`, () =>
  withServer(async (server) => {
    // Long frames cut by a socket read's end are assembled in a buffer of their own (NativeParser,
    // PW_STOP_CUT); every message is held to the end, so a buffer reused too early would show.
    const random = seededRandom(0x1a46e);
    const payloads: Uint8Array[] = [];
    for (let i = 0; i < 300; i++) payloads.push(randomBytes(random, 32 * 1024 + Math.floor(random() * 270 * 1024)));
    await using client = await connect(server.url);
    const subscription = await client.subscribe("long");
    // ~50 MB: more than a buffer that nobody reads may hold, so the consumer reads while it arrives.
    const held: Message[] = [];
    const receiving = (async () => {
      for await (const message of subscription) {
        held.push(message);
        if (held.length === payloads.length) break;
      }
    })();
    // Published in rounds of at most 8 MiB, each once the last has arrived: the server cuts a
    // subscriber that lags by 32 MiB (client-output-buffer-limit pubsub), which on two busy cores a
    // 50 MB pipeline can reach while the reader is still copying. That limit is the server's, tested
    // in tests/faults/server_faults.test.ts; this test is about frames cut by a read.
    let start = 0;
    while (start < payloads.length) {
      let end = start;
      for (let bytes = 0; end < payloads.length && bytes + payloads[end].length <= 8 * 1024 * 1024; end++) {
        bytes += payloads[end].length;
      }
      await publishEach(server.port, "long", payloads.slice(start, end));
      await waitUntil(() => held.length >= end, 30_000);
      start = end;
    }
    await receiving;
    held.forEach((message, index) => {
      if (!sameBytes(message.data, payloads[index])) {
        assert.fail(`payload ${index} differs (length ${message.data.length}, expected ${payloads[index].length})`);
      }
    });
    assert.equal(client.stats().dropped, 0);
  }), { timeoutMs: 60_000 });

test(`roundtrip: pattern messages carry pattern and channel (${runtime})`, () =>
  withServer(async (server) => {
    await using client = await connect(server.url);
    const orders = await client.psubscribe("orders.*");
    const all = await client.psubscribe("*");
    assert.equal(orders.type, "psubscribe");
    await server.command("PUBLISH", "orders.eu", "o1");
    await server.command("PUBLISH", "users.new", "u1");
    const first = (await orders[Symbol.asyncIterator]().next()).value as Message;
    assert.equal(first.kind, "pmessage");
    assert.equal(first.pattern, "orders.*");
    assert.equal(first.channel, "orders.eu");
    assert.equal(first.text(), "o1");
    const iterator = all[Symbol.asyncIterator]();
    const a = (await iterator.next()).value as Message;
    const b = (await iterator.next()).value as Message;
    assert.deepEqual([a.pattern, a.channel, b.pattern, b.channel], ["*", "orders.eu", "*", "users.new"]);
  }));

test(`roundtrip: the same Frame object reaches every subscription of a channel (${runtime})`, () =>
  withServer(async (server) => {
    await using client = await connect(server.url);
    const seen: Message[] = [];
    const one = await client.subscribe("shared", (message) => seen.push(message));
    const two = await client.subscribe("shared", (message) => seen.push(message));
    await server.command("PUBLISH", "shared", "x");
    await waitUntil(() => seen.length === 2);
    assert.equal(seen[0], seen[1]);
    await one.unsubscribe();
    await two.unsubscribe();
  }));

test(`roundtrip: non-UTF-8 channel names route by their exact bytes (${runtime})`, () =>
  withServer(async (server) => {
    await using client = await connect(server.url);
    const nameA = new Uint8Array([0x6E, 0xFF, 0x01]); // "n", an invalid UTF-8 byte, \x01
    const nameB = new Uint8Array([0x6E, 0xFE, 0x01]); // decodes to the same lossy string
    const a = await client.subscribe(nameA);
    const b = await client.subscribe(nameB);
    assert.equal(a.names[0], b.names[0], "lossy names collide as text");
    assert.equal(await client.publish(nameA, "for a"), 1);
    assert.equal(await client.publish(nameB, "for b"), 1);
    const fromA = (await a[Symbol.asyncIterator]().next()).value as Message;
    const fromB = (await b[Symbol.asyncIterator]().next()).value as Message;
    assert.equal(fromA.text(), "for a");
    assert.deepEqual([...fromA.channelBytes], [...nameA]);
    assert.equal(fromB.text(), "for b");
    assert.deepEqual([...fromB.channelBytes], [...nameB]);
    assert.equal(a.stats().received, 1);
    assert.equal(b.stats().received, 1);
  }));

test(`roundtrip: commands issued in one tick are pipelined and answered in order (${runtime})`, () =>
  withServer(async (server) => {
    await using client = await connect(server.url);
    const subscription = await client.subscribe("tick");
    const counts = await Promise.all(Array.from({ length: 1_000 }, (_, i) => client.publish("tick", String(i))));
    assert.ok(counts.every((count) => count === 1));
    let expected = 0;
    for await (const message of subscription) {
      assert.equal(message.text(), String(expected));
      if (++expected === 1_000) break;
    }
  }));

async function waitUntil(condition: () => boolean, timeoutMs = 5_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`condition not met within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

test(`roundtrip: unix:// socket (${runtime})`, async () => {
  const directory = mkdtempSync(join(tmpdir(), "pushwire-unix-"));
  const path = `${directory}/redis.sock`;
  try {
    await withServer(async () => {
      await using client = await connect(`unix://${path}`);
      const subscription = await client.subscribe("local");
      assert.equal(await client.publish("local", "via unix"), 1);
      assert.equal((await subscription[Symbol.asyncIterator]().next()).value?.text(), "via unix");
    }, ["--unixsocket", path, "--unixsocketperm", "700"]);
  } finally {
    rmSync(directory, { recursive: true, force: true });
  }
});
