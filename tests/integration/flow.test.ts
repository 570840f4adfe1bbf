// Method: a real server per test; bursts are published by an independent raw socket
// (tests/helpers/flood.ts: pipelined PUBLISH batches as fast as the server acknowledges them) to
// subscriptions read with `for await`, every one with DEFAULT options — the README's first program.
// Every payload starts with its zero-padded sequence number, so a lost, repeated or reordered message
// shows. What is checked: a consumer that keeps up loses nothing however big the burst (reading is
// paced by it); a never-read or stalled subscription holds up nobody and stays within its bounds.
import process from "node:process";
import { assert, runtime, test, waitFor } from "../shim.ts";
import { connect, type Message, type Subscription } from "../../mod.ts";
import { defaultFlow } from "../../src/options.ts";
import { Flood } from "../helpers/flood.ts";
import { floodFromProcess } from "../helpers/flood_process.ts";
import { sequenceOf, sequencePayload as payload } from "../helpers/sequence.ts";
import { seededRandom, withServer } from "./support.ts";

/**
 * Reads `count` messages with `for await` (the README's loop) and checks each one's sequence and
 * size; resolves with the time the last one arrived.
 */
async function readInOrder(subscription: Subscription, count: number, sizeOf: (sequence: number) => number): Promise<number> {
  let expected = 0;
  for await (const message of subscription) {
    const sequence = sequenceOf(message.data);
    if (sequence !== expected || message.data.length !== sizeOf(sequence)) {
      throw new Error(`message ${expected}: got sequence ${sequence} of ${message.data.length} B`);
    }
    if (++expected === count) break;
  }
  if (expected !== count) throw new Error(`the subscription ended after ${expected} of ${count} messages`);
  return performance.now();
}

const mib = 1024 * 1024;
// deno-lint-ignore no-explicit-any
const bun: { gc(force: boolean): void } | undefined = (globalThis as any).Bun;
const random = seededRandom(0xF10);
const mixedSizes = Array.from({ length: 2_048 }, () => 16 + Math.floor(random() * (16 * 1024 - 15)));
const bursts = [
  { label: "1 MiB of 16 B", count: mib / 16, size: () => 16 },
  { label: "3 MiB of 64 B", count: 3 * mib / 64, size: () => 64 },
  { label: "16 MiB of 256 B", count: 16 * mib / 256, size: () => 256 },
  { label: "16 MiB of 16 KiB", count: 1_024, size: () => 16 * 1024 },
  { label: "16 MiB of 16 B-16 KiB", count: mixedSizes.length, size: (sequence: number) => mixedSizes[sequence] },
];

test(`flow: nine live consumers beside one never-read subscription get all 20,000 each, within 1 s of the publisher (${runtime})`, () =>
  withServer(async (server) => {
    const perChannel = 20_000;
    const size = 512;
    await using client = await connect(server.url);
    const channels = Array.from({ length: 10 }, (_, index) => `ten:${index}`);
    const subscriptions = await Promise.all(channels.map((channel) => client.subscribe(channel)));
    const stuck = subscriptions[9]; // never read
    const rssBefore = process.memoryUsage().rss;
    let rssPeak = rssBefore;
    let samples = 0;
    const sampler = setInterval(() => {
      // Bun collects on a thread of its own, which falls behind on a busy machine: every 5th sample
      // (100 ms) collects first, so the peak is what is held plus at most 100 ms of garbage.
      if (++samples % 5 === 0) bun?.gc(true);
      rssPeak = Math.max(rssPeak, process.memoryUsage().rss);
    }, 20);
    try {
      const readers = subscriptions.slice(0, 9).map((subscription) => readInOrder(subscription, perChannel, () => size));
      // From a process of its own, so its buffers are not counted as this one's RSS.
      await floodFromProcess({ port: server.port, channels, size, total: perChannel * channels.length, batch: 500 });
      const published = performance.now();
      const finished = await Promise.all(readers);
      const lateMs = Math.max(...finished) - published;
      console.log(`[${runtime}] nine live consumers finished ${lateMs.toFixed(0)} ms after the publisher`);
      assert.ok(lateMs < 1_000, `the nine finished ${lateMs.toFixed(0)} ms after the publisher (limit 1000)`);
      for (const subscription of subscriptions.slice(0, 9)) assert.equal(subscription.stats().dropped, 0);

      await waitFor(() => stuck.stats().received === perChannel, "the never-read subscription got every message");
      const held = stuck.stats();
      assert.ok(held.queueBytes <= defaultFlow.bufferBytes, `never-read buffer ${held.queueBytes} B within bufferBytes`);
      assert.ok(held.dropped > 0, "more than bufferBytes came, so the oldest were dropped");
      assert.equal(held.delivered + held.dropped + held.queueDepth, perChannel, "every message accounted for");
      assert.equal(client.stats().dropped, held.dropped);
      const rssGrowth = Math.max(rssPeak, process.memoryUsage().rss) - rssBefore;
      console.log(`[${runtime}] RSS growth ${(rssGrowth / mib).toFixed(1)} MiB; never-read holds ${held.queueDepth} messages, dropped ${held.dropped}`);
      assert.ok(rssGrowth < 64 * mib, `RSS grew ${(rssGrowth / mib).toFixed(1)} MiB (limit 64)`);
    } finally {
      clearInterval(sampler);
    }
  }), { timeoutMs: 60_000 });

