// NativeParser: a RESP stream in (feed), Frames out (drain), over libpushwire's C ABI.
// Rule: every byte leaves native memory exactly once, into JS-owned memory, during the call that
// produced it; nothing native is ever borrowed past a call (pushwire.h "Ownership").
//
// Hot path: pw_next_batch writes up to MAX_BATCH_MESSAGES headers into a reusable Uint32Array and
// their bytes into a JS-owned data slab; each Frame is built and handed to the sink as soon as it is
// built (no per-batch array). What happens to the slab is chosen per runtime by measurement
// (NativeLibrary.batchStrategy; the numbers are in bun.ts and deno.ts):
//   - copy  (Bun):  one slab, reused by every batch; each payload is copied out into its own array
//     (a JS loop for tiny payloads, slice() otherwise). A held Frame pins nothing else.
//   - views (Deno): the core writes into a fresh slab at a moving cursor; Frames are views of it and
//     the bytes behind a view are never written again (a new slab replaces a full one). No copy in
//     JS, one ArrayBuffer per slab instead of one per payload. A held Frame keeps its slab alive.
// On both, with receive(…, retained), long payloads (batchStrategy.inPlaceMinBytes: 256 B on Bun,
// 512 B on Deno) are not copied at all: they stay views of the received bytes.
// On both, with receive(…, retained), a long message push cut by the end of a chunk (PW_STOP_CUT,
// batchStrategy.assembleMinBytes) is not buffered in the core: it is assembled here, in a buffer of its
// own length, from the chunks that complete it, and then passed to the core as one chunk, so its payload
// is a view of that buffer (one copy; buffered in the core it was copied in and then out again).
// A caller that chooses where its reads land (Deno's transport) reads the missing bytes straight into
// the assembly's rest (readTarget()), and those are not copied at all. Replay server, Deno, 64 KiB, CPU
// µs/msg, medians of 12 A/B pairs: 40.2 → 34.7; redis-server, 6 + 6 pairs: 52.2 → 46.7, 49.8 → 47.1.
// On both, a message that does not fit (pw_next_batch says PW_BUFFER_TOO_SMALL and how many bytes it
// needs) and is large gets its own exact-size buffer: the core writes it straight there
// (max_messages = 1) and the Frame's data is a view of that buffer, which nothing else shares.
// Channel and pattern names arrive as interned ids: each id is decoded once per parser and cached
// (with its own copy of the bytes, so a cached name never pins a slab).
import { Frame, type FrameKind } from "../frame.ts";
import { ClosedError, InvalidArgumentError, NativeLibraryError, ProtocolError } from "../errors.ts";
import type { MessageHandle, NativeLibrary, ParserHandle } from "./library.ts";
import { environment, loadLibrary } from "./load.ts";
import * as abi from "./symbols.ts";

/**
 * Limits of one connection's RESP parser (`parserLimits` in ClientOptions), each an integer from 1
 * to 2³²−1 (else InvalidArgumentError when the connection opens); unset: the default. A frame over a
 * limit is a ProtocolError: the connection is dropped and reopened, nothing delivered is lost. For a
 * server you do not trust, lower `maxBulkLength` (README "Security").
 */
export interface ParserLimits {
  /** Longest bulk string, in bytes: payloads and names (default 512 MiB, the server's proto-max-bulk-len). */
  maxBulkLength?: number;
  /** Deepest nesting of aggregates, a top-level one being 1 (default 64). */
  maxNestingDepth?: number;
  /** Most elements one aggregate may announce; a map of N pairs counts 2N (default 16,777,216). */
  maxAggregateLength?: number;
  /** Most bytes the parser holds at once: buffered input and messages not yet taken (default 1 GiB). */
  maxQueuedBytes?: number;
  /**
   * Distinct channel and pattern names decoded once and cached (default 4096); names past it (or
   * longer than 1024 bytes) are decoded per message, never refused.
   */
  maxInternedNames?: number;
}

