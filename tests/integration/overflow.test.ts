// Method: a real redis-server per file; a burst is published by the independent raw client while the
// consumer deliberately does not read (then reads), so each overflow policy is hit for real.
import { assert, runtime, sleep, test, waitFor } from "../shim.ts";
import { connect, type LifecycleEvent, OverflowError, type Subscription } from "../../mod.ts";
import { RawConnection } from "../helpers/raw_resp.ts";
import type { RedisServer } from "../helpers/redis_server.ts";
import { numsub, withServer } from "./support.ts";

async function publishBurst(server: RedisServer, channel: string, count: number, payloadBytes = 0): Promise<void> {
  const publisher = await RawConnection.connect(server.port);
  try {
    const padding = "x".repeat(payloadBytes);
    await publisher.pipeline(Array.from({ length: count }, (_, i) => ["PUBLISH", channel, `${i}${padding}`]));
  } finally {
    await publisher.close();
  }
}

async function take(subscription: Subscription, count: number): Promise<number[]> {
  const values: number[] = [];
  const iterator = subscription[Symbol.asyncIterator]();
  while (values.length < count) {
    const step = await iterator.next();
    if (step.done) break;
    values.push(parseInt(step.value.text(), 10));
  }
  return values;
}

function droppedTotal(events: LifecycleEvent[]): number {
  return events.reduce((sum, event) => sum + (event.type === "dropped" ? event.count : 0), 0);
}

test(`overflow drop-oldest (default): keeps the newest bufferSize messages, counts the rest (${runtime})`, () =>
  withServer(async (server) => {
    await using client = await connect(server.url);
    const subscription = await client.subscribe("burst", { bufferSize: 10 });
    const events: LifecycleEvent[] = [];
    subscription.onEvent((event) => events.push(event));
    await publishBurst(server, "burst", 100);
    await waitFor(() => subscription.stats().received === 100, "100 messages received");
    assert.deepEqual(await take(subscription, 10), [90, 91, 92, 93, 94, 95, 96, 97, 98, 99]);
    assert.deepEqual(subscription.stats(), { received: 100, delivered: 10, dropped: 90, queueDepth: 0, queueBytes: 0, stalls: 1 });
    assert.equal(droppedTotal(events), 90);
    assert.equal(client.stats().dropped, 90);
  }));

test(`overflow drop-newest: keeps the first bufferSize messages (${runtime})`, () =>
  withServer(async (server) => {
    await using client = await connect(server.url, { overflow: "drop-newest" });
    const subscription = await client.subscribe("burst", { bufferSize: 10 });
    const events: LifecycleEvent[] = [];
    subscription.onEvent((event) => events.push(event));
    await publishBurst(server, "burst", 100);
    await waitFor(() => subscription.stats().received === 100, "100 messages received");
    assert.deepEqual(await take(subscription, 10), [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    assert.equal(subscription.stats().dropped, 90);
    assert.equal(droppedTotal(events), 90);
  }));

test(`overflow error: buffered messages, then OverflowError; the server subscription goes (${runtime})`, () =>
  withServer(async (server) => {
    await using client = await connect(server.url);
    const subscription = await client.subscribe("burst", { bufferSize: 10, overflow: "error" });
    const events: LifecycleEvent[] = [];
    subscription.onEvent((event) => events.push(event));
    await publishBurst(server, "burst", 100);
    await waitFor(() => subscription.closed, "the subscription ended");
    const values: number[] = [];
    await assert.rejects(async () => {
      for await (const message of subscription) values.push(parseInt(message.text(), 10));
    }, OverflowError);
    assert.deepEqual(values, [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    const end = events.find((event) => event.type === "end");
    assert.ok(end?.type === "end" && end.error instanceof OverflowError);
    await waitFor(async () => (await numsub(server, "burst")) === 0, "server unsubscribed");
  }));

test(`overflow pause: reading stops while the consumer is slow; nothing is lost (${runtime})`, () =>
  withServer(async (server) => {
    await using client = await connect(server.url);
    const subscription = await client.subscribe("burst", { bufferSize: 16, overflow: "pause" });
    const total = 3_000;
    await publishBurst(server, "burst", total, 1_000); // ~3 MB: far more than one socket read
    await sleep(100);
    const stalled = subscription.stats();
    assert.ok(stalled.received < total / 2, `reading paused (received ${stalled.received} of ${total})`);
    let expected = 0;
    for await (const message of subscription) {
      assert.equal(parseInt(message.text(), 10), expected);
      if (++expected % 500 === 0) await sleep(1); // still slow-ish
      if (expected === total) break;
    }
    assert.equal(expected, total);
    assert.equal(client.stats().dropped, 0);
  }), { timeoutMs: 60_000 });
