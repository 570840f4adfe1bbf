// Method: a real redis-server, pushwire's client, and OpenTelemetry's own SDK (@opentelemetry/sdk-metrics:
// a MeterProvider read by MetricReader.collect(), and once through PeriodicExportingMetricReader +
// InMemoryMetricExporter, the standard export path). Messages are published by the independent raw
// RESP client; drops, a throwing callback and a reconnect (CLIENT KILL) are made for real. What the
// SDK collects is compared with the client's stats() and each subscription's stats(), which are the
// source; SSE streams are read straight from their Response bodies (tests/sse covers the HTTP side).
import { assert, runtime, test, waitFor } from "../shim.ts";
import { metrics } from "@opentelemetry/api";
import { AggregationTemporality, InMemoryMetricExporter, MeterProvider, PeriodicExportingMetricReader } from "@opentelemetry/sdk-metrics";
import { type ClientStats, connect, InvalidArgumentError, type Subscription } from "../../mod.ts";
import { instrumentSpecs, registerMetrics } from "../../src/otel.ts";
import { openSSE } from "../../src/sse.ts";
import { sseTotalsSnapshot } from "../../src/sse/totals.ts";
import { RawConnection } from "../helpers/raw_resp.ts";
import type { RedisServer } from "../helpers/redis_server.ts";
import { byName, type Collected, pointWhere, TestMeter, total } from "../helpers/metrics_reader.ts";
import { EventStreamParser, readEvents } from "../sse/helpers.ts";
import { withServer } from "./support.ts";

const names = Object.fromEntries(Object.entries(instrumentSpecs).map(([key, spec]) => [key, spec.name])) as {
  [key in keyof typeof instrumentSpecs]: string;
};
const destination = "messaging.destination.name";

async function publish(server: RedisServer, channel: string, count: number): Promise<void> {
  const publisher = await RawConnection.connect(server.port);
  try {
    await publisher.pipeline(Array.from({ length: count }, (_, i) => ["PUBLISH", channel, `m${i}`]));
  } finally {
    await publisher.close();
  }
}

async function take(subscription: Subscription, count: number): Promise<void> {
  const iterator = subscription[Symbol.asyncIterator]();
  for (let taken = 0; taken < count; taken++) assert.equal((await iterator.next()).done, false);
}

/** The point with no channel attribute at all (what no live subscription accounts for). */
function unattributed(collected: Map<string, Collected>, name: string): number | undefined {
  return collected.get(name)?.points.find((point) =>
    !(destination in point.attributes) && !("messaging.destination.template" in point.attributes)
  )?.value;
}

function assertTotalsEqualStats(collected: Map<string, Collected>, stats: ClientStats): void {
  assert.equal(total(collected, names.consumed), stats.delivered, "consumed = stats().delivered");
  assert.equal(total(collected, names.received), stats.received, "received = stats().received");
  assert.equal(total(collected, names.dropped), stats.dropped, "dropped = stats().dropped");
  assert.equal(total(collected, names.errors), stats.errors, "errors = stats().errors");
  assert.equal(total(collected, names.reconnects), stats.reconnects, "reconnects = stats().reconnects");
  assert.equal(total(collected, names.queueDepth), stats.queueDepth, "queue depth = stats().queueDepth");
  assert.equal(total(collected, names.queueSize), stats.queueBytes, "queue size = stats().queueBytes");
  assert.equal(total(collected, names.nativeMemory), stats.nativeLiveBytes, "native memory = stats().nativeLiveBytes");
}

