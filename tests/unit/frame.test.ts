// Method: pure TS, no native library: Frame objects are built directly to check their accessors.
import { assert, test } from "../shim.ts";
import { Frame } from "../../src/frame.ts";

const encoder = new TextEncoder();

test("frame: text() decodes UTF-8 lossily and json() parses it", () => {
  const frame = new Frame("message", "news", encoder.encode("news"), undefined, undefined, encoder.encode('{"a":[1,"é"]}'), 0);
  assert.equal(frame.text(), '{"a":[1,"é"]}');
  assert.deepEqual(frame.json(), { a: [1, "é"] });
  const broken = new Frame("message", "c", encoder.encode("c"), undefined, undefined, new Uint8Array([0x68, 0xFF]), 0);
  assert.equal(broken.text(), "h\uFFFD");
  assert.throws(() => broken.json(), SyntaxError);
});

test("frame: byte getters hand out copies, so a caller cannot corrupt a shared interned name", () => {
  const channelBytes = encoder.encode("news");
  const frame = new Frame("pmessage", "news", channelBytes, "n*", encoder.encode("n*"), new Uint8Array(0), 0);
  const copy = frame.channelBytes;
  copy[0] = 0;
  assert.equal(new TextDecoder().decode(frame.channelBytes), "news");
  assert.deepEqual(frame.patternBytes, encoder.encode("n*"));
  const plain = new Frame("reply", "", new Uint8Array(0), undefined, undefined, encoder.encode("+OK\r\n"), 0);
  assert.equal(plain.patternBytes, undefined);
  assert.equal(plain.channel, "");
});
