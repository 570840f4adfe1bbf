// Method: pure TS, no server and no native library: command encoding is compared with hand-written
// RESP, and reply decoding is fed hand-written RESP2/RESP3 values of every type.
import { assert, runtime, test } from "../shim.ts";
import { CommandBuffer, encodeCommand } from "../../src/protocol/encode.ts";
import { decodeReply } from "../../src/protocol/reply.ts";
import { ProtocolError, ReplyError } from "../../src/errors.ts";

const text = (bytes: Uint8Array) => new TextDecoder().decode(bytes);
const resp = (value: string) => new TextEncoder().encode(value);

test(`encode: strings, UTF-8 and binary arguments (${runtime})`, () => {
  assert.equal(text(encodeCommand(["PUBLISH", "news", "hi"])), "*3\r\n$7\r\nPUBLISH\r\n$4\r\nnews\r\n$2\r\nhi\r\n");
  assert.equal(text(encodeCommand(["SET", "ключ", ""])), "*3\r\n$3\r\nSET\r\n$8\r\nключ\r\n$0\r\n\r\n");
  const binary = encodeCommand(["X", new Uint8Array([0, 13, 10, 255])]);
  assert.deepEqual([...binary.subarray(binary.length - 6)], [0, 13, 10, 255, 13, 10]);
  assert.equal(text(binary.subarray(0, 15)), "*2\r\n$1\r\nX\r\n$4\r\n");
});

test(`encode: one buffer coalesces many commands and grows for large ones (${runtime})`, () => {
  const buffer = new CommandBuffer();
  buffer.append(["PING"]);
  const large = "x".repeat(100_000);
  buffer.append(["PUBLISH", "c", large]);
  const bytes = buffer.take();
  assert.equal(buffer.length, 0);
  assert.equal(text(bytes), `*1\r\n$4\r\nPING\r\n*3\r\n$7\r\nPUBLISH\r\n$1\r\nc\r\n$100000\r\n${large}\r\n`);
  assert.equal(buffer.take().length, 0);
});

test(`reply: every RESP2 and RESP3 type (${runtime})`, () => {
  assert.equal(decodeReply(resp("+OK\r\n")), "OK");
  assert.equal(decodeReply(resp(":42\r\n")), 42);
  assert.equal(decodeReply(resp(":-7\r\n")), -7);
  assert.equal(decodeReply(resp(":12345678901234567890\r\n")), 12345678901234567890n);
  assert.equal(decodeReply(resp("$5\r\nhe\r\no\r\n")), "he\r\no");
  assert.deepEqual(decodeReply(resp("$3\r\nabc\r\n"), { bulkAs: "bytes" }), new Uint8Array([97, 98, 99]));
  assert.equal(decodeReply(resp("$-1\r\n")), null);
  assert.equal(decodeReply(resp("*-1\r\n")), null);
  assert.equal(decodeReply(resp("_\r\n")), null);
  assert.equal(decodeReply(resp("#t\r\n")), true);
  assert.equal(decodeReply(resp("#f\r\n")), false);
  assert.equal(decodeReply(resp(",1.5\r\n")), 1.5);
  assert.equal(decodeReply(resp(",-inf\r\n")), -Infinity);
  assert.equal(decodeReply(resp("(123456789012345678901234567890\r\n")), 123456789012345678901234567890n);
  assert.equal(decodeReply(resp("=7\r\ntxt:abc\r\n")), "abc");
  const error = decodeReply(resp("-WRONGTYPE bad\r\n"));
  assert.ok(error instanceof ReplyError && error.serverCode === "WRONGTYPE");
  const bulkError = decodeReply(resp("!8\r\nERR oops\r\n"));
  assert.ok(bulkError instanceof ReplyError && bulkError.message === "ERR oops");
});

test(`reply: nested aggregates, maps, sets, attributes, empty aggregates (${runtime})`, () => {
  assert.deepEqual(decodeReply(resp("*3\r\n:1\r\n*2\r\n+a\r\n*0\r\n$1\r\nb\r\n")), [1, ["a", []], "b"]);
  assert.deepEqual(decodeReply(resp("~2\r\n+x\r\n+y\r\n")), ["x", "y"]);
  assert.deepEqual(decodeReply(resp(">2\r\n+p\r\n:1\r\n")), ["p", 1]);
  const map = decodeReply(resp("%2\r\n+server\r\n$5\r\nredis\r\n+proto\r\n:3\r\n")) as Map<unknown, unknown>;
  assert.deepEqual([...map.entries()], [["server", "redis"], ["proto", 3]]);
  assert.deepEqual([...(decodeReply(resp("%0\r\n")) as Map<unknown, unknown>).entries()], []);
  // An attribute annotates the value after it and is dropped.
  assert.equal(decodeReply(resp("|1\r\n+ttl\r\n:3\r\n:99\r\n")), 99);
  assert.deepEqual(decodeReply(resp("*2\r\n|1\r\n+a\r\n+b\r\n:1\r\n:2\r\n")), [1, 2]);
  // Deep nesting costs no call stack.
  const depth = 10_000;
  const deep = decodeReply(resp("*1\r\n".repeat(depth) + ":0\r\n"));
  let cursor: unknown = deep;
  for (let i = 0; i < depth; i++) cursor = (cursor as unknown[])[0];
  assert.equal(cursor, 0);
});

test(`reply: truncated or trailing bytes are a ProtocolError (${runtime})`, () => {
  assert.throws(() => decodeReply(resp("$5\r\nab\r\n")), ProtocolError);
  assert.throws(() => decodeReply(resp("*2\r\n:1\r\n")), ProtocolError);
  assert.throws(() => decodeReply(resp(":1\r\n:2\r\n")), ProtocolError);
  assert.throws(() => decodeReply(resp("?x\r\n")), ProtocolError);
});
