// Method: the first test is everything real — redis-server, pushwire's client, the pushwire/ws bridge
// with DEFAULT options on this runtime's HTTP server, 250 of the runtime's own WebSocket clients
// (batch frames unwrapped as a page does, tests/ws/helpers.ts) and one raw-socket client that never
// reads; a burst is pipelined through the independent raw client. The second test keeps the bridge,
// the HTTP server and the sockets real but scripts the pub/sub client (ScriptedClient below): it hands
// the bridge messages and lifecycle events in one synchronous run, which no real connection can be
// made to do on cue, so the frames land in the same batch and the order rule is tested where it bites.
// Deno batches (src/ws/deno.ts) and the tests assert it there; Bun fans out natively and is held only
// to what is true for it (complete, in order).
import { assert, runtime, test, waitFor } from "../shim.ts";
import { type BridgeClient, type TopicLifecycleEvent, type TopicSubscription, type WSMessage, wsBridge } from "../../src/ws.ts";
import { keySlot } from "../../src/native/parser.ts";
import { Browser, serveBridge, stalledSocketLimit, withBridge } from "./helpers.ts";

keySlot("load");

const topic = "room:burst";
const heavyTopic = "room:burst:heavy";
const socketCount = 250;
const burstCount = 1_000;
const heavyPayload = "h".repeat(8 * 1024);
const defaultMaxBufferedBytes = 1024 * 1024;

test(`ws batch: a burst of 1,000 messages to 250 sockets arrives complete and in order (${runtime === "deno" ? "in batch frames" : "native fan-out"}); a never-reading socket beside them stays bounded, its drops counted`, () =>
  withBridge({}, async ({ bridge, publisher, browsers: open, stalled: openStalled }) => {
    const browsers = await open(socketCount);
    await Promise.all(browsers.map((browser) => browser.subscribe(topic)));
    // The stalled socket is on the burst's topic and on one of 8 KiB messages for it alone (16 MB in
    // all): far past its 1 MiB bound, so it is stalled and leaves the fan-out while the burst goes on.
    const stalled = await openStalled(topic, heavyTopic);
    const payloads = Array.from({ length: burstCount }, (_, index) => index % 5 === 0 ? `ünïcödé ✓ ${index}` : `burst ${index}`);
    const commands: string[][] = [];
    for (const payload of payloads) {
      commands.push(["PUBLISH", topic, payload]);
      commands.push(["PUBLISH", heavyTopic, heavyPayload], ["PUBLISH", heavyTopic, heavyPayload]);
    }
    for (let start = 0; start < commands.length; start += 300) await publisher.pipeline(commands.slice(start, start + 300));
    await waitFor(() => browsers.every((browser) => browser.of("message").length >= burstCount), "every socket got the burst", 30_000);
    for (const browser of browsers) {
      assert.deepEqual(browser.of("message").map((frame) => frame.data), payloads, "complete and in order");
      assert.equal(browser.of("dropped").length, 0, "a socket that reads loses nothing");
    }
    await waitFor(() => bridge.stats().detachedSockets === 1, "the stalled socket out of the fan-out");
    const stats = bridge.stats();
    assert.ok(stats.deliveries >= burstCount * socketCount, `deliveries ${stats.deliveries}`);
    if (runtime === "deno") {
      const received = browsers.reduce((sum, browser) => sum + browser.batches, 0);
      assert.ok(received > 0 && stats.batches >= received, `batch frames: ${received} received, ${stats.batches} sent`);
      assert.ok(stats.batchedFrames >= 2 * stats.batches, `${stats.batchedFrames} frames in ${stats.batches} batches`);
      assert.ok(browsers.every((browser) => browser.batches > 0), "every socket got batch frames");
    } else {
      assert.equal(stats.batches, 0, "Bun does not batch");
    }
    // Bounded, its batch included: Deno looks at the socket with every frame put in its batch (so its
    // bound plus a message), Bun once per task and every sixteenth of the bound (helpers.ts).
    const limit = stalledSocketLimit(heavyPayload.length);
    assert.ok(stats.peakBufferedBytes <= limit, `peak ${stats.peakBufferedBytes} bytes for the stalled socket (limit ${limit})`);
    assert.ok(stats.peakBufferedBytes > defaultMaxBufferedBytes, "it did go over its bound");
    assert.equal(stats.dropped, 0, "nothing counted while it may still drain and be told");
    await stalled.close();
    await waitFor(() => bridge.stats().sockets === socketCount, "the bridge saw the stalled socket close");
    const dropped = bridge.stats().dropped;
    assert.ok(dropped > 0 && dropped < 3 * burstCount, `what the stalled socket missed is counted: ${dropped}`);
  }), { timeoutMs: 60_000 });

