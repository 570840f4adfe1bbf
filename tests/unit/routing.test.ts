// Method: pure TS, no server and no native library: Frames are built by hand and routed through the
// Router into Subscriptions whose owner is a small recording stand-in for the client.
import { assert, runtime, test } from "../shim.ts";
import { Frame } from "../../src/frame.ts";
import { nameRecord, Router } from "../../src/router.ts";
import { type LifecycleEvent, type ResolvedSubscribeOptions, Subscription, type SubscriptionOwner } from "../../src/subscription.ts";
import { Counters } from "../../src/stats.ts";
import { defaultFlow } from "../../src/options.ts";
import { OverflowError } from "../../src/errors.ts";

const encoder = new TextEncoder();

function message(channel: string | Uint8Array, payload: string, pattern?: string): Frame {
  const channelBytes = typeof channel === "string" ? encoder.encode(channel) : channel;
  const channelText = new TextDecoder().decode(channelBytes);
  return new Frame(
    pattern === undefined ? "message" : "pmessage",
    channelText,
    channelBytes,
    pattern,
    pattern === undefined ? undefined : encoder.encode(pattern),
    encoder.encode(payload),
    0,
  );
}

class RecordingOwner implements SubscriptionOwner {
  counters = new Counters();
  paused = new Set<Subscription>();
  released: Subscription[] = [];
  endedCount = 0;
  release(subscription: Subscription): Promise<void> {
    this.released.push(subscription);
    return Promise.resolve();
  }
  requestPause(subscription: Subscription): void {
    this.paused.add(subscription);
  }
  releasePause(subscription: Subscription): void {
    this.paused.delete(subscription);
  }
  ended(): void {
    this.endedCount++;
  }
}

function subscription(
  owner: SubscriptionOwner,
  names: (string | Uint8Array)[],
  options: Partial<ResolvedSubscribeOptions> = {},
  type: "subscribe" | "psubscribe" = "subscribe",
): Subscription {
  return new Subscription(owner, type, names.map(nameRecord), {
    ...defaultFlow,
    bufferSize: 4,
    onMessage: undefined,
    onError: undefined,
    signal: undefined,
    ...options,
  });
}

function register(router: Router, target: Subscription): void {
  for (const record of target.records) {
    const entry = router.get(target.type, record) ?? router.add(target.type, record);
    entry.members.add(target);
  }
}

async function drainText(target: Subscription): Promise<string[]> {
  const out: string[] = [];
  while (target.queueDepth > 0) out.push((await target[Symbol.asyncIterator]().next()).value!.text());
  return out;
}

test(`router: channels, patterns and binary names reach exactly their subscriptions (${runtime})`, async () => {
  const owner = new RecordingOwner();
  const router = new Router();
  const news = subscription(owner, ["news"]);
  const newsToo = subscription(owner, ["news", "other"]);
  const pattern = subscription(owner, ["n*"], {}, "psubscribe");
  const binaryA = subscription(owner, [new Uint8Array([0x62, 0xFF])]);
  const binaryB = subscription(owner, [new Uint8Array([0x62, 0xFE])]);
  for (const target of [news, newsToo, pattern, binaryA, binaryB]) register(router, target);
  assert.equal(router.size, 5);
  const frame = message("news", "n1");
  assert.equal(router.route(frame), 2);
  assert.equal(router.route(message("news", "p1", "n*")), 1);
  assert.equal(router.route(message("nobody", "x")), 0);
  assert.equal(router.route(message(new Uint8Array([0x62, 0xFE]), "for b")), 1);
  assert.equal(router.route(new Frame("pong", "", new Uint8Array(), undefined, undefined, new Uint8Array(), 0)), 0);
  const [first, second] = [
    (await news[Symbol.asyncIterator]().next()).value,
    (await newsToo[Symbol.asyncIterator]().next()).value,
  ];
  assert.equal(first, frame, "the same Frame object, not a copy");
  assert.equal(second, frame);
  assert.deepEqual(await drainText(pattern), ["p1"]);
  assert.deepEqual(await drainText(binaryB), ["for b"]);
  assert.equal(binaryA.queueDepth, 0);
});

