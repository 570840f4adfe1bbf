// Sockets on Bun (Bun.connect): TCP, TLS and unix. Loaded only on Bun (see open.ts).
// Rule: socket.write() may take fewer bytes than offered; the rest waits in `#pending` and goes out
// on the `drain` callback, in order, before anything written later.
import { ConnectionError } from "../errors.ts";
import type { TlsOptions } from "../options.ts";
import { tlsFailure } from "./tls_failure.ts";
import type { Transport, TransportHandlers, TransportTarget } from "./transport.ts";
import { describeEndpoint } from "./transport.ts";

// deno-lint-ignore no-explicit-any
declare const Bun: any;
// deno-lint-ignore no-explicit-any
type BunSocket = any;

class BunTransport implements Transport {
  socket: BunSocket | undefined;
  #pending: Uint8Array[] = [];
  #pendingBytes = 0;
  #paused = false;
  #closeRequested = false;
  #closed = false;
  #closedPromise: Promise<void>;
  #resolveClosed!: () => void;

  constructor(readonly handlers: TransportHandlers) {
    this.#closedPromise = new Promise((resolve) => (this.#resolveClosed = resolve));
  }

  get pendingWriteBytes(): number {
    return this.#pendingBytes;
  }

  write(bytes: Uint8Array): void {
    if (this.#closed || this.#closeRequested || bytes.length === 0) return;
    if (this.#pending.length > 0) {
      this.#queue(bytes);
      return;
    }
    const written = Math.max(0, this.socket.write(bytes) as number);
    if (written < bytes.length) this.#queue(bytes.subarray(written));
  }

  #queue(bytes: Uint8Array): void {
    this.#pending.push(bytes);
    this.#pendingBytes += bytes.length;
  }

  /** Bun's drain callback: the socket can take more. */
  flush(): void {
    while (this.#pending.length > 0 && !this.#closed) {
      const head = this.#pending[0];
      const written = Math.max(0, this.socket.write(head) as number);
      this.#pendingBytes -= written;
      if (written < head.length) {
        this.#pending[0] = head.subarray(written);
        return;
      }
      this.#pending.shift();
    }
  }

