// What the public calls accept, checked once for every client (Client, ClusterClient): the arguments
// of subscribe/psubscribe/ssubscribe (names, then a callback or an options object) and of
// publish/spublish. Rule: nothing is sent before these pass; every refusal is an InvalidArgumentError
// that names the call and the argument.
import { type HistoryRequest, parseHistoryRequest } from "./durable/options.ts";
import { InvalidArgumentError } from "./errors.ts";
import type { Message } from "./frame.ts";
import { type ResolvedFlow, resolveFlow, type SubscribeOptions, type SubscriptionType } from "./options.ts";
import { checkNameLength, nameKey, nameRecord, type NameRecord } from "./router.ts";
import type { ParserLimits } from "./native/parser.ts";
import type { ResolvedSubscribeOptions } from "./subscription.ts";

/**
 * A channel, pattern or payload: a string (sent as UTF-8) or exact bytes (any bytes, not only UTF-8).
 * A name must not be empty; a subscribed one not longer than `parserLimits.maxBulkLength` either (512
 * MiB by default: the server echoes it in one bulk string). Else an InvalidArgumentError.
 */
export type NameInput = string | Uint8Array;
/**
 * One argument of `subscribe()` and its kin: names, one by one or in arrays (a name given twice is
 * one server subscription), then optionally a callback (the `onMessage` form) or a SubscribeOptions
 * object as the last argument.
 */
export type SubscribeArgument = NameInput | readonly NameInput[] | SubscribeOptions | ((message: Message) => void);

/** What a subscription takes from its client when the call does not say: the client's flow options and limits. */
export interface SubscribeDefaults {
  flow: Readonly<ResolvedFlow>;
  /** A name longer than the parser's maxBulkLength is refused before anything is sent. */
  parserLimits?: ParserLimits;
}

/**
 * `subscribe(...names, callbackOrOptions?)`: the names (deduplicated by their exact bytes; a name
 * given twice is one server subscription) and the options, defaults filled in. `history`: what a
 * durable subscription (`since` or `history` given) asks for; the client derives its keys and reader
 * and puts them in `options.history`.
 */
export function parseSubscribeArguments(
  type: SubscriptionType,
  args: readonly SubscribeArgument[],
  defaults: SubscribeDefaults,
): { records: NameRecord[]; options: ResolvedSubscribeOptions; history: HistoryRequest | undefined } {
  let given: SubscribeOptions = {};
  let names = args;
  const last = args[args.length - 1];
  if (typeof last === "function") {
    given = { onMessage: last as (message: Message) => void };
    names = args.slice(0, -1);
  } else if (last !== null && typeof last === "object" && !(last instanceof Uint8Array) && !Array.isArray(last)) {
    given = last as SubscribeOptions;
    names = args.slice(0, -1);
  }
  const records: NameRecord[] = [];
  const seen = new Set<string>();
  for (const name of names.flat() as unknown[]) {
    if (typeof name !== "string" && !(name instanceof Uint8Array)) {
      throw new InvalidArgumentError(`${type}: names must be strings or Uint8Arrays, got ${describe(name)}`);
    }
    if (name.length === 0) throw new InvalidArgumentError(`${type}: names must not be empty`);
    const record = nameRecord(name);
    checkNameLength(type, record, defaults.parserLimits);
    const key = nameKey(record);
    if (seen.has(key)) continue;
    seen.add(key);
    records.push(record);
  }
  if (records.length === 0) throw new InvalidArgumentError(`${type}: give at least one name`);
  for (const key of ["onMessage", "onError"] as const) {
    if (given[key] !== undefined && typeof given[key] !== "function") {
      throw new InvalidArgumentError(`${type}: ${key} must be a function`);
    }
  }
  if (given.signal !== undefined && !(given.signal instanceof AbortSignal)) {
    throw new InvalidArgumentError(`${type}: signal must be an AbortSignal`);
  }
  const history = parseHistoryRequest(type, given);
  if (history !== undefined) {
    if (type === "psubscribe") throw new InvalidArgumentError("psubscribe: since and history are for channels (subscribe, ssubscribe): a pattern has no history");
    if (records.length !== 1) throw new InvalidArgumentError(`${type}: a durable subscription (since or history) takes exactly one channel, got ${records.length}`);
  }
  return {
    records,
    options: {
      ...resolveFlow(given, defaults.flow),
      onMessage: given.onMessage,
      onError: given.onError,
      signal: given.signal,
    },
    history,
  };
}

/** `publish(channel, data, options?)` / `spublish(…)`: `label` is the call's name in the error. */
export function validatePublishArguments(label: string, channel: unknown, data: unknown): void {
  if (typeof channel !== "string" && !(channel instanceof Uint8Array)) {
    throw new InvalidArgumentError(`${label}: channel must be a string or Uint8Array, got ${describe(channel)}`);
  }
  if (channel.length === 0) throw new InvalidArgumentError(`${label}: channel must not be empty`);
  if (typeof data !== "string" && !(data instanceof Uint8Array)) {
    throw new InvalidArgumentError(`${label}: data must be a string or Uint8Array, got ${describe(data)}`);
  }
}

function describe(value: unknown): string {
  if (value === null) return "null";
  if (Array.isArray(value)) return "an array";
  return typeof value;
}