test(`router: nameRecord keeps exact bytes and marks names that are not UTF-8 (${runtime})`, () => {
  assert.deepEqual(nameRecord("news"), { name: "news", bytes: encoder.encode("news"), exact: true, argument: "news" });
  const lone = nameRecord("a\uD800");
  assert.equal(lone.exact, false);
  assert.ok(lone.argument instanceof Uint8Array);
  const invalid = nameRecord(new Uint8Array([0xC3]));
  assert.equal(invalid.exact, false);
  assert.equal(invalid.name, "\uFFFD");
  assert.equal(nameRecord(encoder.encode("ключ")).argument, "ключ");
});

test(`subscription: drop-oldest and drop-newest count and report drops (${runtime})`, async () => {
  const owner = new RecordingOwner();
  const oldest = subscription(owner, ["c"], { bufferSize: 2 });
  const newest = subscription(owner, ["c"], { bufferSize: 2, overflow: "drop-newest" });
  const events: LifecycleEvent[] = [];
  oldest.onEvent((event) => events.push(event));
  for (const payload of ["1", "2", "3", "4", "5"]) {
    oldest.deliver(message("c", payload));
    newest.deliver(message("c", payload));
  }
  await Promise.resolve();
  assert.deepEqual(events.map((event) => event.type === "dropped" && event.count), [3], "one event per burst");
  assert.deepEqual(await drainText(oldest), ["4", "5"]);
  assert.deepEqual(await drainText(newest), ["1", "2"]);
  assert.deepEqual(oldest.stats(), { received: 5, delivered: 2, dropped: 3, queueDepth: 0, queueBytes: 0, stalls: 1 });
  assert.equal(owner.counters.dropped, 6);
});

test(`subscription: error overflow delivers the buffer, then throws, then is done (${runtime})`, async () => {
  const owner = new RecordingOwner();
  const target = subscription(owner, ["c"], { bufferSize: 2, overflow: "error" });
  for (const payload of ["1", "2", "3", "4"]) target.deliver(message("c", payload));
  assert.equal(target.closed, true);
  assert.equal(owner.released.length, 1, "leaves the server subscription");
  const iterator = target[Symbol.asyncIterator]();
  assert.equal((await iterator.next()).value?.text(), "1");
  assert.equal((await iterator.next()).value?.text(), "2");
  await assert.rejects(iterator.next(), OverflowError);
  assert.equal((await iterator.next()).done, true);
  assert.equal(target.stats().dropped, 1, "only the message that overflowed; later ones never arrived");
});

test(`subscription: pause asks the owner to stop reading and releases below half (${runtime})`, async () => {
  const owner = new RecordingOwner();
  const target = subscription(owner, ["c"], { bufferSize: 4, overflow: "pause" });
  for (let i = 0; i < 6; i++) target.deliver(message("c", String(i)));
  assert.ok(owner.paused.has(target));
  assert.equal(target.queueDepth, 6, "pause never drops what was already read");
  const iterator = target[Symbol.asyncIterator]();
  for (let i = 0; i < 4; i++) await iterator.next();
  assert.ok(owner.paused.has(target), "2 left: not below half of 4 yet");
  await iterator.next();
  assert.ok(!owner.paused.has(target));
});

test(`subscription: waiting consumers get messages directly; unsubscribe ends them (${runtime})`, async () => {
  const owner = new RecordingOwner();
  const target = subscription(owner, ["c"]);
  const iterator = target[Symbol.asyncIterator]();
  const pending = iterator.next();
  target.deliver(message("c", "direct"));
  assert.equal((await pending).value?.text(), "direct");
  const waiting = iterator.next();
  await target.unsubscribe();
  assert.equal((await waiting).done, true);
  target.deliver(message("c", "late"));
  assert.equal(target.stats().received, 1, "nothing is taken after the end");
});

