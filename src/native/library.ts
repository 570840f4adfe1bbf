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
  /**
   * Payloads of at least this many bytes get their own ArrayBuffer when NativeParser copies a batch
   * out; smaller ones share one copy per run of a batch. Chosen per runtime by measurement: a fresh
   * ArrayBuffer is cheap on Bun and costly on Deno (see src/native/parser.ts).
   */
  readonly ownCopyMinBytes: number;
  abiVersion(): number;
  /** `options` is a pw_options (32 bytes). Null when the options are invalid or memory runs out. */
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
  errorMessage(parser: ParserHandle, buffer: Uint8Array, capacity: number): number;
  stats(parser: ParserHandle, out: Uint8Array): number;
  setFlags(parser: ParserHandle, flags: number): number;
  internedName(parser: ParserHandle, id: number, buffer: Uint8Array, capacity: number): number;
  keySlot(key: Uint8Array, length: number): number;
  globMatch(pattern: Uint8Array, patternLength: number, subject: Uint8Array, subjectLength: number): number;
}

/** What each adapter module exports. Throws (with the runtime's reason) when the file cannot be opened. */
export type OpenLibrary = (path: string) => NativeLibrary;
