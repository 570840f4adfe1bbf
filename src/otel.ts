/**
 * `pushwire/otel`: the OpenTelemetry metrics of a pushwire Client or ClusterClient, through
 * `@opentelemetry/api` (≥ 1.3, an optional peer dependency: only this entry point imports it).
 * One registerMetrics() call creates observable instruments read from `stats()` when the SDK
 * collects, named after the messaging semantic conventions; README "Metrics" lists them.
 *
 * @module
 */
// pushwire/otel: OpenTelemetry metrics of a Client or ClusterClient through @opentelemetry/api, an
// optional peer dependency that only this entry point imports (mod.ts never does, so without it
// nothing is loaded and nothing costs). registerMetrics() creates observable instruments that one
// batch callback fills from a snapshot (src/metrics.ts) each time the SDK collects: nothing is added
// to the message path. Names and attributes follow the OTel messaging semantic conventions where one
// applies (messaging.client.consumed.messages, messaging.system, messaging.destination.name and
// .template); the others are pushwire.* (README, "Metrics").
import { type Attributes as ApiAttributes, type BatchObservableResult, type Meter as ApiMeter, metrics, type Observable } from "@opentelemetry/api";
import { InvalidArgumentError } from "./errors.ts";
import {
  booleanOption,
  type DestinationMetrics,
  MetricsCollector,
  type MetricsSnapshot,
  type MetricsSource,
  validateSource,
} from "./metrics.ts";

export type { DestinationMetrics, MetricsSnapshot, MetricsSource };
export type { ClientStats } from "./stats.ts";
export type { SSETotals } from "./sse/totals.ts";

// OpenTelemetry's own types, documented by @opentelemetry/api. Named here and left out of the docs
// (@ignore): deno doc takes a type from node_modules for one of this package's own, unexported
// types, and re-exported it would document OTel's whole API as if it were pushwire's.
/** @ignore */
export type Meter = ApiMeter;
/** @ignore */
export type Attributes = ApiAttributes;

/** Options of `registerMetrics()`; each bad one is an InvalidArgumentError. */
export interface RegisterMetricsOptions {
  /**
   * The OpenTelemetry `Meter` (`@opentelemetry/api` ≥ 1.3) the instruments are made on (default:
   * `metrics.getMeter("pushwire")` of the global MeterProvider).
   */
  meter?: Meter;
  /**
   * Put `messaging.destination.name` (or `.template` for a pattern) on the per-channel instruments
   * (default true). Off: one series per instrument, for many channels (cardinality).
   */
  channelNames?: boolean;
  /**
   * Also report the process-wide SSE totals (default true). With several clients registered, keep it
   * on for one of them only: the totals are the process's, not a client's.
   */
  sse?: boolean;
  /**
   * OpenTelemetry attributes added to every data point (e.g. to tell two clients apart); may override
   * the defaults, e.g. `{ "messaging.system": "valkey" }` (default `redis`).
   */
  attributes?: Attributes;
}

/** The registration; unregister() (or `using`) stops reporting. */
export interface RegisteredMetrics extends Disposable {
  /** Removes the batch callback: the instruments report nothing from now on. Idempotent. */
  unregister(): void;
}

type Kind = "counter" | "updown";

interface InstrumentSpec {
  name: string;
  kind: Kind;
  unit: string;
  description: string;
}

/** Every instrument registerMetrics() creates (the README's table is this list). */
export const instrumentSpecs = {
  consumed: {
    name: "messaging.client.consumed.messages",
    kind: "counter",
    unit: "{message}",
    description: "Messages handed to consumers (iterator steps, onMessage calls, SSE streams), summed over subscriptions",
  },
  received: {
    name: "pushwire.client.received.messages",
    kind: "counter",
    unit: "{message}",
    description: "Pub/sub messages read from the server, once per message however many subscriptions get it",
  },
  dropped: {
    name: "pushwire.client.dropped.messages",
    kind: "counter",
    unit: "{message}",
    description: "Messages lost to an overflow policy or left undelivered when a subscription ended by close()",
  },
  errors: {
    name: "pushwire.client.errors",
    kind: "counter",
    unit: "{error}",
    description: "Consumer callbacks (onMessage, event listeners, onOccupied/onVacated) that threw",
  },
  reconnects: {
    name: "pushwire.client.reconnects",
    kind: "counter",
    unit: "{reconnect}",
    description: "Successful reconnections (cluster: subscription parts moved to a node)",
  },
  queueDepth: {
    name: "pushwire.client.queue.depth",
    kind: "updown",
    unit: "{message}",
    description: "Messages waiting in subscription buffers now",
  },
  queueSize: {
    name: "pushwire.client.queue.size",
    kind: "updown",
    unit: "By",
    description: "Payload bytes of the messages waiting in subscription buffers now",
  },
  nativeMemory: {
    name: "pushwire.client.native.memory.usage",
    kind: "updown",
    unit: "By",
    description: "Native bytes held by the client's parsers now (partial frames, queued messages)",
  },
  sseOpenStreams: {
    name: "pushwire.sse.open_streams",
    kind: "updown",
    unit: "{stream}",
    description: "SSE streams of this process open now",
  },
  sseSent: {
    name: "pushwire.sse.sent.events",
    kind: "counter",
    unit: "{event}",
    description: "Message events SSE streams of this process handed to response bodies",
  },
  sseDropped: {
    name: "pushwire.sse.dropped.events",
    kind: "counter",
    unit: "{event}",
    description: "Messages SSE streams of this process dropped for slow clients (their clients never see them)",
  },
} as const satisfies Record<string, InstrumentSpec>;

