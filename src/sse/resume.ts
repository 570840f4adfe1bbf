// resumeFrom(): a browser's Last-Event-ID header turned into a durable subscription's `since`, for
//   sse(client.subscribe(channel, { since: resumeFrom(request.headers.get("last-event-id"), { last: 20 }) }))
// Rule: it never throws. A browser's EventSource sends the same Last-Event-ID on every reconnect, so a
// header that is not an entry id must not fail each attempt: it becomes the fallback, marked so that
// the subscription reports `recovered` with `complete: false` (a fresh start, signalled).
import { parseEntryId } from "../durable/ids.ts";
import type { Since } from "../durable/options.ts";

/**
 * `lastEventId` when it is an entry id (`<epoch>-<seq>`); `fallback` when it is missing or empty (a
 * first visit); `fallback` marked `incomplete` when it is anything else (an id from another source,
 * a counter id of a plain stream, garbage).
 */
export function resumeFrom(lastEventId: string | null | undefined, fallback: { last: number } = { last: 0 }): Since {
  if (lastEventId === null || lastEventId === undefined || lastEventId === "") return { last: fallback.last };
  if (parseEntryId(lastEventId) !== undefined) return lastEventId;
  return { last: fallback.last, incomplete: true };
}
