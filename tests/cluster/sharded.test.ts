// Method: a real 3-primary Redis Cluster (tests/helpers/redis_cluster.ts, started once for this file)
// and the real ClusterClient over real node Clients; publishing and inspection also go through the
// independent raw client where the point is to not trust pushwire. The slot move is a real
// CLUSTER SETSLOT IMPORTING/MIGRATING, then SETSLOT <slot> NODE <id> on every primary (the slot holds
// no keys), not a simulation.
import { assert, runtime, sleep, test, waitFor } from "../shim.ts";
import { RedisCluster } from "../helpers/redis_cluster.ts";
import { connectCluster, type ClusterClient } from "../../src/cluster/cluster_client.ts";
import { keySlot, nativeMemory } from "../../src/native/parser.ts";
import { watch } from "./watch.ts";
import { RawConnection } from "../helpers/raw_resp.ts";
import { Flood } from "../helpers/flood.ts";
import { sequenceOf, sequencePayload } from "../helpers/sequence.ts";
import type { Message } from "../../src/frame.ts";
import { ClosedError, InvalidArgumentError } from "../../src/errors.ts";

// Load libpushwire outside any test (Deno's sanitizer would count the cached library as a leak).
keySlot("load");
const cluster = await RedisCluster.start({ primaries: 3 });
const fastRetries = { initialDelayMs: 20, maxDelayMs: 200, maxAttempts: 30 };

async function withClient(fn: (client: ClusterClient) => Promise<void> | void): Promise<void> {
  const client = await connectCluster(cluster.urls.slice(0, 1), { reconnect: fastRetries });
  try {
    await fn(client);
  } finally {
    await client.close();
  }
  assert.equal(nativeMemory().liveBytes, 0);
  assert.equal(nativeMemory().openParsers, 0);
}

test(`cluster: topology() is plain data covering every slot on 3 primaries (${runtime})`, () =>
  withClient((client) => {
    const topology = client.topology();
    assert.equal(topology.source, "CLUSTER SHARDS");
    assert.equal(new Set(topology.slots.map((range) => range.primary)).size, 3);
    assert.equal(topology.slots.reduce((sum, range) => sum + range.end - range.start + 1, 0), 16_384);
    assert.equal(topology.nodes.filter((node) => node.role === "primary").length, 3);
    assert.deepEqual(JSON.parse(JSON.stringify(topology)), topology);
  }));

test(`cluster: 100 shard channels over many slots all deliver; spublish returns 1 (${runtime})`, () =>
  withClient(async (client) => {
    const channels = Array.from({ length: 100 }, (_, index) => `shard-${index}`);
    const owners = new Set<string>();
    for (const channel of channels) owners.add(client.topology().slots.find((range) => keySlot(channel) >= range.start && keySlot(channel) <= range.end)!.primary);
    assert.equal(owners.size, 3);
    const subscription = await client.ssubscribe(channels);
    const received = new Map<string, string>();
    const reading = (async () => {
      for await (const message of subscription) {
        received.set(message.channel, message.text());
        if (received.size === channels.length) break;
      }
    })();
    const counts = await Promise.all(channels.map((channel) => client.spublish(channel, `hello ${channel}`)));
    assert.deepEqual(counts, channels.map(() => 1));
    await reading;
    for (const channel of channels) assert.equal(received.get(channel), `hello ${channel}`);
    assert.equal(client.stats().nodes, 3);
    assert.equal(subscription.closed, true);
    // Unsubscribed: the servers forget every shard channel.
    await waitFor(async () => {
      const numbers = await Promise.all(cluster.servers.map((server) => server.command("PUBSUB", "SHARDNUMSUB", ...channels)));
      return numbers.every((reply) => (reply as unknown[]).every((value, index) => index % 2 === 0 || value === 0));
    }, "every shard channel to be unsubscribed");
  }));

test(`cluster: classic subscribe/psubscribe/publish through one node (${runtime})`, () =>
  withClient(async (client) => {
    const got: Message[] = [];
    const channelSubscription = await client.subscribe("news", (message) => got.push(message));
    const patternSubscription = await client.psubscribe("news.*", (message) => got.push(message));
    assert.equal(await client.publish("news", "a"), 1);
    // PUBLISH on any other node reaches the subscriber too (classic pub/sub is cluster-wide).
    for (const server of cluster.servers) await server.command("PUBLISH", "news.sport", "b");
    await waitFor(() => got.length >= 4, "classic messages");
    assert.deepEqual(got.map((message) => [message.kind, message.channel, message.text()]), [
      ["message", "news", "a"],
      ["pmessage", "news.sport", "b"],
      ["pmessage", "news.sport", "b"],
      ["pmessage", "news.sport", "b"],
    ]);
    await channelSubscription.unsubscribe();
    await patternSubscription.unsubscribe();
  }));

