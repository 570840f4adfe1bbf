// Method: no server. The pure parts of durable channels are fed exact inputs: envelope headers (well
// formed, cut, oversized, foreign), entry ids, resumeFrom() on every kind of Last-Event-ID, and the key
// rule checked against the Zig core's cluster slot for random channel names. The feed itself runs over
// a scripted history (a stand-in reader whose stream the test controls) to reach orders a real server
// only shows by chance: a live copy that arrives after its replayed one (another connection), a side
// list that overflows, a reset seen first in a live message.
import { assert, runtime, test } from "../shim.ts";
import { openEnvelope } from "../../src/durable/envelope.ts";
import { compareEntryIds, parseEntryId, rangeStartAfter } from "../../src/durable/ids.ts";
import { hashTag, historyKeys } from "../../src/durable/keys.ts";
import { DurableFeed, type DurableTarget, type RecoveredEvent } from "../../src/durable/feed.ts";
import { HistoryReader } from "../../src/durable/reader.ts";
import { resumeFrom } from "../../src/sse.ts";
import { InvalidArgumentError } from "../../src/errors.ts";
import { defaultFlow } from "../../src/options.ts";
import { Frame } from "../../src/frame.ts";
import { nameRecord } from "../../src/router.ts";
import { keySlot } from "../../src/native/parser.ts";
import type { CommandArgument } from "../../src/protocol/encode.ts";
import type { ReplyValue } from "../../src/protocol/reply.ts";

const encoder = new TextEncoder();
const decoder = new TextDecoder();
keySlot("load the native library outside any test (Deno's sanitizer)");

test(`durable units: envelope headers (${runtime})`, () => {
  const opened = openEnvelope(encoder.encode("pw1 1733000000000-42\npayload\nmore"));
  assert.deepEqual(opened, { id: "1733000000000-42", epoch: 1733000000000, seq: 42, payloadOffset: 21 });
  for (const foreign of ["pw1 1-\nx", "pw1 -1\nx", "pw2 1-1\nx", "pw11-1\nx", "pw1 1-1 x", "pw1 1-1", "pw1 a-1\nx", "hello", "", `pw1 ${"9".repeat(17)}-1\nx`]) {
    assert.equal(openEnvelope(encoder.encode(foreign)), undefined, JSON.stringify(foreign));
  }
  assert.equal(openEnvelope(encoder.encode("pw1 1-1\n"))?.payloadOffset, 8, "an empty payload");
});

test(`durable units: entry ids parse, compare and start ranges (${runtime})`, () => {
  assert.deepEqual(parseEntryId("1733000000000-7"), { epoch: 1733000000000, seq: 7 });
  for (const bad of ["", "1", "1-", "-1", "1-2-3", "a-1", " 1-1", "1-1 ", "99999999999999999-1", "1.5-1"]) {
    assert.equal(parseEntryId(bad), undefined, bad);
  }
  assert.ok(compareEntryIds({ epoch: 2, seq: 0 }, { epoch: 1, seq: 99 }) > 0);
  assert.ok(compareEntryIds({ epoch: 1, seq: 3 }, { epoch: 1, seq: 4 }) < 0);
  assert.equal(rangeStartAfter({ epoch: 5, seq: 9 }), "(5-9");
  assert.equal(rangeStartAfter({ epoch: 5, seq: -1 }), "5-0");
  assert.equal(rangeStartAfter({ epoch: 0, seq: -1 }), "-");
});

test(`durable units: resumeFrom turns any Last-Event-ID into a since, never a throw (${runtime})`, () => {
  assert.equal(resumeFrom("1733000000000-5", { last: 20 }), "1733000000000-5");
  assert.deepEqual(resumeFrom(null, { last: 20 }), { last: 20 });
  assert.deepEqual(resumeFrom(undefined, { last: 20 }), { last: 20 });
  assert.deepEqual(resumeFrom("", { last: 20 }), { last: 20 });
  assert.deepEqual(resumeFrom("17", { last: 20 }), { last: 20, incomplete: true }, "a counter id of a plain stream");
  assert.deepEqual(resumeFrom("<script>", { last: 20 }), { last: 20, incomplete: true });
  assert.deepEqual(resumeFrom("x".repeat(100_000)), { last: 0, incomplete: true });
});

