// The one interface both FFI adapters (bun.ts, deno.ts) implement, so nothing above them knows which
// runtime loaded the library. Rule: every method is a plain call of the symbol it names (see
// symbols.ts for the C signature and ownership); the only extra logic is turning native addresses
// into opaque handles and copying bytes out of native memory for the simple (per-message) API.

/** A pw_parser*: owned by the NativeParser that created it until parserFree. Opaque to JS. */
export type ParserHandle = { readonly __pw: "parser" };
/** A pw_message*: owned by its parser, borrowed until freeMessage/parserFree. Opaque to JS. */
export type MessageHandle = { readonly __pw: "message" };

export interface NativeLibrary {
  /** The file this library was opened from. */
  readonly path: string;
  /** How NativeParser turns pw_next_batch output into Frames on this runtime (measured per runtime). */
  readonly batchStrategy: BatchStrategy;
  /**
   * A new Uint8Array of `length` bytes whose contents are unspecified: the caller must overwrite
   * every byte before anyone else sees it (NativeParser passes it to pw_next_batch as an exact-size
   * `data` buffer, which the core fills completely, and assembles a cut frame in it, every byte of
   * which comes from the stream before the core reads it).
   */
  allocate(length: number): Uint8Array;
  abiVersion(): number;
  /** `options` is a pw_options (36 bytes). Null when the options are invalid or memory runs out. */
  parserNew(options: Uint8Array): ParserHandle | null;
  parserFree(parser: ParserHandle): void;
  reset(parser: ParserHandle): number;
  feed(parser: ParserHandle, bytes: Uint8Array, length: number): number;
  /** Writes the pw_message* into `cell` (8 bytes); read it back with messageAt. */
  nextMessage(parser: ParserHandle, cell: Uint8Array): number;
  /** The message address stored in `cell` by nextMessage, or null. */
  messageAt(cell: Uint8Array): MessageHandle | null;
  /** Copies the 8 header words of a live pw_message into `header`. */
  readMessage(message: MessageHandle, header: Uint32Array): void;
  /** A JS-owned copy of `length` bytes behind pointer number `field` (0 channel, 1 pattern, 2 payload). */
  copyMessageBytes(message: MessageHandle, field: number, length: number): Uint8Array;
  freeMessage(parser: ParserHandle, message: MessageHandle): number;
  nextBatch(
    parser: ParserHandle,
    headers: Uint8Array,
    maxMessages: number,
    data: Uint8Array,
    dataCapacity: number,
    out: Uint8Array,
  ): number;
  feedNextBatch(
    parser: ParserHandle,
    bytes: Uint8Array,
    length: number,
    headers: Uint8Array,
    maxMessages: number,
    data: Uint8Array,
    dataCapacity: number,
    out: Uint8Array,
  ): number;
  errorMessage(parser: ParserHandle, buffer: Uint8Array, capacity: number): number;
  stats(parser: ParserHandle, out: Uint8Array): number;
  setFlags(parser: ParserHandle, flags: number): number;
  internedName(parser: ParserHandle, id: number, buffer: Uint8Array, capacity: number): number;
  keySlot(key: Uint8Array, length: number): number;
  globMatch(pattern: Uint8Array, patternLength: number, subject: Uint8Array, subjectLength: number): number;
}

/** See the module header of src/native/parser.ts for the two strategies. */
export interface BatchStrategy {
  /** Capacity of the data slab passed to pw_next_batch. */
  readonly slabBytes: number;
  /**
   * true: Frames are views of a slab the core never writes again (a fresh slab replaces a full one);
   * false: one slab reused by every batch, and every payload is copied out of it.
   */
  readonly views: boolean;
  /**
   * views only: a message that does not fit in the slab's remaining room and needs at least this many
   * bytes gets its own exact-size buffer (smaller ones start a new slab). Messages larger than
   * `slabBytes` always get their own buffer, on both strategies.
   */
  readonly ownBufferMinBytes: number;
  /** copy only: payloads up to this length are copied with a JS loop into a new array, longer ones with slice(). */
  readonly loopCopyMaxBytes: number;
  /**
   * pw_options.in_place_min_bytes for parsers whose input is retained (NativeParserOptions
   * retainedInput): payloads at least this long become views of the received chunk itself, no copy
   * at all. 0 = never.
   */
  readonly inPlaceMinBytes: number;
  /**
   * pw_options.assemble_min_bytes for parsers whose input is retained: a message push at least this
   * long cut by the end of a received chunk is assembled by NativeParser in a buffer of its own
   * (`allocate`) from the chunks that complete it, and its payload is a view of that buffer: one copy
   * instead of two (into the core's input buffer, then out). 0 = never.
   */
  readonly assembleMinBytes: number;
}

/** What each adapter module exports. Throws (with the runtime's reason) when the file cannot be opened. */
export type OpenLibrary = (path: string) => NativeLibrary;

/** The address in an 8-byte little-endian cell. User-space addresses fit in 53 bits. */
export function addressIn(cell: Uint8Array): number {
  const low = (cell[0] | (cell[1] << 8) | (cell[2] << 16)) + cell[3] * 0x1000000;
  const high = (cell[4] | (cell[5] << 8) | (cell[6] << 16)) + cell[7] * 0x1000000;
  return low + high * 0x100000000;
}

/** The methods both adapters hand through unchanged: the runtime's own FFI function is the method. */
export type PassThroughMethods = Pick<NativeLibrary, "abiVersion" | "parserFree" | "reset" | "feed" | "nextMessage" | "freeMessage" | "nextBatch" | "feedNextBatch" | "errorMessage" | "stats" | "setFlags" | "internedName" | "keySlot" | "globMatch">;

/** The pass-through methods from a runtime's opened symbol table (same names on both runtimes). */
// deno-lint-ignore no-explicit-any
export function passThroughMethods(symbols: Record<string, (...args: any[]) => any>): PassThroughMethods {
  return {
    abiVersion: symbols.pw_abi_version,
    parserFree: symbols.pw_parser_free,
    reset: symbols.pw_reset,
    feed: symbols.pw_feed,
    nextMessage: symbols.pw_next_message,
    freeMessage: symbols.pw_free_message,
    nextBatch: symbols.pw_next_batch,
    feedNextBatch: symbols.pw_feed_next_batch,
    errorMessage: symbols.pw_error_message,
    stats: symbols.pw_stats,
    setFlags: symbols.pw_set_flags,
    internedName: symbols.pw_interned_name,
    keySlot: symbols.pw_key_slot,
    globMatch: symbols.pw_glob_match,
  };
}
