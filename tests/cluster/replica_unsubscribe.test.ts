// Method: a real cluster of 3 primaries + 3 replicas (the pass's redis-server or valkey-server, started
// inside the test: Deno's sanitizer wants the processes a test ends to be its own) and a real CLUSTER
// FAILOVER on the replica of the channel's primary: the replica becomes the primary and the primary a
// replica. Watched at once: pushwire's plain client on the old primary (a shard and a classic
// subscription on one connection), pushwire's plain client on the replica (a replica serves
// SSUBSCRIBE; shard messages reach it by replication), and pushwire's ClusterClient. The servers
// differ on the replica: Valkey 8 ends its shard subscriptions when it is promoted, Redis 7.0 keeps them.
import { assert, runtime, test, waitFor } from "../shim.ts";
import { RedisCluster } from "../helpers/redis_cluster.ts";
import { serverKind } from "../helpers/server_kind.ts";
import { connect, ConnectionError } from "../../mod.ts";
import { connectCluster } from "../../src/cluster/cluster_client.ts";
import { keySlot, nativeMemory } from "../../src/native/parser.ts";
import { watch } from "./watch.ts";

keySlot("load"); // libpushwire opened outside any test (Deno's sanitizer)
const fastRetries = { initialDelayMs: 20, maxDelayMs: 250, maxAttempts: 60 };

test(`CLUSTER FAILOVER: the old primary ends its shard subscriptions (plain client: a typed end; cluster client: it moves), the promoted replica too on Valkey 8 (${serverKind()}, ${runtime})`, async () => {
  const cluster = await RedisCluster.start({ primaries: 3, replicasPerPrimary: 1 });
  const clients: { close(): Promise<void> }[] = [];
  try {
    await cluster.waitForReplicasInSync();
    const channel = "orders{replica}";
    const slot = keySlot(channel);
    const owner = await cluster.ownerOf(slot);
    const replica = (await cluster.nodes()).find((node) => node.primaryId === owner.id)!;
    assert.ok(replica, "the owner has a replica");

    // On the replica: a plain client's shard subscription.
    const onReplica = await connect(cluster.server(replica.port).url);
    clients.push(onReplica);
    const replicaShard = watch(await onReplica.ssubscribe(channel));

    // On the primary: the plain client, a shard channel and a classic one on one connection.
    const plain = await connect(cluster.server(owner.port).url);
    clients.push(plain);
    const shard = watch(await plain.ssubscribe(channel));
    const classic = watch(await plain.subscribe("news-replica"));
    // The cluster client.
    const clustered = await connectCluster(cluster.urls, { reconnect: fastRetries, topologyRefreshMs: 500 });
    clients.push(clustered);
    const moving = watch(await clustered.ssubscribe(channel));
    assert.equal(await clustered.spublish(channel, "before"), 2); // the primary's receivers: plain and cluster client
    await waitFor(() => [shard, moving, replicaShard].every((watched) => watched.got.includes("before")),
      "the message before the failover, on the primary and (replicated) on the replica");

    assert.equal(await cluster.command(replica.port, "CLUSTER", "FAILOVER"), "OK");

    // The old primary pushed sunsubscribe: the plain client ends that subscription with a ConnectionError.
    const ended = await shard.done.then(() => undefined, (error) => error);
    assert.ok(ended instanceof ConnectionError, String(ended));
    assert.match(ended.message, /ended the ssubscribe subscription to "orders\{replica\}" on its own/);
    // Its classic subscription on the same connection lives on; nothing reconnected.
    assert.equal(await cluster.command(owner.port, "PUBLISH", "news-replica", "after failover"), 1);
    await waitFor(() => classic.got.includes("after failover"), "the classic message after the failover");
    assert.equal(plain.stats().reconnects, 0);
    assert.deepEqual(classic.events.map((event) => event.type), []);

    // The cluster subscription moved to the promoted replica, with disconnected then reconnected.
    // Waited for until it is back (the last event a reconnected) and has a message published since
    // the failover: "after" alone can arrive while it is still on the old primary, now a replica that
    // gets shard messages by replication, just before that node's sunsubscribe (seen on Valkey).
    // One move, or more when a topology read taken mid-failover still named the old owner (the next
    // read moves it on: seen once on Valkey, Deno); each a disconnected then a reconnected.
    let types: string[] = [];
    await waitFor(async () => {
      await clustered.spublish(channel, "after").catch(() => 0);
      types = moving.events.map((event) => event.type); // taken with the check: events only grow
      return moving.got.includes("after") && types.at(-1) === "reconnected";
    }, "delivery from the promoted replica, the move done", 15_000, 100);
    assert.ok(types.length >= 2 && types.length % 2 === 0, `moves: ${types}`);
    assert.deepEqual(types, types.map((_, index) => (index % 2 === 0 ? "disconnected" : "reconnected")), `moves: ${types}`);
    moving.check();
    assert.equal(clustered.stats().errors, 0);

    // The plain client on the promoted replica: Valkey 8 pushed sunsubscribe (the subscription ends
    // with a ConnectionError, like the old primary's); Redis 7.0 keeps it, and it gets the new messages.
    if (serverKind() === "valkey") {
      const endedOnReplica = await replicaShard.done.then(() => undefined, (error) => error);
      assert.ok(endedOnReplica instanceof ConnectionError, String(endedOnReplica));
      assert.match(endedOnReplica.message, /changed role in a failover/);
    } else {
      // Published on the promoted node itself: its own subscriber gets it at once.
      assert.ok(Number(await cluster.command(replica.port, "SPUBLISH", channel, "on the new primary")) >= 1);
      await waitFor(() => replicaShard.got.includes("on the new primary"), "the kept subscriber's message");
      replicaShard.check();
    }
    assert.equal(onReplica.stats().reconnects, 0);
  } finally {
    for (const client of clients) await client.close();
    await cluster.stop();
  }
  assert.equal(nativeMemory().liveBytes, 0);
  assert.equal(nativeMemory().openParsers, 0);
}, { timeoutMs: 60_000 });
