// What a client (Client, ClusterClient) does for durable channels, given a way to send a command to
// the node that holds a history's keys: publish with history (the script), and the history side of a
// durable subscription (its keys and reader). Rule: the keys are derived and checked here, before
// anything is sent, the same way for every client (src/durable/keys.ts).
import type { SubscriptionType } from "../options.ts";
import type { CommandArgument } from "../protocol/encode.ts";
import type { DecodeOptions, ReplyValue } from "../protocol/reply.ts";
import { type HistoryKeys, historyKeys } from "./keys.ts";
import type { HistoryRequest, HistoryStart, PublishHistory } from "./options.ts";
import { HistoryReader } from "./reader.ts";
import { type PublishResult, runHistoryScript } from "./script.ts";

/** Sends one command to the node holding `keys`; `decode` as Connection.command. */
export type KeyedCommand = (keys: HistoryKeys) => (args: readonly CommandArgument[], decode?: DecodeOptions) => Promise<ReplyValue>;

/** What a durable subscription gets from its client (ResolvedSubscribeOptions.history). */
export interface ResolvedHistory {
  reader: HistoryReader;
  start: HistoryStart;
}

let nativeKeySlot: Promise<(key: Uint8Array) => number> | undefined;

/** The cluster key slot (Zig core), loaded on first use like the client loads the parser. */
function loadKeySlot(): Promise<(key: Uint8Array) => number> {
  nativeKeySlot ??= import("../native/parser.ts").then(({ keySlot }) => keySlot);
  return nativeKeySlot;
}

const encoder = new TextEncoder();
/** History replies: payloads are views of the reply (replayed messages are as cheap as live ones). */
const bulkAsViews: DecodeOptions = { bulkAs: "views" };

/**
 * Derived keys of recent string channels: deriving costs an encode, two concatenations and three slot
 * computations (FFI calls) per publish: with this cache, publish with history on Bun went from 32,000
 * to 56,000 msgs/s (256 in flight, 256 B; the script takes ~10 µs of server time either way).
 * Bounded: cleared when full.
 */
const keyCache = new Map<string, HistoryKeys>();
const keyCacheSize = 1_024;

function cachedKeys(
  label: string,
  channel: string | Uint8Array,
  override: string | Uint8Array | undefined,
  shard: boolean,
  slotOf: (key: Uint8Array) => number,
): HistoryKeys {
  if (typeof channel !== "string" || (override !== undefined && typeof override !== "string")) {
    return historyKeys(label, typeof channel === "string" ? encoder.encode(channel) : channel, override, shard, slotOf);
  }
  const cacheKey = `${shard ? "s" : "c"}${override === undefined ? "" : override.length + ":" + override}|${channel}`;
  let keys = keyCache.get(cacheKey);
  if (keys === undefined) {
    keys = historyKeys(label, encoder.encode(channel), override, shard, slotOf); // throws for a refused key: not cached
    if (keyCache.size >= keyCacheSize) keyCache.clear();
    keyCache.set(cacheKey, keys);
  }
  return keys;
}

/** The keys and reader of a durable subscription to `channel`. */
export async function resolveHistory(
  type: SubscriptionType,
  channel: Uint8Array,
  request: HistoryRequest,
  send: KeyedCommand,
): Promise<ResolvedHistory> {
  const keys = historyKeys(type, channel, request.key, type === "ssubscribe", await loadKeySlot());
  const command = send(keys);
  return {
    reader: new HistoryReader(keys, (commands) => Promise.all(commands.map((args) => command(args, bulkAsViews)))),
    start: request.start,
  };
}

/** publish/spublish with history: append and publish the v1 envelope in one round trip. */
export async function publishWithHistory(
  command: "PUBLISH" | "SPUBLISH",
  channel: string | Uint8Array,
  data: string | Uint8Array,
  history: PublishHistory,
  send: KeyedCommand,
): Promise<PublishResult> {
  const keys = cachedKeys(command.toLowerCase(), channel, history.key, command === "SPUBLISH", await loadKeySlot());
  return runHistoryScript(send(keys), {
    stream: keys.stream,
    epochKey: keys.epoch,
    channel,
    data,
    maxLength: history.maxLength,
    ttlMs: history.ttlMs,
    command,
  });
}
