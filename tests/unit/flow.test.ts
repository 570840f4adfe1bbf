// Method: pure TS, real timers with short slowConsumerMs, no server and no native library: the Pacer
// (src/flow.ts) with a recording consumer, and Subscriptions fed hand-built Frames whose owner records
// the pause requests — what the client would do with its socket.
import { assert, runtime, sleep, test } from "../shim.ts";
import { Pacer } from "../../src/flow.ts";
import { Frame } from "../../src/frame.ts";
import { defaultFlow, type ResolvedFlow } from "../../src/options.ts";
import { nameRecord } from "../../src/router.ts";
import { Counters } from "../../src/stats.ts";
import { type LifecycleEvent, Subscription, type SubscriptionOwner } from "../../src/subscription.ts";

class RecordingConsumer {
  holds = 0;
  releases = 0;
  stalledCalls = 0;
  hold = () => void this.holds++;
  release = () => void this.releases++;
  stalled = () => void this.stalledCalls++;
}

test(`pacer: holds above the mark, lets go below it; short holds never stall (${runtime})`, async () => {
  const consumer = new RecordingConsumer();
  const pacer = new Pacer(40, consumer);
  pacer.above();
  pacer.above();
  assert.equal(consumer.holds, 1, "one hold however often the mark is crossed");
  assert.ok(pacer.holding);
  pacer.below();
  assert.equal(consumer.releases, 1);
  // A run of holds of 10 ms each, 12 times as long as slowConsumerMs in all: a consumer that drains.
  for (let i = 0; i < 12; i++) {
    pacer.above();
    await sleep(10);
    pacer.below();
    await sleep(2);
  }
  assert.equal(pacer.stalls, 0);
  assert.equal(consumer.holds, consumer.releases);
  pacer.stop();
});

test(`pacer: one hold that lasts slowConsumerMs stalls the consumer; it lets go and rejoins once drained (${runtime})`, async () => {
  const consumer = new RecordingConsumer();
  const pacer = new Pacer(40, consumer);
  const started = performance.now();
  pacer.above();
  while (!pacer.stalled) await sleep(2);
  const heldMs = performance.now() - started;
  assert.ok(heldMs >= 38, `held ${heldMs.toFixed(1)} ms before the stall`);
  assert.equal(consumer.stalledCalls, 1);
  assert.equal(consumer.releases, 1, "a stalled consumer lets go");
  assert.ok(!pacer.holding);
  pacer.above();
  assert.equal(consumer.holds, 1, "while stalled, crossing the mark holds nothing");
  pacer.below();
  assert.ok(!pacer.stalled, "drained: paces again");
  pacer.above();
  assert.equal(consumer.holds, 2);
  pacer.stop();
  assert.equal(consumer.releases, 2, "stop() lets go");
  pacer.above();
  assert.equal(consumer.holds, 2, "nothing after stop()");
});

test(`pacer: over a bound stalls at once; 0 never holds; Infinity never stalls (${runtime})`, async () => {
  const bounded = new RecordingConsumer();
  const pacer = new Pacer(60_000, bounded);
  pacer.above();
  pacer.overBound();
  assert.ok(pacer.stalled);
  assert.equal(bounded.releases, 1);
  assert.equal(pacer.stalls, 1);
  pacer.stop();

  const never = new RecordingConsumer();
  const immediate = new Pacer(0, never);
  immediate.above();
  assert.equal(never.holds, 0);
  assert.ok(immediate.stalled);
  immediate.stop();

  const patient = new RecordingConsumer();
  const paused = new Pacer(Infinity, patient);
  paused.above();
  paused.overBound();
  await sleep(20);
  assert.ok(paused.holding && !paused.stalled);
  paused.stop();
  assert.equal(patient.releases, 1);
});

// ---- subscriptions ---------------------------------------------------------------------------------

const encoder = new TextEncoder();

class RecordingOwner implements SubscriptionOwner {
  counters = new Counters();
  paused = new Set<Subscription>();
  pauseRequests = 0;
  release(): Promise<void> {
    return Promise.resolve();
  }
  requestPause(subscription: Subscription): void {
    this.pauseRequests++;
    this.paused.add(subscription);
  }
  releasePause(subscription: Subscription): void {
    this.paused.delete(subscription);
  }
  ended(): void {}
}

function frame(payload: Uint8Array): Frame {
  return new Frame("message", "c", encoder.encode("c"), undefined, undefined, payload, 0);
}

