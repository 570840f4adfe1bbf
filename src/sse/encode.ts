// Server-Sent Events wire encoding (WHATWG HTML "text/event-stream"): pure functions, no I/O.
// Rule: whatever is written here must parse back, in a browser's EventSource, into exactly the event
// that was meant — so every field value is checked for the bytes that would end a line early.
//
// Facts from the format this file relies on:
// - A line ends at LF, CR or CRLF; a blank line dispatches the event. So a value may never contain CR
//   or LF, and a multi-line payload is sent as one `data:` line per line: the browser joins them with
//   LF. CR and CRLF line breaks therefore arrive as LF (the format cannot carry a CR in data); use
//   `encoding: "base64"` when exact bytes matter.
// - One space after the colon is removed by the parser, so we always write "data: " + value: a value
//   that itself starts with a space keeps it.
// - A `data:` line with an empty value still dispatches an event whose data is "" (an event with no
//   data line at all is discarded), so an empty payload is sent as a single "data: " line.
// - An `id:` value containing NUL is ignored by browsers; lines starting with ":" are comments.

import { InvalidArgumentError } from "../errors.ts";

/** The fields of one Server-Sent Event, for encodeEvent(). */
export interface SSEEventFields {
  /** Event type; absent or "" means the browser's default "message" event. */
  event?: string;
  /** The payload; line breaks (LF, CRLF, CR) become separate `data:` lines. */
  data: string;
  /** Last-event-id the browser remembers and sends back as `Last-Event-ID` when it reconnects. */
  id?: string;
  /** Reconnection delay hint for the browser, in milliseconds. */
  retryMs?: number;
}

const lineBreak = /\r\n|\r|\n/;

/** Throws when `value` cannot be one field line (a CR or LF would end the line early). */
export function assertSingleLine(field: string, value: string): void {
  if (value.includes("\n") || value.includes("\r")) {
    throw new InvalidArgumentError(`SSE ${field} must be one line: ${JSON.stringify(value)} contains CR or LF`);
  }
}

/**
 * One complete event as `text/event-stream` text, blank line included: for a stream of your own, or
 * an event sse() does not send. Throws InvalidArgumentError for an event name or id with CR or LF (or an id
 * with NUL, which browsers ignore) and for a `retryMs` that is not an integer ≥ 0.
 *
 * @example
 * ```ts
 * import { encodeEvent } from "pushwire/sse";
 *
 * const text = encodeEvent({ event: "price", id: "42", data: "line one\nline two" });
 * // "event: price\nid: 42\ndata: line one\ndata: line two\n\n"
 * ```
 */
export function encodeEvent(fields: SSEEventFields): string {
  let out = "";
  if (fields.event !== undefined && fields.event !== "") {
    assertSingleLine("event", fields.event);
    out += `event: ${fields.event}\n`;
  }
  if (fields.id !== undefined) {
    assertSingleLine("id", fields.id);
    if (fields.id.includes("\0")) throw new InvalidArgumentError("SSE id must not contain NUL (browsers ignore such an id)");
    out += `id: ${fields.id}\n`;
  }
  if (fields.retryMs !== undefined) out += encodeRetry(fields.retryMs);
  const data = fields.data;
  // Fast path: most payloads are one line.
  if (!data.includes("\n") && !data.includes("\r")) return `${out}data: ${data}\n\n`;
  for (const line of data.split(lineBreak)) out += `data: ${line}\n`;
  return `${out}\n`;
}

/** A `retry:` line (no blank line: it is a field, not an event). */
export function encodeRetry(retryMs: number): string {
  if (!Number.isSafeInteger(retryMs) || retryMs < 0) {
    throw new InvalidArgumentError(`SSE retryMs must be a non-negative integer, got ${retryMs}`);
  }
  return `retry: ${retryMs}\n`;
}

/**
 * A comment block (ignored by EventSource; keeps proxies and idle timers from closing the stream),
 * one `:` line per line of `text`.
 *
 * @example
 * ```ts
 * import { encodeComment } from "pushwire/sse";
 *
 * const keepAlive = new TextEncoder().encode(encodeComment("ping")); // ": ping\n\n"
 * ```
 */
export function encodeComment(text: string): string {
  let out = "";
  for (const line of text.split(lineBreak)) out += line === "" ? ":\n" : `: ${line}\n`;
  return `${out}\n`;
}

/**
 * An event name derived from data (a channel name) rather than written by the programmer: CR, LF and
 * "%" are percent-escaped so any channel name yields a valid, reversible (decodeURIComponent) name.
 */
export function escapeEventName(name: string): string {
  if (!name.includes("\n") && !name.includes("\r") && !name.includes("%")) return name;
  return name.replace(/[\r\n%]/g, (character) => `%${character.charCodeAt(0).toString(16).toUpperCase().padStart(2, "0")}`);
}

const fatalDecoder = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });

/** The payload as text, or undefined when it is not valid UTF-8 (never a lossy decode). */
export function decodeUtf8Strict(bytes: Uint8Array): string | undefined {
  try {
    return fatalDecoder.decode(bytes);
  } catch {
    return undefined;
  }
}

type WithBase64 = Uint8Array & { toBase64?: () => string };

/** Standard base64 (RFC 4648, with padding): one line, safe in a `data:` field. */
export function toBase64(bytes: Uint8Array): string {
  const native = (bytes as WithBase64).toBase64;
  if (typeof native === "function") return native.call(bytes);
  // btoa takes a "binary string"; build it in slices so String.fromCharCode's argument count stays small.
  let binary = "";
  const sliceLength = 0x8000;
  for (let offset = 0; offset < bytes.length; offset += sliceLength) {
    binary += String.fromCharCode(...bytes.subarray(offset, offset + sliceLength));
  }
  return btoa(binary);
}
