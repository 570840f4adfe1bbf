// The pushwire/ws wire protocol: JSON text frames between a browser and the bridge (src/ws.ts).
// Rule: every frame a browser sends is checked here before anything acts on it; a bad one is an
// InvalidArgumentError whose message is sent back as an `error` frame (the socket stays open), never
// an exception that escapes into the runtime. Frames to the browser are built once per message and
// shared by every socket of its topic; a batch frame is those frames' text joined, never re-encoded.
//
// Browser → bridge (`id` is optional and echoed in the answer, so a page can match answers):
//   {"op":"subscribe",   "topic":"room-1", "kind"?:"channel"|"pattern"|"shard", "id"?:n}
//   {"op":"unsubscribe", "topic":"room-1", "kind"?:…, "id"?:n}
//   {"op":"publish",     "topic":"room-1", "kind"?:"channel"|"shard", "data":"text", "id"?:n}
// Bridge → browser:
//   {"type":"subscribed"|"unsubscribed", "topic", "kind", "id"?}
//   {"type":"message", "topic", "kind", "channel", "pattern"?, "id"?, "data", "encoding"?:"base64"}
//                  `id`: the history entry id, on a durable topic (WSBridgeOptions.history)
//   {"type":"published", "topic", "kind", "receivers", "id"?}
//   {"type":"disconnected", "topic", "kind", "at", "error"?}   the bridge lost Valkey: messages may be lost
//   {"type":"reconnected",  "topic", "kind", "at", "downtimeMs"} back; what was published meanwhile is lost
//   {"type":"recovered",    "topic", "kind", "at", "count", "complete", "lost"?} a durable topic filled
//                  the gap from history (complete: false: the history no longer held all of it)
//   {"type":"dropped", "count", "total"}    this socket fell behind and missed `count` messages
//   {"type":"end", "topic", "kind", "at", "error"?}  the topic's subscription ended (the socket left it)
//   {"type":"error", "code", "message", "id"?}  codes: bad-request, forbidden, limit, failed
//   {"type":"batch", "frames":[<frame>, <frame>, …]}  two or more of the frames above (never a batch),
//                  in the order they were sent: a page handles each element as if it had come alone.
//                  Deno sends one when a socket is behind or the process's write budget is spent
//                  (src/ws/deno.ts): what came for it meanwhile goes out as one WebSocket message.
//                  Bun does not batch today; a page must take it from either.
import { InvalidArgumentError } from "../errors.ts";
import { decodeUtf8Strict, toBase64 } from "../sse/encode.ts";

/**
 * What a topic name means: a channel (SUBSCRIBE, PUBLISH), a glob pattern of channels (PSUBSCRIBE;
 * subscribe only, a browser cannot publish to one) or a shard channel of a cluster (SSUBSCRIBE,
 * SPUBLISH). A frame without `kind` means "channel".
 */
export type TopicKind = "channel" | "pattern" | "shard";

export type ClientFrame =
  | { op: "subscribe" | "unsubscribe"; topic: string; kind: TopicKind; id: number | string | undefined }
  | { op: "publish"; topic: string; kind: "channel" | "shard"; data: string; id: number | string | undefined };

export type ErrorCode = "bad-request" | "forbidden" | "limit" | "failed";

/**
 * What the bridge needs from a pub/sub message (pushwire's Message has these fields): what its
 * `message` frame carries. The bridge encodes it once per topic, for every socket on it.
 */
export interface WSMessage {
  /** The channel it was published on (the frame's `channel`; for a pattern topic, the matching one). */
  readonly channel: string;
  /** The pattern that matched (a pattern topic's message; the frame's `pattern`). */
  readonly pattern?: string | undefined;
  /** The payload: the frame's `data` as text when it is valid UTF-8, else base64 with `encoding: "base64"`. */
  readonly data: Uint8Array;
  /** The history entry id (a durable topic's message): the frame's `id`. */
  readonly id?: string | undefined;
}

const kinds: ReadonlySet<string> = new Set(["channel", "pattern", "shard"]);

/** The longest topic name a browser may send (a Valkey channel name can be longer; a browser's need not). */
export const maxTopicLength = 1024;

