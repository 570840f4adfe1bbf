// The bun:ffi adapter: translates the neutral symbol table to bun:ffi and implements NativeLibrary.
// Rule: only load.ts imports this file, and only when running on Bun.
// On Bun a native address is a plain number; JS-owned TypedArrays are passed straight to "ptr"
// parameters (Bun takes their data pointer for the duration of the call).
import { addressIn, passThroughMethods, type MessageHandle, type NativeLibrary, type OpenLibrary } from "./library.ts";
import { MESSAGE_POINTERS_OFFSET, type NeutralType, symbols } from "./symbols.ts";

// The subset of bun:ffi used here. The specifier is built at run time so Deno's module graph never
// tries to resolve "bun:ffi" when it type-checks or loads the project.
interface BunFfi {
  dlopen(
    path: string,
    definitions: Record<string, { args: string[]; returns: string }>,
    // deno-lint-ignore no-explicit-any
  ): { symbols: Record<string, (...args: any[]) => any>; close(): void };
  read: { u32(address: number, offset: number): number; ptr(address: number, offset: number): number };
  toArrayBuffer(address: number, byteOffset: number, byteLength: number): ArrayBuffer;
}
const ffi: BunFfi = await import(["bun", "ffi"].join(":"));

// "buffer" and "pointer" are both "ptr" to Bun: it accepts a TypedArray or a number for either.
const bunTypes: Record<NeutralType, string> = {
  u32: "u32",
  i32: "i32",
  buffer: "ptr",
  pointer: "ptr",
  void: "void",
};

function definitions(): Record<string, { args: string[]; returns: string }> {
  const result: Record<string, { args: string[]; returns: string }> = {};
  for (const [name, definition] of Object.entries(symbols)) {
    result[name] = {
      args: definition.parameters.map((type) => bunTypes[type]),
      returns: bunTypes[definition.result],
    };
  }
  return result;
}

// Batch strategy on Bun: "copy" — one reused 64 KiB slab, every payload copied into its own array.
// Measured (bench core, ns/msg, native batch; FFI-only floor 65 / 78 / 280 / 4,600 at 16 B / 256 B /
// 4 KiB / 64 KiB): in JavaScriptCore a small fresh array is cheaper than a view — per 16 B payload
// slice() 33 ns, subarray()/new Uint8Array(buffer, …) 42–55 ns, new Uint8Array(16) + a JS copy loop
// 17–19 ns (the loop costs ~0.8 ns/byte: it loses to slice() above ~32 B). Views of a fresh slab per
// batch ("views", Deno's strategy) gave 130–147 / 170–180 / 740–800 / 8,600–13,000; this strategy
// 106–116 / 148–165 / 700–760 / 8,800–9,700 (before: 133–149 / 166–175 / 790–850 / 10,500–11,200).
// A 64 KiB slab sends 64 KiB payloads straight into their own buffer (Bun.allocUnsafe: the core
// writes every byte), one copy fewer: 8,700–9,500 vs 9,700–10,200 through a 256 KiB slab. A 4 KiB
// slab (4 KiB payloads direct too) was slower at 4 KiB: 1,000–1,230 (an extra call per message).
// Payloads of 256 B and more are not copied at all: Bun hands every socket read over as a new
// Uint8Array (tests/integration/transport.test.ts holds it to that), so they are views of the chunk
// itself (pw_options.in_place_min_bytes). Measured on the replay server (medians of 3–5 runs, msgs/s,
// views vs copies): 64 B 3.91M vs 4.21M, 128 B 3.52M vs 3.60M, 192 B 3.11M vs 3.43M (copies win or
// tie), 256 B 3.69M vs 2.97M, 512 B 2.46–2.91M vs 2.10–2.12M, 1 KiB 1.94–1.99M vs 1.16–1.19M,
// 4 KiB 0.56M vs 0.37M. A view allocates an object but no payload bytes, and the young-generation
// collections JavaScriptCore runs every ~6 MB allocated were 20 % of the thread at 256 B with copies
// (BUN_JSC_logGC=1: 365 eden collections for 3.3 M messages). A held Frame then keeps its chunk
// (≤ 512 KiB) alive.
// A message push of 32 KiB or more cut by a chunk's end is assembled by NativeParser in a buffer of its
// own (Bun.allocUnsafe) and its payload is a view of it, instead of being buffered in the core and
// copied out again (pw_options.assemble_min_bytes). NativeParser.receive of a stream in 192 KiB pieces,
// medians of 200 rounds, ns/msg, core-buffered vs assembled: 64 KiB 4,000–4,213 vs 2,231–3,025; 32 KiB
// 1,216–1,368 vs 1,101–1,257; 16 KiB 454–481 vs 514–623 (an allocation per cut frame costs more than
// the copy it saves), hence 32 KiB.
const BATCH_STRATEGY = {
  slabBytes: 64 * 1024,
  views: false,
  ownBufferMinBytes: 0,
  loopCopyMaxBytes: 32,
  inPlaceMinBytes: 256,
  assembleMinBytes: 32 * 1024,
};

const bun = (globalThis as unknown as { Bun: { allocUnsafe(length: number): Uint8Array } }).Bun;
const allocateUnzeroed = (length: number): Uint8Array => bun.allocUnsafe(length);

export const openLibrary: OpenLibrary = (path) => {
  const library = ffi.dlopen(path, definitions());
  const s = library.symbols;
  const native: NativeLibrary = {
    path,
    batchStrategy: BATCH_STRATEGY,
    ...passThroughMethods(s),
    allocate: allocateUnzeroed,
    // pw_parser_new gives 0 for NULL; Bun maps a 0 "ptr" result to null.
    parserNew: s.pw_parser_new,
    messageAt: (cell) => {
      const address = addressIn(cell);
      return address === 0 ? null : (address as unknown as MessageHandle);
    },
    readMessage: (message, header) => {
      const address = message as unknown as number;
      for (let word = 0; word < header.length; word++) header[word] = ffi.read.u32(address, word * 4);
    },
    copyMessageBytes: (message, field, length) => {
      if (length === 0) return new Uint8Array(0);
      const address = ffi.read.ptr(message as unknown as number, MESSAGE_POINTERS_OFFSET + field * 8);
      if (address === 0) throw new RangeError(`pw_message field ${field} is NULL with length ${length}`);
      // toArrayBuffer makes a view over native memory; slice() copies it out before the message is freed.
      return new Uint8Array(ffi.toArrayBuffer(address, 0, length)).slice();
    },
  };
  return native;
};
