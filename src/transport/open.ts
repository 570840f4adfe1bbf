// Picks the socket implementation of the runtime we run on. Rule: the matching one is imported lazily,
// so the other runtime's globals never load; bun.ts and deno.ts import only transport.ts, never this.
import type { OpenTransport, Transport, TransportHandlers, TransportTarget } from "./transport.ts";

declare const Bun: unknown;

let opener: Promise<OpenTransport> | undefined;

/**
 * Opens a socket with the current runtime's implementation; with TLS, resolves only after the
 * server's certificate passed. Rejects with ConnectionError (TlsError for a failed handshake).
 */
export async function openTransport(target: TransportTarget, handlers: TransportHandlers): Promise<Transport> {
  opener ??= typeof Bun !== "undefined"
    ? import("./bun.ts").then((module) => module.openTransport)
    : import("./deno.ts").then((module) => module.openTransport);
  return (await opener)(target, handlers);
}