test(`cluster: bad arguments are InvalidArgumentError; after close() calls are ClosedError (${runtime})`, async () => {
  await assert.rejects(connectCluster([]), InvalidArgumentError);
  await assert.rejects(connectCluster("unix:///tmp/x.sock"), InvalidArgumentError);
  const client = await connectCluster(cluster.urls, { reconnect: fastRetries });
  await assert.rejects(client.ssubscribe([]), InvalidArgumentError);
  await assert.rejects(client.spublish("", "x"), InvalidArgumentError);
  await client.close();
  await client.close();
  await assert.rejects(client.spublish("a", "x"), ClosedError);
  await assert.rejects(client.ssubscribe("a"), ClosedError);
  assert.equal(nativeMemory().liveBytes, 0);
});

test(`cluster: a slot moved to another primary: delivery resumes there within 3 s, no call needed (${runtime})`, () =>
  withClient(async (client) => {
    const channel = "migrating{tag}";
    const other = "steady{other}";
    const slot = keySlot(channel);
    const subscription = await client.ssubscribe(channel, other);
    const { events, got, done, check } = watch(subscription, (message) => `${message.channel}:${message.text()}`);
    assert.equal(await client.spublish(channel, "before"), 1);
    await waitFor(() => got.includes(`${channel}:before`), "the message before the move");

    const owner = await cluster.ownerOf(slot);
    const target = (await cluster.nodes()).find((node) => node.role === "primary" && node.id !== owner.id)!;
    const movedAt = Date.now();
    await cluster.moveSlot(slot, target.id);
    // Publish straight to the new owner with the raw client until the subscription hears it.
    await waitFor(async () => {
      check();
      await cluster.command(target.port, "SPUBLISH", channel, "after");
      return got.includes(`${channel}:after`);
    }, "delivery from the new owner", 3_000, 50);
    assert.ok(Date.now() - movedAt < 3_500);
    assert.deepEqual(events.map((event) => event.type), ["disconnected", "reconnected"]);
    // The other channel never moved and still works; spublish goes to the new owner.
    assert.equal(await client.spublish(other, "still"), 1);
    assert.equal(await client.spublish(channel, "again"), 1);
    // Only now is the slot table sure to name the new owner: a refresh made during the move may have
    // read a node that had not heard of it yet (the subscription follows MOVED regardless); the
    // SPUBLISH above, after every node agreed, corrects the table if it was stale.
    assert.equal(client.topology().slots.find((range) => slot >= range.start && slot <= range.end)!.primary, `127.0.0.1:${target.port}`);
    await waitFor(() => got.includes(`${other}:still`) && got.includes(`${channel}:again`), "both channels");
    await subscription.unsubscribe();
    await done;
  }));

test(`cluster: spublish to a stale owner follows MOVED (${runtime})`, () =>
  withClient(async (client) => {
    const channel = "stale{owner}";
    const slot = keySlot(channel);
    const owner = await cluster.ownerOf(slot);
    const target = (await cluster.nodes()).find((node) => node.role === "primary" && node.id !== owner.id)!;
    const subscriber = await connectCluster(cluster.urls, { reconnect: fastRetries, topologyRefreshMs: 0 });
    try {
      assert.equal(await client.spublish(channel, "warm"), 0); // opens the node client of the owner
      await cluster.moveSlot(slot, target.id);
      const before = client.stats().redirections;
      assert.equal(await client.spublish(channel, "x"), 0);
      assert.ok(client.stats().redirections > before);
    } finally {
      await subscriber.close();
    }
  }));

