// Sockets on Bun (Bun.connect): TCP, TLS and unix. Loaded only on Bun (see open.ts).
// Rule: socket.write() may take fewer bytes than offered; the rest waits in `#pending` and goes out
// on the `drain` callback, in order, before anything written later.
import { ConnectionError } from "../errors.ts";
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

  /** Called by every path that ends the socket; reports the end once. */
  finish(error: Error | undefined): void {
    if (this.#closed) return;
    this.#closed = true;
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
  const tls = target.tls === undefined ? undefined : {
    ca: target.tls.ca,
    cert: target.tls.cert,
    key: target.tls.key,
    serverName: target.tls.servername,
    rejectUnauthorized: target.tls.rejectUnauthorized,
  };
  try {
    transport.socket = target.endpoint.kind === "unix"
      ? await Bun.connect({ unix: target.endpoint.path, socket: socketHandlers })
      : await Bun.connect({
        hostname: target.endpoint.host,
        port: target.endpoint.port,
        tls: tls ?? false,
        socket: socketHandlers,
      });
  } catch (error) {
    throw new ConnectionError(`could not connect to ${where}: ${(error as Error).message}`, { cause: error });
  }
  return transport;
}
