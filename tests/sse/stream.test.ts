// Method: sse() over a scripted in-memory Subscription (tests/sse/helpers.ts), reading the returned
// Response body directly — no HTTP server, no redis: these tests pin the stream's own behaviour
// (ids, event names, encodings, heartbeat, lifecycle events, teardown, the slow-client queue) exactly
// and fast. The real client + real servers are in tests/sse/fanout.test.ts and slow_client.test.ts.
import { assert, sleep, test, waitFor } from "../shim.ts";
import { openSSE, sse, type SSELifecycleEvent, type SSEMessage, type SSEStats, type SSESubscription } from "../../src/sse.ts";
import { OverflowError } from "../../src/errors.ts";
import { EventStreamParser, FakeSubscription, message, readEvents } from "./helpers.ts";

function reading(response: Response) {
  const reader = response.body!.getReader();
  const parser = new EventStreamParser();
  return {
    reader,
    parser,
    until: (condition: (parser: EventStreamParser) => boolean) => readEvents(reader, parser, condition),
    events: (count: number) => readEvents(reader, parser, (p) => p.events.length >= count),
  };
}

test("sse stream: headers, opening comment, retry hint", async () => {
  const subscription = new FakeSubscription("news");
  const stream = openSSE(subscription, { retryMs: 3000, heartbeatMs: 0, headers: { "access-control-allow-origin": "*" } });
  const { headers, status } = stream.response;
  assert.equal(status, 200);
  assert.equal(headers.get("content-type"), "text/event-stream; charset=utf-8");
  assert.equal(headers.get("cache-control"), "no-cache, no-transform");
  assert.equal(headers.get("x-accel-buffering"), "no");
  assert.equal(headers.get("connection"), "keep-alive");
  assert.equal(headers.get("access-control-allow-origin"), "*");
  const { reader } = reading(stream.response);
  const first = await reader.read();
  assert.equal(new TextDecoder().decode(first.value), ": pushwire\nretry: 3000\n\n");
  stream.close();
  assert.equal((await reader.read()).done, true, "close() ends the body");
  const stats = await stream.done;
  assert.equal(stats.closeReason, "closed");
  assert.equal(subscription.unsubscribeCalls, 1);
});

test("sse stream: ids are monotonic, payloads arrive exactly, event option kinds", async () => {
  const payloads = ["one", "two\nlines", "crlf\r\nx", "ünïcödé 🎉", "", " spaced"];
  const expected = ["one", "two\nlines", "crlf\nx", "ünïcödé 🎉", "", " spaced"];
  for (const [option, names] of [
    [undefined, ["message", "message", "message", "message", "message", "message"]],
    ["kind", ["message", "pmessage", "message", "message", "message", "message"]],
    ["channel", ["c0", "c1", "c2", "c3", "c4", "c5"]],
  ] as const) {
    const subscription = new FakeSubscription("c");
    const response = sse(subscription, { heartbeatMs: 0, event: option });
    payloads.forEach((payload, index) => subscription.push(message(`c${index}`, payload, index === 1 ? "pmessage" : "message")));
    const { parser, events, reader } = reading(response);
    assert.ok(await events(payloads.length));
    assert.deepEqual(parser.events.map((event) => event.data), expected);
    assert.deepEqual(parser.events.map((event) => event.lastEventId), ["1", "2", "3", "4", "5", "6"]);
    assert.deepEqual(parser.events.map((event) => event.type), names);
    await reader.cancel();
  }
});

test("sse stream: event function, serialize, Last-Event-ID continuation", async () => {
  const subscription = new FakeSubscription("a");
  const response = sse(subscription, {
    heartbeatMs: 0,
    lastEventId: "41",
    event: (msg) => (msg.channel === "a" ? "alpha" : undefined),
  });
  subscription.push(message("a", "x"), message("b", "y"));
  const view = reading(response);
  assert.ok(await view.events(2));
  assert.deepEqual(view.parser.events, [
    { type: "alpha", data: "x", lastEventId: "42" },
    { type: "message", data: "y", lastEventId: "43" },
  ]);
  await view.reader.cancel();

  const second = new FakeSubscription("a");
  const serialized = sse(second, {
    heartbeatMs: 0,
    lastEventId: "not a number",
    serialize: (msg) => ({ event: "json", data: JSON.stringify({ channel: msg.channel, text: new TextDecoder().decode(msg.data) }), id: msg.channel === "keep" ? undefined : "custom" }),
  });
  second.push(message("keep", "1\n2"), message("other", "3"));
  const view2 = reading(serialized);
  assert.ok(await view2.events(2));
  assert.deepEqual(view2.parser.events, [
    { type: "json", data: '{"channel":"keep","text":"1\\n2"}', lastEventId: "1" },
    { type: "json", data: '{"channel":"other","text":"3"}', lastEventId: "custom" },
  ]);
  await view2.reader.cancel();
});

