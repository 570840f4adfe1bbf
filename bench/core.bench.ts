// Core benchmark: RESP bytes → message objects, no sockets. Runs on Bun and on Deno (mitata).
// Method: per payload size, one pre-encoded stream of RESP3 message pushes (~256 KiB, at least 4
// messages) is fed in 64 KiB pieces — the size of a large socket read, so frames straddle pieces as
// they do on a socket — and drained after every piece. Four readers build the same Frame objects:
//   native receive: NativeParser.receive(piece, sink, true)   (pw_feed_next_batch: what a connection
//                   does; on Bun payloads ≥ 256 B are views of the piece, the pieces are never written)
//   native batch  : NativeParser.feed + drain()               (pw_feed + pw_next_batch)
//   native simple : NativeParser.feed + nextMessageSimple()    (pw_next_message → copy → pw_free_message)
//   baseline TS   : bench/baseline/resp_parser.ts              (the pure-TypeScript reader to beat)
//   FFI only      : pw_feed + pw_next_batch called directly, headers summed, no Frame built — a profile
//                   row: (native batch − FFI only) is what NativeParser's JS decoding costs per message,
//                   (FFI only − bench/native/c_consumer.c) what the FFI crossings cost
// The sink counts frames and reads data.length. Every reader is checked once for the exact message
// count and payload size before timing; a mismatch or exception exits non-zero.
// Usage: bun bench/core.bench.ts [--short] [--json out.json]   |   deno run -A bench/core.bench.ts ...
import process from "node:process";
import { writeFileSync } from "node:fs";
import { bench, do_not_optimize, group, run, summary } from "mitata";
import { NativeParser } from "../src/native/parser.ts";
import type { Frame } from "../src/frame.ts";
import { BaselineParser } from "./baseline/resp_parser.ts";
import { loadLibrary } from "../src/native/load.ts";
import { OPTIONS_WORDS, PW_BATCH_HEADER_WORDS, PW_BATCH_PAYLOAD_LENGTH, PW_BUFFER_TOO_SMALL, PW_OK, PW_PENDING } from "../src/native/symbols.ts";

const short = process.argv.includes("--short");
const jsonIndex = process.argv.indexOf("--json");
const jsonOut = jsonIndex >= 0 ? process.argv[jsonIndex + 1] : undefined;
const runtime = typeof (globalThis as { Bun?: unknown }).Bun !== "undefined" ? "bun" : "deno";
const SIZES = short ? [16, 4096] : [16, 256, 4096, 65536];
const CHANNEL = "bench:events";
const STREAM_BYTES_TARGET = 256 * 1024;
const PIECE_BYTES = 64 * 1024;

function encodeStream(payloadBytes: number): { pieces: Uint8Array[]; messages: number } {
  const payload = "x".repeat(payloadBytes);
  const one = new TextEncoder().encode(
    `>3\r\n$7\r\nmessage\r\n$${CHANNEL.length}\r\n${CHANNEL}\r\n$${payloadBytes}\r\n${payload}\r\n`,
  );
  const messages = Math.max(4, Math.floor(STREAM_BYTES_TARGET / one.length));
  const stream = new Uint8Array(one.length * messages);
  for (let i = 0; i < messages; i++) stream.set(one, i * one.length);
  const pieces: Uint8Array[] = [];
  for (let offset = 0; offset < stream.length; offset += PIECE_BYTES) {
    pieces.push(stream.subarray(offset, Math.min(stream.length, offset + PIECE_BYTES)));
  }
  return { pieces, messages };
}

type Reader = (pieces: Uint8Array[]) => number;
let payloadBytesSeen = 0;
const sink = (frame: Frame) => {
  payloadBytesSeen += frame.data.length;
};

/** Feed each piece, then drain: the same loop for the native batch path and the TS baseline. */
function drainingReader(parser: { feed(bytes: Uint8Array): void; drain(sink: (frame: Frame) => void): number }): Reader {
  return (pieces) => {
    let frames = 0;
    for (const piece of pieces) {
      parser.feed(piece);
      frames += parser.drain(sink);
    }
    return frames;
  };
}

function nativeBatch(): Reader {
  return drainingReader(new NativeParser());
}

function nativeReceive(): Reader {
  const parser = new NativeParser({ retainedInput: true });
  return (pieces) => {
    let frames = 0;
    for (const piece of pieces) frames += parser.receive(piece, sink, true);
    return frames;
  };
}

function nativeSimple(): Reader {
  const parser = new NativeParser();
  return (pieces) => {
    let frames = 0;
    for (const piece of pieces) {
      parser.feed(piece);
      for (let frame = parser.nextMessageSimple(); frame !== undefined; frame = parser.nextMessageSimple()) {
        sink(frame);
        frames++;
      }
    }
    return frames;
  };
}