  pause(): void {
    if (this.#paused || this.#closed) return;
    this.#paused = true;
    this.socket.pause();
  }

  resume(): void {
    if (!this.#paused || this.#closed) return;
    this.#paused = false;
    this.socket.resume();
  }

  /** Set while openTransport waits for the TLS handshake: the socket ended before it finished. */
  onFinish: (() => void) | undefined;

  /** Called by every path that ends the socket; reports the end once. */
  finish(error: Error | undefined): void {
    if (this.#closed) return;
    this.#closed = true;
    this.onFinish?.();
    this.#pending = [];
    this.#pendingBytes = 0;
    this.#resolveClosed();
    this.handlers.onClose(this.#closeRequested ? undefined : error);
  }

  async close(): Promise<void> {
    if (!this.#closed && !this.#closeRequested) {
      this.#closeRequested = true;
      // terminate(): pending writes are not wanted once the client decided to close.
      this.socket?.terminate();
    }
    await this.#closedPromise;
  }
}

export async function openTransport(target: TransportTarget, handlers: TransportHandlers): Promise<Transport> {
  const transport = new BunTransport(handlers);
  const where = describeEndpoint(target.endpoint);
  const tls = target.tls;
  const handshake = tls === undefined ? undefined : new Handshake(where, tls.rejectUnauthorized === false);
  const socketHandlers = {
    binaryType: "uint8array",
    data(_socket: BunSocket, chunk: Uint8Array) {
      // Bun copies every read into a new Uint8Array (its receive buffer is its own and reused), so a
      // chunk that onData keeps stays as it is with nothing more to do (tests/integration/transport).
      handlers.onData(chunk);
    },
    drain() {
      transport.flush();
    },
    handshake(_socket: BunSocket, authorized: boolean, error: BunTlsError | null) {
      handshake?.settle(authorized, error); // openTransport ends a refused socket
    },
    end(socket: BunSocket) {
      // The server sent FIN: nothing more will come, so end our side too.
      socket.end();
      transport.finish(new ConnectionError(`the server at ${where} closed the connection`));
    },
    close(_socket: BunSocket, error?: Error) {
      transport.finish(new ConnectionError(`the connection to ${where} closed${error ? `: ${error.message}` : ""}`, {
        cause: error,
      }));
    },
    error(_socket: BunSocket, error: Error) {
      transport.finish(new ConnectionError(`socket error on ${where}: ${error.message}`, { cause: error }));
    },
    connectError(_socket: BunSocket, _error: Error) {
      // Bun.connect rejects right after this; the rejection below carries the reason.
    },
  };
  // A socket that ends before its handshake finished (also before Bun.connect resolved) fails it.
  if (handshake !== undefined) {
    transport.onFinish = () => handshake.fail(new ConnectionError(`the connection to ${where} closed during the TLS handshake`));
  }
  try {
    transport.socket = target.endpoint.kind === "unix"
      ? await Bun.connect({ unix: target.endpoint.path, socket: socketHandlers })
      : await Bun.connect({
        hostname: target.endpoint.host,
        port: target.endpoint.port,
        tls: tls === undefined ? false : bunTlsOptions(tls),
        socket: socketHandlers,
      });
  } catch (error) {
    throw new ConnectionError(`could not connect to ${where}: ${(error as Error).message}`, { cause: error });
  }
  if (handshake !== undefined) {
    // Bun.connect resolves once TCP is up; nothing may be written before the server's certificate
    // passed, so the transport is handed out only after the handshake.
    try {
      await handshake.wait(target.signal);
    } catch (error) {
      transport.socket.terminate();
      throw error;
    } finally {
      transport.onFinish = undefined;
    }
  }
  return transport;
}

/** The error object Bun passes to the handshake callback (a Node-style TLS error). */
interface BunTlsError {
  code?: string;
  message?: string;
}

/**
 * Bun 1.4.5 takes a tls object in which no field is defined (`{}` included) for "no TLS" and
 * connects in plain text: rejectUnauthorized is therefore always given, and nothing undefined is.
 */
function bunTlsOptions(tls: TlsOptions): Record<string, unknown> {
  const options: Record<string, unknown> = { rejectUnauthorized: tls.rejectUnauthorized !== false };
  if (tls.ca !== undefined) options.ca = tls.ca;
  if (tls.cert !== undefined) options.cert = tls.cert;
  if (tls.key !== undefined) options.key = tls.key;
  if (tls.servername !== undefined) options.serverName = tls.servername;
  return options;
}

/** The outcome of one TLS handshake, awaited by openTransport and settled by Bun's callbacks. */
class Handshake {
  #outcome: Promise<void>;
  #resolve!: () => void;
  #reject!: (error: Error) => void;
  #settled = false;

  constructor(readonly where: string, readonly verificationOff: boolean) {
    this.#outcome = new Promise((resolve, reject) => {
      this.#resolve = resolve;
      this.#reject = reject;
    });
    this.#outcome.catch(() => {}); // observed by wait(); a failure before it is called is not unhandled
  }

  /**
   * Bun's verdict. With rejectUnauthorized: false a certificate that could not be verified is
   * accepted (the caller asked for that by name); a failed handshake never is.
   */
  settle(authorized: boolean, error: BunTlsError | null): void {
    const detail = error === null ? "" : [error.code, error.message].filter(Boolean).join(": ");
    const failure = authorized ? undefined : tlsFailure(this.where, detail || "not authorized", error);
    if (failure === undefined || (this.verificationOff && failure.reason !== "handshake")) this.#finish();
    else this.fail(failure);
  }

  fail(error: Error): void {
    if (this.#settled) return;
    this.#settled = true;
    this.#reject(error);
  }

  #finish(): void {
    if (this.#settled) return;
    this.#settled = true;
    this.#resolve();
  }

  /** Resolves when the handshake passed; rejects with its failure, or with signal.reason on abort. */
  async wait(signal: AbortSignal | undefined): Promise<void> {
    if (signal === undefined) return this.#outcome;
    signal.throwIfAborted();
    const onAbort = () => this.fail(signal.reason);
    signal.addEventListener("abort", onAbort, { once: true });
    try {
      await this.#outcome;
    } finally {
      signal.removeEventListener("abort", onAbort);
    }
  }
}