/** The key a topic has in the bridge and, on Bun, in the server's native topic table. */
export function topicKey(kind: TopicKind, name: string): string {
  return `${kind[0]}:${name}`;
}

function fail(message: string): never {
  throw new InvalidArgumentError(`pushwire/ws: ${message}`);
}

/** Parses one text frame from a browser; throws InvalidArgumentError saying what is wrong. */
export function parseClientFrame(text: string): ClientFrame {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    fail("a frame must be a JSON object");
  }
  if (value === null || typeof value !== "object" || Array.isArray(value)) fail("a frame must be a JSON object");
  const frame = value as Record<string, unknown>;
  const id = frame.id;
  if (id !== undefined && typeof id !== "string" && !(typeof id === "number" && Number.isFinite(id))) {
    fail("id must be a number or a string");
  }
  if (typeof id === "string" && id.length > 64) fail("id must be at most 64 characters");
  const topic = frame.topic;
  if (typeof topic !== "string" || topic.length === 0 || topic.length > maxTopicLength) {
    fail(`topic must be a non-empty string of at most ${maxTopicLength} characters`);
  }
  const kind = frame.kind ?? "channel";
  if (typeof kind !== "string" || !kinds.has(kind)) fail(`kind must be "channel", "pattern" or "shard"`);
  switch (frame.op) {
    case "subscribe":
    case "unsubscribe":
      return { op: frame.op, topic, kind: kind as TopicKind, id };
    case "publish":
      if (kind === "pattern") fail(`publish takes kind "channel" or "shard", not "pattern"`);
      if (typeof frame.data !== "string") fail("publish needs data as a string");
      return { op: "publish", topic, kind: kind as "channel" | "shard", data: frame.data, id };
    default:
      fail(`op must be "subscribe", "unsubscribe" or "publish", got ${JSON.stringify(frame.op)}`);
  }
}

/** A message frame: the payload as text when it is UTF-8, else as base64 (`encoding: "base64"`). */
export function encodeMessage(topic: string, kind: TopicKind, message: WSMessage): string {
  const text = decodeUtf8Strict(message.data);
  const frame: Record<string, unknown> = { type: "message", topic, kind, channel: message.channel };
  if (message.pattern !== undefined) frame.pattern = message.pattern;
  if (message.id !== undefined) frame.id = message.id;
  if (text !== undefined) frame.data = text;
  else {
    frame.data = toBase64(message.data);
    frame.encoding = "base64";
  }
  return JSON.stringify(frame);
}

/** The text of a batch frame: the frames' own text joined (each is already a JSON object). */
export function encodeBatch(frames: readonly string[]): string {
  return batchOpen + frames.join(",") + batchClose;
}

const batchOpen = '{"type":"batch","frames":[';
const batchClose = "]}";

/** Bytes a batch frame adds to its frames' own: the wrapper, and a comma between two frames. */
export function batchOverheadBytes(count: number): number {
  return batchOpen.length + batchClose.length + count - 1;
}

/** Bytes of `text` in UTF-8 (what a frame is on the wire), without encoding it. */
export function utf8Length(text: string): number {
  let bytes = text.length;
  for (let i = 0; i < text.length; i++) {
    const unit = text.charCodeAt(i);
    if (unit < 0x80) continue;
    if (unit < 0x800) bytes += 1;
    else if (unit >= 0xD800 && unit <= 0xDBFF && i + 1 < text.length) {
      const next = text.charCodeAt(i + 1);
      if (next >= 0xDC00 && next <= 0xDFFF) {
        bytes += 2; // a pair: 2 units, 4 bytes
        i++;
      } else bytes += 2;
    } else bytes += 2;
  }
  return bytes;
}

/** Any other frame to the browser (answers, lifecycle, errors). */
export function encodeFrame(type: string, fields: Record<string, unknown>): string {
  return JSON.stringify({ type, ...fields });
}

export function encodeError(code: ErrorCode, message: string, id: number | string | undefined): string {
  return JSON.stringify(id === undefined ? { type: "error", code, message } : { type: "error", code, message, id });
}