test("sse stream: base64 keeps exact bytes; invalid UTF-8 in text mode is never decoded lossily", async () => {
  const bytes = new Uint8Array([0, 13, 10, 255, 254, 0xc3, 0x28, 10, 13]);
  const binary = new FakeSubscription("bin");
  const response = sse(binary, { heartbeatMs: 0, encoding: "base64" });
  binary.push(message("bin", bytes));
  const view = reading(response);
  assert.ok(await view.events(1));
  assert.deepEqual(Uint8Array.from(atob(view.parser.events[0].data), (c) => c.charCodeAt(0)), bytes);
  await view.reader.cancel();

  const text = new FakeSubscription("t");
  const textStream = openSSE(text, { heartbeatMs: 0 });
  text.push(message("t", "before"), message("t", bytes), message("t", "after"));
  const view2 = reading(textStream.response);
  assert.ok(await view2.events(3));
  assert.deepEqual(view2.parser.events.map((e) => [e.type, e.lastEventId]), [["message", "1"], ["invalid-utf8", "2"], ["message", "3"]]);
  const fallback = JSON.parse(view2.parser.events[1].data);
  assert.equal(fallback.channel, "t");
  assert.deepEqual(Uint8Array.from(atob(fallback.base64), (c) => c.charCodeAt(0)), bytes);
  assert.equal(textStream.stats().invalidText, 1);
  await view2.reader.cancel();

  const strict = new FakeSubscription("t");
  const strictStream = openSSE(strict, { heartbeatMs: 0, invalidText: "close" });
  strict.push(message("t", "fine"), message("t", bytes));
  const view3 = reading(strictStream.response);
  await assert.rejects(view3.until(() => false), /not valid UTF-8/);
  assert.equal(view3.parser.events.length, 1);
  const stats = await strictStream.done;
  assert.equal(stats.closeReason, "error");
  assert.equal(strict.unsubscribeCalls, 1);
});

test("sse stream: heartbeat comments with a short heartbeatMs, stopped on close", async () => {
  const subscription = new FakeSubscription("hb");
  const stream = openSSE(subscription, { heartbeatMs: 20 });
  const view = reading(stream.response);
  assert.ok(await view.until((parser) => parser.comments.filter((c) => c === "heartbeat").length >= 3));
  assert.deepEqual(view.parser.events, [], "a heartbeat is a comment, never an event");
  await view.reader.cancel();
  const stats = await stream.done;
  assert.ok(stats.heartbeats >= 3);
  const after = stats.heartbeats;
  await sleep(60);
  assert.equal(stream.stats().heartbeats, after, "no heartbeat after the end");
});

test("sse stream: lifecycle events become disconnected / reconnected / dropped events in order", async () => {
  const subscription = new FakeSubscription("life");
  const stream = openSSE(subscription, { heartbeatMs: 0 });
  const view = reading(stream.response);
  subscription.push(message("life", "m1"));
  assert.ok(await view.events(1), "m1 first");
  subscription.emit({ type: "disconnected", at: 1000, error: new Error("socket closed") });
  subscription.emit({ type: "reconnected", at: 1500, downtimeMs: 500 });
  subscription.emit({ type: "dropped", at: 1600, count: 4 });
  subscription.push(message("life", "m2"));
  assert.ok(await view.events(5));
  assert.deepEqual(view.parser.events.map((e) => e.type), ["message", "disconnected", "reconnected", "dropped", "message"]);
  assert.deepEqual(JSON.parse(view.parser.events[1].data), { at: 1000, error: "socket closed" });
  assert.deepEqual(JSON.parse(view.parser.events[2].data), { at: 1500, downtimeMs: 500 });
  assert.deepEqual(JSON.parse(view.parser.events[3].data), { count: 4, total: 4 });
  assert.equal(view.parser.events[4].lastEventId, "2");
  assert.equal(stream.stats().dropped, 4);
  await view.reader.cancel();
  await stream.done;
});

