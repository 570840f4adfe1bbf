// Method: the per-stream event queue (src/sse/queue.ts) alone, fed encoded events directly: it writes
// each shared message's `id:` line itself from consecutive ids (no id is stored per event), so the ids
// across digit boundaries, after drops, beside control and own events, and the byte accounting that
// the limits rely on are checked exactly here.
import { assert, test } from "../shim.ts";
import { EventQueue } from "../../src/sse/queue.ts";

const encoder = new TextEncoder();
const decoder = new TextDecoder();
const event = (data: string) => encoder.encode(`data: ${data}\n\n`);
const dropped = (count: number) => encoder.encode(`event: dropped\ndata: ${count}\n\n`);

test("sse queue: ids across digit boundaries are written in front of shared events, bytes counted exactly", () => {
  for (const first of [1, 9, 10, 99, 100, 9_999, 10_000, 99_999_999, 100_000_000, 123_456_789_012]) {
    const queue = new EventQueue(100, 1 << 20, first);
    queue.pushShared(event("a"));
    queue.pushShared(event("b"));
    const expected = `id: ${first}\ndata: a\n\nid: ${first + 1}\ndata: b\n\n`;
    assert.equal(queue.bytes, expected.length, `bytes from ${first}`);
    assert.equal(decoder.decode(queue.take(1 << 20, dropped)), expected);
    assert.equal(queue.takenMessages, 2);
    assert.equal(queue.bytes, 0);
    assert.equal(queue.nextId, first + 2);
  }
});

test("sse queue: trim drops the oldest messages, keeps control events first, ids stay each message's own", () => {
  const queue = new EventQueue(2, 1 << 20, 1);
  queue.pushShared(event("m1"));
  queue.pushControl(encoder.encode("event: reconnected\ndata: {}\n\n"));
  queue.pushShared(event("m2"));
  queue.pushOwnMessage(encoder.encode("id: own-3\ndata: m3\n\n")); // id 3 is spent by it
  queue.pushShared(event("m4"));
  assert.ok(queue.overLimit);
  assert.equal(queue.trim(), 2, "m1 and m2 dropped; the control event moved aside");
  assert.equal(queue.pendingDropped, 2);
  const text = decoder.decode(queue.take(1 << 20, dropped));
  assert.equal(text, "event: reconnected\ndata: {}\n\nevent: dropped\ndata: 2\n\nid: own-3\ndata: m3\n\nid: 4\ndata: m4\n\n");
  assert.equal(queue.takenMessages, 2);
  assert.ok(queue.empty);
  assert.equal(queue.bytes, 0);
});

test("sse queue: a take budget smaller than what waits takes at least one event and leaves the rest in order", () => {
  const queue = new EventQueue(100, 1 << 20, 7);
  for (const data of ["a", "b", "c"]) queue.pushShared(event(data));
  assert.equal(decoder.decode(queue.take(1, dropped)), "id: 7\ndata: a\n\n");
  assert.equal(decoder.decode(queue.take(1 << 20, dropped)), "id: 8\ndata: b\n\nid: 9\ndata: c\n\n");
  assert.equal(queue.take(1 << 20, dropped), undefined);
  queue.pushShared(event("d"));
  queue.clear();
  assert.ok(queue.empty);
  assert.equal(queue.bytes, 0);
});
