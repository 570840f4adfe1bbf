/**
 * Valkey/Redis pub/sub for Bun and Deno, on a small Zig core: subscribe to channels, patterns and
 * shard channels, publish, follow a cluster or a Sentinel-managed primary, and read what each client
 * does as stats or metrics. Server-Sent Events for browsers are in `pushwire/sse`, a WebSocket
 * bridge for browsers in `pushwire/ws`, OpenTelemetry instruments in `pushwire/otel`. What is
 * delivered and when something can be lost: README "Delivery semantics".
 *
 * @example
 * ```ts
 * import { connect } from "pushwire";
 *
 * await using client = await connect("redis://127.0.0.1:6379");
 * const news = await client.subscribe("news");
 * console.log("receivers:", await client.publish("news", "hello"));
 * for await (const message of news) console.log(message.channel, message.text());
 * ```
 *
 * @module
 */
// Re-exports only.
export { Client, connect } from "./src/client.ts";
export type { HistoryOptions, NameInput, PublishOptions, PublishResult, SubscribeArgument } from "./src/client.ts";
export type { DurableSubscribeOptions, Since } from "./src/durable/options.ts";
export { Subscription } from "./src/subscription.ts";
export type { LifecycleEvent } from "./src/subscription.ts";
export { Frame } from "./src/frame.ts";
export type { FrameKind, Message } from "./src/frame.ts";
export type {
  ClientOptions,
  FlowOptions,
  OverflowPolicy,
  ReconnectOptions,
  SubscribeOptions,
  SubscriptionType,
  TlsOptions,
} from "./src/options.ts";
export type { ClientStats, SubscriptionStats } from "./src/stats.ts";
export { watchMetrics } from "./src/metrics.ts";
export type {
  DestinationMetrics,
  MetricsOptions,
  MetricsSnapshot,
  MetricsSource,
  MetricsWatch,
  WatchMetricsOptions,
} from "./src/metrics.ts";
export type { SSETotals } from "./src/sse/totals.ts";
export {
  ClosedError,
  ConnectionError,
  InvalidArgumentError,
  NativeLibraryError,
  OverflowError,
  ProtocolError,
  PushwireError,
  ReplyError,
  TimeoutError,
  TlsError,
} from "./src/errors.ts";
export type { PushwireErrorCode, TlsFailureReason } from "./src/errors.ts";
export { nativeMemory } from "./src/native/parser.ts";
export type { NativeStats, ParserLimits } from "./src/native/parser.ts";
export { openSSE, resumeFrom, sse } from "./src/sse.ts";
export type { SSECloseReason, SSEOptions, SSEStats, SSEStream } from "./src/sse.ts";
export { ClusterClient, connectCluster } from "./src/cluster/cluster_client.ts";
export type { ClusterOptions, ClusterStats } from "./src/cluster/cluster_client.ts";
export type { ClusterNode, SlotRange, TopologySnapshot } from "./src/cluster/topology.ts";
export { connectSentinel } from "./src/sentinel/connect_sentinel.ts";
export type { SentinelOptions } from "./src/sentinel/connect_sentinel.ts";
