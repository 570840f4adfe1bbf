// Method: real redis-server processes, hurt from outside the way production hurts them: SIGKILL
// mid-flood and a restart on the same port, CLIENT KILL TYPE pubsub, the server cutting a slow
// subscriber at its client-output-buffer-limit, and SIGSTOP (a live socket to a silent server, which
// only the PING health check can notice). Publishing runs through an independent raw socket
// (tests/helpers/flood.ts), so pushwire only ever plays the subscriber being hurt.
import { assert, runtime, sleep, test, waitFor } from "../shim.ts";
import { connect, type LifecycleEvent, type Message, type Subscription, TimeoutError } from "../../mod.ts";
import { RedisServer } from "../helpers/redis_server.ts";
import { assertNoNativeMemory, numsub } from "../integration/support.ts";
import { Flood } from "../helpers/flood.ts";

/** Collects a subscription's messages through its iterator, in the background. */
function collect(subscription: Subscription): { messages: Message[]; done: Promise<void> } {
  const messages: Message[] = [];
  const done = (async () => {
    for await (const message of subscription) messages.push(message);
  })();
  return { messages, done };
}

function record(subscription: Subscription): LifecycleEvent[] {
  const events: LifecycleEvent[] = [];
  subscription.onEvent((event) => events.push(event));
  return events;
}

test(`faults: SIGKILL mid-flood, restart on the same port: channel and pattern flow again within 3 s (${runtime})`, async () => {
  const server = await RedisServer.start();
  try {
    // Default reconnect settings: the 3 s promise must hold without tuning.
    const client = await connect(server.url);
    const channel = await client.subscribe("flood");
    const pattern = await client.psubscribe("flood.*");
    const channelEvents = record(channel);
    const patternEvents = record(pattern);
    const channelSeen = collect(channel);
    const patternSeen = collect(pattern);
    const flood = await Flood.start({
      port: server.port,
      channels: ["flood", "flood.x"],
      payload: (index) => `before ${index}`,
    });
    await waitFor(() => channelSeen.messages.length > 100 && patternSeen.messages.length > 100, "the flood flowing");
    await server.kill();
    await flood.stop();
    await waitFor(
      () => channelEvents.some((event) => event.type === "disconnected") &&
        patternEvents.some((event) => event.type === "disconnected"),
      "disconnected events",
    );
    await server.restart();
    const back = Date.now();
    const after = (messages: Message[]) => messages.some((message) => message.text().startsWith("after"));
    // Publish until both see a message from the restarted server (each publish is lost until resubscribed).
    while (!after(channelSeen.messages) || !after(patternSeen.messages)) {
      assert.ok(Date.now() - back < 3_000, "messages flow again within 3 s of the server being back");
      await server.command("PUBLISH", "flood", "after").catch(() => {});
      await server.command("PUBLISH", "flood.x", "after").catch(() => {});
      await sleep(20);
    }
    console.log(`[${runtime}] SIGKILL: messages flowed again ${Date.now() - back} ms after the restart`);
    for (const events of [channelEvents, patternEvents]) {
      const types = events.map((event) => event.type);
      assert.deepEqual(types.slice(0, 2), ["disconnected", "reconnected"]);
      const reconnected = events[1];
      assert.ok(reconnected.type === "reconnected" && reconnected.downtimeMs > 0 && reconnected.at > events[0].at);
    }
    assert.ok(client.stats().reconnects >= 1);
    await client.close();
    await Promise.all([channelSeen.done, patternSeen.done]);
  } finally {
    await server.stop();
  }
  assertNoNativeMemory();
});

