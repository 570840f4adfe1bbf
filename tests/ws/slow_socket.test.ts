// Method: everything real — redis-server, pushwire's client, the pushwire/ws bridge on this runtime's
// HTTP server, 20 of the runtime's own WebSocket clients that read, and one raw-socket WebSocket
// client that upgrades, subscribes and then never reads (a stalled tab: nothing can fake a full TCP
// receive window better than a real one). 16 MB are published through the independent raw client.
// Default bridge options in the first test (the rule must hold as shipped); slowSocket "close" in the second.
import { assert, test, waitFor } from "../shim.ts";
import { slowSocketCloseCode } from "../../src/ws.ts";
import { keySlot } from "../../src/native/parser.ts";
import type { RawConnection } from "../helpers/raw_resp.ts";
import { stalledSocketLimit, withBridge } from "./helpers.ts";

keySlot("load");

const topic = "room:slow";
const messageCount = 2_000;
const payload = (index: number) => `${String(index).padStart(6, "0")}:${"x".repeat(8 * 1024)}`;
const defaultMaxBufferedBytes = 1024 * 1024;

async function publishAll(publisher: RawConnection, count: number): Promise<void> {
  for (let start = 0; start < count; start += 100) {
    await publisher.pipeline(Array.from({ length: Math.min(100, count - start) }, (_, offset) => ["PUBLISH", topic, payload(start + offset)]));
  }
}

test("ws slow socket: a never-reading socket stays bounded and misses messages (counted, then told), the others get all 2,000 in order", () =>
  withBridge({}, async ({ bridge, publisher, browsers: open, stalled: openStalled }) => {
    const browsers = await open(20);
    const stalled = await openStalled(topic);
    await Promise.all(browsers.map((browser) => browser.subscribe(topic)));
    await publishAll(publisher, messageCount);
    await waitFor(() => browsers.every((browser) => browser.of("message").length >= messageCount), "every reading socket got 2,000", 30_000);
    for (const browser of browsers) {
      assert.deepEqual(browser.of("message").map((frame) => frame.data.slice(0, 6)), Array.from({ length: messageCount }, (_, index) => String(index).padStart(6, "0")));
      assert.equal(browser.of("dropped").length, 0, "a socket that reads loses nothing");
    }
    const stats = bridge.stats();
    assert.ok(stats.stalls >= 1, `the stalled socket was found stalled (${stats.stalls})`);
    assert.ok(stats.detachedSockets === 1, "and left the fan-out");
    // Bounded: its bound, plus (Bun) what one task published before its count showed it, plus a message.
    const limit = stalledSocketLimit(payload(0).length);
    assert.ok(stats.peakBufferedBytes <= limit, `peak ${stats.peakBufferedBytes} bytes buffered for it (limit ${limit})`);
    assert.ok(stats.peakBufferedBytes > defaultMaxBufferedBytes / 4, "it did fall behind");

    // It reads again: first a dropped frame with the count, then what is published from then on.
    stalled.resume();
    await waitFor(() => bridge.stats().detachedSockets === 0, "the stalled socket drained and rejoined", 15_000);
    const dropped = bridge.stats().dropped;
    assert.ok(dropped > 0 && dropped < messageCount, `dropped ${dropped}`);
    await publisher.command("PUBLISH", topic, "after the drain");
    await waitFor(() => stalled.receivedText().includes("after the drain"), "the message after the drain", 10_000);
    const text = stalled.receivedText();
    const droppedFrame = text.match(/\{"type":"dropped","count":(\d+),"total":(\d+)\}/);
    assert.ok(droppedFrame, "a dropped frame");
    assert.equal(Number(droppedFrame![1]), dropped);
    assert.ok(text.indexOf(droppedFrame![0]) < text.indexOf("after the drain"), "the dropped frame comes before what follows");
  }), { timeoutMs: 60_000 });

test("ws slow socket, slowSocket \"close\": the stalled socket is closed with 1013 and counted; the others lose nothing", () =>
  withBridge({ slowSocket: "close", slowConsumerMs: 500 }, async ({ bridge, publisher, browsers, stalled }) => {
    const [browser] = await browsers(1);
    await stalled(topic);
    await browser.subscribe(topic);
    await publishAll(publisher, messageCount);
    await waitFor(() => browser.of("message").length >= messageCount, "the reading socket got 2,000", 30_000);
    await waitFor(() => bridge.stats().slowCloses === 1, "the stalled socket closed");
    assert.equal(bridge.stats().sockets, 1);
    assert.equal(bridge.stats().dropped, 0);
    assert.equal(slowSocketCloseCode, 1013);
  }), { timeoutMs: 60_000 });
