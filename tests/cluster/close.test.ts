// Method: a real 3-primary Redis Cluster (its own: the test freezes a node) and the real ClusterClient.
// The node the client reads its topology from is frozen with SIGSTOP (a process the test started), so
// the periodic CLUSTER SHARDS read waits for a reply that cannot come; close() must still return at
// once (it closes the node clients, which fails that read) instead of waiting for the health check.
import { assert, runtime, sleep, test } from "../shim.ts";
import { RedisCluster } from "../helpers/redis_cluster.ts";
import { connectCluster } from "../../src/cluster/cluster_client.ts";
import { nativeMemory } from "../../src/native/parser.ts";

test(`cluster close(): a topology read stuck on a frozen node does not hold it (${runtime})`, async () => {
  const cluster = await RedisCluster.start({ primaries: 3 });
  try {
    // Health check far away: only close() can end the stuck read within the bound below.
    const client = await connectCluster(cluster.urls, { topologyRefreshMs: 50, healthCheckIntervalMs: 60_000 });
    let closed = false;
    try {
      const frozen = client.topology().slots[0].primary; // the seed that answered first is asked first
      const server = cluster.servers.find((candidate) => `127.0.0.1:${candidate.port}` === frozen)!;
      assert.ok(server, "the node the client asked is one of ours");
      server.signal("SIGSTOP");
      await sleep(300); // several refresh periods: a CLUSTER SHARDS to the frozen node is in flight
      const started = Date.now();
      await client.close();
      closed = true;
      // Generous for a busy machine; before the fix this waited for the health check (2 intervals).
      assert.ok(Date.now() - started < 5_000, `close() took ${Date.now() - started} ms`);
    } finally {
      for (const server of cluster.servers) server.signal("SIGCONT");
      if (!closed) await client.close();
    }
  } finally {
    await cluster.stop();
  }
  assert.equal(nativeMemory().liveBytes, 0);
  assert.equal(nativeMemory().openParsers, 0);
}, { timeoutMs: 40_000 });