/** A pub/sub client whose topics the test drives by hand: messages and lifecycle events, synchronously. */
class ScriptedClient implements BridgeClient {
  readonly topics = new Map<string, { onMessage: (message: WSMessage) => void; listeners: ((event: TopicLifecycleEvent) => void)[] }>();
  subscribe = (name: string, options: { onMessage: (message: WSMessage) => void }): Promise<TopicSubscription> => {
    const entry = { onMessage: options.onMessage, listeners: [] as ((event: TopicLifecycleEvent) => void)[] };
    this.topics.set(name, entry);
    return Promise.resolve({
      unsubscribe: () => Promise.resolve(),
      onEvent: (listener) => {
        entry.listeners.push(listener);
        return () => {};
      },
    });
  };
  psubscribe = this.subscribe;
  ssubscribe = this.subscribe;
  publish(): Promise<never> {
    return Promise.reject(new Error("not scripted"));
  }
  spublish(): Promise<never> {
    return Promise.reject(new Error("not scripted"));
  }

  message(name: string, text: string): void {
    this.topics.get(name)!.onMessage({ channel: name, data: new TextEncoder().encode(text) });
  }

  event(name: string, event: TopicLifecycleEvent): void {
    for (const listener of this.topics.get(name)!.listeners) listener(event);
  }
}

test(`ws batch: lifecycle frames never overtake the messages queued before them (${runtime})`, async () => {
  const client = new ScriptedClient();
  const bridge = wsBridge(client);
  const server = serveBridge(bridge);
  const browsers: Browser[] = [];
  try {
    for (let wave = 0; wave < 200; wave += 100) browsers.push(...await Promise.all(Array.from({ length: 100 }, () => Browser.open(server.url))));
    await Promise.all(browsers.map((browser) => browser.subscribe("room:order")));
    // One synchronous run, as one socket read would bring them: on Deno each socket takes the first
    // message at once and queues the rest behind it; every lifecycle frame must queue behind them too.
    const at = Date.now();
    for (let index = 0; index < 50; index++) client.message("room:order", `first ${index}`);
    client.event("room:order", { type: "disconnected", at });
    client.event("room:order", { type: "reconnected", at, downtimeMs: 5 });
    for (let index = 0; index < 50; index++) client.message("room:order", `then ${index}`);
    client.event("room:order", { type: "recovered", at, count: 0, complete: true });
    client.event("room:order", { type: "end", at });
    const expected = [
      ...Array.from({ length: 50 }, (_, index) => `message:first ${index}`),
      "disconnected",
      "reconnected",
      ...Array.from({ length: 50 }, (_, index) => `message:then ${index}`),
      "recovered",
      "end",
    ];
    await waitFor(() => browsers.every((browser) => browser.of("end").length === 1), "every socket got the end frame", 20_000);
    for (const browser of browsers) {
      const seen = browser.frames.filter((frame) => frame.type !== "subscribed").map((frame) => frame.type === "message" ? `message:${frame.data}` : frame.type);
      assert.deepEqual(seen, expected);
      if (runtime === "deno") {
        for (const type of ["disconnected", "reconnected", "recovered", "end"]) {
          assert.ok(browser.batched.has(browser.of(type)[0]), `the ${type} frame waited in the batch behind the messages`);
        }
      }
    }
    assert.equal(bridge.stats().deliveries, 200 * (100 + 3), "100 messages and 3 lifecycle frames through the fan-out, to 200 sockets");
    assert.equal(bridge.stats().topics, 0, "the ended topic is gone");
  } finally {
    await Promise.all(browsers.map((browser) => browser.close()));
    await bridge.close();
    await server.stop();
  }
}, { timeoutMs: 60_000 });
