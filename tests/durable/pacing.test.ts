// Method: a real server per test (PUSHWIRE_TEST_SERVER picks redis or valkey); a history is filled
// through a pushwire publisher of its own, then a durable subscription with DEFAULT flow options meets
// a replay, or a burst, far bigger than its buffer, with a consumer that reads slowly, stops (longer than
// slowConsumerMs: it is found stalled) or has not started reading. What is checked: every message
// arrives once, in order (consecutive sequences), and nothing is counted as dropped.
import { assert, runtime, sleep, test, waitFor } from "../shim.ts";
import { connect } from "../../mod.ts";
import { serverKind } from "../helpers/server_kind.ts";
import { withServer } from "../integration/support.ts";
import { numbered, publishAll, Recorder, seqOf } from "./support.ts";

const label = `${runtime}, ${serverKind()}`;
const payloadPadding = ".".repeat(90);

function assertConsecutive(recorder: Recorder): void {
  const seqs = recorder.seen.map((item) => seqOf(item.id));
  for (let index = 1; index < seqs.length; index++) {
    if (seqs[index] !== seqs[index - 1] + 1) {
      assert.fail(`not consecutive at ${index}: ${recorder.seen[index - 1].text.slice(0, 12)} then ${recorder.seen[index].text.slice(0, 12)}`);
    }
  }
}

test(`durable pacing: since { last: 100,000 } with a slow, then stalled, then fast consumer arrives whole (${label})`, () =>
  withServer(async (server) => {
    await using publisher = await connect(server.url);
    await using client = await connect(server.url);
    const total = 100_000;
    const history = { maxLength: 200_000 };
    await publishAll(publisher, "big", numbered("h", total).map((text) => text + payloadPadding), history, "publish", 1_000);
    const started = Date.now();
    const subscription = await client.subscribe("big", { since: { last: total } });
    // Slow for the first 500, then nothing for 4 s (stalled: longer than slowConsumerMs), then fast.
    const recorder = new Recorder(subscription, (index) => index < 500 ? 1 : index === 500 ? 4_000 : 0);
    await recorder.waitForCount(600, 20_000);
    const live = await publishAll(publisher, "big", numbered("live", 1_000), history);
    await waitFor(() => recorder.seen.at(-1)?.id === live.at(-1), "the last live message", 60_000);
    const elapsedMs = Date.now() - started;
    await sleep(100);
    assert.equal(recorder.seen.length, total + 1_000);
    assertConsecutive(recorder);
    assert.equal(recorder.seen[0].text.slice(0, 2), "h0");
    assert.equal(subscription.stats().dropped, 0, "nothing dropped");
    assert.ok(subscription.stats().stalls >= 1, "the consumer was found stalled on the way");
    console.log(`  replay of ${total} + 1,000 live (100 B, with a 4 s stall): ${elapsedMs} ms`);
  }, []), { timeoutMs: 120_000 });

test(`durable pacing: a burst past the bounds of a subscription nobody reads yet is re-read from history, not dropped (${label})`, () =>
  withServer(async (server) => {
    await using publisher = await connect(server.url);
    await using client = await connect(server.url);
    const subscription = await client.subscribe("burst", { history: {} });
    const big = "x".repeat(100 * 1024);
    // 100 × 100 KiB = 10 MiB, past the default bufferBytes (8 MiB) of a buffer nobody reads.
    await publishAll(publisher, "burst", numbered("b", 100).map((text) => `${text}:${big}`), { maxLength: 1_000 }, "publish", 10);
    await waitFor(() => subscription.stats().received >= 80, "the buffer filled");
    const recorder = new Recorder(subscription);
    await waitFor(() => recorder.seen.length === 100, `100 messages (have ${recorder.seen.length})`, 20_000);
    const event = await recorder.waitForEvent("recovered");
    assert.deepEqual(recorder.texts().map((text) => text.split(":")[0]), numbered("b", 100));
    assertConsecutive(recorder);
    assert.equal(subscription.stats().dropped, 0);
    assert.ok(event.type === "recovered" && event.complete && event.count > 0, JSON.stringify(event));
  }), { timeoutMs: 60_000 });

test(`durable pacing: close() in the middle of a replay ends it cleanly: no read, timer or native byte left (${label})`, () =>
  withServer(async (server) => {
    await using publisher = await connect(server.url);
    const client = await connect(server.url);
    await publishAll(publisher, "cut", numbered("c", 20_000), { maxLength: 20_000 }, "publish", 1_000);
    const subscription = await client.subscribe("cut", { since: { last: 20_000 } });
    const recorder = new Recorder(subscription, () => 1); // reads slowly: the replay waits for room
    await recorder.waitForCount(100);
    await client.close();
    await recorder.done;
    assert.ok(recorder.seen.length < 20_000, `the replay was cut (${recorder.seen.length} delivered)`);
    assert.equal(subscription.closed, true);
  }), { timeoutMs: 60_000 });