/** Counters of one native parser (the core's pw_counters), as `NativeParser.stats()` reads them. */
export interface NativeStats {
  /** Messages the core handed out and not yet freed (0 between chunks: each is copied out at once). */
  liveMessages: number;
  /** Bytes the core holds now: buffered input and live messages. */
  liveBytes: number;
  /** Messages produced since the parser was made. */
  totalMessages: number;
  /** Input bytes accepted since the parser was made. */
  totalBytesFed: number;
  /** Sticky errors (malformed input, a limit exceeded, out of memory) since the parser was made. */
  errors: number;
  /** Input bytes accepted but not yet turned into messages (the start of a cut frame). */
  bufferedBytes: number;
  /**
   * Bytes of a long frame cut by a chunk's end that this parser holds in JS while the next chunks
   * complete it (batchStrategy.assembleMinBytes); not in the core's counters. 0 between frames.
   */
  assemblingBytes: number;
}

export interface NativeParserOptions {
  limits?: ParserLimits;
  resp2PushArrays?: boolean;
  libraryPath?: string;
  /**
   * Lets receive(bytes, sink, true) hand out Frames whose data is a view of `bytes` (long payloads,
   * on runtimes where that is measured to be cheaper). Only a caller that never writes to a received
   * chunk again may say `retained` for it; a Frame held then keeps its whole chunk alive.
   */
  retainedInput?: boolean;
}

const MAX_BATCH_MESSAGES = 1024;
/** Views strategy: a slab with less room than this left is replaced before the next batch. */
const MIN_SLAB_ROOM = 1024;
/** FrameKind by pw_kind value (a plain array: one load per frame). */
const KINDS: readonly (FrameKind | undefined)[] = [...abi.KIND_NAMES];
const ERROR_MESSAGE_BYTES = 512;
const MAX_U32 = 0xFFFFFFFF;

const decoder = new TextDecoder();
const encoder = new TextEncoder();
const EMPTY = new Uint8Array(0);

interface Name {
  readonly text: string;
  readonly bytes: Uint8Array;
}
const NO_NAME: Name = { text: "", bytes: EMPTY };

/** The native side of one parser; kept apart from NativeParser so the FinalizationRegistry can free it. */
interface NativeRecord {
  readonly library: NativeLibrary;
  handle: ParserHandle | undefined;
  readonly counters: BigUint64Array;
  readonly counterBytes: Uint8Array;
}

const openRecords = new Set<NativeRecord>();

// Backstop only: close() is the way to free a parser. Warns under PUSHWIRE_DEBUG so the leak is found.
const forgotten = new FinalizationRegistry<NativeRecord>((record) => {
  if (environment("PUSHWIRE_DEBUG")) {
    console.warn("pushwire: a NativeParser was garbage-collected without close(); its native memory was freed");
  }
  freeRecord(record);
});

function freeRecord(record: NativeRecord): void {
  if (record.handle === undefined) return;
  record.library.parserFree(record.handle);
  record.handle = undefined;
  openRecords.delete(record);
}

function readCounters(record: NativeRecord, handle: ParserHandle): BigUint64Array {
  const status = record.library.stats(handle, record.counterBytes);
  if (status !== abi.PW_OK) throw new NativeLibraryError(`pw_stats failed with status ${status}`);
  return record.counters;
}

/**
 * Native memory of the whole process: live bytes and messages summed over every parser not yet
 * closed (each connection has one; sentinel connections included), and how many those are. After
 * every client's close() all three are 0; a parser never closed is freed by a FinalizationRegistry
 * backstop (with a warning under `PUSHWIRE_DEBUG`). Loads no library when no parser is open.
 *
 * @example
 * ```ts
 * import { connect, nativeMemory } from "pushwire";
 *
 * const client = await connect("redis://127.0.0.1:6379");
 * await client.close();
 * console.assert(nativeMemory().liveBytes === 0);
 * ```
 */
export function nativeMemory(): { liveMessages: number; liveBytes: number; openParsers: number } {
  let liveMessages = 0;
  let liveBytes = 0;
  for (const record of openRecords) {
    const counters = readCounters(record, record.handle!);
    liveMessages += Number(counters[abi.COUNTER_LIVE_MESSAGES]);
    liveBytes += Number(counters[abi.COUNTER_LIVE_BYTES]);
  }
  return { liveMessages, liveBytes, openParsers: openRecords.size };
}

