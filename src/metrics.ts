// Metrics without a dependency: a snapshot of a client's counters (its stats()), split by channel
// when asked, with the process-wide SSE totals; watchMetrics() hands one to a callback every
// intervalMs. src/otel.ts reads the same snapshots into OpenTelemetry instruments.
// Rule: a snapshot is read from stats() and the live subscriptions' own stats() when it is taken;
// nothing here runs on the message path. Split by channel, the parts always add up to the client's
// totals: what no live subscription accounts for (subscriptions that came and went between two
// snapshots, drops counted after a subscription ended) is its own part, with no channel.
// Why a periodic snapshot and not node:diagnostics_channel events: it needs no publish call on the
// message path (in files that own that path), it gives gauges (queue depth, native bytes) as well as
// counters, and it is the same data OpenTelemetry reads, so the two never disagree.
import { setInterval } from "node:timers";
import { InvalidArgumentError } from "./errors.ts";
import type { SubscriptionType } from "./options.ts";
import type { ClientStats, SubscriptionStats } from "./stats.ts";
import { type SSETotals, sseTotalsSnapshot } from "./sse/totals.ts";

/** What a snapshot reads from a subscription (pushwire's Subscription has it). */
export interface MetricsSubscription {
  readonly names: readonly string[];
  readonly type: SubscriptionType;
  stats(): SubscriptionStats;
}

/** What a snapshot reads from a client: a `Client` or a `ClusterClient` (anything else is refused). */
export interface MetricsSource {
  /** The client's totals (`client.stats()`). */
  stats(): ClientStats;
  /** @internal the subscriptions not yet ended. */
  liveSubscriptions(): Iterable<MetricsSubscription>;
}

/** Messages of one destination: the subscriptions to the same channel (or pattern) added up. */
export interface DestinationMetrics {
  /**
   * The channel or shard channel; a pattern for `psubscribe` (see `pattern`). A subscription to
   * several names counts under them joined by ",". Undefined: not split by channel
   * (`channelNames: false`), or what no live subscription accounts for.
   */
  destination: string | undefined;
  /** `destination` is a psubscribe pattern. */
  pattern: boolean;
  /** Messages handed to consumers (only grows). */
  delivered: number;
  /** Messages dropped by overflow policies or left undelivered at close (only grows). */
  dropped: number;
  /** Messages waiting in subscription buffers now. */
  queueDepth: number;
  /** Payload bytes of those messages. */
  queueBytes: number;
}

/** One reading of a client's metrics: what `onMetrics` gets, and what OpenTelemetry reads. */
export interface MetricsSnapshot {
  /** Date.now() when it was taken. */
  at: number;
  /** The client's stats() (totals). */
  client: ClientStats;
  /** delivered, dropped, queueDepth and queueBytes by destination; they add up to `client`'s. */
  destinations: DestinationMetrics[];
  /** Every SSE stream of the process (not only this client's). */
  sse: SSETotals;
}

/** How a snapshot is split (shared by `watchMetrics()` and `registerMetrics()`'s `channelNames`). */
export interface MetricsOptions {
  /** Split delivered/dropped/queue depth and bytes by channel (default true). Off: one part, no channel names. */
  channelNames?: boolean;
}

interface Counted {
  delivered: number;
  dropped: number;
}

/** Takes snapshots of one client; keeps what ended subscriptions counted, so parts never shrink. */
export class MetricsCollector {
  readonly #source: MetricsSource;
  readonly #channelNames: boolean;
  /** Subscriptions seen live at an earlier snapshot, by destination key. */
  readonly #seen = new Map<MetricsSubscription, string>();
  /** Final counts of subscriptions that ended, by destination key. */
  readonly #ended = new Map<string, Counted>();

  constructor(source: MetricsSource, options: MetricsOptions = {}) {
    validateSource(source);
    this.#source = source;
    this.#channelNames = booleanOption("channelNames", options.channelNames, true);
  }

  collect(): MetricsSnapshot {
    const client = this.#source.stats();
    const at = Date.now();
    const sse = sseTotalsSnapshot();
    if (!this.#channelNames) {
      const { delivered, dropped, queueDepth, queueBytes } = client;
      const destinations = [{ destination: undefined, pattern: false, delivered, dropped, queueDepth, queueBytes }];
      return { at, client, destinations, sse };
    }
    const parts = new Map<string, DestinationMetrics>();
    const live = new Set<MetricsSubscription>();
    for (const subscription of this.#source.liveSubscriptions()) {
      live.add(subscription);
      const key = destinationKey(subscription);
      this.#seen.set(subscription, key);
      const stats = subscription.stats();
      const part = partOf(parts, key);
      part.delivered += stats.delivered;
      part.dropped += stats.dropped;
      part.queueDepth += stats.queueDepth;
      part.queueBytes += stats.queueBytes;
    }
    for (const [subscription, key] of this.#seen) {
      if (live.has(subscription)) continue;
      // Ended since the last snapshot: its final counts stay with its destination from now on.
      const stats = subscription.stats();
      const ended = this.#ended.get(key) ?? { delivered: 0, dropped: 0 };
      ended.delivered += stats.delivered;
      ended.dropped += stats.dropped;
      this.#ended.set(key, ended);
      this.#seen.delete(subscription);
    }
    for (const [key, ended] of this.#ended) {
      const part = partOf(parts, key);
      part.delivered += ended.delivered;
      part.dropped += ended.dropped;
    }
    const destinations = [...parts.keys()].sort().map((key) => parts.get(key)!);
    const rest: DestinationMetrics = { destination: undefined, pattern: false, ...totalsMinus(client, destinations) };
    if (rest.delivered > 0 || rest.dropped > 0 || rest.queueDepth > 0 || rest.queueBytes > 0) destinations.push(rest);
    return { at, client, destinations, sse };
  }
}

