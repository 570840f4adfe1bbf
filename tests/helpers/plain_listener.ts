// A plain TCP listener on 127.0.0.1 standing in for a server, to see what a client puts on the wire
// before any answer (TLS tests: the first byte must be a TLS ClientHello and no password may travel
// in clear; Sentinel and cluster node connections follow the same rule). It records every byte of
// every connection and never answers. By default it ends a connection a moment after its first
// bytes (a client waiting for a TLS reply then fails at once, and whatever it sends at once has
// arrived); `hold: true` keeps connections open and silent (connect timeouts).
// Rule: close() destroys every socket it accepted and stops listening, so nothing outlives a test.
import net from "node:net";
import { concat } from "./raw_resp.ts";

export interface PlainListenerOptions {
  /** Keep each connection open, never answering (default: end it `endAfterMs` after its first bytes). */
  hold?: boolean;
  /** How long after a connection's first bytes it is ended (default 100 ms). */
  endAfterMs?: number;
}

const encoder = new TextEncoder();

export class PlainListener {
  /** The bytes received on each accepted connection, in order of acceptance. */
  readonly received: Uint8Array[][] = [];
  readonly #sockets: net.Socket[] = [];
  readonly #closed: Promise<void>[] = [];
  readonly #timers = new Set<ReturnType<typeof setTimeout>>();
  #endedByClient = 0;
  readonly #endedByUs = new WeakSet<net.Socket>();

  private constructor(readonly server: net.Server, readonly port: number, readonly options: PlainListenerOptions) {}

  static start(options: PlainListenerOptions = {}): Promise<PlainListener> {
    return new Promise((resolve, reject) => {
      const server = net.createServer();
      server.once("error", reject);
      server.listen(0, "127.0.0.1", () => {
        const listener = new PlainListener(server, (server.address() as net.AddressInfo).port, options);
        server.on("connection", (socket: net.Socket) => listener.#accept(socket));
        resolve(listener);
      });
    });
  }

  #accept(socket: net.Socket): void {
    const chunks: Uint8Array[] = [];
    this.received.push(chunks);
    this.#sockets.push(socket);
    this.#closed.push(new Promise((resolve) => socket.once("close", () => resolve())));
    socket.on("error", () => {
      // The client reset the connection: expected when it gives up.
    });
    socket.once("close", () => {
      if (!this.#endedByUs.has(socket)) this.#endedByClient++;
    });
    socket.on("data", (chunk: Uint8Array) => {
      if (chunks.length === 0 && !this.options.hold) {
        const timer = setTimeout(() => {
          this.#timers.delete(timer);
          this.#endedByUs.add(socket);
          socket.destroy();
        }, this.options.endAfterMs ?? 100);
        this.#timers.add(timer);
      }
      chunks.push(new Uint8Array(chunk));
    });
  }

  /** Connections the client closed (FIN or reset) before this listener ended them. */
  get endedByClient(): number {
    return this.#endedByClient;
  }

  /** host:port URL with this scheme, e.g. url("rediss", ":secret@"). */
  url(scheme = "redis", credentials = ""): string {
    return `${scheme}://${credentials}127.0.0.1:${this.port}`;
  }

  /** The first byte of each connection that sent something. */
  firstBytes(): number[] {
    return this.received.filter((chunks) => chunks.length > 0).map((chunks) => chunks[0][0]);
  }

  /** Every byte of every connection, one after the other. */
  allBytes(): Uint8Array {
    return concat(this.received.flat());
  }

  /** True when `needle` (text as UTF-8, or bytes) occurs anywhere in what was received. */
  includes(needle: string | Uint8Array): boolean {
    const pattern = typeof needle === "string" ? encoder.encode(needle) : needle;
    const haystack = this.allBytes();
    outer: for (let start = 0; start + pattern.length <= haystack.length; start++) {
      for (let index = 0; index < pattern.length; index++) if (haystack[start + index] !== pattern[index]) continue outer;
      return true;
    }
    return false;
  }

  async close(): Promise<void> {
    for (const timer of this.#timers) clearTimeout(timer);
    this.#timers.clear();
    for (const socket of this.#sockets) {
      this.#endedByUs.add(socket);
      socket.destroy();
    }
    await Promise.all(this.#closed);
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }
}