test(`otel: every instrument equals stats(), split by channel, with the semantic-convention attributes (${runtime})`, () =>
  withServer(async (server) => {
    await using client = await connect(server.url);
    const meter = new TestMeter();
    using _registered = registerMetrics(client, { meter: meter.meter });
    const consumed = await client.subscribe("otel:a");
    const stalled = await client.subscribe("otel:b", { bufferSize: 4 }); // never read: 4 queued, 6 dropped
    let calls = 0;
    const pattern = await client.psubscribe("otel:*", () => {
      if (calls++ === 0) throw new Error("the first call throws: counted in errors");
    });
    const shortLived = await client.subscribe("otel:a");
    await publish(server, "otel:a", 10);
    await publish(server, "otel:b", 10);
    // The server sends a pattern subscriber its own pmessage: 20 messages and 20 pmessages are received.
    // otel:b's consumer never reads: the connection waits slowConsumerMs for it before its policy drops.
    await waitFor(() => client.stats().received === 40 && calls === 20, "40 pushes received, 20 called back", 15_000);
    await take(consumed, 10);
    await take(shortLived, 3);

    let collected = await meter.collect();
    let stats = client.stats();
    assertTotalsEqualStats(collected, stats);
    assert.deepEqual([stats.delivered, stats.dropped, stats.queueDepth, stats.errors], [33, 6, 11, 1]);
    for (const [name, subscriptions] of [["otel:a", [consumed, shortLived]], ["otel:b", [stalled]]] as const) {
      const sum = (field: "delivered" | "dropped" | "queueDepth" | "queueBytes") =>
        subscriptions.reduce((value, subscription) => value + subscription.stats()[field], 0);
      assert.equal(pointWhere(collected, names.consumed, destination, name), sum("delivered"), `${name} consumed`);
      assert.equal(pointWhere(collected, names.dropped, destination, name), sum("dropped"), `${name} dropped`);
      assert.equal(pointWhere(collected, names.queueDepth, destination, name), sum("queueDepth"), `${name} queue depth`);
      assert.equal(pointWhere(collected, names.queueSize, destination, name), sum("queueBytes"), `${name} queue size`);
    }
    assert.equal(pointWhere(collected, names.consumed, "messaging.destination.template", "otel:*"), 20);
    for (const [name, { unit }] of collected) {
      if (!name.startsWith("pushwire.") && !name.startsWith("messaging.")) continue;
      const spec = Object.values(instrumentSpecs).find((candidate) => candidate.name === name)!;
      assert.equal(unit, spec.unit, name);
      for (const point of collected.get(name)!.points) assert.equal(point.attributes["messaging.system"], "redis", name);
    }
    for (const [key, spec] of Object.entries(instrumentSpecs)) {
      assert.equal(collected.get(spec.name)?.monotonic, spec.kind === "counter", `${key}: counter or up-down counter`);
    }

    // A subscription that ends keeps its counts with its channel: the series never goes down.
    const before = pointWhere(collected, names.consumed, destination, "otel:a")!;
    await shortLived.unsubscribe();
    collected = await meter.collect();
    assert.equal(pointWhere(collected, names.consumed, destination, "otel:a"), before);
    // One that comes and goes between two collections has no channel of its own: its part has none.
    const brief = await client.subscribe("otel:c");
    await publish(server, "otel:c", 2);
    await take(brief, 2);
    await brief.unsubscribe();
    collected = await meter.collect();
    assertTotalsEqualStats(collected, client.stats());
    assert.equal(unattributed(collected, names.consumed), 2);

    await server.command("CLIENT", "KILL", "TYPE", "pubsub");
    await waitFor(() => client.stats().reconnects === 1, "the reconnect");
    collected = await meter.collect();
    stats = client.stats();
    assertTotalsEqualStats(collected, stats);
    assert.equal(total(collected, names.reconnects), 1);
    await pattern.unsubscribe();
    await meter.shutdown();
  }));

test(`otel: channelNames: false leaves channel names out, one series per instrument (${runtime})`, () =>
  withServer(async (server) => {
    await using client = await connect(server.url);
    const meter = new TestMeter();
    using _registered = registerMetrics(client, { meter: meter.meter, channelNames: false, attributes: { "service.instance.id": "api-1" } });
    const subscription = await client.subscribe("otel:hidden", { bufferSize: 2 });
    await publish(server, "otel:hidden", 5);
    await waitFor(() => client.stats().received === 5, "5 messages", 15_000);
    const collected = await meter.collect();
    assertTotalsEqualStats(collected, client.stats());
    for (const [name, { points }] of collected) {
      assert.equal(points.length, 1, `${name}: one series`);
      assert.deepEqual(Object.keys(points[0].attributes).sort(), ["messaging.system", "service.instance.id"], name);
    }
    await subscription.unsubscribe();
    await meter.shutdown();
  }));

