// Method: reads native/include/pushwire.h as text and compares every `#define PW_<name> <number>`
// with the TS constant of the same name in src/native/symbols.ts (header ↔ TS; the Zig side checks
// header ↔ Zig). Also checks the struct layouts the TS side relies on against the loaded library.
import { readFileSync } from "node:fs";
import { assert, test } from "../shim.ts";
import * as abi from "../../src/native/symbols.ts";
import { loadLibrary } from "../../src/native/load.ts";

const header = readFileSync(new URL("../../native/include/pushwire.h", import.meta.url), "utf8");

function headerNumbers(): Map<string, number> {
  const numbers = new Map<string, number>();
  for (const match of header.matchAll(/^#define\s+(PW_\w+)\s+(-?(?:0x[0-9A-Fa-f]+|\d+))u?\b/gm)) {
    numbers.set(match[1], Number(match[2]));
  }
  return numbers;
}

test("abi: every numeric #define in pushwire.h equals its TS constant", () => {
  const numbers = headerNumbers();
  const defineLines = header.match(/^#define\s+PW_\w+/gm)?.length ?? 0;
  assert.equal(numbers.size, defineLines, "a #define PW_ line was not understood: did the header format change?");
  const constants = abi as unknown as Record<string, unknown>;
  for (const [name, value] of numbers) {
    assert.equal(constants[name], value, `${name}: header says ${value}, symbols.ts says ${constants[name]}`);
  }
});

test("abi: every PW_ constant in symbols.ts exists in pushwire.h", () => {
  const numbers = headerNumbers();
  for (const name of Object.keys(abi).filter((key) => key.startsWith("PW_"))) {
    assert.ok(numbers.has(name), `${name} is in symbols.ts but not in pushwire.h`);
  }
});

test("abi: every function in pushwire.h has a symbol-table entry, and no entry is extra", () => {
  const declared = [...header.matchAll(/^[a-z_][\w\s*]*?\b(pw_\w+)\(/gm)].map((match) => match[1]).sort();
  assert.deepEqual(Object.keys(abi.symbols).sort(), declared);
});

test("abi: kind names cover every PW_KIND_* value and nothing else", () => {
  assert.equal(abi.KIND_NAMES.length, abi.PW_KIND_COUNT);
  assert.equal(abi.KIND_NAMES[abi.PW_KIND_OTHER_PUSH], "push");
  assert.equal(abi.KIND_NAMES[abi.PW_KIND_ERROR_REPLY], "error");
  assert.equal(new Set(abi.KIND_NAMES.slice(1)).size, abi.PW_KIND_COUNT - 1);
});

test("abi: struct sizes in the header comments match the layouts symbols.ts assumes", () => {
  assert.match(header, /} pw_options;\s+\/\* 36 bytes \*\//);
  assert.equal(abi.OPTIONS_WORDS * 4, 36);
  assert.match(header, /} pw_message;\s+\/\* 56 bytes on 64-bit targets \*\//);
  assert.equal(abi.MESSAGE_POINTERS_OFFSET + 3 * 8, abi.MESSAGE_SIZE);
  assert.match(header, /} pw_counters;\s+\/\* 48 bytes \*\//);
  assert.equal(abi.COUNTERS_WORDS * 8, 48);
});

test("abi: each OPTION_* word index is its field's place in pw_options; out has FEED_BATCH_OUT_WORDS words", () => {
  const body = header.match(/typedef struct pw_options \{([^}]*)\}/)?.[1];
  assert.ok(body !== undefined, "pw_options not found in the header");
  const fields = [...body.matchAll(/uint32_t\s+(\w+);/g)].map((match) => match[1]);
  assert.equal(fields.length, abi.OPTIONS_WORDS);
  const constants = abi as unknown as Record<string, unknown>;
  fields.forEach((field, index) => {
    if (field === "reserved") return;
    assert.equal(constants[`OPTION_${field.toUpperCase()}`], index, `pw_options.${field}`);
  });
  assert.match(header, new RegExp(`\`out\` has 4 words; ${abi.FEED_BATCH_OUT_WORDS} with pw_options\\.assemble_min_bytes`));
});

test("abi: the loaded library reports PW_ABI_VERSION", () => {
  assert.equal(loadLibrary().abiVersion(), abi.PW_ABI_VERSION);
});