test(`subscription: onMessage is synchronous; a throw is counted and reported (${runtime})`, () => {
  const owner = new RecordingOwner();
  const seen: string[] = [];
  const errors: string[] = [];
  const target = subscription(owner, ["c"], {
    onMessage: (m) => {
      seen.push(m.text());
      if (m.text() === "bad") throw new Error("boom");
    },
    onError: (error) => errors.push((error as Error).message),
  });
  target.deliver(message("c", "ok"));
  target.deliver(message("c", "bad"));
  target.deliver(message("c", "after"));
  assert.deepEqual(seen, ["ok", "bad", "after"]);
  assert.deepEqual(errors, ["boom"]);
  assert.equal(owner.counters.errors, 1);
  assert.equal(target.queueDepth, 0);
});

test(`subscription: close drain ends the iterator once the buffer is empty (${runtime})`, async () => {
  const owner = new RecordingOwner();
  const target = subscription(owner, ["c"]);
  target.deliver(message("c", "a"));
  target.deliver(message("c", "b"));
  target.beginDrain();
  target.deliver(message("c", "ignored"));
  const out: string[] = [];
  for await (const m of target) out.push(m.text());
  assert.deepEqual(out, ["a", "b"]);
  assert.equal(target.closed, true);
  assert.equal(owner.endedCount, 1);
});

test(`router: membership changes during a route behave like a Set iteration; the cache follows add/remove (${runtime})`, () => {
  const owner = new RecordingOwner();
  const router = new Router();
  const seen: string[] = [];
  const record = nameRecord("live");
  let late: Subscription | undefined;
  const b = subscription(owner, ["live"], { onMessage: (m) => seen.push(`b:${m.text()}`) });
  const a = subscription(owner, ["live"], {
    onMessage: (m) => {
      seen.push(`a:${m.text()}`);
      if (m.text() === "1") {
        router.get("subscribe", record)!.members.delete(b); // not yet reached: skipped
        late = subscription(owner, ["live"], { onMessage: (n) => seen.push(`late:${n.text()}`) });
        register(router, late); // added during the route: reached
      }
    },
  });
  register(router, a);
  register(router, b);
  assert.equal(router.route(message("live", "1")), 2);
  assert.equal(router.route(message("live", "2")), 2);
  assert.deepEqual(seen, ["a:1", "late:1", "a:2", "late:2"]);
  const entry = router.get("subscribe", record)!;
  assert.deepEqual([...entry.members], [a, late]);
  router.remove(entry);
  assert.equal(router.route(message("live", "3")), 0, "a removed entry is not served from the cache");
  const fresh = subscription(owner, ["live"]);
  register(router, fresh);
  assert.equal(router.route(message("live", "4")), 1);
  assert.equal(fresh.queueDepth, 1);
});

test(`subscription: the buffer keeps order across wrap-around and growth (${runtime})`, async () => {
  const owner = new RecordingOwner();
  const target = subscription(owner, ["ring"], { bufferSize: 1000, overflow: "drop-newest" });
  const expected: string[] = [];
  let next = 0;
  for (let round = 0; round < 5; round++) {
    for (let i = 0; i < 7 + round * 13; i++) {
      target.deliver(message("ring", String(next)));
      expected.push(String(next++));
    }
    const got: string[] = [];
    for (let i = 0; i < 5; i++) got.push((await target[Symbol.asyncIterator]().next()).value!.text());
    assert.deepEqual(got, expected.splice(0, 5));
  }
  assert.deepEqual(await drainText(target), expected);
  assert.equal(target.stats().dropped, 0);
});

test(`subscription: deliverTo hands over the buffer first, then every message, and releases a pause (${runtime})`, () => {
  const owner = new RecordingOwner();
  const target = subscription(owner, ["c"], { bufferSize: 4, overflow: "pause" });
  for (let i = 0; i < 5; i++) target.deliver(message("c", String(i)));
  assert.ok(owner.paused.has(target));
  const seen: string[] = [];
  assert.equal(target.deliverTo((m) => seen.push(m.text())), true);
  assert.deepEqual(seen, ["0", "1", "2", "3", "4"], "the buffered messages, in order");
  assert.ok(!owner.paused.has(target), "an empty buffer releases the pause");
  target.deliver(message("c", "5"));
  assert.deepEqual(seen.at(-1), "5", "later messages go straight to the listener");
  assert.equal(target.queueDepth, 0);
  assert.equal(target.stats().delivered, 6);
  assert.equal(target.deliverTo(() => {}), false, "a second listener is refused");
});