export class NativeParser implements Disposable {
  readonly #library: NativeLibrary;
  readonly #record: NativeRecord;
  readonly #handle: ParserHandle;
  readonly #headerWords = new Uint32Array(MAX_BATCH_MESSAGES * abi.PW_BATCH_HEADER_WORDS);
  readonly #headerBytes = new Uint8Array(this.#headerWords.buffer);
  readonly #outWords = new Uint32Array(abi.FEED_BATCH_OUT_WORDS);
  readonly #outBytes = new Uint8Array(this.#outWords.buffer);
  readonly #slabBytes: number;
  readonly #views: boolean;
  readonly #ownBufferMinBytes: number;
  readonly #loopCopyMaxBytes: number;
  /** The data slab; with the views strategy, bytes before #cursor belong to Frames already built. */
  #data: Uint8Array;
  #cursor = 0;
  /** The bytes given to receive() while their first batch is delivered (PW_FLAG_PAYLOAD_IN_INPUT). */
  #input: Uint8Array = PLACEHOLDER;
  /**
   * #input's buffer and offset, read once per call: reading `.buffer` of a Bun socket chunk per
   * message showed as 5 % of the profile at 256 B (replay 256 B, 8 runs each: 3.15M vs 3.06M msgs/s).
   */
  #inputBuffer: ArrayBufferLike = PLACEHOLDER.buffer;
  #inputByteOffset = 0;
  /** receive() said `retained`: in-place payloads may stay views of #input (else they are copied). */
  #inputRetained = false;
  #inputKept = false;
  /**
   * The frame being assembled (PW_STOP_CUT): JS-owned, exactly the frame's length, filled up to
   * #assembled from the chunks received so far. The core holds none of it (and counts none of it).
   */
  #assembly: Uint8Array | undefined = undefined;
  #assembled = 0;
  /** Decoded names by interned id (ids are stable for the parser's life, across reset()). */
  readonly #names: Name[] = [];
  /** Frames decoded but not delivered because a sink threw; delivered first by the next drain(). */
  #undelivered: Frame[] = [];
  /** Bumped by reset() and close(): frames decoded before it belong to an old stream. */
  #generation = 0;
  #draining = false;
  #flags: number;
  // Simple API scratch: the pw_message* out-cell and the message's 8 header words.
  readonly #messageCell = new Uint8Array(8);
  readonly #messageHeader = new Uint32Array(abi.MESSAGE_HEADER_WORDS);

