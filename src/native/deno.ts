// The Deno.dlopen adapter: translates the neutral symbol table to Deno FFI and implements NativeLibrary.
// Rule: only load.ts imports this file, and only when running on Deno.
// On Deno a native address is a PointerObject (or null); JS-owned Uint8Arrays go to "buffer"
// parameters. Sizes are "u32" everywhere: a JS Number given to a "usize" parameter makes V8
// deoptimize the caller repeatedly (measured, ../shared/DESIGN.md §2).
import {
  addressIn,
  passThroughMethods,
  type MessageHandle,
  type NativeLibrary,
  type OpenLibrary,
  type ParserHandle,
} from "./library.ts";
import { MESSAGE_POINTERS_OFFSET, type NeutralType, symbols } from "./symbols.ts";

const denoTypes: Record<NeutralType, Deno.NativeResultType> = {
  u32: "u32",
  i32: "i32",
  buffer: "buffer",
  pointer: "pointer",
  void: "void",
};

function definitions(): Record<string, Deno.ForeignFunction> {
  const result: Record<string, Deno.ForeignFunction> = {};
  for (const [name, definition] of Object.entries(symbols)) {
    result[name] = {
      parameters: definition.parameters.map((type) => denoTypes[type] as Deno.NativeType),
      result: denoTypes[definition.result],
    };
  }
  return result;
}

type Pointer = Deno.PointerObject;

// Batch strategy on Deno: "views" — the core writes into a fresh 128 KiB slab at a moving cursor and
// Frames are views of it (new Uint8Array(buffer, offset, length): 19–26 ns per 16 B payload, against
// 32–53 ns for subarray() and 330–880 ns for slice()). Every fresh ArrayBuffer is costly in V8 as
// Deno embeds it: ~1.5–2.5 µs fixed plus ~0.17 ns/byte (new Uint8Array(4096) 1.9–3.3 µs, 64 KiB
// 11–13 µs, 256 KiB 44 µs; perf: malloc lock contention with V8's sweeper thread and page faults),
// so the fewer and the smaller the better, and no bytes are copied twice in JS. Measured (bench
// core, ns/msg, native batch; FFI-only floor 66 / 80 / 290 / 4,600 at 16 B / 256 B / 4 KiB / 64 KiB):
// 110–118 / 140–160 / 880–1,150 / 12,300–16,500 (before: 146–153 / 188–212 / 1,120–2,140 /
// 17,400–22,500); one slice() per batch + views gave 116–128 / 151–165 / 1,100–1,600 / 15,000–21,000.
// 128 KiB and 256 KiB slabs, 1 MiB too, measured the same; 128 KiB halves what a held Frame can pin.
// Messages of 32 KiB and more that do not fit go into their own exact-size buffer, so at most a
// quarter of a slab is left unused when a new one starts.
// Payloads of 512 B and more are not copied at all: they are views of the read buffer
// (pw_options.in_place_min_bytes), which the transport then never writes again — its next reads go
// into the rest of that buffer (src/transport/deno.ts), so every stream byte costs one byte of fresh
// memory, as the slab's copies do, minus the copy. Measured (A/B, medians of 4–5 pairs, against
// copies into the slab): replay 512 B 3.21 M → 3.75 M msgs/s, 4 KiB 521 k → 700 k (CPU 2.21 → 1.66
// µs/msg), 64 KiB 35.7 k → 52.9 k (30.6 → 19.0 µs); redis-server CPU µs/msg 4 KiB 2.81 → 2.43, 64 KiB
// 31.0 → 25.0, 512 B 0.655 → 0.651. At 256 B it was a wash (replay 5.21 M → 5.45 M, redis-server
// 0.379 → 0.401 µs), and below that a chunk's headers would cost fresh memory too: copies stay.
// (Earlier, with a fresh 256 KiB read buffer after every kept read, in place measured slower.)
// Cut message pushes of 32 KiB or more are assembled in JS (see bun.ts): 64 KiB in 192 KiB pieces
// 5,152–5,987 → 3,522–4,047 ns/msg, 32 KiB 1,265–1,630 vs 1,291–1,316, 16 KiB 439–447 vs 429–507; from
// 1 KiB it was slower (4 KiB in 64 KiB pieces: 96–166 vs 154–232: a zero-filled ArrayBuffer per cut
// frame). On a real redis-server, whose 64 KiB messages arrive in reads smaller than a frame, CPU per
// message 33.1 → 29.7 µs (medians of 6 A/B pairs).
const BATCH_STRATEGY = { slabBytes: 128 * 1024, views: true, ownBufferMinBytes: 32 * 1024, loopCopyMaxBytes: 0, inPlaceMinBytes: 512, assembleMinBytes: 32 * 1024 };

export const openLibrary: OpenLibrary = (path) => {
  // deno-lint-ignore no-explicit-any
  const s: Record<string, (...args: any[]) => any> = Deno.dlopen(path, definitions()).symbols;
  const native: NativeLibrary = {
    path,
    batchStrategy: BATCH_STRATEGY,
    ...passThroughMethods(s),
    allocate: (length) => new Uint8Array(length),
    parserNew: s.pw_parser_new as (options: Uint8Array) => ParserHandle | null,
    messageAt: (cell) => {
      const address = addressIn(cell);
      return address === 0 ? null : (Deno.UnsafePointer.create(BigInt(address)) as unknown as MessageHandle);
    },
    readMessage: (message, header) => {
      Deno.UnsafePointerView.copyInto(message as unknown as Pointer, header);
    },
    copyMessageBytes: (message, field, length) => {
      const copy = new Uint8Array(length);
      if (length === 0) return copy;
      const view = new Deno.UnsafePointerView(message as unknown as Pointer);
      const bytes = view.getPointer(MESSAGE_POINTERS_OFFSET + field * 8);
      if (bytes === null) throw new RangeError(`pw_message field ${field} is NULL with length ${length}`);
      Deno.UnsafePointerView.copyInto(bytes, copy);
      return copy;
    },
  };
  return native;
};
