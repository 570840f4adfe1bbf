// Method: a real server per test (redis-server or valkey-server, per PUSHWIRE_TEST_SERVER); messages are
// published with history through a pushwire client of their own (never the subscriber's), connections
// are cut from the server side (CLIENT KILL through the independent raw client, SIGKILL + restart), and
// every test checks what the subscription delivered: exactly which messages, in which order, with which
// ids, and which `recovered` events. Default options everywhere (history.maxLength is an argument).
import { assert, runtime, sleep, test, waitFor } from "../shim.ts";
import { connect, type LifecycleEvent } from "../../mod.ts";
import { serverKind } from "../helpers/server_kind.ts";
import { withServer } from "../integration/support.ts";
import { numbered, publishAll, Recorder, seqOf } from "./support.ts";

const history = { maxLength: 1_000 };
const label = `${runtime}, ${serverKind()}`;

function recovered(events: LifecycleEvent[]) {
  return events.filter((event) => event.type === "recovered");
}

test(`durable: 100 published, since { last: 50 }: exactly the last 50 in order with ids, then live (${label})`, () =>
  withServer(async (server) => {
    await using publisher = await connect(server.url);
    await using client = await connect(server.url);
    const ids = await publishAll(publisher, "room", numbered("m", 100), history);
    const subscription = await client.subscribe("room", { since: { last: 50 } });
    const recorder = new Recorder(subscription);
    await recorder.waitForCount(50);
    const live = await publishAll(publisher, "room", numbered("live", 5), history);
    await recorder.waitForCount(55);
    assert.deepEqual(recorder.texts(), [...numbered("m", 50, 50), ...numbered("live", 5)]);
    assert.deepEqual(recorder.seen.map((item) => item.id), [...ids.slice(50), ...live]);
    // Consecutive sequences within one epoch: the ids are what resumes count with.
    const seqs = recorder.seen.map((item) => seqOf(item.id));
    for (let index = 1; index < seqs.length; index++) assert.equal(seqs[index], seqs[index - 1] + 1);
    assert.deepEqual(recovered(recorder.events), [], "a fresh start is not a recovery");
    assert.equal(subscription.stats().dropped, 0);
  }));

test(`durable: subscribe, unsubscribe, 20 published, since <last id>: exactly those 20 once (${label})`, () =>
  withServer(async (server) => {
    await using publisher = await connect(server.url);
    await using client = await connect(server.url);
    const first = await client.subscribe("chat", { history: {} });
    const firstRecorder = new Recorder(first);
    await publishAll(publisher, "chat", numbered("a", 5), history);
    await firstRecorder.waitForCount(5);
    const lastId = firstRecorder.seen[4].id!;
    await first.unsubscribe();
    await publishAll(publisher, "chat", numbered("b", 20), history);
    const second = await client.subscribe("chat", { since: lastId });
    const recorder = new Recorder(second);
    await recorder.waitForEvent("recovered");
    await publishAll(publisher, "chat", ["after"], history);
    await recorder.waitForCount(21);
    await sleep(100); // a duplicate would come now
    assert.deepEqual(recorder.texts(), [...numbered("b", 20), "after"]);
    assert.deepEqual(recovered(recorder.events).map(({ type, ...rest }) => ({ type, count: (rest as { count: number }).count })), [
      { type: "recovered", count: 20 },
    ]);
    const event = recovered(recorder.events)[0];
    assert.ok(event.type === "recovered" && event.complete && event.lost === undefined);
  }));

test(`durable: CLIENT KILL TYPE pubsub while 30 are published: all 30 once, in order, recovered complete (${label})`, () =>
  withServer(async (server) => {
    await using publisher = await connect(server.url);
    await using client = await connect(server.url);
    const subscription = await client.subscribe("feed", { history: {} });
    const recorder = new Recorder(subscription);
    const texts = numbered("k", 30);
    for (const text of texts.slice(0, 10)) await publisher.publish("feed", text, { history });
    await server.command("CLIENT", "KILL", "TYPE", "pubsub");
    // In one write, right after the kill: the subscriber cannot be back before the server ran them.
    await publishAll(publisher, "feed", texts.slice(10, 20), history);
    for (const text of texts.slice(20)) {
      await publisher.publish("feed", text, { history });
      await sleep(5);
    }
    await recorder.waitForCount(30);
    const event = await recorder.waitForEvent("recovered");
    await sleep(100);
    assert.deepEqual(recorder.texts(), texts);
    assert.ok(recorder.events.some((item) => item.type === "reconnected"), "the connection really was cut");
    assert.ok(event.type === "recovered" && event.complete === true && event.lost === undefined);
    assert.ok(event.count >= 1, `the gap was filled from history (count ${event.count})`);
    assert.equal(subscription.stats().dropped, 0);
  }));

