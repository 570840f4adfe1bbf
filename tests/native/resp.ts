// Test helpers: build RESP bytes by hand and run them through a NativeParser.
// Rule: every helper that opens a parser closes it, and checks that no native memory is left behind.
import { assert } from "../shim.ts";
import type { Frame } from "../../src/frame.ts";
import { NativeParser, type NativeParserOptions, nativeMemory } from "../../src/native/parser.ts";

const encoder = new TextEncoder();
const decoder = new TextDecoder();

export type Part = string | Uint8Array;

export function bytes(...parts: Part[]): Uint8Array {
  const encoded = parts.map((part) => (typeof part === "string" ? encoder.encode(part) : part));
  const result = new Uint8Array(encoded.reduce((sum, part) => sum + part.length, 0));
  let at = 0;
  for (const part of encoded) {
    result.set(part, at);
    at += part.length;
  }
  return result;
}

export const bulk = (value: Part): Uint8Array => {
  const body = bytes(value);
  return bytes(`$${body.length}\r\n`, body, "\r\n");
};
export const integer = (value: number): Uint8Array => bytes(`:${value}\r\n`);
export const push = (...elements: Uint8Array[]): Uint8Array => bytes(`>${elements.length}\r\n`, ...elements);
export const array = (...elements: Uint8Array[]): Uint8Array => bytes(`*${elements.length}\r\n`, ...elements);
export const text = (value: Uint8Array): string => decoder.decode(value);

/** A plain, comparable view of a Frame (deepEqual-friendly). */
export interface Plain {
  kind: string;
  channel: string;
  pattern: string | undefined;
  data: string;
  count: number;
}

export function plain(frame: Frame): Plain {
  return { kind: frame.kind, channel: frame.channel, pattern: frame.pattern, data: text(frame.data), count: frame.count };
}

/** Runs `body` with a fresh parser, always closes it, then asserts no native memory is live. */
export function withParser<T>(options: NativeParserOptions, body: (parser: NativeParser) => T): T {
  const parser = new NativeParser(options);
  try {
    return body(parser);
  } finally {
    parser.close();
    assertNoNativeMemory();
  }
}

export function assertNoNativeMemory(): void {
  const memory = nativeMemory();
  assert.equal(memory.liveBytes, 0);
  assert.equal(memory.liveMessages, 0);
}

/** Feeds every chunk (draining after each) and returns all frames, in order. */
export function parseAll(parser: NativeParser, ...chunks: Uint8Array[]): Frame[] {
  const frames: Frame[] = [];
  for (const chunk of chunks) {
    parser.feed(chunk);
    parser.drain((frame) => frames.push(frame));
  }
  return frames;
}

/** The frames of `stream` from a fresh parser with `options`, as plain objects. */
export function parsePlain(stream: Uint8Array, options: NativeParserOptions = {}): Plain[] {
  return withParser(options, (parser) => parseAll(parser, stream).map(plain));
}

/** Deterministic pseudo-random bytes (xorshift32), so a failing case can be replayed. */
export function randomBytes(length: number, seed: number): Uint8Array {
  const result = new Uint8Array(length);
  let state = seed >>> 0 || 1;
  for (let i = 0; i < length; i++) {
    state ^= state << 13;
    state >>>= 0;
    state ^= state >>> 17;
    state ^= state << 5;
    state >>>= 0;
    result[i] = state & 0xFF;
  }
  return result;
}