test(`cluster: two primaries redirecting to each other (MOVED ping-pong) are waited out, not retried to exhaustion (${runtime})`, () =>
  withClient(async (client) => {
    // A real split, made on purpose: the owner is told (SETSLOT NODE) that the target has the slot, and
    // the target still believes the owner has it. Neither claims the slot any more, so no heartbeat
    // corrects either: the two answer MOVED to each other until the slot is assigned again. (The same
    // state arises from SETSLOT NODE run on the target alone, undone by the owner's next heartbeat, and
    // then on the owner; that way depends on gossip timing and once took over 5 s under a full CI run.)
    const channel = "ping-pong{split}";
    const slot = keySlot(channel);
    const owner = await cluster.ownerOf(slot);
    const primaries = (await cluster.nodes()).filter((node) => node.role === "primary");
    const target = primaries.find((node) => node.id !== owner.id)!;
    const subscription = await client.ssubscribe(channel);
    const { events, got, done, check } = watch(subscription);

    await cluster.command(owner.port, "CLUSTER", "SETSLOT", slot, "NODE", target.id);
    await waitFor(() => events.length > 0, "the owner to end the subscription");
    await sleep(300); // followed at once, 30 attempts of MOVED ping-pong took ~40 ms
    check();
    assert.equal(subscription.closed, false);
    assert.ok(client.stats().redirections >= 2);

    // The repair: every primary assigns the slot to the target; the waiting subscription resumes there.
    for (const node of [target, ...primaries.filter((node) => node.id !== target.id)]) {
      await cluster.command(node.port, "CLUSTER", "SETSLOT", slot, "NODE", target.id);
    }
    await waitFor(async () => {
      check();
      await cluster.command(target.port, "SPUBLISH", channel, "back");
      return got.includes("back");
    }, "delivery after the repair", 5_000, 50);
    assert.deepEqual(events.map((event) => event.type), ["disconnected", "reconnected"]);
    await subscription.unsubscribe();
    await done;
  }));

test(`cluster: a for-await consumer with default options gets a burst on two primaries whole and in order (${runtime})`, () =>
  withClient(async (client) => {
    // The same pacing as on one node: the subscription's buffer holds the node sockets its messages
    // come from, so a burst of many socket reads on each primary loses nothing.
    const ownerOf = (channel: string) => client.topology().slots.find((range) => keySlot(channel) >= range.start && keySlot(channel) <= range.end)!.primary;
    const channels = Array.from({ length: 64 }, (_, index) => `burst{${index}}`);
    const first = channels[0];
    const second = channels.find((channel) => ownerOf(channel) !== ownerOf(first))!;
    const picked = [first, second].map((channel) => ({ channel, port: Number(ownerOf(channel).split(":")[1]) }));
    const subscription = await client.ssubscribe(picked.map((entry) => entry.channel));
    const perChannel = 20_000;
    const size = 256; // 5 MiB a primary
    const next = new Map(picked.map(({ channel }) => [channel, 0]));
    const reading = (async () => {
      let total = 0;
      for await (const message of subscription) {
        const sequence = sequenceOf(message.data);
        assert.equal(sequence, next.get(message.channel), `in order on ${message.channel}`);
        next.set(message.channel, sequence + 1);
        if (++total === 2 * perChannel) break;
      }
    })();
    const floods = await Promise.all(picked.map(({ channel, port }) =>
      Flood.start({ port, channels: [channel], command: "SPUBLISH", payload: (index) => sequencePayload(index, size), batch: 1_000, total: perChannel })
    ));
    await Promise.all(floods.map((flood) => flood.done));
    await Promise.all(floods.map((flood) => flood.stop()));
    await reading;
    assert.deepEqual([...next.values()], [perChannel, perChannel]);
    assert.equal(client.stats().dropped, 0);
  }), { timeoutMs: 60_000 });

test(`cluster: overflow "pause" stops reading the nodes' sockets until the consumer drains; nothing is lost (${runtime})`, () =>
  withClient(async (client) => {
    // Two shard channels on different primaries, one of them the seed (the node a topology read would
    // ask first): the one subscription's buffer holds both nodes.
    const seed = `127.0.0.1:${cluster.servers[0].port}`;
    const ownerOf = (channel: string) => client.topology().slots.find((range) => keySlot(channel) >= range.start && keySlot(channel) <= range.end)!.primary;
    const channels = Array.from({ length: 64 }, (_, index) => `paused{${index}}`);
    const picked = [channels.find((channel) => ownerOf(channel) === seed)!, channels.find((channel) => ownerOf(channel) !== seed)!]
      .map((channel) => ({ channel, port: Number(ownerOf(channel).split(":")[1]) }));
    const subscription = await client.ssubscribe(picked.map((entry) => entry.channel), { bufferSize: 16, overflow: "pause" });
    const perChannel = 2_000;
    const padding = "x".repeat(1_000); // ~2 MB a node: far more than one socket read
    await Promise.all(picked.map(async ({ channel, port }) => {
      const publisher = await RawConnection.connect(port);
      try {
        await publisher.pipeline(Array.from({ length: perChannel }, (_, i) => ["SPUBLISH", channel, `${i}:${padding}`]));
      } finally {
        await publisher.close();
      }
    }));
    await sleep(100);
    // Buffering past bufferSize (what this did before) would have taken all 4,000 by now.
    const stalled = subscription.stats().received;
    assert.ok(stalled < perChannel, `reading paused (received ${stalled} of ${2 * perChannel})`);
    // A topology read meanwhile asks the node that is not held instead of waiting for the seed.
    let timer: ReturnType<typeof setTimeout> | undefined;
    await Promise.race([
      client.refreshTopology(),
      new Promise((_, reject) => (timer = setTimeout(() => reject(new Error("the topology read waited for a paused node")), 2_000))),
    ]).finally(() => clearTimeout(timer));
    const next = new Map(picked.map(({ channel }) => [channel, 0]));
    let total = 0;
    for await (const message of subscription) {
      const index = parseInt(message.text(), 10);
      assert.equal(index, next.get(message.channel), `in order on ${message.channel}`);
      next.set(message.channel, index + 1);
      if (++total % 500 === 0) await sleep(1); // still slow-ish: pauses again and again
      if (total === 2 * perChannel) break;
    }
    assert.equal(total, 2 * perChannel);
    assert.equal(client.stats().dropped, 0);
    // Reading resumed on both nodes once the buffer drained: a new message still arrives.
    const after = await client.ssubscribe(picked.map((entry) => entry.channel));
    await Promise.all(picked.map(({ channel }) => client.spublish(channel, "after")));
    const got: string[] = [];
    for await (const message of after) {
      got.push(message.channel);
      if (got.length === 2) break;
    }
    assert.deepEqual(got.sort(), picked.map((entry) => entry.channel).sort());
  }), { timeoutMs: 60_000 });