test(`durable units: the key rule keeps the stream in the channel's slot, or refuses (${runtime})`, () => {
  assert.deepEqual(hashTag(encoder.encode("a{tag}b")), encoder.encode("tag"));
  assert.equal(hashTag(encoder.encode("a{}b")), undefined);
  assert.equal(hashTag(encoder.encode("a}b{")), undefined);
  assert.deepEqual(decoder.decode(historyKeys("t", encoder.encode("room"), undefined, false, keySlot).stream), "pushwire:history:{room}");
  assert.deepEqual(decoder.decode(historyKeys("t", encoder.encode("x{u1}y"), undefined, false, keySlot).stream), "pushwire:history:{u1}:x{u1}y");
  assert.deepEqual(decoder.decode(historyKeys("t", encoder.encode("room"), undefined, false, keySlot).epoch), "pushwire:history:{room}:epoch");
  let seed = 7;
  const next = () => (seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648;
  let refused = 0;
  for (let index = 0; index < 5_000; index++) {
    const length = 1 + Math.floor(next() * 12);
    const channel = Uint8Array.from({ length }, () => "ab{}:x\u00ff".charCodeAt(Math.floor(next() * 7)) & 0xff);
    try {
      const keys = historyKeys("t", channel, undefined, true, keySlot);
      assert.equal(keySlot(keys.stream), keySlot(channel));
      assert.equal(keySlot(keys.epoch), keySlot(channel));
    } catch (error) {
      assert.ok(error instanceof InvalidArgumentError);
      refused++;
      // Only a channel whose braces cut the derived key's tag is refused.
      assert.ok(channel.includes(0x7d) || channel.includes(0x7b), decoder.decode(channel));
    }
  }
  assert.ok(refused > 0 && refused < 5_000, `some refused (${refused})`);
});

/** A history the test writes to, read through the real HistoryReader (as replies would decode). */
class ScriptedHistory {
  epoch = 1_000;
  entries: { seq: number; data: string }[] = [];
  reads = 0;
  hold: Promise<void> | undefined;

  append(data: string): string {
    const seq = (this.entries.at(-1)?.seq ?? -1) + 1;
    this.entries.push({ seq, data });
    return `${this.epoch}-${seq}`;
  }

  reader(): HistoryReader {
    const keys = { stream: encoder.encode("s"), epoch: encoder.encode("s:epoch") };
    return new HistoryReader(keys, async (commands: CommandArgument[][]) => {
      this.reads++;
      await this.hold;
      const [command, , start, , , count] = commands[0].map((part) => typeof part === "string" ? part : decoder.decode(part));
      let items = this.entries.map((entry) => ({ id: `${this.epoch}-${entry.seq}`, ...entry }));
      if (command === "XREVRANGE") items = items.slice(-1);
      else if (start !== "-") {
        const exclusive = start.startsWith("(");
        const [epoch, seq] = start.replace("(", "").split("-").map(Number);
        items = items.filter((item) => this.epoch > epoch || (this.epoch === epoch && (exclusive ? item.seq > seq : item.seq >= seq)));
      }
      if (count !== undefined) items = items.slice(0, Number(count));
      const range: ReplyValue = items.map((item) => [encoder.encode(item.id), [encoder.encode("d"), encoder.encode(item.data)]]);
      return [range, encoder.encode(String(this.epoch))];
    });
  }
}

function envelopeFrame(id: string, data: string): Frame {
  const record = nameRecord("c");
  return new Frame("message", "c", record.bytes, undefined, undefined, encoder.encode(`pw1 ${id}\n${data}`), 0);
}

function feedOver(history: ScriptedHistory, start: Parameters<typeof historyStart>[0], flow = defaultFlow) {
  const delivered: { text: string; id: string | undefined }[] = [];
  const events: RecoveredEvent[] = [];
  let dropped = 0;
  const target: DurableTarget = {
    closed: () => false,
    accept: (frame) => delivered.push({ text: decoder.decode(frame.data), id: frame.id }),
    replayRoom: () => true,
    wouldOverflow: () => false,
    countDropped: (count) => (dropped += count),
    emit: (event) => events.push(event),
    fail: (error) => {
      throw error;
    },
  };
  const feed = new DurableFeed(target, { reader: history.reader(), start: historyStart(start), record: nameRecord("c"), kind: "message", flow });
  return { feed, delivered, events, dropped: () => dropped };
}

function historyStart(start: string | number | "tip") {
  if (start === "tip") return { kind: "tip" } as const;
  if (typeof start === "number") return { kind: "last", count: start, incomplete: false } as const;
  return { kind: "after", id: parseEntryId(start)! } as const;
}

async function settle(history: ScriptedHistory): Promise<void> {
  for (let index = 0; index < 20; index++) {
    const reads = history.reads;
    await new Promise((resolve) => setTimeout(resolve, 1));
    if (history.reads === reads) return;
  }
}

test(`durable units: a live copy that comes after its replayed one is not delivered twice (${runtime})`, async () => {
  const history = new ScriptedHistory();
  const ids = ["a", "b", "c"].map((text) => history.append(text));
  const { feed, delivered } = feedOver(history, ids[0]);
  await feed.prepare();
  await feed.start();
  await settle(history);
  assert.deepEqual(delivered.map((item) => item.text), ["b", "c"]);
  feed.live(envelopeFrame(ids[2], "c")); // the pub/sub copy of "c", late (RESP2: another connection)
  feed.live(envelopeFrame(history.append("d"), "d"));
  assert.deepEqual(delivered.map((item) => item.text), ["b", "c", "d"]);
});

test(`durable units: a gap in live messages is filled from history before the message that showed it (${runtime})`, async () => {
  const history = new ScriptedHistory();
  const { feed, delivered, events } = feedOver(history, "tip");
  await feed.prepare();
  await feed.start();
  await settle(history);
  feed.live(envelopeFrame(history.append("one"), "one"));
  history.append("two"); // its live copy is lost
  feed.live(envelopeFrame(history.append("three"), "three"));
  await settle(history);
  assert.deepEqual(delivered.map((item) => item.text), ["one", "two", "three"]);
  // "two" and "three" both came from the stream; the live copy of "three" was then a duplicate.
  assert.deepEqual(events.map(({ at: _at, ...rest }) => rest), [{ type: "recovered", count: 2, complete: true }]);
});

test(`durable units: a side list over the bounds is cleared and re-read; plain messages in it are counted (${runtime})`, async () => {
  const history = new ScriptedHistory();
  const { feed, delivered, dropped } = feedOver(history, "tip", { ...defaultFlow, bufferSize: 4 });
  await feed.prepare();
  let release!: () => void;
  history.hold = new Promise((resolve) => (release = resolve)); // the first read waits: live messages pile up
  const started = feed.start();
  await new Promise((resolve) => setTimeout(resolve, 1));
  feed.live(new Frame("message", "c", nameRecord("c").bytes, undefined, undefined, encoder.encode("plain"), 0));
  for (let index = 0; index < 10; index++) feed.live(envelopeFrame(history.append(`m${index}`), `m${index}`));
  history.hold = undefined;
  release();
  await started;
  await settle(history);
  assert.deepEqual(delivered.map((item) => item.text), Array.from({ length: 10 }, (_, index) => `m${index}`));
  assert.equal(dropped(), 1, "the message without history could not be re-read");
});

test(`durable units: a reset first seen in a live message: recovered complete: false, the new stream from its start (${runtime})`, async () => {
  const history = new ScriptedHistory();
  const { feed, delivered, events } = feedOver(history, "tip");
  history.append("old");
  await feed.prepare();
  await feed.start();
  await settle(history);
  history.epoch = 2_000;
  history.entries = [];
  history.append("new0");
  feed.live(envelopeFrame(history.append("new1"), "new1"));
  await settle(history);
  assert.deepEqual(delivered.map((item) => item.text), ["new0", "new1"]);
  assert.deepEqual(events.map(({ at: _at, ...rest }) => rest), [{ type: "recovered", count: 2, complete: false }]);
});

test(`durable units: since { last: n } counts n back from the end before subscribing: what comes after is all delivered (${runtime})`, async () => {
  const history = new ScriptedHistory();
  for (const text of ["a", "b", "c"]) history.append(text);
  const { feed, delivered } = feedOver(history, 2);
  await feed.prepare(); // the stream's end is read here, before the subscribe command
  // Subscribed: three are published; their live copies arrive before the first fill reads.
  for (const text of ["d", "e", "f"]) feed.live(envelopeFrame(history.append(text), text));
  await feed.start();
  await settle(history);
  assert.deepEqual(delivered.map((item) => item.text), ["b", "c", "d", "e", "f"]);
});

test(`durable units: a history that went back (a failover lost acknowledged writes) is resumed from its end, reported incomplete (${runtime})`, async () => {
  const history = new ScriptedHistory();
  const { feed, delivered, events } = feedOver(history, "tip");
  await feed.prepare();
  await feed.start();
  await settle(history);
  for (const text of ["a", "b", "c"]) feed.live(envelopeFrame(history.append(text), text));
  history.entries.pop(); // the promoted replica never got "c"
  history.entries.pop(); // nor "b"
  feed.reconnected();
  await settle(history);
  // Its next entries reuse the sequences of "b" and "c": they are new, not duplicates.
  for (const text of ["d", "e"]) feed.live(envelopeFrame(history.append(text), text));
  await settle(history);
  assert.deepEqual(delivered.map((item) => item.text), ["a", "b", "c", "d", "e"]);
  assert.deepEqual(events.map(({ at: _at, ...rest }) => rest), [{ type: "recovered", count: 0, complete: false }]);
});