test("sse stream: subscription end without error ends the body after the last message; with error errors it", async () => {
  const subscription = new FakeSubscription("e");
  const stream = openSSE(subscription, { heartbeatMs: 0 });
  subscription.push(message("e", "last words"));
  subscription.end();
  const view = reading(stream.response);
  assert.equal(await view.until(() => false), false, "the body ends");
  assert.deepEqual(view.parser.events.map((e) => e.data), ["last words"]);
  assert.equal((await stream.done).closeReason, "ended");

  const failing = new FakeSubscription("e");
  const failingStream = openSSE(failing, { heartbeatMs: 0 });
  const view2 = reading(failingStream.response);
  await view2.until((p) => p.comments.length > 0);
  failing.end(new Error("connection lost for good"));
  await assert.rejects(view2.until(() => false), /connection lost for good/);
  assert.equal((await failingStream.done).closeReason, "error");
});

test("sse stream: abort signal and body cancel release the subscription exactly once", async () => {
  const controller = new AbortController();
  const subscription = new FakeSubscription("a");
  let closedStats: SSEStats | undefined;
  const stream = openSSE(subscription, { heartbeatMs: 10, signal: controller.signal, onClose: (stats) => (closedStats = stats) });
  const view = reading(stream.response);
  subscription.push(message("a", "hi"));
  assert.ok(await view.events(1));
  assert.equal(subscription.listenerCount, 1);
  controller.abort();
  const stats = await stream.done;
  assert.equal(stats.closeReason, "aborted");
  assert.equal(closedStats, stats);
  assert.equal(subscription.unsubscribeCalls, 1);
  assert.equal(subscription.listenerCount, 0, "lifecycle listener removed");
  await view.reader.cancel();
  assert.equal(subscription.unsubscribeCalls, 1, "cancel after abort does not unsubscribe again");

  const second = new FakeSubscription("b");
  const cancelled = openSSE(second, { heartbeatMs: 10 });
  await reading(cancelled.response).reader.cancel();
  assert.equal((await cancelled.done).closeReason, "cancelled");
  assert.equal(second.unsubscribeCalls, 1);

  const aborted = new AbortController();
  aborted.abort();
  const third = new FakeSubscription("c");
  const early = openSSE(third, { signal: aborted.signal });
  assert.equal((await early.done).closeReason, "aborted");
  assert.equal(third.unsubscribeCalls, 1);
});

test("sse stream: a promised source; abort before it resolves still unsubscribes; a rejected one errors the body", async () => {
  const subscription = new FakeSubscription("late");
  let resolve!: (value: FakeSubscription) => void;
  const controller = new AbortController();
  const stream = openSSE(new Promise<FakeSubscription>((r) => (resolve = r)), { heartbeatMs: 0, signal: controller.signal });
  controller.abort();
  await sleep(5);
  assert.equal(subscription.unsubscribeCalls, 0);
  resolve(subscription);
  assert.equal((await stream.done).closeReason, "aborted");
  assert.equal(subscription.unsubscribeCalls, 1, "the late subscription is released");

  const working = new FakeSubscription("p");
  const fromPromise = sse(Promise.resolve(working), { heartbeatMs: 0 });
  working.push(message("p", "via promise"));
  const view = reading(fromPromise);
  assert.ok(await view.events(1));
  await view.reader.cancel();

  const failed = openSSE(Promise.reject(new Error("SUBSCRIBE refused")), { heartbeatMs: 0 });
  await assert.rejects(reading(failed.response).until(() => false), /SUBSCRIBE refused/);
  assert.equal((await failed.done).closeReason, "error");
});