test(`cluster: a paused subscription that ends lets its node go: another subscription there gets everything (${runtime})`, () =>
  withClient(async (client) => {
    const channel = "paused{ends}";
    const owner = await cluster.ownerOf(keySlot(channel));
    const paused = await client.ssubscribe(channel, { bufferSize: 4, overflow: "pause" });
    let heard = 0;
    await client.ssubscribe(channel, () => heard++);
    const total = 2_000;
    const publisher = await RawConnection.connect(owner.port);
    try {
      await publisher.pipeline(Array.from({ length: total }, (_, i) => ["SPUBLISH", channel, `${i}:${"y".repeat(1_000)}`]));
    } finally {
      await publisher.close();
    }
    await sleep(100);
    // One socket: the paused buffer holds the other subscription's messages back too.
    assert.ok(heard < total / 2, `the node's socket is paused (heard ${heard} of ${total})`);
    await paused.unsubscribe();
    await waitFor(() => heard === total, "every message after the paused subscription ended", 10_000);
    assert.equal(client.stats().dropped, 0);
  }), { timeoutMs: 60_000 });

test(`cluster: a paused subscription whose slot moves holds its new node too (${runtime})`, () =>
  withClient(async (client) => {
    const channel = "paused{moving}";
    const slot = keySlot(channel);
    const owner = await cluster.ownerOf(slot);
    const target = (await cluster.nodes()).find((node) => node.role === "primary" && node.id !== owner.id)!;
    const subscription = await client.ssubscribe(channel, { bufferSize: 8, overflow: "pause" });
    const events: string[] = [];
    subscription.onEvent((event) => events.push(event.type));
    // Fill the buffer: the subscription is paused from here on.
    const before = 20;
    await cluster.command(owner.port, "SPUBLISH", channel, "0:x");
    await waitFor(() => subscription.stats().received === 1, "the first message");
    const first = await RawConnection.connect(owner.port);
    try {
      await first.pipeline(Array.from({ length: before - 1 }, (_, i) => ["SPUBLISH", channel, `${i + 1}:x`]));
    } finally {
      await first.close();
    }
    await waitFor(() => subscription.stats().received === before, "the messages before the move");
    await cluster.moveSlot(slot, target.id);
    await client.refreshTopology(); // the member moves to the new owner while its subscription is paused
    await waitFor(() => events.includes("reconnected"), "the move to the new owner", 10_000);
    const perNode = 2_000;
    const second = await RawConnection.connect(target.port);
    try {
      await second.pipeline(Array.from({ length: perNode }, (_, i) => ["SPUBLISH", channel, `${before + i}:${"z".repeat(1_000)}`]));
    } finally {
      await second.close();
    }
    await sleep(100);
    const stalled = subscription.stats().received;
    assert.ok(stalled < before + perNode / 2, `reading paused on the new owner (received ${stalled} of ${before + perNode})`);
    let total = 0;
    for await (const message of subscription) {
      assert.equal(parseInt(message.text(), 10), total, "in order");
      if (++total === before + perNode) break;
    }
    assert.equal(client.stats().dropped, 0);
  }), { timeoutMs: 60_000 });

// Sanitizers off with a reason: the cluster is started once at module level (DESIGN: one cluster per
// file), and Deno counts stopping processes started before a test as that test's leak.
test(`cluster: teardown (${runtime})`, async () => {
  await cluster.stop();
}, { sanitize: false });
