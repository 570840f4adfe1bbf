// Method: real libpushwire through the real FFI adapter of this runtime; RESP bytes are written by
// hand in the test (no server), so every push kind, reply type and edge case is exact and repeatable.
import { assert, test } from "../shim.ts";
import { array, bulk, bytes, integer, parsePlain, push, withParser, parseAll, plain } from "./resp.ts";

const message = (channel: string, payload: string) => ({ kind: "message", channel, pattern: undefined, data: payload, count: 0 });

test("vectors: message, pmessage and smessage pushes", () => {
  const stream = bytes(
    push(bulk("message"), bulk("news"), bulk("hello")),
    push(bulk("pmessage"), bulk("n*"), bulk("news"), bulk("hi")),
    push(bulk("smessage"), bulk("shard"), bulk("")),
  );
  assert.deepEqual(parsePlain(stream), [
    message("news", "hello"),
    { kind: "pmessage", channel: "news", pattern: "n*", data: "hi", count: 0 },
    { kind: "smessage", channel: "shard", pattern: undefined, data: "", count: 0 },
  ]);
});

test("vectors: subscribe family carries the count; a null unsubscribe channel is \"\"", () => {
  const names = ["subscribe", "psubscribe", "ssubscribe", "unsubscribe", "punsubscribe", "sunsubscribe"];
  const stream = bytes(...names.map((name, index) => push(bulk(name), bulk(`c${index}`), integer(index + 1))));
  assert.deepEqual(
    parsePlain(stream),
    names.map((kind, index) => ({ kind, channel: `c${index}`, pattern: undefined, data: "", count: index + 1 })),
  );
  const nulls = bytes(
    push(bulk("unsubscribe"), bytes("_\r\n"), integer(0)),
    array(bulk("punsubscribe"), bytes("$-1\r\n"), integer(0)),
  );
  assert.deepEqual(parsePlain(nulls, { resp2PushArrays: true }), [
    { kind: "unsubscribe", channel: "", pattern: undefined, data: "", count: 0 },
    { kind: "punsubscribe", channel: "", pattern: undefined, data: "", count: 0 },
  ]);
});

test("vectors: RESP2 pong, invalidate and other pushes", () => {
  const invalidateKeys = array(bulk("k1"), bulk("k2"));
  const other = push(bulk("custom-event"), bulk("x"), integer(7));
  const stream = bytes(
    array(bulk("pong"), bulk("hi")),
    push(bulk("invalidate"), invalidateKeys),
    other,
  );
  assert.deepEqual(parsePlain(stream, { resp2PushArrays: true }), [
    { kind: "pong", channel: "", pattern: undefined, data: "hi", count: 0 },
    { kind: "invalidate", channel: "", pattern: undefined, data: new TextDecoder().decode(invalidateKeys), count: 0 },
    { kind: "push", channel: "custom-event", pattern: undefined, data: new TextDecoder().decode(other), count: 0 },
  ]);
});

test("vectors: every non-push reply type comes back as its raw RESP bytes", () => {
  const replies = [
    "+OK\r\n",
    ":-42\r\n",
    "$3\r\nfoo\r\n",
    "$-1\r\n",
    "*-1\r\n",
    "*2\r\n$1\r\na\r\n:1\r\n",
    "_\r\n",
    ",3.14\r\n",
    "#t\r\n",
    "(123456789012345678901234567890\r\n",
    "=15\r\ntxt:Some string\r\n",
    "%1\r\n+key\r\n:1\r\n",
    "~2\r\n+a\r\n+b\r\n",
    "*1\r\n*1\r\n*1\r\n%1\r\n+k\r\n~1\r\n_\r\n",
  ];
  assert.deepEqual(
    parsePlain(bytes(...replies)),
    replies.map((data) => ({ kind: "reply", channel: "", pattern: undefined, data, count: 0 })),
  );
});

test("vectors: simple and bulk errors give the error text", () => {
  assert.deepEqual(parsePlain(bytes("-ERR unknown command\r\n", "!21\r\nSYNTAX invalid syntax\r\n")), [
    { kind: "error", channel: "", pattern: undefined, data: "ERR unknown command", count: 0 },
    { kind: "error", channel: "", pattern: undefined, data: "SYNTAX invalid syntax", count: 0 },
  ]);
});

test("vectors: attributes before a frame are skipped", () => {
  const frames = parsePlain(bytes("|1\r\n+key-popularity\r\n%1\r\n$1\r\na\r\n,0.19\r\n", push(bulk("message"), bulk("c"), bulk("p"))));
  assert.deepEqual(frames, [message("c", "p")]);
  const reply = parsePlain(bytes("|1\r\n+ttl\r\n:3\r\n", ":5\r\n"));
  assert.equal(reply.length, 1);
  assert.equal(reply[0].kind, "reply");
  assert.ok(reply[0].data.endsWith(":5\r\n"), `raw reply was ${JSON.stringify(reply[0].data)}`);
});

test("vectors: RESP2 arrays and RESP3 pushes give identical frames (with resp2PushArrays)", () => {
  const elements = [
    [bulk("message"), bulk("news"), bulk("hello")],
    [bulk("pmessage"), bulk("n*"), bulk("news"), bulk("hi")],
    [bulk("smessage"), bulk("s"), bulk("x")],
    [bulk("subscribe"), bulk("news"), integer(1)],
    [bulk("unsubscribe"), bulk("news"), integer(0)],
  ];
  const resp3 = parsePlain(bytes(...elements.map((parts) => push(...parts))));
  const resp2 = parsePlain(bytes(...elements.map((parts) => array(...parts))), { resp2PushArrays: true });
  assert.deepEqual(resp2, resp3);
  // Without the option a RESP2 array is an ordinary reply.
  const plainArray = array(bulk("message"), bulk("news"), bulk("hello"));
  assert.deepEqual(parsePlain(plainArray).map((frame) => frame.kind), ["reply"]);
});

test("vectors: setResp2PushArrays switches classification for later frames", () => {
  withParser({}, (parser) => {
    const stream = array(bulk("message"), bulk("news"), bulk("hello"));
    assert.equal(parseAll(parser, stream)[0].kind, "reply");
    parser.setResp2PushArrays(true);
    assert.deepEqual(parseAll(parser, stream).map(plain), [message("news", "hello")]);
    parser.setResp2PushArrays(false);
    assert.equal(parseAll(parser, stream)[0].kind, "reply");
  });
});