test(`subscription: deliverTo is refused with an onMessage, a waiting next() or after the end (${runtime})`, async () => {
  const owner = new RecordingOwner();
  const withCallback = subscription(owner, ["c"], { onMessage: () => {} });
  assert.equal(withCallback.deliverTo(() => {}), false);
  const waiting = subscription(owner, ["c"]);
  const pending = waiting[Symbol.asyncIterator]().next();
  assert.equal(waiting.deliverTo(() => {}), false);
  waiting.deliver(message("c", "to the iterator"));
  assert.equal((await pending).value?.text(), "to the iterator");
  const ended = subscription(owner, ["c"]);
  await ended.unsubscribe();
  assert.equal(ended.deliverTo(() => {}), false);
});

test(`subscription: deliverTo during a close drain delivers the rest and then ends (${runtime})`, () => {
  const owner = new RecordingOwner();
  const target = subscription(owner, ["c"]);
  const events: string[] = [];
  target.onEvent((event) => events.push(event.type));
  target.deliver(message("c", "a"));
  target.beginDrain();
  const seen: string[] = [];
  assert.equal(target.deliverTo((m) => seen.push(m.text())), true);
  assert.deepEqual(seen, ["a"]);
  assert.equal(target.closed, true);
  assert.deepEqual(events, ["end"]);
});

test(`router: a lone subscription changing the set during its delivery is routed like a Set iteration (${runtime})`, () => {
  // One member takes a path of its own (no loop); what it does to the set must come out the same
  // as a for...of over a Set: members added during a delivery get the frame, a member deleted and
  // added again gets it again.
  const owner = new RecordingOwner();
  const router = new Router();
  const record = nameRecord("solo");
  const seen: string[] = [];
  let added: Subscription | undefined;
  let readded = false;
  const lone: Subscription = subscription(owner, ["solo"], {
    onMessage: (m) => {
      seen.push(`lone:${m.text()}`);
      const members = router.get("subscribe", record)!.members;
      if (m.text() === "1") {
        added = subscription(owner, ["solo"], { onMessage: (n) => seen.push(`added:${n.text()}`) });
        register(router, added);
      } else if (m.text() === "2" && !readded) {
        readded = true;
        members.delete(lone);
        members.add(lone);
      } else if (m.text() === "4") {
        throw new Error("callback bug");
      }
    },
  });
  register(router, lone);
  assert.equal(router.route(message("solo", "1")), 2);
  const members = router.get("subscribe", record)!.members;
  assert.deepEqual([...members], [lone, added]);
  members.delete(added!);
  assert.equal(router.route(message("solo", "2")), 2);
  assert.deepEqual([...members], [lone]);
  assert.deepEqual(members.order, [lone], "holes closed");
  for (const text of ["3", "4", "5"]) assert.equal(router.route(message("solo", text)), 1);
  assert.equal(owner.counters.errors, 1, "a callback error is the subscription's: counted, not thrown");
  assert.deepEqual(seen, ["lone:1", "added:1", "lone:2", "lone:2", "lone:3", "lone:4", "lone:5"]);
  assert.equal(members.iterating, 0);
});

test(`router: a receiver that throws leaves its set consistent for the next route (${runtime})`, () => {
  const router = new Router();
  const record = nameRecord("faulty");
  const entry = router.add("subscribe", record);
  let calls = 0;
  const receiver = {
    deliver() {
      calls++;
      entry.members.delete(receiver);
      if (calls === 1) throw new Error("receiver bug");
    },
  };
  entry.members.add(receiver);
  assert.throws(() => router.route(message("faulty", "1")), /receiver bug/);
  assert.equal(entry.members.iterating, 0);
  assert.deepEqual(entry.members.order, [], "the hole it left is closed");
  entry.members.add(receiver);
  assert.equal(router.route(message("faulty", "2")), 1);
  assert.equal(calls, 2);
});
