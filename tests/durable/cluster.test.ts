// Method: a real 3-primary cluster (tests/helpers/redis_cluster.ts; redis-server or valkey-server per
// PUSHWIRE_TEST_SERVER), real ClusterClients with default options, one to publish and one to
// subscribe. The slot migration is the real recipe WITH the keys (IMPORTING/MIGRATING, MIGRATE of the
// history stream and its epoch key, SETSLOT NODE), done while messages are published: through the
// ClusterClient (the old owner, ASK/TRYAGAIN waited out, then the new owner) and, with the raw client,
// the history script straight on the new owner as soon as it owns the slot, before the subscription is
// there. What is checked: every message whose publish succeeded arrives once, in the history's order.
import { assert, runtime, sleep, test, waitFor } from "../shim.ts";
import { RedisCluster } from "../helpers/redis_cluster.ts";
import { serverKind } from "../helpers/server_kind.ts";
import { connectCluster } from "../../src/cluster/cluster_client.ts";
import { keySlot, nativeMemory } from "../../src/native/parser.ts";
import { RawConnection, RawError } from "../helpers/raw_resp.ts";
import { historyScriptSource } from "../../src/durable/script.ts";
import { numbered, publishAll, Recorder, seqOf } from "./support.ts";

keySlot("load"); // outside any test: Deno's sanitizer counts a library opened inside one as a leak
const cluster = await RedisCluster.start({ primaries: 3 });
const label = `${runtime}, ${serverKind()}`;
const history = { maxLength: 10_000 };

test(`durable cluster: a durable shard channel survives a slot migration with its keys: nothing lost, nothing twice (${label})`, async () => {
  const publisher = await connectCluster(cluster.urls);
  const client = await connectCluster(cluster.urls);
  try {
    const channel = "room{migrating}";
    const streamKey = "pushwire:history:{migrating}:room{migrating}";
    const slot = keySlot(channel);
    const subscription = await client.ssubscribe(channel, { history: {} });
    const recorder = new Recorder(subscription);
    const published: string[] = [];
    let stop = false;
    let next = 0;
    // Ten publishes in flight at a time: after the move the publisher follows one MOVED and goes on
    // at once on the new owner, while the subscription still has to hear sunsubscribe, read the
    // topology and subscribe there; what lands in between is only in the history.
    const publishing = (async () => {
      while (!stop) {
        const texts = numbered("m", 10, next);
        next += 10;
        await Promise.all(texts.map(async (text) => {
          for (let attempt = 0;; attempt++) {
            try {
              await publisher.spublish(channel, text, { history });
              published.push(text);
              return;
            } catch (error) {
              if (attempt >= 20) throw error; // the slot never settled
              await sleep(20); // not run (ASK / TRYAGAIN mid-migration): the same message again
            }
          }
        }));
      }
    })();
    await recorder.waitForCount(100);
    const owner = await cluster.ownerOf(slot);
    const target = (await cluster.nodes()).find((node) => node.role === "primary" && node.id !== owner.id)!;
    // Meanwhile the script straight on the new owner (the raw client), as fast as it answers: it runs
    // as soon as that node owns the slot, before the old owner lets the subscription go.
    let moving = true;
    const direct = (async () => {
      const connection = await RawConnection.connect(target.port);
      try {
        for (let index = 0; moving || index < 5; index++) {
          const text = `direct${index}`;
          const reply = await connection.command("EVAL", historyScriptSource, 2, streamKey, `${streamKey}:epoch`, channel, text, history.maxLength, 0, "SPUBLISH");
          if (reply instanceof RawError) index--; // not the owner yet (MOVED): again
          else published.push(text);
        }
      } finally {
        await connection.close();
      }
    })();
    await cluster.moveSlot(slot, target.id);
    moving = false;
    await direct;
    await recorder.waitForEvent("recovered", 15_000);
    await sleep(300);
    stop = true;
    await publishing;
    // The oracle: the history as the new owner holds it (publishes in flight together may have run
    // in any order; the stream's order is the one every subscriber must see).
    const entries = await cluster.command(target.port, "XRANGE", streamKey, "-", "+") as Uint8Array[][];
    const stream = entries.map((entry) => new TextDecoder().decode((entry[1] as unknown as Uint8Array[])[1]));
    assert.deepEqual([...stream].sort(), [...published].sort(), "every acknowledged publish is in the moved history, once");
    await waitFor(() => recorder.seen.length >= stream.length, `all ${stream.length} (have ${recorder.seen.length})`, 15_000);
    await sleep(100);
    assert.deepEqual(recorder.texts(), stream);
    const seqs = recorder.seen.map((item) => seqOf(item.id));
    for (let index = 1; index < seqs.length; index++) assert.equal(seqs[index], seqs[index - 1] + 1);
    const types = recorder.events.map((event) => event.type);
    assert.ok(types.includes("disconnected") && types.includes("reconnected"), types.join(","));
    const recovered = recorder.events.find((event) => event.type === "recovered")!;
    assert.ok(recovered.type === "recovered" && recovered.complete, JSON.stringify(recovered));
    console.log(`  ${published.length} published across the move; recovered from history after it: ${recovered.count}`);
    assert.ok(recovered.count >= 1, "what the new owner took before the subscription got there came from history");
    assert.equal(subscription.stats().dropped, 0);
  } finally {
    await client.close();
    await publisher.close();
  }
  assert.equal(nativeMemory().liveBytes, 0);
}, { timeoutMs: 60_000 });

test(`durable cluster: classic publish with history runs on the key's owner; since { last } and since <id> read it there (${label})`, async () => {
  const publisher = await connectCluster(cluster.urls);
  const client = await connectCluster(cluster.urls);
  try {
    const ids = await publishAll(publisher, "news", numbered("n", 30), history);
    const owner = await cluster.ownerOf(keySlot("pushwire:history:{news}"));
    assert.equal(await cluster.command(owner.port, "XLEN", "pushwire:history:{news}"), 30);
    const last = await client.subscribe("news", { since: { last: 10 } });
    const resumed = await client.subscribe("news", { since: ids[24] });
    const lastRecorder = new Recorder(last);
    const resumedRecorder = new Recorder(resumed);
    await lastRecorder.waitForCount(10);
    await resumedRecorder.waitForEvent("recovered");
    await publishAll(publisher, "news", ["live"], history);
    await lastRecorder.waitForCount(11);
    await resumedRecorder.waitForCount(6);
    assert.deepEqual(lastRecorder.texts(), [...numbered("n", 10, 20), "live"]);
    assert.deepEqual(resumedRecorder.texts(), [...numbered("n", 5, 25), "live"]);
  } finally {
    await client.close();
    await publisher.close();
  }
  assert.equal(nativeMemory().liveBytes, 0);
}, { timeoutMs: 30_000 });

// Sanitizers off with a reason (as in tests/cluster): the cluster is started once at module level,
// and Deno counts stopping processes started before a test as that test's leak.
test(`durable cluster: teardown (${runtime})`, async () => {
  await cluster.stop();
}, { sanitize: false });
