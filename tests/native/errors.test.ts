// Method: real libpushwire through this runtime's FFI adapter; malformed and over-limit RESP is
// written by hand (plus seeded random bytes) to check every error status, its message, stickiness
// and that good frames before an error are still delivered.
import { assert, test } from "../shim.ts";
import { ProtocolError } from "../../src/errors.ts";
import type { NativeParser, NativeParserOptions } from "../../src/native/parser.ts";
import * as abi from "../../src/native/symbols.ts";
import { array, bulk, bytes, integer, parseAll, push, randomBytes, withParser } from "./resp.ts";

/** Feeds + drains `input` and returns the ProtocolError it must raise. */
function protocolError(parser: NativeParser, input: Uint8Array): ProtocolError {
  try {
    parseAll(parser, input);
  } catch (error) {
    assert.ok(error instanceof ProtocolError, `expected a ProtocolError, got ${error}`);
    return error;
  }
  assert.fail("expected a ProtocolError");
}

function expectError(input: Uint8Array, status: number, message: RegExp, options: NativeParserOptions = {}): void {
  withParser(options, (parser) => {
    const error = protocolError(parser, input);
    assert.equal(error.status, status, error.message);
    assert.equal(error.code, "ERR_PUSHWIRE_PROTOCOL");
    assert.match(error.message, message);
    assert.match(error.message, /offset/, `the explanation should say where: ${error.message}`);
    assert.equal(parser.stats().errors, 1);
  });
}

test("errors: maxBulkLength", () => {
  withParser({ limits: { maxBulkLength: 10 } }, (parser) => {
    assert.equal(parseAll(parser, bulk("0123456789")).length, 1);
  });
  expectError(bulk("01234567890"), abi.PW_ERR_BULK_TOO_LONG, /PW_ERR_BULK_TOO_LONG/, { limits: { maxBulkLength: 10 } });
});

test("errors: maxNestingDepth, with 100,000 nested *1 against the default", () => {
  expectError(bytes("*1\r\n".repeat(100_000), ":1\r\n"), abi.PW_ERR_TOO_DEEP, /PW_ERR_TOO_DEEP/);
  withParser({ limits: { maxNestingDepth: 3 } }, (parser) => {
    assert.equal(parseAll(parser, bytes("*1\r\n*1\r\n*1\r\n:1\r\n")).length, 1);
  });
  expectError(bytes("*1\r\n*1\r\n*1\r\n*1\r\n:1\r\n"), abi.PW_ERR_TOO_DEEP, /deep|depth/i, { limits: { maxNestingDepth: 3 } });
});

test("errors: maxAggregateLength", () => {
  withParser({ limits: { maxAggregateLength: 2 } }, (parser) => {
    assert.equal(parseAll(parser, array(integer(1), integer(2))).length, 1);
  });
  expectError(array(integer(1), integer(2), integer(3)), abi.PW_ERR_AGGREGATE_TOO_LONG, /PW_ERR_AGGREGATE_TOO_LONG/, {
    limits: { maxAggregateLength: 2 },
  });
});

test("errors: maxQueuedBytes refuses the feed and poisons the parser", () => {
  withParser({ limits: { maxQueuedBytes: 64 } }, (parser) => {
    parser.feed(bytes("+", "x".repeat(40)));
    assert.throws(() => parser.feed(bytes("x".repeat(40))), (error: unknown) => {
      assert.ok(error instanceof ProtocolError);
      assert.equal(error.status, abi.PW_ERR_QUEUE_FULL);
      return true;
    });
    assert.throws(() => parser.drain(() => {}), /PW_ERR_QUEUE_FULL/);
  });
});

test("errors: malformed streams are PW_ERR_PROTOCOL with an explanation", () => {
  // A 20-digit length does not fit any integer; the core reports it as longer than maxBulkLength.
  expectError(bytes("$99999999999999999999\r\n"), abi.PW_ERR_BULK_TOO_LONG, /PW_ERR_BULK_TOO_LONG/);
  expectError(bytes("*-2\r\n"), abi.PW_ERR_PROTOCOL, /PW_ERR_PROTOCOL/);
  expectError(bytes("?what\r\n"), abi.PW_ERR_PROTOCOL, /unknown type byte/);
  expectError(bytes("$3\r\nfooXY"), abi.PW_ERR_PROTOCOL, /PW_ERR_PROTOCOL/);
  expectError(bytes(":12a\r\n"), abi.PW_ERR_PROTOCOL, /PW_ERR_PROTOCOL/);
});

test("errors: pub/sub pushes of the wrong shape are PW_ERR_PUSH_SHAPE", () => {
  expectError(push(bulk("message"), integer(1), bulk("x")), abi.PW_ERR_PUSH_SHAPE, /PW_ERR_PUSH_SHAPE/);
  expectError(push(bulk("message"), bulk("c")), abi.PW_ERR_PUSH_SHAPE, /PW_ERR_PUSH_SHAPE/);
  expectError(push(bulk("subscribe"), bulk("c"), bulk("1")), abi.PW_ERR_PUSH_SHAPE, /PW_ERR_PUSH_SHAPE/);
  expectError(push(bulk("pmessage"), bulk("p"), bulk("c")), abi.PW_ERR_PUSH_SHAPE, /PW_ERR_PUSH_SHAPE/);
});

test("errors: 64 KiB of random bytes give a ProtocolError, never a crash", () => {
  for (const seed of [1, 2, 3, 0xC0FFEE]) {
    withParser({}, (parser) => {
      const error = protocolError(parser, randomBytes(64 * 1024, seed));
      assert.ok(error.status < 0 && error.status >= abi.PW_ERR_OUT_OF_MEMORY, `seed ${seed}: ${error.message}`);
      assert.ok(error.message.length > 20, `seed ${seed}: ${error.message}`);
    });
  }
});

test("errors: good frames before an error are delivered, then the error is thrown", () => {
  withParser({}, (parser) => {
    parser.feed(bytes("+one\r\n", push(bulk("message"), bulk("c"), bulk("two")), "?bad\r\n+never\r\n"));
    const seen: string[] = [];
    assert.throws(() => parser.drain((frame) => seen.push(frame.text() || frame.kind)), ProtocolError);
    assert.deepEqual(seen, ["+one\r\n", "two"]);
  });
});

test("errors: the error is sticky until reset(), which starts a fresh stream", () => {
  withParser({}, (parser) => {
    const first = protocolError(parser, bytes("?bad\r\n"));
    assert.throws(() => parser.feed(bytes("+OK\r\n")), (error: unknown) => error instanceof ProtocolError && error.status === first.status);
    assert.throws(() => parser.drain(() => {}), ProtocolError);
    assert.throws(() => parser.nextMessageSimple(), ProtocolError);
    parser.reset();
    assert.deepEqual(parseAll(parser, bytes("+OK\r\n")).map((frame) => frame.text()), ["+OK\r\n"]);
  });
});

test("errors: invalid limits are rejected before the core sees them", () => {
  for (const bad of [0, -1, 1.5, 2 ** 32, Number.NaN]) {
    assert.throws(() => withParser({ limits: { maxBulkLength: bad } }, () => {}), /maxBulkLength/);
  }
});
