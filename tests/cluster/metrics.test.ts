// Method: a real 3-primary Redis Cluster and the real ClusterClient; OpenTelemetry's own SDK collects
// (MetricReader.collect()) and watchMetrics() snapshots are taken, and both are compared with the
// ClusterClient's stats() and its subscriptions' stats(). Shard messages are published with SPUBLISH
// through the client itself (routing is tested in sharded.test.ts), classic ones with PUBLISH.
import { assert, runtime, test, waitFor } from "../shim.ts";
import { RedisCluster } from "../helpers/redis_cluster.ts";
import { TestMeter, pointWhere, total } from "../helpers/metrics_reader.ts";
import { connectCluster } from "../../src/cluster/cluster_client.ts";
import { watchMetrics } from "../../src/metrics.ts";
import { nativeMemory } from "../../src/native/parser.ts";
import { instrumentSpecs, registerMetrics } from "../../src/otel.ts";

const destination = "messaging.destination.name";

test(`cluster metrics: registerMetrics and watchMetrics on a ClusterClient equal its stats(), by channel (${runtime})`, async () => {
  const cluster = await RedisCluster.start({ primaries: 3 });
  const meter = new TestMeter();
  try {
    const client = await connectCluster(cluster.urls);
    try {
      using _registered = registerMetrics(client, { meter: meter.meter, sse: false });
      // Shard channels on different slots (so on more than one primary), and a classic channel.
      const shards = await client.ssubscribe(["{a}metrics", "{b}metrics", "{c}metrics"]);
      const classic = await client.subscribe("metrics:classic", { bufferSize: 2 });
      for (const channel of ["{a}metrics", "{b}metrics", "{c}metrics"]) {
        for (let i = 0; i < 3; i++) assert.equal(await client.spublish(channel, `s${i}`), 1);
      }
      for (let i = 0; i < 5; i++) assert.equal(await client.publish("metrics:classic", `c${i}`), 1);
      await waitFor(() => client.stats().received === 14, "14 messages", 15_000);
      const iterator = shards[Symbol.asyncIterator]();
      for (let i = 0; i < 4; i++) await iterator.next();

      const collected = await meter.collect();
      const stats = client.stats();
      assert.equal(total(collected, instrumentSpecs.consumed.name), stats.delivered);
      assert.equal(total(collected, instrumentSpecs.received.name), stats.received);
      assert.equal(total(collected, instrumentSpecs.dropped.name), stats.dropped);
      assert.equal(total(collected, instrumentSpecs.queueDepth.name), stats.queueDepth);
      assert.equal(total(collected, instrumentSpecs.queueSize.name), stats.queueBytes);
      assert.equal(total(collected, instrumentSpecs.nativeMemory.name), stats.nativeLiveBytes);
      assert.equal(total(collected, instrumentSpecs.reconnects.name), stats.reconnects);
      assert.equal(collected.has(instrumentSpecs.sseOpenStreams.name), false, "sse: false");
      const shardName = "{a}metrics,{b}metrics,{c}metrics";
      assert.equal(pointWhere(collected, instrumentSpecs.consumed.name, destination, shardName), 4);
      assert.equal(pointWhere(collected, instrumentSpecs.queueDepth.name, destination, shardName), 5);
      assert.equal(pointWhere(collected, instrumentSpecs.dropped.name, destination, "metrics:classic"), 3);
      assert.equal(pointWhere(collected, instrumentSpecs.queueDepth.name, destination, "metrics:classic"), 2);

      using watch = watchMetrics(client, { onMetrics: () => {} });
      const snapshot = watch.collect();
      assert.deepEqual(snapshot.client, client.stats());
      assert.deepEqual(snapshot.destinations.map((part) => [part.destination, part.delivered, part.dropped, part.queueDepth]), [
        ["metrics:classic", 0, 3, 2],
        [shardName, 4, 0, 5],
      ]);
      await shards.unsubscribe();
      await classic.unsubscribe();
    } finally {
      await client.close();
    }
  } finally {
    await meter.shutdown();
    await cluster.stop();
  }
  assert.equal(nativeMemory().liveBytes, 0);
}, { timeoutMs: 60_000 });
