// Method: a real 3-primary cluster (tests/helpers/redis_cluster.ts, started once for this file) and
// the real ClusterClient, with 1 MiB channel names made of bytes that are not UTF-8 (seeded): a shard
// channel goes to the primary of its key slot (computed by the core over all its bytes) and a classic
// one to any node; each is subscribed, published to, received with the exact bytes, and left; native
// memory is back to 0 after close.
import { assert, runtime, test } from "../shim.ts";
import { RedisCluster } from "../helpers/redis_cluster.ts";
import { connectCluster } from "../../src/cluster/cluster_client.ts";
import { keySlot, nativeMemory } from "../../src/native/parser.ts";
import type { Message } from "../../src/frame.ts";
import { randomBytes, sameBytes, seededRandom } from "../integration/support.ts";

// Load libpushwire outside any test (Deno's sanitizer would count the cached library as a leak).
keySlot("load");
const cluster = await RedisCluster.start({ primaries: 3 });

function binaryName(seed: number): Uint8Array {
  const bytes = randomBytes(seededRandom(seed), 1 << 20);
  bytes[0] = 0xFF; // never part of UTF-8
  // No "{": the slot is then the CRC16 of every byte.
  for (let index = 0; index < bytes.length; index++) if (bytes[index] === 0x7B) bytes[index] = 0x7C;
  return bytes;
}

async function next(iterator: AsyncIterator<Message>): Promise<Message> {
  const result = await iterator.next();
  assert.ok(!result.done, "a message arrives");
  return result.value;
}

test(`cluster binary names: 1 MiB non-UTF-8 shard and classic channels, exact bytes (${runtime})`, async () => {
  const client = await connectCluster(cluster.urls.slice(0, 1));
  try {
    const shard = binaryName(11);
    const owner = await cluster.ownerOf(keySlot(shard));
    const shardSubscription = await client.ssubscribe([shard, shard.slice()]);
    assert.equal(await client.spublish(shard, "to the shard"), 1, "the name given twice is one subscription");
    const shardMessage = await next(shardSubscription[Symbol.asyncIterator]());
    assert.equal(shardMessage.kind, "smessage");
    assert.equal(shardMessage.text(), "to the shard");
    assert.ok(sameBytes(shardMessage.channelBytes, shard), "the exact shard channel bytes");
    const ownerAddress = `127.0.0.1:${owner.port}`;
    const range = client.topology().slots.find((candidate) => candidate.start <= keySlot(shard) && keySlot(shard) <= candidate.end);
    assert.equal(range?.primary, ownerAddress, "on the primary of its slot");

    const classic = binaryName(12);
    const classicSubscription = await client.subscribe(classic);
    assert.equal(await client.publish(classic, "to everyone"), 1);
    const classicMessage = await next(classicSubscription[Symbol.asyncIterator]());
    assert.ok(sameBytes(classicMessage.channelBytes, classic), "the exact classic channel bytes");

    await shardSubscription.unsubscribe();
    await classicSubscription.unsubscribe();
    assert.equal(await client.spublish(shard, "nobody"), 0, "unsubscribed on the owner");
    assert.equal(await client.publish(classic, "nobody"), 0);
  } finally {
    await client.close();
  }
  assert.equal(nativeMemory().liveBytes, 0);
  assert.equal(nativeMemory().liveMessages, 0);
  assert.equal(nativeMemory().openParsers, 0);
}, { timeoutMs: 60_000 });

// Sanitizers off with a reason: the cluster is started once at module level (one cluster per file),
// and Deno counts stopping processes started before a test as that test's leak.
test(`cluster binary names: teardown (${runtime})`, async () => {
  await cluster.stop();
}, { sanitize: false });
