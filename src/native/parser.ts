// NativeParser: a RESP stream in (feed), Frames out (drain), over libpushwire's C ABI.
// Rule: every byte leaves native memory exactly once, into JS-owned memory, during the call that
// produced it; nothing native is ever borrowed past a call (pushwire.h "Ownership").
//
// Hot path: pw_next_batch writes up to MAX_BATCH_MESSAGES headers into a reusable Uint32Array and
// their bytes into a reusable data slab (JS-owned, reused for every batch; grown when one message
// does not fit, shrunk back after a while). Each Frame's bytes are then copied out of the slab:
// payloads of at least `library.ownCopyMinBytes` bytes get their own ArrayBuffer; the smaller frames
// of a run between them share one copy (`slice` once, `subarray` per frame). The threshold is per
// runtime, measured: 0 on Bun (every payload its own buffer: cheap in JavaScriptCore), 64 KiB on
// Deno, where a fresh ArrayBuffer per message costs ~0.5 µs (DESIGN §2). On Deno a held small frame
// therefore keeps the bytes of its run alive (at most one slab, 256 KiB by default).
// Channel and pattern names arrive as interned ids: each id is decoded once per parser and cached.
import { Frame, type FrameKind } from "../frame.ts";
import { ClosedError, InvalidArgumentError, NativeLibraryError, ProtocolError } from "../errors.ts";
import type { MessageHandle, NativeLibrary, ParserHandle } from "./library.ts";
import { environment, loadLibrary } from "./load.ts";
import * as abi from "./symbols.ts";

export interface ParserLimits {
  maxBulkLength?: number;
  maxNestingDepth?: number;
  maxAggregateLength?: number;
  maxQueuedBytes?: number;
  maxInternedNames?: number;
}

export interface NativeStats {
  liveMessages: number;
  liveBytes: number;
  totalMessages: number;
  totalBytesFed: number;
  errors: number;
  bufferedBytes: number;
}

export interface NativeParserOptions {
  limits?: ParserLimits;
  resp2PushArrays?: boolean;
  libraryPath?: string;
}

const MAX_BATCH_MESSAGES = 1024;
const DEFAULT_DATA_SLAB_BYTES = 256 * 1024;
/** A slab grown for a large message goes back to the default after this many drains without one. */
const SHRINK_AFTER_DRAINS = 1024;
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