/** Options of `watchMetrics()`; each bad one is an InvalidArgumentError. */
export interface WatchMetricsOptions extends MetricsOptions {
  /** Called with a snapshot every `intervalMs`. */
  onMetrics: (snapshot: MetricsSnapshot) => void;
  /** Time between snapshots, in ms: an integer ≥ 1, default 60000 (OpenTelemetry's periodic reader's default export interval). */
  intervalMs?: number;
  /** Called when onMetrics throws (default: console.error); the watch goes on. */
  onError?: (error: unknown) => void;
}

/** A running `watchMetrics()`; `using` stops it at the end of the scope. */
export interface MetricsWatch extends Disposable {
  /** A snapshot now, also handed to onMetrics. */
  collect(): MetricsSnapshot;
  /** Stops the timer. Idempotent. */
  stop(): void;
}

/**
 * Hands a snapshot of `client` (a Client or ClusterClient) to `onMetrics` every `intervalMs`, for
 * those without OpenTelemetry. The timer does not keep the process alive; stop() ends it. Throws
 * InvalidArgumentError for a client that is neither or a bad option.
 *
 * @example
 * ```ts
 * import { connect, watchMetrics } from "pushwire";
 *
 * await using client = await connect("redis://127.0.0.1:6379");
 * using watch = watchMetrics(client, {
 *   intervalMs: 10_000,
 *   onMetrics: ({ client: totals, destinations }) => console.log(totals.delivered, destinations),
 * });
 * ```
 */
export function watchMetrics(client: MetricsSource, options: WatchMetricsOptions): MetricsWatch {
  if (options === null || typeof options !== "object" || typeof options.onMetrics !== "function") {
    throw new InvalidArgumentError("watchMetrics(client, options): options.onMetrics must be a function");
  }
  const intervalMs = options.intervalMs ?? 60_000;
  if (!Number.isSafeInteger(intervalMs) || intervalMs < 1) {
    throw new InvalidArgumentError(`watchMetrics: intervalMs must be an integer ≥ 1, got ${intervalMs}`);
  }
  if (options.onError !== undefined && typeof options.onError !== "function") {
    throw new InvalidArgumentError("watchMetrics: onError must be a function");
  }
  const collector = new MetricsCollector(client, options);
  const { onMetrics, onError } = options;
  const collect = () => {
    const snapshot = collector.collect();
    try {
      onMetrics(snapshot);
    } catch (error) {
      if (onError) onError(error);
      else console.error("pushwire watchMetrics: onMetrics threw", error);
    }
    return snapshot;
  };
  const timer = setInterval(collect, intervalMs);
  timer.unref();
  let stopped = false;
  const stop = () => {
    if (stopped) return;
    stopped = true;
    clearInterval(timer);
  };
  return { collect, stop, [Symbol.dispose]: stop };
}

/** @internal shared with src/otel.ts. */
export function validateSource(source: MetricsSource): void {
  if (
    source === null || typeof source !== "object" || typeof source.stats !== "function" ||
    typeof source.liveSubscriptions !== "function"
  ) {
    throw new InvalidArgumentError("metrics: expected a pushwire Client or ClusterClient");
  }
}

/** @internal shared with src/otel.ts. */
export function booleanOption(name: string, value: boolean | undefined, fallback: boolean): boolean {
  if (value === undefined) return fallback;
  if (typeof value !== "boolean") throw new InvalidArgumentError(`metrics: ${name} must be a boolean, got ${typeof value}`);
  return value;
}

function destinationKey(subscription: MetricsSubscription): string {
  return (subscription.type === "psubscribe" ? "p" : "c") + subscription.names.join(",");
}

function partOf(parts: Map<string, DestinationMetrics>, key: string): DestinationMetrics {
  let part = parts.get(key);
  if (part === undefined) {
    part = { destination: key.slice(1), pattern: key[0] === "p", delivered: 0, dropped: 0, queueDepth: 0, queueBytes: 0 };
    parts.set(key, part);
  }
  return part;
}

function totalsMinus(client: ClientStats, parts: DestinationMetrics[]): Omit<DestinationMetrics, "destination" | "pattern"> {
  let { delivered, dropped, queueDepth, queueBytes } = client;
  for (const part of parts) {
    delivered -= part.delivered;
    dropped -= part.dropped;
    queueDepth -= part.queueDepth;
    queueBytes -= part.queueBytes;
  }
  return { delivered, dropped, queueDepth, queueBytes };
}
