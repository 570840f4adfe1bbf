// Method: a real Redis Cluster of 3 primaries + 3 replicas (one per test, started inside it: a killed
// node must be a process the test itself started, or Deno's sanitizer flags it; node timeout 1 s) and the real ClusterClient. Failover is real: a graceful CLUSTER FAILOVER on a replica, then a
// primary killed with SIGKILL by the PID we started; the test only publishes (raw client, to every
// node, since it does not trust pushwire to find the new owner) and watches the subscription.
import { assert, runtime, test, waitFor } from "../shim.ts";
import { RedisCluster } from "../helpers/redis_cluster.ts";
import { connectCluster } from "../../src/cluster/cluster_client.ts";
import { keySlot, nativeMemory } from "../../src/native/parser.ts";
import { watch } from "./watch.ts";
import { RawError } from "../helpers/raw_resp.ts";

keySlot("load");
const fastRetries = { initialDelayMs: 20, maxDelayMs: 250, maxAttempts: 60 };

/** SPUBLISH on every live primary; the owner delivers, the others answer MOVED (ignored). */
async function publishEverywhere(cluster: RedisCluster, channel: string, text: string): Promise<void> {
  for (const node of await cluster.nodes()) {
    if (node.role !== "primary") continue;
    const reply = await cluster.command(node.port, "SPUBLISH", channel, text).catch((error) => error);
    if (reply instanceof RawError || reply instanceof Error) continue;
  }
}

for (const mode of ["CLUSTER FAILOVER", "SIGKILL"] as const) {
  test(`cluster failover (${mode}): shard channels resume on the promoted replica (${runtime})`, async () => {
    const cluster = await RedisCluster.start({ primaries: 3, replicasPerPrimary: 1 });
    await cluster.waitForReplicasInSync();
    const client = await connectCluster(cluster.urls, { reconnect: fastRetries, topologyRefreshMs: 500 });
    try {
      const channel = mode === "SIGKILL" ? "orders{killed}" : "orders{failover}";
      const slot = keySlot(channel);
      const subscription = await client.ssubscribe(channel);
      const { events, got, done } = watch(subscription);
      assert.equal(await client.spublish(channel, "before"), 1);
      await waitFor(() => got.includes("before"), "the message before the failover");

      const owner = await cluster.ownerOf(slot);
      const replica = (await cluster.nodes()).find((node) => node.primaryId === owner.id)!;
      assert.ok(replica, "the owner has a replica");
      if (mode === "SIGKILL") await cluster.kill(owner.port);
      else assert.equal(await cluster.command(replica.port, "CLUSTER", "FAILOVER"), "OK");

      // While the dead primary is flagged and before the vote, nobody owns the slot: keep polling.
      await waitFor(async () => (await cluster.ownerOf(slot, replica.port).catch(() => undefined))?.id === replica.id,
        "the replica's promotion", 15_000, 50);
      await waitFor(async () => {
        await publishEverywhere(cluster, channel, "after");
        return got.includes("after");
      }, "delivery from the promoted replica", 10_000, 100);
      await waitFor(() => client.topology().slots.some((range) =>
        slot >= range.start && slot <= range.end && range.primary === `127.0.0.1:${replica.port}`
      ), "the client's topology to show the new owner", 5_000);
      // The subscription lives on the promoted replica now, and spublish finds it.
      assert.equal(await client.spublish(channel, "via client"), 1);
      await waitFor(() => got.includes("via client"), "spublish after failover");
      const numbers = await cluster.command(replica.port, "PUBSUB", "SHARDNUMSUB", channel);
      assert.equal((numbers as unknown[])[1], 1);
      if (mode === "SIGKILL") {
        assert.equal(events[0]?.type, "disconnected");
        assert.equal(events.at(-1)?.type, "reconnected");
      }
      await subscription.unsubscribe();
      await done;
    } finally {
      await client.close();
      await cluster.stop();
    }
    assert.equal(nativeMemory().liveBytes, 0);
    assert.equal(nativeMemory().openParsers, 0);
  }, { timeoutMs: 40_000 });
}