type InstrumentKey = keyof typeof instrumentSpecs;

/**
 * Registers the OpenTelemetry instruments of `client` (a Client or ClusterClient). Values are read
 * from `client.stats()` (and its subscriptions' stats()) when the SDK collects; nothing runs per
 * message. Throws InvalidArgumentError for another kind of client, a `meter` that is not an
 * OpenTelemetry Meter, or a bad option. The instruments: README "Metrics" (`instrumentSpecs`).
 *
 * @example
 * ```ts
 * import { connect } from "pushwire";
 * import { registerMetrics } from "pushwire/otel";
 *
 * await using client = await connect("redis://127.0.0.1:6379");
 * using metrics = registerMetrics(client, { channelNames: false, attributes: { "service.instance.id": "api-1" } });
 * ```
 */
export function registerMetrics(client: MetricsSource, options: RegisterMetricsOptions = {}): RegisteredMetrics {
  validateSource(client);
  if (options === null || typeof options !== "object") {
    throw new InvalidArgumentError("registerMetrics(client, options): options must be an object");
  }
  const meter = options.meter ?? metrics.getMeter("pushwire");
  if (typeof meter?.addBatchObservableCallback !== "function" || typeof meter.createObservableCounter !== "function") {
    throw new InvalidArgumentError("registerMetrics: meter must be an OpenTelemetry Meter");
  }
  const withSSE = booleanOption("sse", options.sse, true);
  const collector = new MetricsCollector(client, { channelNames: options.channelNames });
  const base: Attributes = { "messaging.system": "redis", ...options.attributes };

  const keys = (Object.keys(instrumentSpecs) as InstrumentKey[]).filter((key) => withSSE || !key.startsWith("sse"));
  const instruments = new Map<InstrumentKey, Observable>();
  for (const key of keys) {
    const { name, kind, unit, description } = instrumentSpecs[key];
    const create = kind === "counter" ? meter.createObservableCounter : meter.createObservableUpDownCounter;
    instruments.set(key, create.call(meter, name, { unit, description }));
  }
  const observables = [...instruments.values()];
  const callback = (result: BatchObservableResult) => {
    const snapshot = collector.collect();
    const observe = (key: InstrumentKey, value: number, attributes: Attributes = base) => {
      const instrument = instruments.get(key);
      if (instrument !== undefined) result.observe(instrument, value, attributes);
    };
    for (const part of snapshot.destinations) {
      const attributes = destinationAttributes(base, part);
      observe("consumed", part.delivered, attributes);
      observe("dropped", part.dropped, attributes);
      observe("queueDepth", part.queueDepth, attributes);
      observe("queueSize", part.queueBytes, attributes);
    }
    observe("received", snapshot.client.received);
    observe("errors", snapshot.client.errors);
    observe("reconnects", snapshot.client.reconnects);
    observe("nativeMemory", snapshot.client.nativeLiveBytes);
    observe("sseOpenStreams", snapshot.sse.openStreams);
    observe("sseSent", snapshot.sse.eventsSent);
    observe("sseDropped", snapshot.sse.eventsDropped);
  };
  meter.addBatchObservableCallback(callback, observables);
  let registered = true;
  const unregister = () => {
    if (!registered) return;
    registered = false;
    meter.removeBatchObservableCallback(callback, observables);
  };
  return { unregister, [Symbol.dispose]: unregister };
}

function destinationAttributes(base: Attributes, part: DestinationMetrics): Attributes {
  if (part.destination === undefined) return base;
  const key = part.pattern ? "messaging.destination.template" : "messaging.destination.name";
  return { ...base, [key]: part.destination };
}