test("sse stream: a reader that stops reading: bounded queue, oldest dropped and reported, order kept", async () => {
  const subscription = new FakeSubscription("slow");
  const maxQueuedBytes = 16 * 1024;
  const stream = openSSE(subscription, { heartbeatMs: 0, highWaterMarkBytes: 4096, maxQueuedEvents: 10_000, maxQueuedBytes });
  const payload = "x".repeat(1000);
  for (let index = 0; index < 500; index++) subscription.push(message("slow", `${index}:${payload}`));
  subscription.emit({ type: "reconnected", at: 1, downtimeMs: 2 }); // control events are never dropped
  for (let index = 500; index < 1000; index++) subscription.push(message("slow", `${index}:${payload}`));
  await waitFor(() => stream.stats().dropped > 0, "drops");
  await sleep(10);
  const stats = stream.stats();
  assert.ok(stats.peakQueuedBytes <= maxQueuedBytes, `peak ${stats.peakQueuedBytes} ≤ ${maxQueuedBytes}`);
  assert.ok(stats.queuedBytes <= maxQueuedBytes);
  const view = reading(stream.response);
  subscription.push(message("slow", "final"));
  assert.ok(await view.until((p) => p.events.some((e) => e.data === "final")));
  const types = view.parser.events.map((e) => e.type);
  assert.ok(types.includes("dropped"));
  assert.ok(types.includes("reconnected"), "the control event survived the drops");
  const delivered = view.parser.events.filter((e) => e.type === "message");
  const ids = delivered.map((e) => Number(e.lastEventId));
  assert.deepEqual(ids, [...ids].sort((a, b) => a - b), "ids increase");
  assert.equal(delivered.at(-1)!.data, "final");
  const reported = view.parser.events.filter((e) => e.type === "dropped").reduce((sum, e) => sum + JSON.parse(e.data).count, 0);
  const final = stream.stats();
  assert.equal(reported, final.dropped, "every drop was told to the client");
  assert.equal(delivered.length + final.dropped, 1001, "each message either arrived or was counted as dropped");
  assert.equal(final.sent, delivered.length);
  await view.reader.cancel();
  await stream.done;
});

test("sse stream: slowClient close errors the body with OverflowError and unsubscribes", async () => {
  const subscription = new FakeSubscription("slow");
  const stream = openSSE(subscription, { heartbeatMs: 0, highWaterMarkBytes: 1024, maxQueuedEvents: 5, slowClient: "close" });
  for (let index = 0; index < 100; index++) subscription.push(message("slow", "y".repeat(500)));
  const stats = await stream.done;
  assert.equal(stats.closeReason, "slow-client");
  assert.equal(subscription.unsubscribeCalls, 1);
  await assert.rejects(reading(stream.response).until(() => false), OverflowError);
});

test("sse stream: invalid options are refused up front", () => {
  const subscription = new FakeSubscription("x");
  assert.throws(() => sse(subscription, { maxQueuedBytes: 0 }), /maxQueuedBytes/);
  assert.throws(() => sse(subscription, { heartbeatMs: -1 }), /heartbeatMs/);
  assert.throws(() => sse(subscription, { slowClient: "maybe" as "close" }), /slowClient/);
  assert.throws(() => sse(subscription, { retryMs: 1.5 }), /retryMs/);
  assert.throws(() => sse(subscription, { coalesceMs: -1 }), /coalesceMs/);
  assert.equal(subscription.unsubscribeCalls, 0);
});

/** Reads until `count` events arrived; returns the events' data and how many body chunks carried them. */
async function chunksFor(reader: ReadableStreamDefaultReader<Uint8Array>, count: number) {
  const parser = new EventStreamParser();
  let chunks = 0;
  while (parser.events.length < count) {
    const { value, done } = await reader.read();
    if (done) break;
    chunks++;
    parser.feed(value);
  }
  return { data: parser.events.map((event) => event.data), chunks };
}

test("sse stream: coalesceMs holds a burst and writes it as one chunk; 0 writes at once into an idle body", async () => {
  const sent = Array.from({ length: 20 }, (_, index) => `m${index}`);
  for (const coalesceMs of [0, 40]) {
    const subscription = new FakeSubscription("c");
    const stream = openSSE(subscription, { heartbeatMs: 0, coalesceMs });
    const reader = stream.response.body!.getReader();
    await reader.read(); // the opening comment
    const startedAt = performance.now();
    subscription.push(...sent.map((payload) => message("c", payload)));
    const { data, chunks } = await chunksFor(reader, sent.length);
    const waitedMs = performance.now() - startedAt;
    assert.deepEqual(data, sent, `coalesceMs ${coalesceMs}: every event, in order`);
    if (coalesceMs === 0) {
      assert.equal(chunks, sent.length, "a reader always waiting gets every event at once, each its own chunk");
    } else {
      assert.equal(chunks, 1, "the burst went out as one chunk");
      assert.ok(waitedMs >= coalesceMs * 0.75, `held for about coalesceMs (waited ${waitedMs.toFixed(1)} ms)`);
    }
    stream.close();
    assert.equal((await reader.read()).done, true);
    assert.equal((await stream.done).sent, sent.length);
  }
});

