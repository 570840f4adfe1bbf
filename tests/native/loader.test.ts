// Method: the real loader and the real libpushwire; missing or wrong files are real paths on disk,
// an ABI mismatch is a stand-in library object (building a second native library is not a unit test).
import process from "node:process";
import { fileURLToPath } from "node:url";
import { assert, test } from "../shim.ts";
import { NativeLibraryError } from "../../src/errors.ts";
import { checkAbi, libraryFileName, loadLibrary, platformDirectory } from "../../src/native/load.ts";
import type { NativeLibrary } from "../../src/native/library.ts";
import { globMatch, keySlot, NativeParser, nativeMemory } from "../../src/native/parser.ts";
import * as abi from "../../src/native/symbols.ts";
import { assertNoNativeMemory, bulk, bytes, push } from "./resp.ts";

test("loader: a libraryPath to a missing file fails, naming the path and why", () => {
  const missing = "/nonexistent/pushwire/libpushwire.so";
  assert.throws(() => new NativeParser({ libraryPath: missing }), (error: unknown) => {
    assert.ok(error instanceof NativeLibraryError);
    assert.match(error.message, new RegExp(`${missing}: not found`));
    assert.match(error.message, /PUSHWIRE_LIB/);
    return true;
  });
});

test("loader: a file that is not a library fails with the runtime's reason", () => {
  const notALibrary = fileURLToPath(new URL("../../native/include/pushwire.h", import.meta.url));
  assert.throws(() => loadLibrary(notALibrary), (error: unknown) => {
    assert.ok(error instanceof NativeLibraryError);
    assert.match(error.message, /could not be opened/);
    return true;
  });
});

test("loader: PUSHWIRE_LIB is used when no option is given", () => {
  const previous = process.env.PUSHWIRE_LIB;
  process.env.PUSHWIRE_LIB = "/nonexistent/from-env/libpushwire.so";
  try {
    assert.throws(() => loadLibrary(), /\/nonexistent\/from-env\/libpushwire\.so: not found/);
  } finally {
    if (previous === undefined) delete process.env.PUSHWIRE_LIB;
    else process.env.PUSHWIRE_LIB = previous;
  }
});

test("loader: the default lookup finds the library and caches it per path", () => {
  const library = loadLibrary();
  assert.equal(loadLibrary(), library);
  assert.equal(loadLibrary(library.path), library);
  assert.ok(library.path.endsWith(libraryFileName()));
  assert.match(platformDirectory(), /^(linux|darwin|windows)-(x64|arm64)(-musl)?$/);
});

test("loader: an ABI mismatch names both versions", () => {
  const stale = { path: "/stale/libpushwire.so", abiVersion: () => abi.PW_ABI_VERSION + 1 } as unknown as NativeLibrary;
  assert.throws(() => checkAbi(stale), (error: unknown) => {
    assert.ok(error instanceof NativeLibraryError);
    assert.match(error.message, new RegExp(`ABI version ${abi.PW_ABI_VERSION + 1}.*ABI version ${abi.PW_ABI_VERSION}`));
    return true;
  });
});

test("native: pw_free_message detects a double free (PW_ERR_FOREIGN_MESSAGE) and frees once", () => {
  const library = loadLibrary();
  const parser = library.parserNew(new Uint8Array(abi.OPTIONS_WORDS * 4));
  assert.ok(parser !== null);
  try {
    const input = push(bulk("message"), bulk("c"), bulk("x"));
    assert.equal(library.feed(parser, input, input.length), abi.PW_OK);
    const cell = new Uint8Array(8);
    assert.equal(library.nextMessage(parser, cell), abi.PW_OK);
    const message = library.messageAt(cell);
    assert.ok(message !== null);
    const header = new Uint32Array(abi.MESSAGE_HEADER_WORDS);
    library.readMessage(message, header);
    assert.equal(header[abi.MESSAGE_KIND], abi.PW_KIND_MESSAGE);
    assert.equal(new TextDecoder().decode(library.copyMessageBytes(message, abi.MESSAGE_FIELD_PAYLOAD, header[abi.MESSAGE_PAYLOAD_LENGTH])), "x");
    assert.equal(library.freeMessage(parser, message), abi.PW_OK);
    assert.equal(library.freeMessage(parser, message), abi.PW_ERR_FOREIGN_MESSAGE);
    assert.equal(library.nextMessage(parser, cell), abi.PW_PENDING);
    assert.equal(library.messageAt(cell), null);
  } finally {
    library.parserFree(parser);
  }
});

test("native: pw_parser_free releases messages that were never freed", () => {
  using parser = new NativeParser();
  parser.feed(bytes(push(bulk("message"), bulk("c"), bulk("x")), "+partial"));
  assert.equal(nativeMemory().openParsers, 1);
  assert.ok(nativeMemory().liveBytes > 0);
  parser.close();
  assert.equal(nativeMemory().openParsers, 0);
  assertNoNativeMemory();
});

test("native: `using` closes the parser at the end of the block", () => {
  {
    using parser = new NativeParser();
    parser.feed(bytes("+x"));
    assert.equal(nativeMemory().openParsers, 1);
  }
  assert.equal(nativeMemory().openParsers, 0);
});

test("native: keySlot matches CLUSTER KEYSLOT, hash tags included", () => {
  assert.equal(keySlot("foo"), 12182);
  assert.equal(keySlot("user1000"), 3443);
  assert.equal(keySlot("{user1000}.following"), 3443);
  assert.equal(keySlot("foo{}{bar}"), 8363);
  assert.equal(keySlot(""), 0);
  assert.equal(keySlot(new TextEncoder().encode("foo")), 12182);
});

test("native: globMatch follows redis glob rules", () => {
  assert.equal(globMatch("news.*", "news.sport"), true);
  assert.equal(globMatch("news.*", "weather"), false);
  assert.equal(globMatch("h?llo", "hallo"), true);
  assert.equal(globMatch("h[ae]llo", "hillo"), false);
  assert.equal(globMatch("h[^e]llo", "hallo"), true);
  assert.equal(globMatch("h[a-c]llo", "hbllo"), true);
  assert.equal(globMatch("h\\*", "h*"), true);
  assert.equal(globMatch("h\\*", "hx"), false);
  assert.equal(globMatch("", ""), true);
  // Redis's stringmatchlen never enters its loop for an empty subject, so "*" does not match "".
  assert.equal(globMatch("*", ""), false);
});
