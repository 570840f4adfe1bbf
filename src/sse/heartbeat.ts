// Heartbeats of sse() streams: one timer per interval for every stream of the process, not one each.
// Rule: a stream beats at least once per `intervalMs` while it is registered (its first beat comes
// within one interval of joining); the timer exists only while some stream uses that interval, so a
// process with no stream has none (Deno's sanitizers see none left behind).
// Why shared: 10,000 streams with a setInterval each are 10,000 timers for the runtime to keep and
// fire, a few hundred bytes and a wake-up each, to send a comment nobody reads.

/** A stream that sends a heartbeat comment when asked (src/sse.ts: only when nothing else waits). */
export interface Beating {
  beat(): void;
}

interface Group {
  readonly timer: ReturnType<typeof setInterval>;
  readonly members: Set<Beating>;
}

const groups = new Map<number, Group>();

export function startBeating(member: Beating, intervalMs: number): void {
  let group = groups.get(intervalMs);
  if (group === undefined) {
    const members = new Set<Beating>();
    const timer = setInterval(() => {
      for (const beating of members) beating.beat();
    }, intervalMs);
    group = { timer, members };
    groups.set(intervalMs, group);
  }
  group.members.add(member);
}

export function stopBeating(member: Beating, intervalMs: number): void {
  const group = groups.get(intervalMs);
  if (group === undefined || !group.members.delete(member) || group.members.size > 0) return;
  clearInterval(group.timer);
  groups.delete(intervalMs);
}

/** Heartbeat timers running now (one per interval in use): what a process with N streams pays. */
export function heartbeatTimerCount(): number {
  return groups.size;
}
