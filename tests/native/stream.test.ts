// Method: real libpushwire through this runtime's FFI adapter; hand-built RESP streams are fed in
// every possible split, byte by byte, and through both APIs (batch drain and simple next/free).
import { assert, test } from "../shim.ts";
import type { Frame } from "../../src/frame.ts";
import * as abi from "../../src/native/symbols.ts";
import { bulk, bytes, integer, parseAll, plain, push, withParser } from "./resp.ts";

const stream = bytes(
  push(bulk("subscribe"), bulk("news"), integer(1)),
  push(bulk("message"), bulk("news"), bulk("hello")),
  "+OK\r\n",
  push(bulk("pmessage"), bulk("n*"), bulk("news"), bulk("a\r\nb")),
  "-ERR x\r\n",
  push(bulk("message"), bulk("news"), bulk("")),
  "%1\r\n$1\r\nk\r\n*2\r\n:1\r\n_\r\n",
  push(bulk("unsubscribe"), bytes("_\r\n"), integer(0)),
);

test("stream: a split at every byte position gives identical frames", () => {
  const expected = withParser({}, (parser) => parseAll(parser, stream).map(plain));
  assert.equal(expected.length, 8);
  withParser({}, (parser) => {
    for (let split = 0; split <= stream.length; split++) {
      const frames = parseAll(parser, stream.subarray(0, split), stream.subarray(split)).map(plain);
      assert.deepEqual(frames, expected, `split at byte ${split}`);
    }
  });
});

test("stream: one byte per feed gives identical frames", () => {
  const expected = withParser({}, (parser) => parseAll(parser, stream).map(plain));
  withParser({}, (parser) => {
    const frames: Frame[] = [];
    for (let at = 0; at < stream.length; at++) {
      parser.feed(stream.subarray(at, at + 1));
      parser.drain((frame) => frames.push(frame));
    }
    assert.deepEqual(frames.map(plain), expected);
  });
});

test("stream: the simple API (pw_next_message/pw_free_message) gives the same frames as drain()", () => {
  const expected = withParser({}, (parser) => parseAll(parser, stream).map(plain));
  withParser({}, (parser) => {
    parser.feed(stream);
    const frames: Frame[] = [];
    for (let frame = parser.nextMessageSimple(); frame !== undefined; frame = parser.nextMessageSimple()) frames.push(frame);
    assert.deepEqual(frames.map(plain), expected);
    assert.equal(parser.stats().liveMessages, 0);
  });
});

test("stream: binary payloads (all 256 byte values, CRLF inside) and binary channel names are exact", () => {
  const all = new Uint8Array(256).map((_, index) => index);
  const channel = new Uint8Array([0xFF, 0x00, 0x0D, 0x0A, 0x80]);
  withParser({}, (parser) => {
    for (const api of ["drain", "simple"]) {
      parser.feed(bytes(push(bulk("message"), bulk(channel), bulk(all)), push(bulk("pmessage"), bulk(channel), bulk(channel), bulk("\r\n\r\n"))));
      const frames: Frame[] = [];
      if (api === "drain") parser.drain((frame) => frames.push(frame));
      else for (let frame = parser.nextMessageSimple(); frame; frame = parser.nextMessageSimple()) frames.push(frame);
      assert.deepEqual(frames[0].data, all, api);
      assert.deepEqual(frames[0].channelBytes, channel, api);
      assert.equal(frames[0].channel, new TextDecoder().decode(channel), api);
      assert.deepEqual(frames[1].patternBytes, channel, api);
      assert.equal(frames[1].text(), "\r\n\r\n", api);
    }
  });
});

test("stream: a 1 MiB payload (its own buffer, written by the core) and small frames around it stay intact", () => {
  const big = new Uint8Array(1024 * 1024 + 3).map((_, index) => (index * 31) & 0xFF);
  withParser({}, (parser) => {
    const frames = parseAll(
      parser,
      bytes(
        push(bulk("message"), bulk("a"), bulk("before")),
        push(bulk("message"), bulk("big"), bulk(big)),
        push(bulk("message"), bulk("a"), bulk("after")),
      ),
    );
    assert.deepEqual(frames.map((frame) => frame.channel), ["a", "big", "a"]);
    assert.equal(frames[0].text(), "before");
    assert.deepEqual(frames[1].data, big);
    assert.equal(frames[2].text(), "after");
    // The frames are copies: parsing more must not change them.
    parseAll(parser, push(bulk("message"), bulk("a"), bulk("overwrite the slab")));
    assert.equal(frames[0].text(), "before");
    assert.deepEqual(frames[1].data, big);
  });
});

