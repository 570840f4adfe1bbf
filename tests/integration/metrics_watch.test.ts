// Method: a real redis-server and pushwire's client; watchMetrics() runs on its real timer (a short
// interval) and its snapshots are compared with stats() taken at the same moment. Deno's sanitizers
// check that stop() leaves no timer behind. Nothing is faked.
import { assert, runtime, sleep, test, waitFor } from "../shim.ts";
import { connect, InvalidArgumentError, type MetricsSnapshot, watchMetrics } from "../../mod.ts";
import { RawConnection } from "../helpers/raw_resp.ts";
import { withServer } from "./support.ts";

test(`watchMetrics: a snapshot every intervalMs equal to stats(), split by channel; stop() ends it (${runtime})`, () =>
  withServer(async (server) => {
    await using client = await connect(server.url);
    const news = await client.subscribe("watch:news", { bufferSize: 3 });
    const publisher = await RawConnection.connect(server.port);
    await publisher.pipeline(Array.from({ length: 5 }, (_, i) => ["PUBLISH", "watch:news", `m${i}`]));
    await publisher.close();
    await waitFor(() => client.stats().received === 5, "5 messages", 15_000); // the unread buffer holds reading for slowConsumerMs

    const snapshots: MetricsSnapshot[] = [];
    const watch = watchMetrics(client, { intervalMs: 20, onMetrics: (snapshot) => snapshots.push(snapshot) });
    await waitFor(() => snapshots.length >= 2, "two snapshots");
    watch.stop();
    watch.stop(); // idempotent
    const seen = snapshots.length;
    await sleep(60);
    assert.equal(snapshots.length, seen, "no snapshot after stop()");

    const last = snapshots.at(-1)!;
    assert.deepEqual(last.client, client.stats());
    assert.deepEqual(last.destinations, [
      { destination: "watch:news", pattern: false, delivered: 0, dropped: 2, queueDepth: 3, queueBytes: 6 },
    ]);
    assert.deepEqual(Object.keys(last.sse).sort(), ["eventsDropped", "eventsSent", "openStreams"]);
    assert.ok(Math.abs(last.at - Date.now()) < 5_000);
    await news.unsubscribe();
  }));

test(`watchMetrics: channelNames: false gives one part; a throwing onMetrics goes to onError and the watch goes on (${runtime})`, () =>
  withServer(async (server) => {
    await using client = await connect(server.url);
    const errors: unknown[] = [];
    let calls = 0;
    using watch = watchMetrics(client, {
      intervalMs: 10,
      channelNames: false,
      onMetrics: () => {
        calls++;
        throw new Error("listener failed");
      },
      onError: (error) => errors.push(error),
    });
    await waitFor(() => calls >= 3, "three calls despite the throws");
    assert.ok(errors.length >= 3);
    const snapshot = watch.collect();
    assert.deepEqual(snapshot.destinations, [
      { destination: undefined, pattern: false, delivered: 0, dropped: 0, queueDepth: 0, queueBytes: 0 },
    ]);
  }));

test(`watchMetrics: bad arguments are InvalidArgumentError and start no timer (${runtime})`, () =>
  withServer(async (server) => {
    await using client = await connect(server.url);
    const onMetrics = () => {};
    assert.throws(() => watchMetrics(client, undefined as never), InvalidArgumentError);
    assert.throws(() => watchMetrics(client, {} as never), InvalidArgumentError);
    assert.throws(() => watchMetrics(client, { onMetrics, intervalMs: 0 }), InvalidArgumentError);
    assert.throws(() => watchMetrics(client, { onMetrics, intervalMs: 1.5 }), InvalidArgumentError);
    assert.throws(() => watchMetrics(client, { onMetrics, onError: "log" as never }), InvalidArgumentError);
    assert.throws(() => watchMetrics(client, { onMetrics, channelNames: 1 as never }), InvalidArgumentError);
    assert.throws(() => watchMetrics({ stats: () => client.stats() } as never, { onMetrics }), InvalidArgumentError);
  }));