test(`flow: bursts of 1, 3 and 16 MiB to a for-await consumer with default options lose nothing, in order (${runtime})`, () =>
  withServer(async (server) => {
    await using client = await connect(server.url);
    for (const burst of bursts) {
      const channel = `burst:${burst.label}`;
      const subscription = await client.subscribe(channel);
      const reading = readInOrder(subscription, burst.count, burst.size);
      const flood = await Flood.start({
        port: server.port,
        channels: [channel],
        payload: (index) => payload(index, burst.size(index)),
        batch: 1_000,
        total: burst.count,
      });
      await flood.done;
      await flood.stop();
      await reading;
      const stats = subscription.stats();
      assert.equal(stats.received, burst.count, `${burst.label}: received`);
      assert.equal(stats.dropped, 0, `${burst.label}: dropped`);
    }
    assert.equal(client.stats().dropped, 0);
    assert.equal(client.stats().reconnects, 0, "the server never cut the client");
  }), { timeoutMs: 120_000 });

test(`flow: a consumer that stops reading holds reading for slowConsumerMs, then the others flow and it loses nothing it can hold (${runtime})`, () =>
  withServer(async (server) => {
    const total = 30_000;
    const size = 200;
    await using client = await connect(server.url);
    const live = await client.subscribe("stall");
    const stops = await client.subscribe("stall");
    const stopsIterator = stops[Symbol.asyncIterator]();
    // It reads the first 10, then takes nothing for a while.
    const firstTen: number[] = [];
    const readingTen = (async () => {
      while (firstTen.length < 10) firstTen.push(sequenceOf(((await stopsIterator.next()).value as Message).data));
    })();
    const reading = readInOrder(live, total, () => size);
    const started = performance.now();
    const flood = await Flood.start({ port: server.port, channels: ["stall"], payload: (index) => payload(index, size), batch: 1_000, total });
    await flood.done;
    await flood.stop();
    const finished = await reading;
    await readingTen;
    const heldMs = finished - started;
    console.log(`[${runtime}] the live consumer finished ${heldMs.toFixed(0)} ms after the burst started`);
    assert.ok(heldMs >= defaultFlow.slowConsumerMs * 0.9, `the stalled consumer held reading for about slowConsumerMs (${heldMs.toFixed(0)} ms)`);
    assert.deepEqual(firstTen, [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    const stalled = stops.stats();
    assert.equal(stalled.stalls, 1, "found stalled once");
    assert.equal(stalled.dropped, 0, "30,000 × 200 B fit in its bounds: nothing lost");
    assert.equal(stalled.queueDepth, total - 10);
    assert.equal(live.stats().dropped, 0);
    // It reads again: everything, in order, and it paces again.
    let expected = 10;
    while (expected < total) {
      const sequence = sequenceOf(((await stopsIterator.next()).value as Message).data);
      assert.equal(sequence, expected++);
    }
    assert.equal(stops.stats().stalls, 1);
  }), { timeoutMs: 60_000 });

test(`flow: a consumer that publishes for every message it reads is not held up by its own hold (RESP3: one socket) (${runtime})`, () =>
  withServer(async (server) => {
    const total = 5_000; // five times highWaterMark
    await using client = await connect(server.url);
    const subscription = await client.subscribe("work");
    const results = await client.subscribe("results"); // nobody reads it: its bounds only
    const started = performance.now();
    const working = (async () => {
      let expected = 0;
      for await (const message of subscription) {
        assert.equal(sequenceOf(message.data), expected);
        // The answer comes on the subscriber socket, after the messages before it.
        await client.publish("results", message.data);
        if (++expected === total) break;
      }
    })();
    const flood = await Flood.start({ port: server.port, channels: ["work"], payload: (index) => payload(index, 64), batch: 1_000, total });
    await flood.done;
    await flood.stop();
    await working;
    const elapsedMs = performance.now() - started;
    console.log(`[${runtime}] ${total} messages read and answered in ${elapsedMs.toFixed(0)} ms`);
    assert.equal(subscription.stats().stalls, 0, "never found stalled: its publishes kept the socket read");
    assert.equal(subscription.stats().dropped, 0);
    assert.ok(elapsedMs < defaultFlow.slowConsumerMs, `done in ${elapsedMs.toFixed(0)} ms, less than one stall`);
    await waitFor(() => results.stats().received === total, "every result published");
  }), { timeoutMs: 60_000 });
