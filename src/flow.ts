// Flow control shared by subscriptions (src/subscription.ts) and SSE streams (src/sse.ts): the rule
// that makes loss a property of a stalled consumer, never of a burst.
// Rule: a consumer whose queue is above its high-water mark holds its connection's reading (TCP
// backpressure then reaches the server) and lets go once it drained below its low-water mark. A hold
// that lasts `slowConsumerMs` without that drain means the consumer is stalled — it takes nothing, or
// takes too slowly to catch up: it lets go at once, so one slow consumer holds up nobody for long, and
// its own bounded queue takes what comes (its overflow policy, drop-oldest by default). It rejoins the
// pacing once it drained. Nothing here runs per message: the consumer calls `above()` / `below()` only
// when it crosses a mark, and the stall check is a timer that exists only while the consumer holds.
//
// Why a hold is bounded in time and not only "while nothing is taken": a consumer that keeps taking,
// but slower than messages come (a browser on a slow link, a worker doing I/O per message), would
// otherwise hold the connection — every other subscription and stream on it — at its pace for as
// long as the burst lasts, while the server's output buffer for the connection grows until the
// server cuts it (client-output-buffer-limit pubsub: 32 MiB at once, or 8 MiB for 60 s), and then
// every subscription on it loses messages. Bounded, the backlog moves into that one consumer's queue.

/** What a Pacer needs from the consumer it watches. */
export interface PacedConsumer {
  /** Start holding the connection's reading (called in pairs with `release`). */
  hold(): void;
  /** Stop holding it. */
  release(): void;
  /** Called once each time the consumer is found stalled (after it let go). */
  stalled(): void;
}

/** The stall check runs this many times per slowConsumerMs: a hold is found stalled within 1.25 × slowConsumerMs. */
const checksPerWindow = 4;

export class Pacer {
  readonly #slowConsumerMs: number;
  readonly #consumer: PacedConsumer;
  #holding = false;
  #stalled = false;
  #stopped = false;
  #timer: ReturnType<typeof setTimeout> | undefined;
  /** Counts holds; the check compares it to tell one long hold from a run of short ones. */
  #holdNumber = 0;
  #checkedHold = 0;
  #checksOfHold = 0;
  #stalls = 0;

  /**
   * `slowConsumerMs`: how long one hold may last; 0 means the consumer never holds (every crossing of
   * the high-water mark stalls it at once: the queue bounds decide). `Infinity`: it never stalls
   * (overflow "pause").
   */
  constructor(slowConsumerMs: number, consumer: PacedConsumer) {
    this.#slowConsumerMs = slowConsumerMs;
    this.#consumer = consumer;
  }

  /** Holding the connection's reading now. */
  get holding(): boolean {
    return this.#holding;
  }

  /** Found stalled and not drained since: it does not hold, its queue bounds apply. */
  get stalled(): boolean {
    return this.#stalled;
  }

  /** How many times the consumer was found stalled. */
  get stalls(): number {
    return this.#stalls;
  }

  /** The queue went above the high-water mark: hold, unless stalled (then the queue bounds decide). */
  above(): void {
    if (this.#holding || this.#stalled || this.#stopped) return;
    if (this.#slowConsumerMs === 0) {
      this.#stall();
      return;
    }
    this.#holding = true;
    this.#holdNumber++;
    this.#consumer.hold();
    if (this.#timer === undefined && this.#slowConsumerMs !== Infinity) {
      this.#checkedHold = this.#holdNumber;
      this.#checksOfHold = 0;
      this.#timer = setTimeout(this.#check, this.#slowConsumerMs / checksPerWindow);
    }
  }

  /** The queue drained below the low-water mark: let go, and a stalled consumer rejoins the pacing. */
  below(): void {
    this.#stalled = false;
    if (!this.#holding) return;
    this.#holding = false;
    this.#consumer.release();
  }

  /** The queue went over a hard bound (messages or bytes): stalled at once, whatever the clock says. */
  overBound(): void {
    if (this.#slowConsumerMs === Infinity || this.#stalled || this.#stopped) return;
    this.#stall();
  }

  /** The consumer ended: no timer, no hold, now or later. Idempotent. */
  stop(): void {
    this.#stopped = true;
    clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#stalled = false;
    if (this.#holding) {
      this.#holding = false;
      this.#consumer.release();
    }
  }

  /** The same hold seen at `checksPerWindow` checks in a row: it lasted at least slowConsumerMs. */
  #check = (): void => {
    this.#timer = undefined;
    if (!this.#holding) return;
    if (this.#holdNumber !== this.#checkedHold) {
      this.#checkedHold = this.#holdNumber;
      this.#checksOfHold = 0;
    } else if (++this.#checksOfHold >= checksPerWindow) {
      this.#stall();
      return;
    }
    this.#timer = setTimeout(this.#check, this.#slowConsumerMs / checksPerWindow);
  };

  #stall(): void {
    clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#stalled = true;
    this.#stalls++;
    if (this.#holding) {
      this.#holding = false;
      this.#consumer.release();
    }
    this.#consumer.stalled();
  }
}