/** Process-wide sum of live native bytes/messages over all open parsers (tests assert 0). */
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
  readonly #outWords = new Uint32Array(2);
  readonly #outBytes = new Uint8Array(this.#outWords.buffer);
  #data = new Uint8Array(DEFAULT_DATA_SLAB_BYTES);
  #drainsSinceGrowth = 0;
  /** Decoded names by interned id (ids are stable for the parser's life, across reset()). */
  readonly #names: Name[] = [];
  /** Frames of the current batch, decoded before any is delivered. */
  #frames: Frame[] = [];
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
    this.#flags = options.resp2PushArrays ? abi.PW_OPTION_RESP2_PUSH_ARRAYS : 0;
    const optionWords = optionsToWords(options.limits ?? {}, this.#flags);
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
    this.#assertOpen();
    if (this.#draining) throw new InvalidArgumentError("NativeParser.drain() was called from its own sink: frames would reorder");
    this.#draining = true;
    const generation = this.#generation;
    let delivered = 0;
    try {
      if (this.#undelivered.length > 0) {
        const frames = this.#undelivered;
        this.#undelivered = [];
        delivered += this.#deliver(frames, sink);
      }
      while (generation === this.#generation) {
        const status = this.#library.nextBatch(
          this.#handle,
          this.#headerBytes,
          MAX_BATCH_MESSAGES,
          this.#data,
          this.#data.length,
          this.#outBytes,
        );
        if (status === abi.PW_PENDING) break;
        if (status === abi.PW_BUFFER_TOO_SMALL) {
          this.#growData(this.#outWords[1]);
          continue;
        }
        if (status !== abi.PW_OK) throw this.#error(status);
        this.#decodeBatch(this.#outWords[0]);
        delivered += this.#deliver(this.#frames, sink);
      }
    } finally {
      this.#draining = false;
    }
    this.#maybeShrinkData();
    return delivered;
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
    try {
      return this.#copyMessage(message);
    } finally {
      const freed = this.#library.freeMessage(this.#handle, message);
      if (freed !== abi.PW_OK) throw this.#error(freed);
    }
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
    };
  }

  /** A new connection: clears buffered input, the sticky error and undelivered frames. */
  reset(): void {
    this.#assertOpen();
    this.#generation++;
    this.#undelivered = [];
    const status = this.#library.reset(this.#handle);
    if (status !== abi.PW_OK) throw this.#error(status);
  }

  /** Frees all native memory. Idempotent; any other method throws afterwards. */
  close(): void {
    if (this.#record.handle === undefined) return;
    this.#generation++;
    this.#undelivered = [];
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

  /** Copies one batch out of the slab into this.#frames (see the module header for the sharing rule). */
  #decodeBatch(count: number): void {
    const words = this.#headerWords;
    const ownCopyMinBytes = this.#library.ownCopyMinBytes;
    this.#frames = [];
    let runFirst = 0;
    for (let index = 0; index < count; index++) {
      if (words[index * abi.PW_BATCH_HEADER_WORDS + abi.PW_BATCH_PAYLOAD_LENGTH] < ownCopyMinBytes) continue;
      this.#decodeRun(runFirst, index);
      this.#frames.push(this.#frameAt(index, undefined, 0));
      runFirst = index + 1;
    }
    this.#decodeRun(runFirst, count);
  }

  /** Frames [first, end) share one copy of their bytes. */
  #decodeRun(first: number, end: number): void {
    if (first === end) return;
    const words = this.#headerWords;
    const start = words[first * abi.PW_BATCH_HEADER_WORDS + abi.PW_BATCH_DATA_OFFSET];
    const last = (end - 1) * abi.PW_BATCH_HEADER_WORDS;
    const stop = words[last + abi.PW_BATCH_DATA_OFFSET] + words[last + abi.PW_BATCH_CHANNEL_LENGTH] +
      words[last + abi.PW_BATCH_PATTERN_LENGTH] + words[last + abi.PW_BATCH_PAYLOAD_LENGTH];
    const copy = this.#data.slice(start, stop);
    for (let index = first; index < end; index++) this.#frames.push(this.#frameAt(index, copy, start));
  }

  /** Frame number `index` of the batch; `copy` holds slab bytes from `copyStart` (undefined: own copies). */
  #frameAt(index: number, copy: Uint8Array | undefined, copyStart: number): Frame {
    const words = this.#headerWords;
    const base = index * abi.PW_BATCH_HEADER_WORDS;
    const kindValue = words[base + abi.PW_BATCH_KIND];
    const nameIds = words[base + abi.PW_BATCH_NAME_IDS];
    const channelStart = words[base + abi.PW_BATCH_DATA_OFFSET];
    const channelLength = words[base + abi.PW_BATCH_CHANNEL_LENGTH];
    const patternLength = words[base + abi.PW_BATCH_PATTERN_LENGTH];
    const payloadLength = words[base + abi.PW_BATCH_PAYLOAD_LENGTH];
    const patternStart = channelStart + channelLength;
    const payloadStart = patternStart + patternLength;
    const channel = this.#slabName(nameIds & 0xFFFF, channelStart, channelLength, copy, copyStart);
    const pattern = kindValue === abi.PW_KIND_PMESSAGE
      ? this.#slabName(nameIds >>> 16, patternStart, patternLength, copy, copyStart)
      : undefined;
    const data = copy === undefined
      ? this.#data.slice(payloadStart, payloadStart + payloadLength)
      : copy.subarray(payloadStart - copyStart, payloadStart - copyStart + payloadLength);
    return new Frame(
      kindName(kindValue),
      channel.text,
      channel.bytes,
      pattern?.text,
      pattern?.bytes,
      data,
      words[base + abi.PW_BATCH_COUNT],
    );
  }

  /** The name at slab[start, start+length): cached by interned id, decoded each time for id 0. */
  #slabName(id: number, start: number, length: number, copy: Uint8Array | undefined, copyStart: number): Name {
    if (length === 0) return NO_NAME;
    if (id !== 0) {
      const cached = this.#names[id];
      if (cached !== undefined) return cached;
    }
    const bytes = id !== 0 || copy === undefined
      ? this.#data.slice(start, start + length)
      : copy.subarray(start - copyStart, start - copyStart + length);
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

  #growData(neededBytes: number): void {
    const capacity = Math.min(MAX_U32, Math.max(neededBytes, this.#data.length * 2));
    this.#data = new Uint8Array(capacity);
    this.#drainsSinceGrowth = 0;
  }

  #maybeShrinkData(): void {
    if (this.#data.length <= DEFAULT_DATA_SLAB_BYTES) return;
    if (++this.#drainsSinceGrowth < SHRINK_AFTER_DRAINS) return;
    this.#data = new Uint8Array(DEFAULT_DATA_SLAB_BYTES);
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
