// Discovery as placement and retries see it: a source that says which node should serve a member
// now (the cluster topology: the owner of a slot or any node; the sentinels: any sentinel), and the
// one loop every source uses to ask its candidate nodes in turn.
// Rule: a source only answers "where"; connecting is the node pool's job, moving is placement's.
// When every node refused for a reason another attempt cannot fix (its certificate, our
// credentials), that reason is the error, not a ConnectionError that lists it (finalRefusal).
import { ReplyError, TlsError } from "../errors.ts";
import { isFinalFailure } from "../reconnect.ts";

/** What placement and retries need from discovery. */
export interface NodeSource {
  /** "host:port" that should serve a member now: the owner of `slot`, or (no slot) any node. */
  addressFor(slot: number | undefined): Promise<string>;
  /** Reads the source again (single flight: concurrent callers share one read). */
  refresh(): Promise<unknown>;
  /** A read that starts after this call (one in flight may predate what made the caller ask). */
  fresh(): Promise<unknown>;
  /**
   * Learns from a failed attempt's error if it says who serves it now (a cluster's MOVED: newer news
   * than the last read, kept until the next); true when it did.
   */
  redirect(error: unknown): boolean;
}

/** One refusal: which node, and what it said (or why it could not be asked). */
export interface Refusal {
  address: string;
  error: Error;
}

/**
 * Asks `ask(address)` of each address in order until one answers; `assertOpen` runs before each try
 * (its throw ends the loop: the client closed). Without an answer, every refusal, in order.
 */
export async function askInTurn<T>(
  addresses: Iterable<string>,
  ask: (address: string) => Promise<T>,
  assertOpen: () => void,
): Promise<{ answer: T } | { refusals: Refusal[] }> {
  const refusals: Refusal[] = [];
  for (const address of addresses) {
    assertOpen();
    try {
      return { answer: await ask(address) };
    } catch (error) {
      assertOpen();
      refusals.push({ address, error: error instanceof Error ? error : new Error(String(error)) });
    }
  }
  return { refusals };
}

/** The refusals as the lines of an error message: "  host:port: what it said". */
export function describeRefusals(refusals: readonly Refusal[]): string {
  return refusals.map((refusal) => `  ${refusal.address}: ${refusal.error.message}`).join("\n");
}

/**
 * The error to give when every node refused for the same final reason: a TlsError when every
 * certificate was refused, the ReplyError when every node refused our credentials (or another final
 * failure), said as `who(address, refused)`'s, of the first refusal's node; undefined when any
 * refusal may pass on another attempt. `reword` adapts the TLS advice to the caller's option names.
 */
export function finalRefusal(
  refusals: readonly Refusal[],
  who: (address: string, refused: "certificate" | "credentials") => string,
  reword: (message: string) => string = (message) => message,
): TlsError | ReplyError | undefined {
  if (refusals.length === 0) return undefined;
  const { address, error } = refusals[0];
  if (refusals.every((refusal) => refusal.error instanceof TlsError)) {
    const tls = error as TlsError;
    return new TlsError(tls.reason, `${who(address, "certificate")}: ${reword(tls.message)}`, { cause: tls });
  }
  if (refusals.every((refusal) => refusal.error instanceof ReplyError && isFinalFailure(refusal.error))) {
    const code = (error as ReplyError).serverCode;
    return new ReplyError(error.message.slice(Math.max(0, error.message.indexOf(code))), who(address, "credentials"));
  }
  return undefined;
}
