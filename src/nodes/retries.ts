// Retries and redirections for the calls of a client made of many nodes (publish, subscribe, a
// member's move): which failures another attempt can cure, how long to wait before it, and what the
// source must learn in between (a MOVED names the new owner; a lost node calls for a fresh read).
// Rule: only the first MOVED is followed at once; everything retryable after it waits an exponential
// backoff with full jitter (the reconnect policy's) and reads the source again.
import { ClosedError, ConnectionError, PushwireError, ReplyError } from "../errors.ts";
import { defaultReconnect, type ResolvedReconnect } from "../options.ts";
import { backoffDelayMs } from "../reconnect.ts";
import type { Lifetime } from "./lifetime.ts";
import { isConnectionFailure } from "./node_pool.ts";
import type { NodeSource } from "./node_source.ts";

/** Server errors that a fresh topology or a short wait can cure. */
const retryableServerCodes = new Set(["MOVED", "ASK", "TRYAGAIN", "CLUSTERDOWN", "LOADING", "MASTERDOWN"]);

export class Retries {
  /** MOVED replies followed. */
  redirections = 0;

  /** `label` names the client in the give-up error ("cluster"); `policy` paces the waits. */
  constructor(
    readonly lifetime: Lifetime,
    readonly source: NodeSource,
    readonly policy: ResolvedReconnect | undefined,
    readonly label: string,
  ) {}

  /**
   * Runs `attempt` until it succeeds, at most `attempts` times. The first redirection (MOVED) retries
   * at once (the source learnt the new owner from it, and a refresh starts); further MOVEDs, lost nodes, topology holes and cluster-state
   * errors retry after a backoff and a fresh read; anything else is thrown as it is. `afterLoss`: the
   * node that served it is suspect, so the source is read before the first attempt too.
   */
  async run<T>(what: string, attempts: number, attempt: () => Promise<T>, afterLoss = false): Promise<T> {
    let lastError: unknown;
    let sleeps = 0;
    let redirected = false;
    for (let tries = 0; tries < attempts; tries++) {
      this.lifetime.assertOpen();
      if (afterLoss && tries === 0) {
        // Shared with other movers: one fresh read answers them all.
        await this.source.fresh().catch(() => {});
      }
      try {
        return await attempt();
      } catch (error) {
        if (this.lifetime.closed) throw new ClosedError(this.lifetime.closedMessage);
        lastError = error;
        if (this.source.redirect(error)) {
          this.redirections++;
          // Only the first MOVED is followed at once. Another one means the nodes disagree (two
          // primaries answering MOVED to each other, e.g. a slot set by hand with SETSLOT NODE, until
          // someone fixes it): followed at once, that ping-pong spent every attempt (the whole
          // reconnect policy of a moving subscription) within ~40 ms. It waits like TRYAGAIN below.
          if (!redirected) {
            redirected = true;
            this.lifetime.track(this.source.refresh());
            continue;
          }
        }
        if (!isRetryable(error)) throw error;
        await this.lifetime.sleep(backoffDelayMs(this.policy ?? defaultReconnect, sleeps++));
        await this.source.refresh().catch(() => {});
      }
    }
    const message = (lastError as Error)?.message ?? String(lastError);
    if (lastError instanceof PushwireError && !(lastError instanceof ConnectionError)) throw lastError;
    throw new ConnectionError(`${this.label} ${what}: gave up after ${attempts} attempt(s): ${message}`, { cause: lastError });
  }
}

function isRetryable(error: unknown): boolean {
  if (isConnectionFailure(error)) return true;
  return error instanceof ReplyError && retryableServerCodes.has(error.serverCode);
}
