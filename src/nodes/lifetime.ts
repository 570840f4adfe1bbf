// The lifetime of a client made of many node clients (ClusterClient, or any client of that kind): one
// "closed" flag for all its parts, the background work they start (moves, refreshes, UNSUBSCRIBEs,
// node closes) and the backoff sleeps that close() must cut short.
// Rule: work started in the background is tracked here, so close() can wait for all of it and no
// rejection goes unobserved; every sleep ends at close().
import { ClosedError } from "../errors.ts";

export class Lifetime {
  #closed = false;
  readonly #background = new Set<Promise<unknown>>();
  readonly #sleepers = new Set<{ timer: ReturnType<typeof setTimeout>; wake: () => void }>();

  /** `closedMessage`: what a call after close() is told (names the function that makes a new client). */
  constructor(readonly closedMessage: string) {}

  get closed(): boolean {
    return this.#closed;
  }

  assertOpen(): void {
    if (this.#closed) throw new ClosedError(this.closedMessage);
  }

  /** Runs `work` in the background: its failure is ignored, close() waits for it. */
  track(work: Promise<unknown>): void {
    const tracked = work.catch(() => {}).finally(() => this.#background.delete(tracked));
    this.#background.add(tracked);
  }

  /** A backoff sleep that end() wakes at once. */
  sleep(delayMs: number): Promise<void> {
    return new Promise((resolve) => {
      const sleeper = {
        timer: setTimeout(() => {
          this.#sleepers.delete(sleeper);
          resolve();
        }, delayMs),
        wake: resolve,
      };
      this.#sleepers.add(sleeper);
    });
  }

  /** From now on the client is closed: every sleep ends now (its loop then sees `closed`). */
  end(): void {
    this.#closed = true;
    for (const sleeper of this.#sleepers) {
      clearTimeout(sleeper.timer);
      sleeper.wake();
    }
    this.#sleepers.clear();
  }

  /** Resolves once no background work is left (work that starts more work is waited for too). */
  async settled(): Promise<void> {
    while (this.#background.size > 0) await Promise.all([...this.#background]);
  }
}