test(`faults: CLIENT KILL TYPE pubsub during a flood: reconnect, resubscribe, flow again (${runtime})`, async () => {
  const server = await RedisServer.start();
  try {
    const client = await connect(server.url, { reconnect: { initialDelayMs: 10, maxDelayMs: 100 } });
    const channel = await client.subscribe("cut");
    const pattern = await client.psubscribe("cut.*");
    const events = record(channel);
    const seen = collect(channel);
    const patternSeen = collect(pattern);
    const flood = await Flood.start({ port: server.port, channels: ["cut", "cut.y"], payload: (index) => String(index) });
    await waitFor(() => seen.messages.length > 100, "the flood flowing");
    await server.command("CLIENT", "KILL", "TYPE", "pubsub");
    await waitFor(() => events.some((event) => event.type === "reconnected"), "reconnected");
    const before = [seen.messages.length, patternSeen.messages.length];
    await waitFor(
      () => seen.messages.length > before[0] + 100 && patternSeen.messages.length > before[1] + 100,
      "the flood flowing again",
    );
    await flood.stop();
    assert.equal(events[0].type, "disconnected");
    assert.equal(client.stats().reconnects, 1);
    // Order per connection: the numbers only ever go up (a gap at the cut, no reordering).
    const numbers = seen.messages.map((message) => Number(message.text()));
    for (let i = 1; i < numbers.length; i++) assert.ok(numbers[i] > numbers[i - 1], "in order");
    await client.close();
    await Promise.all([seen.done, patternSeen.done]);
  } finally {
    await server.stop();
  }
  assertNoNativeMemory();
});

test(`faults: the server cuts a paused slow subscriber at its output buffer limit; it reconnects (${runtime})`, async () => {
  const server = await RedisServer.start();
  try {
    await server.command("CONFIG", "SET", "client-output-buffer-limit", "pubsub 64kb 32kb 1");
    const client = await connect(server.url, { reconnect: { initialDelayMs: 10, maxDelayMs: 100 } });
    // "pause": the client stops reading once 16 messages wait; the server's buffer for it grows.
    const subscription = await client.subscribe("slow", { overflow: "pause", bufferSize: 16 });
    const events = record(subscription);
    const flood = await Flood.start({
      port: server.port,
      channels: ["slow"],
      payload: (index) => `${index} `.padEnd(1024, "x"),
      total: 20_000,
    });
    await waitFor(async () => await numsub(server, "slow") === 0, "the server cutting the subscriber", 10_000);
    await flood.stop();
    assert.ok(subscription.stats().queueDepth >= 16, "the consumer has not read anything yet");
    // The consumer wakes up: it reads what was buffered, then learns of the cut, then messages flow.
    const seen = collect(subscription);
    await waitFor(() => events.some((event) => event.type === "reconnected"), "reconnected", 10_000);
    assert.equal(events.find((event) => event.type === "disconnected")?.type, "disconnected");
    await waitFor(async () => {
      await server.command("PUBLISH", "slow", "after the cut");
      return seen.messages.some((message) => message.text() === "after the cut");
    }, "a message after the reconnection");
    assert.ok(client.stats().reconnects >= 1);
    await client.close();
    await seen.done;
  } finally {
    await server.stop();
  }
  assertNoNativeMemory();
});

test(`faults: SIGSTOP — the health check notices a silent server; reconnect after SIGCONT (${runtime})`, async () => {
  const server = await RedisServer.start();
  try {
    const interval = 200;
    const client = await connect(server.url, {
      healthCheckIntervalMs: interval,
      connectTimeoutMs: 300,
      reconnect: { initialDelayMs: 20, maxDelayMs: 100, maxAttempts: 1_000 },
    });
    const subscription = await client.subscribe("frozen");
    const events = record(subscription);
    const seen = collect(subscription);
    await sleep(3 * interval); // healthy pings go unnoticed
    assert.equal(events.length, 0, "no false alarm while the server answers");
    server.signal("SIGSTOP");
    const stopped = Date.now();
    await waitFor(() => events.some((event) => event.type === "disconnected"), "disconnected", 5_000);
    const noticedMs = Date.now() - stopped;
    console.log(`[${runtime}] SIGSTOP: noticed after ${noticedMs} ms (healthCheckIntervalMs ${interval})`);
    assert.ok(noticedMs <= 2 * interval + 250, `noticed within 2 × healthCheckIntervalMs (took ${noticedMs} ms)`);
    const disconnected = events[0];
    assert.ok(disconnected.type === "disconnected" && disconnected.error instanceof TimeoutError);
    await sleep(500); // attempts against the stopped server time out and are retried
    server.signal("SIGCONT");
    await waitFor(() => events.some((event) => event.type === "reconnected"), "reconnected", 10_000);
    await waitFor(async () => {
      await server.command("PUBLISH", "frozen", "thawed");
      return seen.messages.some((message) => message.text() === "thawed");
    }, "a message after SIGCONT");
    await client.close();
    await seen.done;
  } finally {
    await server.stop();
  }
  assertNoNativeMemory();
});
