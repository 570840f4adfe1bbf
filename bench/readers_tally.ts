// Shared by the fan-out bench's readers (bench/sse/readers.ts, bench/ws/readers.ts): arguments, the
// per-client event tally, publish → receive latency from the publisher's stamps, and the RESULT line.
// The publisher (bench/.build/publisher --stamp) writes 16 decimal digits of wall-clock microseconds
// right after the '#' that starts every payload; a reader that sees a whole stamp in one chunk takes
// one latency sample (only every `--sample-every`-th client does, so sampling never becomes the
// readers' own bottleneck at 1 M events/s).
import process from "node:process";

export function argument(name: string, fallback: string): string {
  const index = process.argv.indexOf(`--${name}`);
  return index >= 0 ? process.argv[index + 1] : fallback;
}

export const HASH = 0x23;
const stampDigits = 16;

/** Wall-clock microseconds now (the same clock as the publisher's CLOCK_REALTIME stamps). */
function nowMicroseconds(): number {
  return (performance.timeOrigin + performance.now()) * 1000;
}

export class Tally {
  readonly clients: number;
  readonly expect: number;
  readonly deadlineMs: number;
  readonly sampleEvery: number;
  readonly counts: Int32Array;
  ready = 0;
  totalEvents = 0;
  finishedClients = 0;
  firstEventAt = 0;
  lastEventAt = 0;
  #latencies: number[] = [];
  #onFinish: () => void;

  constructor(onFinish: () => void) {
    this.clients = Number(argument("clients", "1000"));
    this.expect = Number(argument("expect", "1000"));
    this.deadlineMs = Number(argument("deadline-ms", "20000"));
    this.sampleEvery = Number(argument("sample-every", "50"));
    this.counts = new Int32Array(this.clients);
    this.#onFinish = onFinish;
  }

  /** A client's response headers (or upgrade) arrived. */
  opened(): void {
    if (++this.ready === this.clients) console.log("READY");
  }

  /** Counts the events (one '#' each) in chunk[start..end) for client `index`. */
  count(index: number, chunk: Uint8Array, start: number, end: number): void {
    let events = 0;
    const sampling = index % this.sampleEvery === 0;
    for (let i = start; i < end; i++) {
      if (chunk[i] !== HASH) continue;
      events++;
      if (sampling && i + stampDigits < end) this.#sample(chunk, i + 1);
    }
    if (events === 0) return;
    const now = performance.now() + performance.timeOrigin;
    if (this.firstEventAt === 0) {
      this.firstEventAt = now;
      setTimeout(() => this.finish(), this.deadlineMs);
    }
    this.lastEventAt = now;
    this.totalEvents += events;
    const before = this.counts[index];
    this.counts[index] += events;
    if (before < this.expect && this.counts[index] >= this.expect && ++this.finishedClients === this.clients) this.finish();
  }

  #sample(chunk: Uint8Array, offset: number): void {
    let stamp = 0;
    for (let i = 0; i < stampDigits; i++) {
      const digit = chunk[offset + i] - 0x30;
      if (digit < 0 || digit > 9) return; // not a stamped payload
      stamp = stamp * 10 + digit;
    }
    this.#latencies.push((nowMicroseconds() - stamp) / 1000);
  }

  finish(): void {
    const sorted = Float64Array.from(this.#latencies).sort();
    const percentile = (p: number) => sorted.length === 0 ? null : sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))];
    console.log("RESULT " + JSON.stringify({
      clients: this.clients,
      expect: this.expect,
      totalEvents: this.totalEvents,
      finishedClients: this.finishedClients,
      minPerClient: this.counts.reduce((min, count) => Math.min(min, count), Infinity),
      firstEventAt: this.firstEventAt,
      lastEventAt: this.lastEventAt,
      latencySamples: sorted.length,
      latencyP50Ms: percentile(0.5),
      latencyP99Ms: percentile(0.99),
    }));
    this.#onFinish();
    process.exit(0);
  }
}

/** Opens `count` clients in waves of 100 (every 10 ms) so the listen backlog never overflows. */
export async function openInWaves(count: number, open: (index: number) => void): Promise<void> {
  for (let index = 0; index < count; index++) {
    open(index);
    if (index % 100 === 99) await new Promise((resolve) => setTimeout(resolve, 10));
  }
}
