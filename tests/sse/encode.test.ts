// Method: pure unit tests of the event-stream encoder; every encoded event is parsed back with a
// parser written from the WHATWG interpretation rules (tests/sse/helpers.ts), i.e. what a browser's
// EventSource would rebuild. Nothing is faked: there is no I/O here.
import { assert, test } from "../shim.ts";
import { InvalidArgumentError } from "../../src/errors.ts";
import { decodeUtf8Strict, encodeComment, encodeEvent, encodeRetry, escapeEventName, toBase64 } from "../../src/sse/encode.ts";
import { EventStreamParser } from "./helpers.ts";

function roundTrip(text: string): ReturnType<EventStreamParser["events"]["slice"]> {
  const parser = new EventStreamParser();
  parser.feed(new TextEncoder().encode(text));
  return parser.events;
}

test("sse encode: one-line data, event name and id", () => {
  assert.equal(encodeEvent({ data: "hello" }), "data: hello\n\n");
  assert.equal(encodeEvent({ data: "hi", event: "chat", id: "7" }), "event: chat\nid: 7\ndata: hi\n\n");
  assert.equal(encodeEvent({ data: "x", event: "" }), "data: x\n\n", "an empty event name means the default");
  assert.deepEqual(roundTrip(encodeEvent({ data: "hi", event: "chat", id: "7" })), [
    { type: "chat", data: "hi", lastEventId: "7" },
  ]);
});

test("sse encode: LF, CRLF and CR line breaks become data lines the browser joins with LF", () => {
  assert.equal(encodeEvent({ data: "a\nb" }), "data: a\ndata: b\n\n");
  assert.equal(encodeEvent({ data: "a\r\nb" }), "data: a\ndata: b\n\n");
  assert.equal(encodeEvent({ data: "a\rb" }), "data: a\ndata: b\n\n");
  assert.equal(encodeEvent({ data: "a\r\rb" }), "data: a\ndata: \ndata: b\n\n", "CR CR is two breaks");
  assert.equal(encodeEvent({ data: "a\n\r\nb\r" }), "data: a\ndata: \ndata: b\ndata: \n\n");
  const cases: [string, string][] = [
    ["line one\nline two\nline three", "line one\nline two\nline three"],
    ["windows\r\nlines\r\n", "windows\nlines\n"],
    ["old mac\rlines", "old mac\nlines"],
    ["\n", "\n"],
    ["\n\n\n", "\n\n\n"],
    ["trailing\n", "trailing\n"],
    ["\nleading", "\nleading"],
    ["", ""],
    [" leading space", " leading space"],
    ["  two spaces\n\tand a tab", "  two spaces\n\tand a tab"],
    ["data: looks like a field\nid: 99\n\nevent: nope", "data: looks like a field\nid: 99\n\nevent: nope"],
    [": not a comment", ": not a comment"],
    ["héllo wörld — ünïcödé ✓ 日本語 🎉\nzwei", "héllo wörld — ünïcödé ✓ 日本語 🎉\nzwei"],
    ["\uFEFFbom inside", "\uFEFFbom inside"],
    ["nul\0byte", "nul\0byte"],
  ];
  for (const [payload, expected] of cases) {
    // A comment first, like the stream does, so a payload BOM is not the stream's first character.
    const events = roundTrip(": open\n\n" + encodeEvent({ data: payload, id: "1" }));
    assert.equal(events.length, 1, `one event for ${JSON.stringify(payload)}`);
    assert.equal(events[0].data, expected, `payload ${JSON.stringify(payload)}`);
  }
});

test("sse encode: event names and ids that would break a line are refused", () => {
  assert.throws(() => encodeEvent({ data: "x", event: "a\nb" }), InvalidArgumentError);
  assert.throws(() => encodeEvent({ data: "x", event: "a\rb" }), InvalidArgumentError);
  assert.throws(() => encodeEvent({ data: "x", id: "1\n2" }), InvalidArgumentError);
  assert.throws(() => encodeEvent({ data: "x", id: "1\0" }), /NUL/);
});

test("sse encode: retry, comments", () => {
  assert.equal(encodeRetry(2500), "retry: 2500\n");
  assert.equal(encodeEvent({ data: "x", retryMs: 10 }), "retry: 10\ndata: x\n\n");
  assert.throws(() => encodeRetry(-1), InvalidArgumentError);
  assert.throws(() => encodeRetry(1.5), InvalidArgumentError);
  assert.equal(encodeComment("heartbeat"), ": heartbeat\n\n");
  assert.equal(encodeComment("a\nb"), ": a\n: b\n\n", "a multi-line comment stays a comment");
  assert.equal(encodeComment(""), ":\n\n");
  const parser = new EventStreamParser();
  parser.feed(new TextEncoder().encode(encodeComment("a\r\nb") + "retry: 3000\n\n"));
  assert.deepEqual(parser.events, [], "comments and retry dispatch nothing");
  assert.deepEqual(parser.comments, ["a", "b"]);
  assert.equal(parser.retryMs, 3000);
});

test("sse encode: channel names as event names are escaped reversibly", () => {
  assert.equal(escapeEventName("room:42"), "room:42");
  assert.equal(escapeEventName("a\nb"), "a%0Ab");
  assert.equal(escapeEventName("a\r\n%"), "a%0D%0A%25");
  for (const name of ["plain", "50%", "x\ny", "\r\n\r", "%0A"]) {
    assert.equal(decodeURIComponent(escapeEventName(name)), name);
  }
});

test("sse encode: base64 of every byte value, and strict UTF-8", () => {
  const all = new Uint8Array(256).map((_, index) => index);
  let binary = "";
  for (const byte of all) binary += String.fromCharCode(byte);
  assert.equal(toBase64(all), btoa(binary));
  assert.equal(toBase64(new Uint8Array(0)), "");
  const big = new Uint8Array(200_000).map((_, index) => (index * 7) & 0xff);
  const decoded = Uint8Array.from(atob(toBase64(big)), (character) => character.charCodeAt(0));
  assert.deepEqual(decoded, big);
  assert.equal(decodeUtf8Strict(new TextEncoder().encode("ok ✓")), "ok ✓");
  assert.equal(decodeUtf8Strict(new Uint8Array([0xef, 0xbb, 0xbf, 0x41])), "\uFEFFA", "a BOM is data, kept");
  assert.equal(decodeUtf8Strict(new Uint8Array([0x66, 0xff, 0x6f])), undefined);
  assert.equal(decodeUtf8Strict(new Uint8Array([0xe2, 0x82])), undefined, "truncated sequence");
});
