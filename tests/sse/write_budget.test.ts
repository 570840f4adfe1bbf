// Method: the process-wide write budget of sse() and Deno's ws sockets (src/write_budget.ts) and the shared heartbeat clock
// (src/sse/heartbeat.ts), first alone with a small budget on the real clock, then through sse() with
// DEFAULT options over scripted in-memory subscriptions (tests/sse/helpers.ts) whose bodies are read
// in-process (no HTTP server: what is measured is which chunks sse() writes, not the network).
import { assert, sleep, test, waitFor } from "../shim.ts";
import { openSSE, type SSEStream } from "../../src/sse.ts";
import { WriteBudget } from "../../src/write_budget.ts";
import { heartbeatTimerCount } from "../../src/sse/heartbeat.ts";
import { EventStreamParser, FakeSubscription, message } from "./helpers.ts";

test("sse write budget: grants at once within the budget, then in line, first come first served, one place per writer", async () => {
  const budget = new WriteBudget(1_000); // 10 saved up, then 1 per ms (granted every 5 ms)
  const granted: number[] = [];
  const writers = Array.from({ length: 25 }, (_, index) => ({
    waitingForWrite: false,
    writeGranted: () => {
      granted.push(index);
    },
  }));
  for (const writer of writers) budget.request(writer);
  budget.request(writers[0]); // already in line: no second place
  await Promise.resolve();
  assert.deepEqual(granted, Array.from({ length: 10 }, (_, index) => index), "the saved-up ten in this turn");
  assert.equal(budget.waiting, 15);
  await waitFor(() => granted.length === 25, "the rest, as the budget refills", 2_000, 1);
  assert.deepEqual(granted, writers.map((_, index) => index), "in the order they asked, each once");
  assert.equal(budget.waiting, 0);
  assert.ok(writers.every((writer) => !writer.waitingForWrite));
});

test("write budget: take() grants a write at once only while nobody waits in line and the budget has one", async () => {
  let now = 0;
  const budget = new WriteBudget(1_000, () => now); // 10 saved up, then 1 per ms of this fake clock
  for (let index = 0; index < 10; index++) assert.equal(budget.take(), true, `saved-up write ${index}`);
  assert.equal(budget.take(), false, "spent");
  now += 1;
  assert.equal(budget.take(), true, "refilled by one");
  const writer = { waitingForWrite: false, writeGranted: () => {} };
  budget.request(writer);
  now += 5;
  assert.equal(budget.take(), false, "a writer waits in line: it goes first");
  await Promise.resolve(); // its grant, from what refilled
  assert.equal(writer.waitingForWrite, false);
  assert.equal(budget.take(), true, "the line is empty again and the budget has some left");
});

test("sse write budget: 3,000 busy streams (default options) write fewer, fuller chunks, and every event arrives in order", async () => {
  const streamCount = 3_000;
  const eventCount = 10;
  const subscriptions = Array.from({ length: streamCount }, () => new FakeSubscription("busy"));
  const streams: SSEStream[] = subscriptions.map((subscription) => openSSE(subscription));
  let chunks = 0;
  const parsers = streams.map(() => new EventStreamParser());
  const reading = streams.map(async (stream, index) => {
    const reader = stream.response.body!.getReader();
    await reader.read(); // the opening comment
    for (;;) {
      const { value, done } = await reader.read();
      if (done) return;
      chunks++;
      parsers[index].feed(value!);
    }
  });
  for (let round = 0; round < eventCount; round++) {
    for (const subscription of subscriptions) subscription.push(message("busy", `event ${round}`));
    await sleep(2);
  }
  await waitFor(() => parsers.every((parser) => parser.events.length === eventCount), "every event in every stream", 10_000);
  for (const parser of parsers) {
    assert.deepEqual(parser.events.map((event) => event.data), Array.from({ length: eventCount }, (_, round) => `event ${round}`));
    assert.deepEqual(parser.events.map((event) => event.lastEventId), Array.from({ length: eventCount }, (_, round) => String(round + 1)));
  }
  const events = streamCount * eventCount;
  // Written one by one this would be 30,000 chunks; the budget (35,000 writes/s) makes them wait in line.
  assert.ok(chunks < events * 0.6, `${chunks} chunks for ${events} events`);
  for (const stream of streams) stream.close();
  await Promise.all(reading);
  assert.ok(streams.every((stream) => stream.stats().dropped === 0));
}, { timeoutMs: 60_000 });

test("sse heartbeat: 200 streams share one timer per interval; it stops with the last stream", async () => {
  const before = heartbeatTimerCount();
  const streams = Array.from({ length: 200 }, () => openSSE(new FakeSubscription("beat"), { heartbeatMs: 20 }));
  const readers = streams.map((stream) => stream.response.body!.getReader());
  const reading = readers.map(async (reader) => {
    while (!(await reader.read()).done) { /* read on */ }
  });
  assert.equal(heartbeatTimerCount(), before + 1, "one timer for 200 streams");
  await waitFor(() => streams.every((stream) => stream.stats().heartbeats >= 2), "every stream beat twice", 5_000);
  for (const stream of streams) stream.close();
  await Promise.all(reading);
  assert.equal(heartbeatTimerCount(), before, "no timer left");
});