test(`otel: SSE instruments are the process-wide totals of every stream (${runtime})`, () =>
  withServer(async (server) => {
    await using client = await connect(server.url);
    const meter = new TestMeter();
    using _registered = registerMetrics(client, { meter: meter.meter });
    const start = sseTotalsSnapshot();
    const subscriptions = [client.subscribe("otel:sse"), client.subscribe("otel:sse")];
    const read = openSSE(subscriptions[0], { heartbeatMs: 0 });
    // Its body is never read: a queue of 2 events drops the rest of the burst.
    const stalled = openSSE(subscriptions[1], { heartbeatMs: 0, highWaterMarkBytes: 1, maxQueuedEvents: 2 });
    const reader = read.response.body!.getReader();
    await Promise.all(subscriptions);
    // A stream refused for a bad option was never open.
    assert.throws(() => openSSE(client.subscribe("otel:sse"), { slowClient: "sometimes" as never }), InvalidArgumentError);
    assert.equal(sseTotalsSnapshot().openStreams, start.openStreams + 2);
    await publish(server, "otel:sse", 6);
    assert.ok(await readEvents(reader, new EventStreamParser(), (parser) => parser.events.length === 6));
    await waitFor(() => read.stats().sent === 6 && stalled.stats().dropped === 4, "6 events sent on one stream, 4 dropped on the other", 15_000);
    let collected = await meter.collect();
    const totals = sseTotalsSnapshot();
    assert.equal(total(collected, names.sseOpenStreams), totals.openStreams);
    assert.equal(total(collected, names.sseSent), totals.eventsSent);
    assert.equal(total(collected, names.sseDropped), totals.eventsDropped);
    assert.equal(totals.openStreams - start.openStreams, 2);
    assert.equal(totals.eventsSent - start.eventsSent, read.stats().sent + stalled.stats().sent);
    assert.equal(totals.eventsDropped - start.eventsDropped, read.stats().dropped + stalled.stats().dropped);
    read.close();
    stalled.close();
    await reader.cancel();
    await stalled.response.body!.cancel();
    await Promise.all([read.done, stalled.done]);
    collected = await meter.collect();
    assert.equal(total(collected, names.sseOpenStreams), start.openStreams);
    await meter.shutdown();
  }));

test(`otel: the standard export path (PeriodicExportingMetricReader + InMemoryMetricExporter) carries the values (${runtime})`, () =>
  withServer(async (server) => {
    await using client = await connect(server.url);
    const exporter = new InMemoryMetricExporter(AggregationTemporality.CUMULATIVE);
    const reader = new PeriodicExportingMetricReader({ exporter, exportIntervalMillis: 60_000 });
    const provider = new MeterProvider({ readers: [reader] });
    using _registered = registerMetrics(client, { meter: provider.getMeter("pushwire-export") });
    const subscription = await client.subscribe("otel:export");
    await publish(server, "otel:export", 3);
    await take(subscription, 3);
    await reader.forceFlush();
    const exported = exporter.getMetrics();
    assert.ok(exported.length > 0, "an export happened");
    const collected = byName(exported.at(-1)!);
    assert.equal(pointWhere(collected, names.consumed, destination, "otel:export"), 3);
    assert.equal(total(collected, names.received), client.stats().received);
    await subscription.unsubscribe();
    await provider.shutdown();
  }));

test(`otel: without a meter the instruments live in the global MeterProvider, under the scope "pushwire" (${runtime})`, () =>
  withServer(async (server) => {
    await using client = await connect(server.url);
    const meter = new TestMeter();
    assert.ok(metrics.setGlobalMeterProvider(meter.provider), "no global MeterProvider was set before");
    try {
      using _registered = registerMetrics(client);
      const subscription = await client.subscribe("otel:global");
      await publish(server, "otel:global", 2);
      await waitFor(() => client.stats().received === 2, "2 messages");
      assert.equal(total(await meter.collect(), names.received), 2);
      assert.deepEqual(meter.scopes(), ["pushwire"]);
      await subscription.unsubscribe();
    } finally {
      metrics.disable();
      await meter.shutdown();
    }
  }));

test(`otel: after unregister() nothing new is observed; bad arguments are InvalidArgumentError (${runtime})`, () =>
  withServer(async (server) => {
    await using client = await connect(server.url);
    const meter = new TestMeter();
    const registered = registerMetrics(client, { meter: meter.meter });
    const subscription = await client.subscribe("otel:gone");
    await publish(server, "otel:gone", 2);
    await waitFor(() => client.stats().received === 2, "2 messages");
    const before = await meter.collect();
    assert.equal(total(before, names.received), 2);
    registered.unregister();
    registered.unregister(); // idempotent
    await publish(server, "otel:gone", 3);
    await waitFor(() => client.stats().received === 5, "3 more");
    // The SDK may repeat a cumulative value it already had; it must not see the new ones.
    const after = await meter.collect();
    for (const [name] of before) assert.ok([undefined, total(before, name)].includes(total(after, name)), name);
    await subscription.unsubscribe();
    assert.throws(() => registerMetrics({} as never), InvalidArgumentError);
    assert.throws(() => registerMetrics(client, { meter: {} as never }), InvalidArgumentError);
    assert.throws(() => registerMetrics(client, { meter: meter.meter, channelNames: "no" as never }), InvalidArgumentError);
    assert.throws(() => registerMetrics(client, { meter: meter.meter, sse: 1 as never }), InvalidArgumentError);
    assert.throws(() => registerMetrics(client, null as never), InvalidArgumentError);
    await meter.shutdown();
  }));
