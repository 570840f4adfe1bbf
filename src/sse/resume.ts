// resumeFrom(): a browser's Last-Event-ID header turned into a durable subscription's `since`, for
//   sse(client.subscribe(channel, { since: resumeFrom(request.headers.get("last-event-id"), { last: 20 }) }))
// Rule: it never throws. A browser's EventSource sends the same Last-Event-ID on every reconnect, so a
// header that is not an entry id must not fail each attempt: it becomes the fallback, marked so that
// the subscription reports `recovered` with `complete: false` (a fresh start, signalled).
import { parseEntryId } from "../durable/ids.ts";
import type { Since } from "../durable/options.ts";

/**
 * A browser's `Last-Event-ID` header as a durable subscription's `since`: the header when it is an
 * entry id (`<epoch>-<seq>`, a resume: exactly what was missed is replayed); `fallback` when it is
 * missing or empty (a first visit); `fallback` marked `incomplete` when it is anything else (an id
 * from another source, a counter id of a plain stream, garbage), so the subscription reports
 * `recovered` with `complete: false`. Never throws: EventSource resends the same header on every
 * reconnect.
 *
 * @example
 * ```ts
 * import { connect } from "pushwire";
 * import { resumeFrom, sse } from "pushwire/sse";
 *
 * const client = await connect("redis://127.0.0.1:6379");
 * Deno.serve((request, info) => {
 *   const gone = new AbortController();
 *   info.completed.then(() => gone.abort(), () => gone.abort());
 *   const since = resumeFrom(request.headers.get("last-event-id"), { last: 20 });
 *   return sse(client.subscribe("room", { since }), { signal: gone.signal });
 * });
 * ```
 */
export function resumeFrom(lastEventId: string | null | undefined, fallback: { last: number } = { last: 0 }): Since {
  if (lastEventId === null || lastEventId === undefined || lastEventId === "") return { last: fallback.last };
  if (parseEntryId(lastEventId) !== undefined) return lastEventId;
  return { last: fallback.last, incomplete: true };
}
