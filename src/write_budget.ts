// Adaptive batching of socket writes, shared by every sse() stream and (on Deno) every pushwire/ws
// socket of the process: one budget, so SSE and WebSocket fan-out in one process share its writes.
// Rule: a writer with something waiting (and a socket that may take it) asks for a write; writes are
// granted at up to `writesPerSecond` for the whole process, first come first served. While the process
// writes less than that, a writer writes at once (in the same turn, after the socket read that brought
// the messages: every message of one read goes out as one chunk, or one batch frame; take() is the
// same grant made synchronously, for a writer with nothing waiting). Past it, the writers wait in line
// and what they take meanwhile goes out with their next write: 10,000 streams on a 100 msgs/s channel
// then write ~30 events per chunk instead of one, and the write rate, not the event rate, sets the CPU.
// Why writes and not events: a chunk is one socket write (a syscall and, on loopback, the receiver's
// TCP work too), ~2–10 µs of server CPU whatever its size up to a few KiB, while an event already
// encoded costs a copy of ~100 bytes.

/** A writer that can be asked to write what waits (src/sse.ts EventStream, src/sse/feed.ts, src/ws/deno.ts). */
export interface BudgetedWriter {
  /** Set by the budget while the writer waits in line (one place in line per writer). */
  waitingForWrite: boolean;
  /**
   * Write what waits now, as one chunk (or nothing, if the stream ended or the body is full). A writer
   * for many streams (src/sse/feed.ts) may make up to `writes` writes and says how many it made.
   */
  writeGranted(writes: number): number | void;
}

/**
 * Writes per second the process grants its writers (sse() streams, Deno's ws sockets) before they wait
 * in line (default). Measured on a 2-core VM (bench/README.md, "SSE fan-out at 10,000 streams"):
 * 10,000 streams × 100 msgs/s are delivered in full at 0.41–0.46 core on Bun and 0.61–0.65 on Deno
 * (50,000: 0.49–0.53 / 0.79–0.83; 100,000: 0.83 / 1.02), and a writer waits at most
 * ~writers / 35,000 s (p50/p99 ~145/285 ms at 10,000 busy streams; nothing waits below the budget).
 */
export const defaultWritesPerSecond = 35_000;

/** Tokens saved up while idle: a burst after a quiet spell waits for nothing up to this many writes. */
const burstMs = 10;
/** How often waiting writers get their share when the budget is spent. */
const tickMs = 5;

export class WriteBudget {
  readonly #writesPerSecond: number;
  readonly #burst: number;
  readonly #now: () => number;
  #tokens: number;
  #refilledAt: number;
  #waiting: (BudgetedWriter | undefined)[] = [];
  #head = 0;
  #turnQueued = false;
  #timer: ReturnType<typeof setInterval> | undefined;

  constructor(writesPerSecond: number = defaultWritesPerSecond, now: () => number = () => performance.now()) {
    this.#writesPerSecond = writesPerSecond;
    this.#burst = Math.max(1, (writesPerSecond * burstMs) / 1000);
    this.#now = now;
    this.#tokens = this.#burst;
    this.#refilledAt = now();
  }

  /** Writers waiting in line now. */
  get waiting(): number {
    return this.#waiting.length - this.#head;
  }

  /**
   * One write now, for a writer with nothing in line: true (and the write is counted) when nobody waits
   * and the budget has one; false: the caller waits in line with request() instead. Taking a place
   * before the writers in line would let a busy writer overtake them for ever, hence "nobody waits".
   */
  take(): boolean {
    if (this.#head < this.#waiting.length) return false;
    this.#refill();
    if (this.#tokens < 1) return false;
    this.#tokens--;
    return true;
  }

  /** Asks for a write; granted in this turn when the budget allows, else in line. Idempotent while waiting. */
  request(writer: BudgetedWriter): void {
    if (writer.waitingForWrite) return;
    writer.waitingForWrite = true;
    this.#waiting.push(writer);
    if (this.#turnQueued || this.#timer !== undefined) return;
    this.#turnQueued = true;
    queueMicrotask(this.#grant);
  }

  #grant = (): void => {
    this.#turnQueued = false;
    this.#refill();
    const waiting = this.#waiting;
    while (this.#head < waiting.length && this.#tokens >= 1) {
      const writer = waiting[this.#head]!;
      waiting[this.#head++] = undefined;
      writer.waitingForWrite = false;
      const made = writer.writeGranted(Math.floor(this.#tokens));
      this.#tokens -= typeof made === "number" ? Math.max(1, made) : 1;
    }
    if (this.#head === waiting.length) {
      waiting.length = 0;
      this.#head = 0;
      if (this.#timer !== undefined) clearInterval(this.#timer);
      this.#timer = undefined;
      return;
    }
    if (this.#head > 1024 && this.#head * 2 > waiting.length) {
      this.#waiting = waiting.slice(this.#head);
      this.#head = 0;
    }
    // One interval for as long as writers wait, not a timeout set again from its own callback: on
    // Bun 1.4.5 with 10,000 open SSE responses the latter cost ~3 ms of CPU per tick (a Bun CPU
    // profile puts half the process's samples in that setTimeout call; at 200 ticks/s that was half
    // a core), while the interval costs what its callback does (bench/README.md, 10,000 streams).
    this.#timer ??= setInterval(this.#grant, tickMs);
  };

  #refill(): void {
    const now = this.#now();
    this.#tokens = Math.min(this.#burst, this.#tokens + ((now - this.#refilledAt) * this.#writesPerSecond) / 1000);
    this.#refilledAt = now;
  }
}

/** The one budget every sse() stream and every Deno pushwire/ws socket of this process shares. */
export const sharedWriteBudget: WriteBudget = new WriteBudget();