test("stream: held frames stay exact across many drains, slab changes and own-buffer payloads", () => {
  // Sizes around every threshold of both batch strategies (src/native/bun.ts, deno.ts): tiny payloads
  // (copy loop), slab-sized ones, ones that do not fit the room left, ones larger than any slab.
  const sizes = [0, 1, 31, 32, 33, 200, 4096, 20_000, 32 * 1024, 40_000, 64 * 1024, 64 * 1024 + 7, 100_000, 128 * 1024, 200_000, 3];
  const long = "N".repeat(abi.PW_MAX_INTERNED_NAME_LENGTH + 5); // not interned: its bytes come from the slab
  const expected: { channel: string; pattern: string | undefined; data: Uint8Array }[] = [];
  const parts: Uint8Array[] = [];
  let seed = 7;
  for (let round = 0; round < 3; round++) {
    for (const size of sizes) {
      const data = new Uint8Array(size);
      for (let at = 0; at < size; at++) data[at] = (seed = (seed * 1103515245 + 12345) >>> 0) >>> 24;
      const index = expected.length;
      if (index % 3 === 2) {
        const channel = index % 2 === 0 ? long : `ch${index % 5}`;
        parts.push(push(bulk("pmessage"), bulk("p*"), bulk(channel), bulk(data)));
        expected.push({ channel, pattern: "p*", data });
      } else {
        const channel = index % 4 === 0 ? long : `ch${index % 5}`;
        parts.push(push(bulk("message"), bulk(channel), bulk(data)));
        expected.push({ channel, pattern: undefined, data });
      }
    }
  }
  const stream = bytes(...parts);
  withParser({}, (parser) => {
    // Uneven pieces, drained after each: batches of every length, frames held throughout.
    const pieces: Uint8Array[] = [];
    for (let at = 0, step = 1; at < stream.length; at += step, step = (step * 7 + 3) % 90_000 + 1) {
      pieces.push(stream.subarray(at, Math.min(stream.length, at + step)));
    }
    const frames = parseAll(parser, ...pieces);
    // More traffic after the fact must not change what was handed out.
    parseAll(parser, ...Array.from({ length: 50 }, (_, index) => push(bulk("message"), bulk("x"), bulk("y".repeat(index * 997)))));
    assert.equal(frames.length, expected.length);
    frames.forEach((frame, index) => {
      assert.equal(frame.channel, expected[index].channel, `frame ${index}`);
      assert.equal(frame.pattern, expected[index].pattern, `frame ${index}`);
      assert.equal(frame.data.length, expected[index].data.length, `frame ${index}`);
      assert.deepEqual(frame.data, expected[index].data, `frame ${index}`);
      assert.equal(new TextDecoder().decode(frame.channelBytes), expected[index].channel, `frame ${index}`);
    });
  });
});

test("stream: many frames in one feed (several batches) arrive complete and in order", () => {
  const count = 5000;
  const parts: Uint8Array[] = [];
  for (let index = 0; index < count; index++) parts.push(push(bulk("message"), bulk(`c${index % 7}`), bulk(String(index))));
  withParser({}, (parser) => {
    const frames = parseAll(parser, bytes(...parts));
    assert.equal(frames.length, count);
    frames.forEach((frame, index) => {
      assert.equal(frame.text(), String(index));
      assert.equal(frame.channel, `c${index % 7}`);
    });
  });
});

test("stream: interned names are decoded once and reused; names past maxInternedNames still decode", () => {
  withParser({ limits: { maxInternedNames: 2 } }, (parser) => {
    const long = "L".repeat(abi.PW_MAX_INTERNED_NAME_LENGTH + 1);
    const channels = ["alpha", "beta", "gamma", "delta", "alpha", "gamma", "ünïcode", long, long];
    const frames = parseAll(parser, bytes(...channels.map((channel) => push(bulk("message"), bulk(channel), bulk("x")))));
    assert.deepEqual(frames.map((frame) => frame.channel), channels);
    assert.deepEqual(frames.map((frame) => new TextDecoder().decode(frame.channelBytes)), channels);
  });
  withParser({}, (parser) => {
    const frames = parseAll(parser, push(bulk("message"), bulk("news"), bulk("1")), push(bulk("message"), bulk("news"), bulk("2")));
    // Same interned id: the byte getter still hands out independent copies.
    const first = frames[0].channelBytes;
    first[0] = 0;
    assert.equal(new TextDecoder().decode(frames[1].channelBytes), "news");
  });
});

test("stream: a sink that throws loses nothing; the rest comes with the next drain()", () => {
  withParser({}, (parser) => {
    parser.feed(bytes(...[1, 2, 3, 4].map((n) => push(bulk("message"), bulk("c"), bulk(String(n))))));
    const seen: string[] = [];
    assert.throws(() => parser.drain((frame) => {
      seen.push(frame.text());
      if (frame.text() === "2") throw new Error("consumer failed");
    }), /consumer failed/);
    assert.equal(parser.drain((frame) => seen.push(frame.text())), 2);
    assert.deepEqual(seen, ["1", "2", "3", "4"]);
  });
});

test("stream: reset() from inside the sink drops the rest of the old stream", () => {
  withParser({}, (parser) => {
    parser.feed(bytes(...[1, 2, 3].map((n) => push(bulk("message"), bulk("c"), bulk(String(n))))));
    const seen: string[] = [];
    assert.equal(parser.drain((frame) => {
      seen.push(frame.text());
      parser.reset();
    }), 1);
    assert.deepEqual(seen, ["1"]);
    assert.equal(parser.drain(() => assert.fail("old frames must not come back")), 0);
  });
});

test("stream: stats() counts messages and fed bytes; close() is idempotent and using works", () => {
  withParser({}, (parser) => {
    const input = bytes(push(bulk("message"), bulk("c"), bulk("x")), "+OK\r\n", "+partial");
    parseAll(parser, input);
    const stats = parser.stats();
    assert.equal(stats.totalMessages, 2);
    assert.equal(stats.totalBytesFed, input.length);
    assert.equal(stats.bufferedBytes, "+partial".length);
    assert.equal(stats.liveMessages, 0);
    assert.equal(stats.errors, 0);
    parser.close();
    parser.close();
    assert.throws(() => parser.feed(input), /closed/);
  });
});