test("sse stream: close() writes events still held by coalesceMs at once, and stops the timer", async () => {
  const subscription = new FakeSubscription("c");
  const stream = openSSE(subscription, { heartbeatMs: 0, coalesceMs: 60_000 });
  const reader = stream.response.body!.getReader();
  await reader.read(); // the opening comment
  subscription.push(message("c", "a"), message("c", "b"), message("c", "c"));
  await waitFor(() => stream.stats().queuedEvents === 3, "the three events are held");
  const startedAt = performance.now();
  stream.close();
  const { data } = await chunksFor(reader, 3);
  assert.deepEqual(data, ["a", "b", "c"]);
  assert.equal((await reader.read()).done, true, "the body ends after the held events");
  assert.ok(performance.now() - startedAt < 5_000, "not held until the 60 s timer");
  assert.equal((await stream.done).closeReason, "closed");
});

/** A subscription with deliverTo (as pushwire's has): messages are pushed, never pulled. */
class PushingSubscription implements SSESubscription {
  unsubscribeCalls = 0;
  iteratorUsed = false;
  #listener: ((message: SSEMessage) => void) | undefined;
  #buffered: SSEMessage[] = [];
  #listeners = new Set<(event: SSELifecycleEvent) => void>();

  push(...messages: SSEMessage[]): void {
    for (const item of messages) {
      if (this.#listener) this.#listener(item);
      else this.#buffered.push(item);
    }
  }

  deliverTo(listener: (message: SSEMessage) => void): boolean {
    this.#listener = listener;
    for (const item of this.#buffered.splice(0)) listener(item);
    return true;
  }

  end(error?: Error): void {
    for (const listener of [...this.#listeners]) listener({ type: "end", at: Date.now(), error });
  }

  onEvent(listener: (event: SSELifecycleEvent) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  unsubscribe(): Promise<void> {
    this.unsubscribeCalls++;
    return Promise.resolve();
  }

  [Symbol.asyncIterator](): AsyncIterator<SSEMessage> {
    this.iteratorUsed = true;
    return { next: () => new Promise<IteratorResult<SSEMessage>>(() => {}) };
  }
}

test("sse stream: a subscription with deliverTo is read through it, and its end event ends the stream", async () => {
  const subscription = new PushingSubscription();
  subscription.push(message("c", "before"));
  const stream = openSSE(subscription, { heartbeatMs: 0 });
  const view = reading(stream.response);
  subscription.push(message("c", "after 1"), message("c", "after 2"));
  assert.ok(await view.events(3));
  assert.deepEqual(view.parser.events.map((event) => [event.data, event.lastEventId]), [
    ["before", "1"],
    ["after 1", "2"],
    ["after 2", "3"],
  ]);
  assert.equal(subscription.iteratorUsed, false, "no iterator, no promise per message");
  subscription.end();
  assert.equal((await view.reader.read()).done, true, "the end event ends the body");
  const stats = await stream.done;
  assert.equal(stats.closeReason, "ended");
  assert.equal(stats.sent, 3);
  assert.equal(subscription.unsubscribeCalls, 1);

  const failing = new PushingSubscription();
  const failed = openSSE(failing, { heartbeatMs: 0 });
  const reader = failed.response.body!.getReader();
  await reader.read(); // the opening comment
  failing.end(new Error("lost for good"));
  await assert.rejects(reader.read(), /lost for good/);
  assert.equal((await failed.done).closeReason, "error");
});

test("sse stream: streams share a message's encoding but keep their own ids; other options encode their own", async () => {
  const shared = [message("room", "one"), message("room", "two\nlines"), message("room", new Uint8Array([0xff, 0x61]))];
  const plain = new FakeSubscription("room");
  const resumed = new FakeSubscription("room");
  const named = new FakeSubscription("room");
  const closing = new FakeSubscription("room");
  const plainStream = openSSE(plain, { heartbeatMs: 0 });
  const resumedStream = openSSE(resumed, { heartbeatMs: 0, lastEventId: "41" });
  const namedStream = openSSE(named, { heartbeatMs: 0, event: "channel" });
  const closingStream = openSSE(closing, { heartbeatMs: 0, invalidText: "close" });
  for (const subscription of [plain, resumed, named, closing]) subscription.push(...shared);

  const plainView = reading(plainStream.response);
  const resumedView = reading(resumedStream.response);
  const namedView = reading(namedStream.response);
  assert.ok(await plainView.events(3));
  assert.ok(await resumedView.events(3));
  assert.ok(await namedView.events(3));
  const invalid = JSON.stringify({ channel: "room", base64: "/2E=" });
  assert.deepEqual(plainView.parser.events, [
    { type: "message", data: "one", lastEventId: "1" },
    { type: "message", data: "two\nlines", lastEventId: "2" },
    { type: "invalid-utf8", data: invalid, lastEventId: "3" },
  ]);
  assert.deepEqual(resumedView.parser.events.map((event) => [event.data, event.lastEventId]), [
    ["one", "42"],
    ["two\nlines", "43"],
    [invalid, "44"],
  ]);
  assert.deepEqual(namedView.parser.events.map((event) => event.type), ["room", "room", "invalid-utf8"]);

  // invalidText "close" on the same (shared) message: this stream alone ends with the error.
  const closingReader = closingStream.response.body!.getReader();
  await assert.rejects(async () => {
    for (;;) if ((await closingReader.read()).done) return;
  }, /not valid UTF-8/);
  const closingStats = await closingStream.done;
  assert.equal(closingStats.closeReason, "error");
  assert.equal(closingStats.invalidText, 1);
  assert.equal(plainStream.stats().invalidText, 1);
  for (const view of [plainView, resumedView, namedView]) await view.reader.cancel();
});

test("sse stream: without coalescing, an event for a waiting reader is written at once, each in its own chunk", async () => {
  const subscription = new FakeSubscription("c");
  const stream = openSSE(subscription, { heartbeatMs: 0 });
  const reader = stream.response.body!.getReader();
  await reader.read(); // the opening comment
  const parser = new EventStreamParser();
  for (const payload of ["a", "b", "c"]) {
    const pending = reader.read(); // the body is idle and a read waits, as when the socket is drained
    subscription.push(message("c", payload));
    const { value } = await pending;
    parser.feed(value!);
    assert.equal(parser.events.at(-1)?.data, payload, "this event alone, without waiting for another");
  }
  assert.equal(stream.stats().queuedEvents, 0);
  stream.close();
  assert.equal((await reader.read()).done, true);
  assert.equal((await stream.done).sent, 3);
});

test("sse stream: without coalescing, events that come while a chunk is still unread go out together at the next read", async () => {
  const subscription = new FakeSubscription("c");
  const stream = openSSE(subscription, { heartbeatMs: 0 });
  const reader = stream.response.body!.getReader();
  await reader.read(); // the opening comment; nothing is read after it until all five are offered
  subscription.push(...["m0", "m1", "m2", "m3", "m4"].map((payload) => message("c", payload)));
  await waitFor(() => stream.stats().sent === 1 && stream.stats().queuedEvents === 4, "m0 in the body, four waiting");
  const parser = new EventStreamParser();
  parser.feed((await reader.read()).value!);
  assert.deepEqual(parser.events.map((event) => event.data), ["m0"], "the first went into the idle body alone");
  parser.feed((await reader.read()).value!);
  assert.deepEqual(parser.events.map((event) => event.data), ["m0", "m1", "m2", "m3", "m4"], "the other four in one chunk");
  stream.close();
  assert.equal((await reader.read()).done, true);
});

test("sse stream: with coalesceMs, a burst bigger than the queue limits still reaches a reading client whole", async () => {
  const subscription = new FakeSubscription("c");
  const stream = openSSE(subscription, { heartbeatMs: 0, coalesceMs: 60_000, maxQueuedEvents: 8 });
  const reader = stream.response.body!.getReader();
  await reader.read(); // the opening comment
  const sent = Array.from({ length: 40 }, (_, index) => `m${index}`);
  subscription.push(...sent.map((payload) => message("c", payload)));
  const { data } = await chunksFor(reader, sent.length);
  assert.deepEqual(data, sent, "nothing dropped, without waiting for the 60 s timer");
  assert.equal(stream.stats().dropped, 0);
  stream.close();
  assert.equal((await reader.read()).done, true);
});
