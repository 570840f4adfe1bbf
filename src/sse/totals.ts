// Process-wide SSE totals over every stream sse()/openSSE() opened, for metrics (src/metrics.ts,
// src/otel.ts): streams open now, message events handed to response bodies, messages dropped for
// slow clients. sse.ts adds to them where each stream's own counters change; nothing here is per
// stream, so a metrics reader needs no list of streams. Rule: only sse.ts writes `sseTotals`.

/** The SSE streams of the whole process (every client's), as a metrics snapshot's `sse` shows them. */
export interface SSETotals {
  /** Streams opened and not yet ended. */
  openStreams: number;
  /** Message events handed to response bodies, summed over every stream ever opened (SSEStats.sent). */
  eventsSent: number;
  /** Messages streams' clients will never see, summed over every stream ever opened (SSEStats.dropped). */
  eventsDropped: number;
}

/** @internal the live counters; sse.ts writes them, readers take sseTotalsSnapshot(). */
export const sseTotals: SSETotals = { openStreams: 0, eventsSent: 0, eventsDropped: 0 };

/** A copy of the process-wide SSE totals. */
export function sseTotalsSnapshot(): SSETotals {
  return { ...sseTotals };
}