test(`durable: what was published while disconnected arrives after the reconnect, with nothing published after it (${label})`, () =>
  withServer(async (server) => {
    await using publisher = await connect(server.url);
    await using client = await connect(server.url);
    const subscription = await client.subscribe("quiet", { history: {} });
    const recorder = new Recorder(subscription);
    await publishAll(publisher, "quiet", ["before"], history);
    await recorder.waitForCount(1);
    await server.command("CLIENT", "KILL", "TYPE", "pubsub");
    await publishAll(publisher, "quiet", numbered("q", 10), history); // one write, right after the kill
    const event = await recorder.waitForEvent("recovered");
    await recorder.waitForCount(11);
    assert.deepEqual(recorder.texts(), ["before", ...numbered("q", 10)]);
    assert.ok(recorder.events.findIndex((item) => item.type === "reconnected") < recorder.events.indexOf(event));
    assert.deepEqual({ ...event, at: 0 }, { type: "recovered", at: 0, count: 10, complete: true });
  }));

test(`durable: history trimmed past the resume id: the newest 10 arrive, recovered complete: false, lost: 90 (${label})`, () =>
  withServer(async (server) => {
    await using publisher = await connect(server.url);
    await using client = await connect(server.url);
    const [resumeId] = await publishAll(publisher, "trim", ["start"], { maxLength: 10 });
    await publishAll(publisher, "trim", numbered("t", 100), { maxLength: 10 });
    assert.equal(await server.command("XLEN", "pushwire:history:{trim}"), 10, "exact trimming");
    const subscription = await client.subscribe("trim", { since: resumeId });
    const recorder = new Recorder(subscription);
    const event = await recorder.waitForEvent("recovered");
    await recorder.waitForCount(10);
    assert.deepEqual(recorder.texts(), numbered("t", 10, 90));
    assert.deepEqual({ ...event, at: 0 }, { type: "recovered", at: 0, count: 10, complete: false, lost: 90 });
  }));

test(`durable: a stream reset (keys deleted) since the resume id: recovered complete: false, lost unknown (${label})`, () =>
  withServer(async (server) => {
    await using publisher = await connect(server.url);
    await using client = await connect(server.url);
    const [resumeId] = await publishAll(publisher, "reset", ["old"], history);
    await server.command("DEL", "pushwire:history:{reset}", "pushwire:history:{reset}:epoch");
    const fresh = await publishAll(publisher, "reset", numbered("new", 3), history);
    assert.notEqual(fresh[0].split("-")[0], resumeId.split("-")[0], "a new epoch");
    assert.equal(seqOf(fresh[0]), 0, "a new epoch starts at sequence 0");
    const subscription = await client.subscribe("reset", { since: resumeId });
    const recorder = new Recorder(subscription);
    const event = await recorder.waitForEvent("recovered");
    await recorder.waitForCount(3);
    assert.deepEqual(recorder.texts(), numbered("new", 3));
    assert.deepEqual({ ...event, at: 0 }, { type: "recovered", at: 0, count: 3, complete: false });
  }));

test(`durable: the server restarts empty (history gone): recovered complete: false, then the new history (${label})`, () =>
  withServer(async (server) => {
    await using publisher = await connect(server.url);
    await using client = await connect(server.url);
    const subscription = await client.subscribe("phoenix", { history: {} });
    const recorder = new Recorder(subscription);
    await publishAll(publisher, "phoenix", ["before"], history);
    await recorder.waitForCount(1);
    await server.kill();
    await server.restart();
    await recorder.waitForEvent("reconnected", 15_000);
    const event = await recorder.waitForEvent("recovered");
    assert.deepEqual({ ...event, at: 0 }, { type: "recovered", at: 0, count: 0, complete: false });
    await waitFor(async () => {
      try {
        await publisher.publish("phoenix", "after", { history });
        return true;
      } catch {
        return false; // the publisher is still reconnecting
      }
    }, "a publish after the restart", 15_000);
    await recorder.waitForCount(2);
    assert.deepEqual(recorder.texts(), ["before", "after"]);
  }));

test(`durable: live messages during a replay wait and follow it: no gap, no duplicate at the seam (${label})`, () =>
  withServer(async (server) => {
    await using publisher = await connect(server.url);
    await using client = await connect(server.url);
    await publishAll(publisher, "seam", numbered("h", 3_000), { maxLength: 10_000 });
    let publishing = true;
    let next = 0;
    const flood = (async () => {
      while (publishing) await publishAll(publisher, "seam", numbered("l", 20, (next += 20) - 20), { maxLength: 10_000 });
    })();
    const subscription = await client.subscribe("seam", { since: { last: 3_000 } });
    const recorder = new Recorder(subscription);
    await recorder.waitForCount(3_000);
    await sleep(200);
    publishing = false;
    await flood;
    await waitFor(() => recorder.seen.at(-1)?.text === `l${next - 1}`, "the last live message", 10_000);
    await sleep(100);
    const seqs = recorder.seen.map((item) => seqOf(item.id));
    for (let index = 1; index < seqs.length; index++) {
      assert.equal(seqs[index], seqs[index - 1] + 1, `consecutive at ${index}: ${recorder.seen[index - 1].text} then ${recorder.seen[index].text}`);
    }
    assert.equal(recorder.seen.at(-1)!.text, `l${next - 1}`, "every live message arrived, the last one last");
    assert.ok(recorder.seen.length >= 3_000 + 20, `replayed and live (${recorder.seen.length})`);
    assert.ok(recorder.seen.some((item) => item.text.startsWith("h")) && recorder.seen.some((item) => item.text.startsWith("l")));
  }));