function baseline(): Reader {
  return drainingReader(new BaselineParser());
}

function ffiOnly(): Reader {
  const library = loadLibrary();
  const parser = library.parserNew(new Uint8Array(OPTIONS_WORDS * 4))!;
  const maxMessages = 1024;
  const headerWords = new Uint32Array(maxMessages * PW_BATCH_HEADER_WORDS);
  const headerBytes = new Uint8Array(headerWords.buffer);
  let data = new Uint8Array(256 * 1024);
  const outWords = new Uint32Array(2);
  const outBytes = new Uint8Array(outWords.buffer);
  return (pieces) => {
    let frames = 0;
    for (const piece of pieces) {
      if (library.feed(parser, piece, piece.length) !== PW_OK) throw new Error("pw_feed failed");
      for (;;) {
        const status = library.nextBatch(parser, headerBytes, maxMessages, data, data.length, outBytes);
        if (status === PW_PENDING) break;
        if (status === PW_BUFFER_TOO_SMALL) {
          data = new Uint8Array(outWords[1] * 2);
          continue;
        }
        if (status !== PW_OK) throw new Error(`pw_next_batch: ${status}`);
        const count = outWords[0];
        for (let i = 0; i < count; i++) payloadBytesSeen += headerWords[i * PW_BATCH_HEADER_WORDS + PW_BATCH_PAYLOAD_LENGTH];
        frames += count;
      }
    }
    return frames;
  };
}

const READERS: Record<string, () => Reader> = {
  "native receive": nativeReceive,
  "native batch": nativeBatch,
  "native simple": nativeSimple,
  "baseline TS": baseline,
  "FFI only": ffiOnly,
};

const streams = new Map<number, { pieces: Uint8Array[]; messages: number }>();
for (const size of SIZES) {
  const stream = encodeStream(size);
  streams.set(size, stream);
  for (const [name, make] of Object.entries(READERS)) {
    const read = make();
    payloadBytesSeen = 0;
    const frames = read(stream.pieces);
    if (frames !== stream.messages || payloadBytesSeen !== stream.messages * size) {
      console.error(`core bench: ${name} at ${size} B read ${frames}/${stream.messages} frames, ${payloadBytesSeen} payload bytes`);
      process.exit(1);
    }
  }
  group(`${size} B payloads, ${stream.messages} messages per iteration`, () => {
    summary(() => {
      for (const [name, make] of Object.entries(READERS)) {
        const read = make();
        const b = bench(`${name} ${size} B`, () => do_not_optimize(read(stream.pieces)));
        if (name === "baseline TS") b.baseline(true);
      }
    });
  });
}

let printed = "";
const report = await run({ format: "json", print: (text: string) => (printed += text), throw: true });
void printed;

interface Row {
  runtime: string;
  reader: string;
  payloadBytes: number;
  nsPerMessage: number;
  messagesPerSecond: number;
  megabytesPerSecond: number;
  p99NsPerMessage: number;
}
const rows: Row[] = [];
for (const trial of report.benchmarks) {
  for (const trialRun of trial.runs) {
    if (!trialRun.stats) {
      console.error(`core bench: ${trialRun.name} failed: ${String(trialRun.error)}`);
      process.exit(1);
    }
    const match = trialRun.name.match(/^(.*) (\d+) B$/)!;
    const payloadBytes = Number(match[2]);
    const messages = streams.get(payloadBytes)!.messages;
    const nsPerMessage = trialRun.stats.avg / messages;
    rows.push({
      runtime,
      reader: match[1],
      payloadBytes,
      nsPerMessage,
      messagesPerSecond: 1e9 / nsPerMessage,
      megabytesPerSecond: (payloadBytes * 1e9) / nsPerMessage / 1e6,
      p99NsPerMessage: trialRun.stats.p99 / messages,
    });
  }
}

console.log(`core bench on ${runtime} (${report.context.cpu.name ?? "cpu"}):`);
console.log("| runtime | size | reader | ns/msg | msgs/s | payload MB/s | vs baseline TS |");
console.log("| --- | ---: | --- | ---: | ---: | ---: | ---: |");
for (const row of rows) {
  const base = rows.find((other) => other.payloadBytes === row.payloadBytes && other.reader === "baseline TS")!;
  console.log(
    `| ${row.runtime} | ${row.payloadBytes} | ${row.reader} | ${row.nsPerMessage.toFixed(1)} | ` +
      `${Math.round(row.messagesPerSecond).toLocaleString("en-US")} | ${row.megabytesPerSecond.toFixed(0)} | ` +
      `${(base.nsPerMessage / row.nsPerMessage).toFixed(2)}× |`,
  );
}
if (jsonOut) writeFileSync(jsonOut, JSON.stringify({ runtime, short, rows }, null, 2));
