// The PING health check of one connection: it notices a server that went silent without closing the
// socket (a paused process, a half-open TCP connection after a network cut) and fails the connection
// so that the client reconnects.
// Rule: a connection is declared dead only when it received NO bytes for a whole interval while a
// PING was outstanding, so a silent server is noticed within 2 × intervalMs and a busy one (whose
// PONG waits behind a flood of messages) never is. While the client itself stopped reading (overflow
// "pause") nothing is judged: the silence is ours.
import { TimeoutError } from "./errors.ts";

/** What the health check needs from a connection. */
export interface HealthTarget {
  /** Sends a PING (RESP3: +PONG reply; RESP2 subscriber mode: a ["pong", ""] push). */
  ping(): Promise<unknown>;
  /** Bytes received so far (any byte proves the server is alive). */
  readonly bytesReceived: number;
  /** True while the client stopped reading the socket. */
  readonly paused: boolean;
  /** Closes the connection as lost with `error`. */
  fail(error: Error): void;
}

export class HealthCheck {
  readonly #intervalMs: number;
  readonly #target: HealthTarget;
  #timer: ReturnType<typeof setInterval> | undefined;
  #outstanding = false;
  #bytesAtCheck = 0;

  constructor(intervalMs: number, target: HealthTarget) {
    this.#intervalMs = intervalMs;
    this.#target = target;
  }

  /** Starts the periodic check (no-op when the interval is 0). */
  start(): void {
    if (this.#intervalMs <= 0 || this.#timer !== undefined) return;
    this.#timer = setInterval(() => this.#tick(), this.#intervalMs);
  }

  /** Stops it for good. Idempotent. */
  stop(): void {
    clearInterval(this.#timer);
    this.#timer = undefined;
  }

  #tick(): void {
    const target = this.#target;
    const received = target.bytesReceived;
    if (target.paused) {
      this.#outstanding = false; // judged again from scratch once reading resumes
      return;
    }
    if (this.#outstanding) {
      if (received === this.#bytesAtCheck) {
        this.stop();
        target.fail(new TimeoutError(
          `the server did not answer a health-check PING within ${this.#intervalMs} ms ` +
            `(healthCheckIntervalMs) and sent nothing else: the connection is considered dead`,
        ));
        return;
      }
      // Bytes are still arriving: the PONG is queued behind them. Look again next interval.
      this.#bytesAtCheck = received;
      return;
    }
    this.#outstanding = true;
    this.#bytesAtCheck = received;
    target.ping().then(
      () => (this.#outstanding = false),
      () => {
        // The connection ended meanwhile; its own loss is reported elsewhere.
      },
    );
  }
}
