// What publish and subscribe accept for durable channels (README "Durable channels"), checked before
// anything is sent. Rule: every refusal is an InvalidArgumentError naming the call and the option;
// bounds are defined here, once.
import { InvalidArgumentError } from "../errors.ts";
import { type EntryId, parseEntryId } from "./ids.ts";

/** Most entries a history keeps (`history.maxLength`), and most a `since: { last }` asks for. */
export const maxHistoryLength = 1_000_000;
/** Longest `history.ttlMs`: one year. */
export const maxHistoryTtlMs = 366 * 24 * 3600 * 1000;

/**
 * The history of a channel, given to `publish()`/`spublish()` (`{ history }`): a Valkey/Redis stream
 * that keeps the newest entries, appended and published atomically by one script (README "Durable
 * channels"). Every bad value is an InvalidArgumentError before anything is sent.
 */
export interface HistoryOptions {
  /** Entries the history keeps, the newest (required; 1 to 1,000,000; trimming is exact). */
  maxLength: number;
  /** Both history keys expire this long after the last publish with it (ms; 0 or absent: never). */
  ttlMs?: number;
  /** The stream key instead of the derived one (it must contain a {hash tag}). */
  key?: string | Uint8Array;
}

/** The third argument of `publish()`/`spublish()`; without `history` a publish is plain pub/sub. */
export interface PublishOptions {
  /** Append the message to its channel's history and publish it in the v1 envelope. */
  history?: HistoryOptions;
}

/**
 * Where a durable subscription starts: after an entry id (a resume: the gap is replayed and reported
 * with `recovered`), or with the newest `last` entries (a fresh start). `incomplete: true` marks a
 * fresh start that replaces a resume point which could not be used (sse's resumeFrom() on a malformed
 * Last-Event-ID): the subscription then reports `recovered` with `complete: false`.
 */
export type Since = string | { last: number; incomplete?: boolean };

/**
 * What makes a subscription durable (part of SubscribeOptions): it replays what it missed from the
 * channel's history, then goes live, each message once and in order, and fills the gaps of
 * reconnects and lost messages by itself, reporting each with a `recovered` event. One channel per
 * durable subscription, with `subscribe()` or `ssubscribe()` (a pattern has no history).
 */
export interface DurableSubscribeOptions {
  /** Makes the subscription durable and replays from here first (a single channel; not psubscribe). */
  since?: Since;
  /** Makes the subscription durable; `key` names the history stream as publish's `history.key` did. */
  history?: { key?: string | Uint8Array };
}

/** A validated `history` of publish. */
export interface PublishHistory {
  maxLength: number;
  ttlMs: number;
  key: string | Uint8Array | undefined;
}

/** Where a durable subscription's first read starts. */
export type HistoryStart =
  | { kind: "after"; id: EntryId }
  | { kind: "last"; count: number; incomplete: boolean }
  /** No `since`: from the stream's end as read just before subscribing. */
  | { kind: "tip" };

/** A validated durable subscription request (its keys are derived by the client, which knows slots). */
export interface HistoryRequest {
  key: string | Uint8Array | undefined;
  start: HistoryStart;
}

/** publish's third argument: undefined (or no `history`) means a plain publish. */
export function parsePublishOptions(label: string, options: unknown): PublishHistory | undefined {
  if (options === undefined) return undefined;
  if (options === null || typeof options !== "object") {
    throw new InvalidArgumentError(`${label}: options must be an object, got ${options === null ? "null" : typeof options}`);
  }
  const history = (options as PublishOptions).history;
  if (history === undefined) return undefined;
  if (history === null || typeof history !== "object") {
    throw new InvalidArgumentError(`${label}: history must be an object with maxLength`);
  }
  const { maxLength, ttlMs } = history;
  if (!Number.isSafeInteger(maxLength) || maxLength < 1 || maxLength > maxHistoryLength) {
    throw new InvalidArgumentError(
      `${label}: history.maxLength is required: an integer from 1 to ${maxHistoryLength}, got ${String(maxLength)}`,
    );
  }
  if (ttlMs !== undefined && (!Number.isSafeInteger(ttlMs) || ttlMs < 0 || ttlMs > maxHistoryTtlMs)) {
    throw new InvalidArgumentError(`${label}: history.ttlMs must be an integer from 0 to ${maxHistoryTtlMs}, got ${String(ttlMs)}`);
  }
  return { maxLength, ttlMs: ttlMs ?? 0, key: checkKey(label, history.key) };
}

/** subscribe's `since` and `history`: undefined when the subscription is not durable. */
export function parseHistoryRequest(label: string, options: DurableSubscribeOptions): HistoryRequest | undefined {
  const { since, history } = options;
  if (since === undefined && history === undefined) return undefined;
  if (history !== undefined && (history === null || typeof history !== "object")) {
    throw new InvalidArgumentError(`${label}: history must be an object ({ key? })`);
  }
  return { key: checkKey(label, history?.key), start: parseSince(label, since) };
}

function parseSince(label: string, since: unknown): HistoryStart {
  if (since === undefined) return { kind: "tip" };
  if (typeof since === "string") {
    const id = parseEntryId(since);
    if (id === undefined) {
      throw new InvalidArgumentError(
        `${label}: since must be an entry id "<epoch>-<seq>" (Message.id) or { last: n }, got ${JSON.stringify(since.slice(0, 64))}`,
      );
    }
    return { kind: "after", id };
  }
  if (since !== null && typeof since === "object") {
    const { last, incomplete } = since as { last?: unknown; incomplete?: unknown };
    if (typeof last !== "number" || !Number.isSafeInteger(last) || last < 0 || last > maxHistoryLength) {
      throw new InvalidArgumentError(`${label}: since.last must be an integer from 0 to ${maxHistoryLength}, got ${String(last)}`);
    }
    return { kind: "last", count: last, incomplete: incomplete === true };
  }
  throw new InvalidArgumentError(`${label}: since must be an entry id string or { last: n }, got ${since === null ? "null" : typeof since}`);
}

function checkKey(label: string, key: unknown): string | Uint8Array | undefined {
  if (key === undefined) return undefined;
  if ((typeof key !== "string" && !(key instanceof Uint8Array)) || key.length === 0) {
    throw new InvalidArgumentError(`${label}: history.key must be a non-empty string or Uint8Array`);
  }
  return key;
}