function subscription(owner: SubscriptionOwner, flow: Partial<ResolvedFlow> = {}): Subscription {
  return new Subscription(owner, "subscribe", [nameRecord("c")], {
    ...defaultFlow,
    ...flow,
    onMessage: undefined,
    onError: undefined,
    signal: undefined,
  });
}

async function take(target: Subscription, count: number): Promise<Frame[]> {
  const iterator = target[Symbol.asyncIterator]();
  const frames: Frame[] = [];
  for (let i = 0; i < count; i++) frames.push((await iterator.next()).value as Frame);
  return frames;
}

test(`subscription flow: a reading consumer holds at highWaterMark and lets go below half; a never-read one never holds (${runtime})`, async () => {
  const owner = new RecordingOwner();
  const read = subscription(owner);
  const unread = subscription(owner);
  const iterator = read[Symbol.asyncIterator]();
  const first = iterator.next(); // the consumer reads: it paces from now on
  for (let i = 0; i <= defaultFlow.highWaterMark; i++) {
    read.deliver(frame(new Uint8Array(16)));
    unread.deliver(frame(new Uint8Array(16)));
  }
  await first;
  assert.ok(owner.paused.has(read), "at the high-water mark a reading consumer holds reading");
  assert.ok(!owner.paused.has(unread), "a subscription nobody reads never holds");
  assert.equal(read.queueDepth, defaultFlow.highWaterMark);
  await take(read, defaultFlow.highWaterMark / 2);
  assert.ok(owner.paused.has(read), "at half: still held");
  await take(read, 1);
  assert.ok(!owner.paused.has(read), "below half: let go");
  assert.equal(owner.pauseRequests, 1);
  assert.equal(read.stats().dropped + unread.stats().dropped, 0);
  read.end(undefined, false);
  unread.end(undefined, false);
});

test(`subscription flow: highWaterMarkBytes holds on bytes; a stalled consumer lets go and drops the oldest at bufferBytes (${runtime})`, async () => {
  const owner = new RecordingOwner();
  const kib = 1024;
  const target = subscription(owner, { highWaterMarkBytes: 8 * kib, bufferBytes: 32 * kib, slowConsumerMs: 40 });
  const iterator = target[Symbol.asyncIterator]();
  await Promise.race([iterator.next(), sleep(0)]); // reads once (nothing there yet)
  target.deliver(frame(new Uint8Array(kib))); // resolves the waiting next()
  for (let i = 0; i < 8; i++) target.deliver(frame(new Uint8Array(kib)));
  assert.ok(owner.paused.has(target), "8 KiB buffered: holds");
  while (!target.closed && target.stats().stalls === 0) await sleep(5);
  assert.ok(!owner.paused.has(target), "held for slowConsumerMs without draining: stalled, lets go");
  for (let i = 0; i < 40; i++) target.deliver(frame(new Uint8Array(kib)));
  const stats = target.stats();
  assert.equal(stats.queueBytes, 32 * kib, "bounded by bufferBytes");
  assert.equal(stats.dropped, 8 + 40 - 32);
  const big = new Uint8Array(64 * kib);
  target.deliver(frame(big));
  assert.equal(target.queueDepth, 1, "one message always fits, even above bufferBytes");
  target.end(undefined, false);
});

test(`subscription flow: frames nobody reads yet pin nothing; holdReading adds to the pacer's hold (${runtime})`, async () => {
  const owner = new RecordingOwner();
  const target = subscription(owner);
  const read = new Uint8Array(64 * 1024); // stands for a socket read the payloads are views of
  read[100] = 7;
  const kept = frame(read.subarray(100, 612));
  target.deliver(kept);
  assert.notEqual(kept.data.buffer, read.buffer, "an unread frame's payload was copied out of the read");
  assert.equal(kept.data[0], 7);
  assert.equal(kept.data.byteLength, 512);

  const live = subscription(owner);
  const waiting = live[Symbol.asyncIterator]().next();
  const direct = frame(read.subarray(0, 512));
  live.deliver(direct);
  assert.equal((await waiting).value, direct);
  assert.equal(direct.data.buffer, read.buffer, "a frame handed straight to a reader is not copied");

  live.holdReading();
  live.holdReading();
  assert.equal(owner.pauseRequests, 1);
  live.releaseReading();
  assert.ok(!owner.paused.has(live));
  live.holdReading();
  live.end(undefined, false);
  assert.ok(!owner.paused.has(live), "the end lets go");
  const events: LifecycleEvent[] = [];
  target.onEvent((event) => events.push(event));
  target.end(undefined, false);
  assert.equal(events.at(-1)?.type, "end");
});
