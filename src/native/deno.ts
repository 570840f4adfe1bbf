// The Deno.dlopen adapter: translates the neutral symbol table to Deno FFI and implements NativeLibrary.
// Rule: only load.ts imports this file, and only when running on Deno.
// On Deno a native address is a PointerObject (or null); JS-owned Uint8Arrays go to "buffer"
// parameters. Sizes are "u32" everywhere: a JS Number given to a "usize" parameter makes V8
// deoptimize the caller repeatedly (measured, ../shared/DESIGN.md §2).
import type { MessageHandle, NativeLibrary, OpenLibrary, ParserHandle } from "./library.ts";
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

/** The address in an 8-byte little-endian cell. User-space addresses fit in 53 bits. */
function addressIn(cell: Uint8Array): number {
  const low = (cell[0] | (cell[1] << 8) | (cell[2] << 16)) + cell[3] * 0x1000000;
  const high = (cell[4] | (cell[5] << 8) | (cell[6] << 16)) + cell[7] * 0x1000000;
  return low + high * 0x100000000;
}

type Pointer = Deno.PointerObject;

// On Deno a fresh ArrayBuffer per payload costs ~0.5 µs (V8 backing-store allocation): measured
// feed+drain at 16 B ran 1.0M msgs/s with one per message against 4.6M with one shared copy per run.
// Payloads of 64 KiB and more still get their own buffer, so a held big message never pins a batch
// and a held small one never pins a big payload; at that size the allocation is noise beside the copy.
const OWN_COPY_MIN_BYTES = 64 * 1024;

export const openLibrary: OpenLibrary = (path) => {
  // deno-lint-ignore no-explicit-any
  const s: Record<string, (...args: any[]) => any> = Deno.dlopen(path, definitions()).symbols;
  const native: NativeLibrary = {
    path,
    ownCopyMinBytes: OWN_COPY_MIN_BYTES,
    abiVersion: s.pw_abi_version,
    parserNew: s.pw_parser_new as (options: Uint8Array) => ParserHandle | null,
    parserFree: s.pw_parser_free,
    reset: s.pw_reset,
    feed: s.pw_feed,
    nextMessage: s.pw_next_message,
    messageAt: (cell) => {
      const address = addressIn(cell);
      return address === 0 ? null : (Deno.UnsafePointer.create(address) as unknown as MessageHandle);
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
    freeMessage: s.pw_free_message,
    nextBatch: s.pw_next_batch,
    errorMessage: s.pw_error_message,
    stats: s.pw_stats,
    setFlags: s.pw_set_flags,
    internedName: s.pw_interned_name,
    keySlot: s.pw_key_slot,
    globMatch: s.pw_glob_match,
  };
  return native;
};