  constructor(options: NativeParserOptions = {}) {
    this.#library = loadLibrary(options.libraryPath);
    const strategy = this.#library.batchStrategy;
    this.#slabBytes = strategy.slabBytes;
    this.#views = strategy.views;
    this.#ownBufferMinBytes = strategy.ownBufferMinBytes;
    this.#loopCopyMaxBytes = strategy.loopCopyMaxBytes;
    this.#data = new Uint8Array(this.#slabBytes);
    this.#flags = options.resp2PushArrays ? abi.PW_OPTION_RESP2_PUSH_ARRAYS : 0;
    const optionWords = optionsToWords(options.limits ?? {}, this.#flags);
    optionWords[abi.OPTION_IN_PLACE_MIN_BYTES] = options.retainedInput ? strategy.inPlaceMinBytes : 0;
    // Worth it only where the assembled frame's payload can then stay where it is.
    optionWords[abi.OPTION_ASSEMBLE_MIN_BYTES] = options.retainedInput ? strategy.assembleMinBytes : 0;
    const handle = this.#library.parserNew(new Uint8Array(optionWords.buffer));
    if (handle === null) {
      throw new NativeLibraryError("pw_parser_new returned NULL: the options were rejected or memory ran out");
    }
    this.#handle = handle;
    const counters = new BigUint64Array(abi.COUNTERS_WORDS);
    this.#record = { library: this.#library, handle, counters, counterBytes: new Uint8Array(counters.buffer) };
    openRecords.add(this.#record);
    forgotten.register(this, this.#record, this.#record);
  }

  /** Appends socket bytes (copied by the core). Throws ProtocolError when the parser is poisoned. */
  feed(bytes: Uint8Array): void {
    this.#assertOpen();
    this.#flushAssembly();
    if (bytes.length === 0) return;
    const status = this.#library.feed(this.#handle, bytes, bytes.length);
    if (status < 0) throw this.#error(status);
  }

  /**
   * Hands every complete frame to `sink`, in order, and returns how many it delivered. A protocol
   * error found after good frames is thrown once those frames are delivered. When `sink` throws,
   * the frames after it are kept and delivered first by the next drain(). reset() or close() from
   * inside `sink` drops the rest of the batch (it belongs to the old stream).
   */
  drain(sink: (frame: Frame) => void): number {
    return this.#drain(PLACEHOLDER, 0, sink);
  }

  /**
   * feed(bytes) then drain(sink), with the same outcome, in fewer native calls: pw_feed_next_batch
   * takes the bytes with the first batch, reads complete message pushes straight from `bytes`
   * (they are never copied into the core's input buffer; a full batch leaves the rest untaken and
   * the next call passes it again), and says whether anything complete is left, so the usual chunk
   * costs one FFI call instead of three (feed, batch, the final PW_PENDING batch). Measured per
   * call: pending pw_next_batch 16–28 ns Bun / 43–48 ns Deno, pw_feed 6 / 18 ns; at a real
   * server's rate a chunk holds a few messages, so these dominated.
   * `retained` (with the retainedInput option): the caller never writes to `bytes` again, so long
   * payloads may be views of it instead of copies.
   */
  receive(bytes: Uint8Array, sink: (frame: Frame) => void, retained = false): number {
    this.#assertOpen();
    this.#inputKept = false;
    // Frames a throwing sink left behind go first, and the bytes must be taken even if one throws.
    if (this.#undelivered.length > 0 || bytes.length === 0) {
      this.feed(bytes);
      return this.drain(sink);
    }
    if (this.#assembly !== undefined) return this.#receiveAssembling(bytes, sink, retained);
    return this.#drain(bytes, bytes.length, sink, retained);
  }

  /**
   * receive() while a cut frame is assembled: `bytes` first completes it; the complete frame goes to
   * the core as a chunk of its own (retained: nothing writes to it again), then the rest of `bytes`.
   */
  #receiveAssembling(bytes: Uint8Array, sink: (frame: Frame) => void, retained: boolean): number {
    const assembly = this.#assembly!;
    const missing = assembly.length - this.#assembled;
    // Bytes read straight into the assembly's rest (readTarget) are where they belong already.
    const inPlace = bytes.buffer === assembly.buffer && bytes.byteOffset === assembly.byteOffset + this.#assembled;
    if (bytes.length < missing) {
      if (!inPlace) assembly.set(bytes, this.#assembled);
      this.#assembled += bytes.length;
      return 0;
    }
    if (!inPlace) assembly.set(bytes.length === missing ? bytes : bytes.subarray(0, missing), this.#assembled);
    this.#assembly = undefined;
    this.#assembled = 0;
    const rest = bytes.subarray(missing);
    const generation = this.#generation;
    let delivered: number;
    try {
      delivered = this.#drain(assembly, assembly.length, sink, true);
    } catch (error) {
      // A sink threw (or the stream is bad): the rest is not lost, it waits in the core, after
      // whatever of the frame #drain left there. Not after reset() or close(): it is the old stream's.
      if (rest.length > 0 && generation === this.#generation) this.#library.feed(this.#handle, rest, rest.length);
      throw error;
    }
    // Views of the assembly keep only the assembly: `bytes` is not kept unless its own Frames keep it.
    this.#inputKept = false;
    if (rest.length === 0 || generation !== this.#generation) return delivered;
    return delivered + this.receive(rest, sink, retained);
  }

  /** The start of a cut frame of `frameLength` bytes (PW_STOP_CUT): copied, it is all the core left. */
  #beginAssembly(start: Uint8Array, frameLength: number): void {
    const assembly = this.#library.allocate(frameLength);
    assembly.set(start);
    this.#assembly = assembly;
    this.#assembled = start.length;
  }

  /** Hands the bytes of a frame being assembled to the core, before anything fed after them. */
  #flushAssembly(): void {
    const assembly = this.#assembly;
    if (assembly === undefined) return;
    const held = this.#assembled;
    this.#assembly = undefined;
    this.#assembled = 0;
    const status = this.#library.feed(this.#handle, assembly, held);
    if (status < 0) throw this.#error(status);
  }

  /**
   * The unfilled rest of the frame being assembled, or undefined. A caller may read its next bytes
   * straight into it and pass (a prefix of) that view to receive(…, true): it is then not copied.
   */
  readTarget(): Uint8Array | undefined {
    const assembly = this.#assembly;
    return assembly === undefined ? undefined : assembly.subarray(this.#assembled);
  }

  /** The last receive(bytes, sink, true) made Frames that are views of `bytes`: never write to it again. */
  get inputKept(): boolean {
    return this.#inputKept;
  }

  #drain(bytes: Uint8Array, length: number, sink: (frame: Frame) => void, retained = false): number {
    this.#assertOpen();
    if (this.#draining) throw new InvalidArgumentError("NativeParser.drain() was called from its own sink: frames would reorder");
    this.#draining = true;
    const generation = this.#generation;
    let delivered = 0;
    let input = bytes;
    let inputLength = length;
    try {
      if (this.#undelivered.length > 0) {
        const frames = this.#undelivered;
        this.#undelivered = [];
        delivered += this.#deliver(frames, sink);
      }
      while (generation === this.#generation) {
        let slab = this.#data;
        let cursor = this.#cursor;
        if (slab.length - cursor < MIN_SLAB_ROOM) {
          slab = this.#data = new Uint8Array(this.#slabBytes);
          cursor = this.#cursor = 0;
        }
        // The bytes go with the first call; a full batch leaves some untaken (out[3]): they go next.
        const status = this.#library.feedNextBatch(
          this.#handle,
          input,
          inputLength,
          this.#headerBytes,
          MAX_BATCH_MESSAGES,
          cursor === 0 ? slab : slab.subarray(cursor),
          slab.length - cursor,
          this.#outBytes,
        );
        // In-place payloads are offsets in this call's `input`: its frames are delivered before the
        // next call. Any status but PW_STOP_ROOM takes every byte (or fails).
        this.#input = input;
        this.#inputRetained = retained;
        if (retained) {
          this.#inputBuffer = input.buffer;
          this.#inputByteOffset = input.byteOffset;
        }
        const taken = inputLength === 0 ? 0 : this.#outWords[3];
        if (taken < inputLength && status >= 0) {
          input = input.subarray(taken);
          inputLength -= taken;
        } else {
          input = PLACEHOLDER;
          inputLength = 0;
        }
        // The bytes not taken start a frame to assemble here: after this batch, if the stream is the same.
        const cutLength = this.#outWords[2] === abi.PW_STOP_CUT && status >= 0 ? this.#outWords[4] : 0;
        if (status === abi.PW_OK) {
          const count = this.#outWords[0];
          // Read before the sink runs: a sink may call reset() (the words stay ours, but be plain).
          const more = cutLength === 0 && (this.#outWords[2] !== abi.PW_STOP_NOTHING || inputLength > 0);
          if (this.#views) {
            // Hand the used part of the slab out: it is never written again.
            this.#cursor = cursor + this.#outWords[1];
            delivered += this.#deliverBatch(count, slab, cursor, true, sink);
          } else {
            delivered += this.#deliverBatch(count, slab, 0, false, sink);
          }
          if (more) continue;
        } else if (status !== abi.PW_PENDING) {
          if (status !== abi.PW_BUFFER_TOO_SMALL) throw this.#error(status);
          const needed = this.#outWords[1];
          // Views: a message that fits an empty slab and is not large starts a new slab. Copy: the slab is
          // empty on every call, so the message is larger than the slab: its own buffer too.
          if (this.#views && needed < this.#ownBufferMinBytes && needed <= this.#slabBytes) {
            this.#data = new Uint8Array(this.#slabBytes);
            this.#cursor = 0;
          } else {
            delivered += this.#deliverLarge(needed, sink);
          }
          continue;
        }
        // Here every frame of the batch was delivered (a sink that throws skips this, and the finally
        // below hands the cut bytes to the core instead).
        if (cutLength !== 0 && generation === this.#generation) {
          this.#beginAssembly(input, cutLength);
          input = PLACEHOLDER;
          inputLength = 0;
        }
        break;
      }
    } finally {
      this.#draining = false;
      this.#input = PLACEHOLDER;
      this.#inputBuffer = PLACEHOLDER.buffer;
      // Bytes not taken yet when a sink threw: the parser keeps them (nothing received is lost).
      // Not after reset() or close(): they belong to the old stream.
      if (inputLength > 0 && generation === this.#generation) this.#library.feed(this.#handle, input, inputLength);
    }
    return delivered;
  }

  /**
   * The next message, `needed` bytes, goes into its own exact-size buffer, written by the core (every
   * byte of it: channel, pattern, payload), so it may be allocated without zeroing.
   */
  #deliverLarge(needed: number, sink: (frame: Frame) => void): number {
    const buffer = this.#library.allocate(needed);
    const status = this.#library.nextBatch(this.#handle, this.#headerBytes, 1, buffer, needed, this.#outBytes);
    if (status !== abi.PW_OK) throw this.#error(status);
    if (this.#outWords[0] !== 1 || this.#outWords[1] !== needed) {
      throw new NativeLibraryError(`pw_next_batch filled ${this.#outWords[1]} of the ${needed} bytes it asked for`);
    }
    return this.#deliverBatch(1, buffer, 0, true, sink);
  }

  /**
   * Frames 0..count-1 of the header words, built one at a time and handed to `sink` as they are
   * built. Their bytes are at `source[delta + data offset]`; `view`: the frames may keep views of
   * `source` (it is never written again), else each copies its bytes out.
   */
  #deliverBatch(count: number, source: Uint8Array, delta: number, view: boolean, sink: (frame: Frame) => void): number {
    const generation = this.#generation;
    let index = 0;
    while (index < count) {
      const frame = this.#frameAt(index, source, delta, view);
      index++;
      try {
        sink(frame);
      } catch (error) {
        if (generation === this.#generation) {
          const rest: Frame[] = [];
          for (let later = index; later < count; later++) rest.push(this.#frameAt(later, source, delta, view));
          this.#undelivered = rest;
        }
        throw error;
      }
      if (generation !== this.#generation) break;
    }
    return index;
  }

  /**
   * The simple API (pw_next_message → copy → pw_free_message), for tests and benchmarks: the next
   * frame, or undefined when more bytes are needed. Do not mix with a drain() whose sink threw.
   */
  nextMessageSimple(): Frame | undefined {
    this.#assertOpen();
    const status = this.#library.nextMessage(this.#handle, this.#messageCell);
    if (status === abi.PW_PENDING) return undefined;
    if (status < 0) throw this.#error(status);
    const message = this.#library.messageAt(this.#messageCell);
    if (message === null) throw new NativeLibraryError("pw_next_message returned PW_OK with a NULL message");
    let frame: Frame;
    try {
      frame = this.#copyMessage(message);
    } catch (error) {
      // The copy's error is the one to report; the message is freed all the same.
      this.#library.freeMessage(this.#handle, message);
      throw error;
    }
    const freed = this.#library.freeMessage(this.#handle, message);
    if (freed !== abi.PW_OK) throw this.#error(freed);
    return frame;
  }

  /** Turns RESP2 subscriber-array classification on or off (after HELLO 3 is refused). */
  setResp2PushArrays(enabled: boolean): void {
    this.#assertOpen();
    this.#flags = enabled ? this.#flags | abi.PW_OPTION_RESP2_PUSH_ARRAYS : this.#flags & ~abi.PW_OPTION_RESP2_PUSH_ARRAYS;
    const status = this.#library.setFlags(this.#handle, this.#flags);
    if (status !== abi.PW_OK) throw this.#error(status);
  }

  stats(): NativeStats {
    this.#assertOpen();
    const counters = readCounters(this.#record, this.#handle);
    return {
      liveMessages: Number(counters[abi.COUNTER_LIVE_MESSAGES]),
      liveBytes: Number(counters[abi.COUNTER_LIVE_BYTES]),
      totalMessages: Number(counters[abi.COUNTER_TOTAL_MESSAGES]),
      totalBytesFed: Number(counters[abi.COUNTER_TOTAL_BYTES_FED]),
      errors: Number(counters[abi.COUNTER_ERRORS]),
      bufferedBytes: Number(counters[abi.COUNTER_BUFFERED_BYTES]),
      assemblingBytes: this.#assembled,
    };
  }

  /** A new connection: clears buffered input, the sticky error and undelivered frames. */
  reset(): void {
    this.#assertOpen();
    this.#generation++;
    this.#undelivered = [];
    this.#assembly = undefined;
    this.#assembled = 0;
    const status = this.#library.reset(this.#handle);
    if (status !== abi.PW_OK) throw this.#error(status);
  }

  /** Frees all native memory. Idempotent; any other method throws afterwards. */
  close(): void {
    if (this.#record.handle === undefined) return;
    this.#generation++;
    this.#undelivered = [];
    this.#assembly = undefined;
    forgotten.unregister(this.#record);
    freeRecord(this.#record);
  }

  [Symbol.dispose](): void {
    this.close();
  }

  #assertOpen(): void {
    if (this.#record.handle === undefined) throw new ClosedError("this NativeParser is closed: create a new one");
  }

  #deliver(frames: Frame[], sink: (frame: Frame) => void): number {
    const generation = this.#generation;
    let index = 0;
    try {
      while (index < frames.length && generation === this.#generation) sink(frames[index++]);
    } catch (error) {
      if (generation === this.#generation) this.#undelivered = frames.slice(index);
      throw error;
    }
    return index;
  }

  /** Frame number `index` of the batch (see #deliverBatch for `source`, `delta` and `view`). */
  #frameAt(index: number, source: Uint8Array, delta: number, view: boolean): Frame {
    const words = this.#headerWords;
    const base = index * abi.PW_BATCH_HEADER_WORDS;
    const kindValue = words[base + abi.PW_BATCH_KIND];
    const nameIds = words[base + abi.PW_BATCH_NAME_IDS];
    const channelLength = words[base + abi.PW_BATCH_CHANNEL_LENGTH];
    const patternLength = words[base + abi.PW_BATCH_PATTERN_LENGTH];
    const payloadLength = words[base + abi.PW_BATCH_PAYLOAD_LENGTH];
    const channelStart = words[base + abi.PW_BATCH_DATA_OFFSET] + delta;
    const patternStart = channelStart + channelLength;
    const payloadStart = patternStart + patternLength;
    const channel = channelLength === 0 ? NO_NAME : this.#name(nameIds & 0xFFFF, source, channelStart, channelLength, view);
    let data: Uint8Array;
    let count = words[base + abi.PW_BATCH_COUNT];
    if ((words[base + abi.PW_BATCH_FLAGS] & abi.PW_FLAG_PAYLOAD_IN_INPUT) !== 0) {
      // The payload is still in the received chunk (its count word holds the offset; count is 0).
      const input = this.#input;
      if (this.#inputRetained) {
        data = new Uint8Array(this.#inputBuffer, this.#inputByteOffset + count, payloadLength);
        this.#inputKept = true;
      } else {
        data = input.slice(count, count + payloadLength);
      }
      count = 0;
    } else if (view) {
      data = new Uint8Array(source.buffer, source.byteOffset + payloadStart, payloadLength);
    } else if (payloadLength <= this.#loopCopyMaxBytes) {
      data = new Uint8Array(payloadLength);
      for (let at = 0; at < payloadLength; at++) data[at] = source[payloadStart + at];
    } else {
      data = source.slice(payloadStart, payloadStart + payloadLength);
    }
    let kind = KINDS[kindValue];
    if (kind === undefined) kind = kindName(kindValue);
    if (kindValue !== abi.PW_KIND_PMESSAGE) {
      return new Frame(kind, channel.text, channel.bytes, undefined, undefined, data, count);
    }
    const pattern = patternLength === 0 ? NO_NAME : this.#name(nameIds >>> 16, source, patternStart, patternLength, view);
    return new Frame(kind, channel.text, channel.bytes, pattern.text, pattern.bytes, data, count);
  }

  /** The name at source[start, start+length): cached by interned id (an own copy), decoded each time for id 0. */
  #name(id: number, source: Uint8Array, start: number, length: number, view: boolean): Name {
    if (id !== 0) {
      const cached = this.#names[id];
      if (cached !== undefined) return cached;
    }
    const bytes = id !== 0 || !view ? source.slice(start, start + length) : source.subarray(start, start + length);
    const name = { text: decoder.decode(bytes), bytes };
    if (id !== 0) this.#names[id] = name;
    return name;
  }

  #copyMessage(message: MessageHandle): Frame {
    const header = this.#messageHeader;
    this.#library.readMessage(message, header);
    const kindValue = header[abi.MESSAGE_KIND];
    const channel = this.#messageName(message, abi.MESSAGE_FIELD_CHANNEL, header[abi.MESSAGE_CHANNEL_ID], header[abi.MESSAGE_CHANNEL_LENGTH]);
    const pattern = kindValue === abi.PW_KIND_PMESSAGE
      ? this.#messageName(message, abi.MESSAGE_FIELD_PATTERN, header[abi.MESSAGE_PATTERN_ID], header[abi.MESSAGE_PATTERN_LENGTH])
      : undefined;
    const data = this.#library.copyMessageBytes(message, abi.MESSAGE_FIELD_PAYLOAD, header[abi.MESSAGE_PAYLOAD_LENGTH]);
    return new Frame(kindName(kindValue), channel.text, channel.bytes, pattern?.text, pattern?.bytes, data, header[abi.MESSAGE_COUNT]);
  }

  #messageName(message: MessageHandle, field: number, id: number, length: number): Name {
    if (length === 0) return NO_NAME;
    const cached = id !== 0 ? this.#names[id] : undefined;
    if (cached !== undefined) return cached;
    const bytes = this.#library.copyMessageBytes(message, field, length);
    const name = { text: decoder.decode(bytes), bytes };
    if (id !== 0) this.#names[id] = name;
    return name;
  }

  #error(status: number): ProtocolError {
    let buffer = new Uint8Array(ERROR_MESSAGE_BYTES);
    let length = this.#library.errorMessage(this.#handle, buffer, buffer.length);
    if (length > buffer.length) {
      buffer = new Uint8Array(length);
      length = this.#library.errorMessage(this.#handle, buffer, buffer.length);
    }
    const name = abi.STATUS_NAMES[-status] ?? `status ${status}`;
    const explanation = length > 0 ? decoder.decode(buffer.subarray(0, length)) : describeStatus(status);
    return new ProtocolError(status, `${name}: ${explanation}`);
  }
}

function kindName(kindValue: number): FrameKind {
  const kind = abi.KIND_NAMES[kindValue];
  if (kind === undefined) throw new NativeLibraryError(`libpushwire produced unknown pw_kind ${kindValue}`);
  return kind;
}

function describeStatus(status: number): string {
  if (status === abi.PW_ERR_INVALID_ARGUMENT) return "the core rejected an argument (NULL parser or buffer, or a bad option)";
  if (status === abi.PW_ERR_FOREIGN_MESSAGE) return "pw_free_message got a message this parser does not own (double free?)";
  if (status === abi.PW_ERR_OUT_OF_MEMORY) return "the native core ran out of memory";
  return "the native parser reported an error";
}

function optionsToWords(limits: ParserLimits, flags: number): Uint32Array {
  const words = new Uint32Array(abi.OPTIONS_WORDS);
  words[abi.OPTION_MAX_BULK_LENGTH] = limit("maxBulkLength", limits.maxBulkLength);
  words[abi.OPTION_MAX_NESTING_DEPTH] = limit("maxNestingDepth", limits.maxNestingDepth);
  words[abi.OPTION_MAX_AGGREGATE_LENGTH] = limit("maxAggregateLength", limits.maxAggregateLength);
  words[abi.OPTION_MAX_QUEUED_BYTES] = limit("maxQueuedBytes", limits.maxQueuedBytes);
  words[abi.OPTION_MAX_INTERNED_NAMES] = limit("maxInternedNames", limits.maxInternedNames);
  words[abi.OPTION_FLAGS] = flags;
  return words;
}

/** 0 (the core's default) when unset; else an integer 1..2^32-1, as pw_options stores uint32_t. */
function limit(name: string, value: number | undefined): number {
  if (value === undefined) return 0;
  if (!Number.isInteger(value) || value < 1 || value > MAX_U32) {
    throw new InvalidArgumentError(`limits.${name} must be an integer from 1 to ${MAX_U32}, got ${value}`);
  }
  return value;
}

// ---- cluster helpers over the core (no parser needed) -------------------------------------------

// Bun cannot take the address of an empty TypedArray; a length of 0 tells the core not to read it.
const PLACEHOLDER = new Uint8Array(1);

/** Cluster key slot (0..16383), identical to CLUSTER KEYSLOT (hash tags included). */
export function keySlot(name: string | Uint8Array): number {
  const bytes = typeof name === "string" ? encoder.encode(name) : name;
  return loadLibrary().keySlot(bytes.length === 0 ? PLACEHOLDER : bytes, bytes.length);
}

/** True when `subject` matches the redis glob `pattern`, byte-exact, as PSUBSCRIBE matches. */
export function globMatch(pattern: string | Uint8Array, subject: string | Uint8Array): boolean {
  const patternBytes = typeof pattern === "string" ? encoder.encode(pattern) : pattern;
  const subjectBytes = typeof subject === "string" ? encoder.encode(subject) : subject;
  return loadLibrary().globMatch(
    patternBytes.length === 0 ? PLACEHOLDER : patternBytes,
    patternBytes.length,
    subjectBytes.length === 0 ? PLACEHOLDER : subjectBytes,
    subjectBytes.length,
  ) === 1;
}
