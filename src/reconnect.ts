// Reconnection policy, kept apart from the client: the backoff schedule, which failures are worth
// another attempt, and a sleep that close() can cut short.
// Rule: exponential backoff with FULL jitter (a uniform delay in [0, min(max, initial·2^attempt)]),
// so clients cut off together do not come back in lockstep; an authentication failure is final —
// retrying a wrong password only floods the server's log — and so are a failed TLS handshake (a
// refused certificate does not become valid by asking again) and a refused argument (e.g. a Sentinel
// master name that no sentinel knows, a TLS option this runtime cannot honour).
import { InvalidArgumentError, ReplyError, TlsError } from "./errors.ts";
import type { ResolvedReconnect } from "./options.ts";

/** The delay before attempt number `attempt` (0-based). */
export function backoffDelayMs(policy: ResolvedReconnect, attempt: number, random: () => number = Math.random): number {
  const ceiling = Math.min(policy.maxDelayMs, policy.initialDelayMs * 2 ** Math.min(attempt, 30));
  return random() * ceiling;
}

const finalServerCodes = new Set(["WRONGPASS", "NOAUTH", "NOPERM"]);

/**
 * True for failures another attempt cannot fix: refused credentials or permissions, a TLS handshake
 * that failed (TlsError), a refused argument (InvalidArgumentError: a Sentinel master name no
 * sentinel knows, a TLS option this runtime cannot honour).
 */
export function isFinalFailure(error: unknown): boolean {
  if (error instanceof TlsError || error instanceof InvalidArgumentError) return true;
  return error instanceof ReplyError && finalServerCodes.has(error.serverCode);
}

/** One pending backoff sleep; wake() ends it early (close() during reconnection). */
export class BackoffTimer {
  #timer: ReturnType<typeof setTimeout> | undefined;
  #wake: (() => void) | undefined;

  sleep(delayMs: number): Promise<void> {
    this.wake();
    return new Promise((resolve) => {
      this.#wake = resolve;
      this.#timer = setTimeout(() => {
        this.#timer = undefined;
        this.#wake = undefined;
        resolve();
      }, delayMs);
    });
  }

  /** Ends the current sleep now (it resolves) and clears its timer. */
  wake(): void {
    clearTimeout(this.#timer);
    this.#timer = undefined;
    const wake = this.#wake;
    this.#wake = undefined;
    wake?.();
  }
}

/**
 * `work`, or a rejection with `signal.reason` as soon as the signal aborts (at once if it already
 * did). After an abort, what `work` still produces goes to `discard` (a connection that opened late
 * is closed there), so nothing stays open behind the caller's back.
 */
export async function abortable<T>(work: Promise<T>, signal: AbortSignal | undefined, discard: (value: T) => void): Promise<T> {
  if (signal === undefined) return work;
  let onAbort: (() => void) | undefined;
  const aborted = new Promise<never>((_, reject) => {
    onAbort = () => reject(signal.reason);
    if (signal.aborted) onAbort();
    else signal.addEventListener("abort", onAbort, { once: true });
  });
  try {
    return await Promise.race([work, aborted]);
  } catch (error) {
    if (signal.aborted) work.then(discard, () => {});
    throw error;
  } finally {
    signal.removeEventListener("abort", onAbort!);
  }
}
