// Sockets on Deno (Deno.connect / Deno.connectTls): TCP, TLS and unix. Loaded only on Deno.
// Rule: one read loop and one write loop per socket; writes are awaited serially (Deno's write may
// take part of a buffer), and pausing means the read loop stops calling read() until resumed.
import { ConnectionError, InvalidArgumentError } from "../errors.ts";
import type { TlsOptions } from "../options.ts";
import { tlsFailure } from "./tls_failure.ts";
import type { Transport, TransportHandlers, TransportTarget } from "./transport.ts";
import { describeEndpoint } from "./transport.ts";

// deno-lint-ignore no-explicit-any
declare const Deno: any;
// deno-lint-ignore no-explicit-any
type DenoConn = any;

/**
 * 256 KiB, allocated once per connection (a new one only after onData kept a chunk): a 64 KiB
 * message fits in one read (with 64 KiB none did, so every one was assembled in the core), and a
 * burst of small ones costs fewer read ops. Measured on the replay server (medians of 3–5 runs, CPU
 * µs/msg, 64 KiB vs 256 KiB vs 512 KiB buffer): 64 KiB payloads 48.0 / 32.3 / 39.1, 4 KiB 2.78 / 2.53
 * / 2.39, 16 B 0.192 / 0.168 / 0.188.
 */
const readBufferBytes = 256 * 1024;
/**
 * After onData keeps a chunk, the next reads go into the rest of the same buffer (bytes never read
 * into, so nothing kept is written again); below this much room a new buffer starts. Each byte of
 * the stream then costs one zero-filled byte of fresh memory, as it must for views that stay
 * valid: a new 256 KiB buffer after every kept read cost 44 µs per read, however few bytes it got.
 */
const minReadRoomBytes = 64 * 1024;

class DenoTransport implements Transport {
  #pending: Uint8Array[] = [];
  #pendingBytes = 0;
  #writing: Promise<void> | undefined;
  #reading: Promise<void>;
  #paused = false;
  #resumeReading: (() => void) | undefined;
  #closeRequested = false;
  #closed = false;

  constructor(readonly conn: DenoConn, readonly handlers: TransportHandlers, readonly where: string) {
    this.#reading = this.#readLoop();
  }

  get pendingWriteBytes(): number {
    return this.#pendingBytes;
  }

  write(bytes: Uint8Array): void {
    if (this.#closed || this.#closeRequested || bytes.length === 0) return;
    this.#pending.push(bytes);
    this.#pendingBytes += bytes.length;
    this.#writing ??= this.#writeLoop();
  }

  async #writeLoop(): Promise<void> {
    try {
      while (this.#pending.length > 0 && !this.#closed) {
        const chunk = this.#pending.length === 1 ? this.#pending[0] : concat(this.#pending);
        this.#pending = [];
        let offset = 0;
        while (offset < chunk.length) {
          const written: number = await this.conn.write(chunk.subarray(offset));
          offset += written;
          this.#pendingBytes -= written;
        }
      }
    } catch (error) {
      this.#finish(new ConnectionError(`write to ${this.where} failed: ${(error as Error).message}`, { cause: error }));
    } finally {
      this.#writing = undefined;
    }
  }

  async #readLoop(): Promise<void> {
    // One read buffer serves every read; the bytes before `start` were kept by onData and are
    // never written again. A fresh ArrayBuffer costs ~2 µs + 0.17 ns/byte in V8 as Deno embeds it,
    // more than copying small payloads out, so it is reused from the start while nothing is kept.
    let buffer = new Uint8Array(readBufferBytes);
    let start = 0;
    let failure: Error | undefined;
    try {
      for (;;) {
        if (this.#paused) await new Promise<void>((resolve) => (this.#resumeReading = resolve));
        if (this.#closeRequested) break;
        // The rest of a frame being assembled goes straight into its buffer (TransportHandlers.readTarget).
        let target = this.handlers.readTarget?.();
        if (target !== undefined && target.length === 0) target = undefined;
        if (target === undefined && buffer.length - start < minReadRoomBytes) {
          buffer = new Uint8Array(readBufferBytes);
          start = 0;
        }
        const count: number | null = await this.conn.read(target ?? (start === 0 ? buffer : buffer.subarray(start)));
        if (count === null) {
          failure = new ConnectionError(`the server at ${this.where} closed the connection`);
          break;
        }
        if (target !== undefined) this.handlers.onData(target.subarray(0, count));
        else if (this.handlers.onData(buffer.subarray(start, start + count)) === true) start += count;
      }
    } catch (error) {
      failure = new ConnectionError(`read from ${this.where} failed: ${(error as Error).message}`, { cause: error });
    }
    this.#finish(failure);
  }

  pause(): void {
    this.#paused = true;
  }

  resume(): void {
    this.#paused = false;
    const resume = this.#resumeReading;
    this.#resumeReading = undefined;
    resume?.();
  }

  #finish(error: Error | undefined): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#pending = [];
    this.#pendingBytes = 0;
    try {
      this.conn.close();
    } catch {
      // Already closed by the peer or by close(): nothing left to release.
    }
    this.resume(); // a paused read loop must wake up to see the end
    this.handlers.onClose(this.#closeRequested ? undefined : error);
  }

  async close(): Promise<void> {
    if (!this.#closed && !this.#closeRequested) {
      this.#closeRequested = true;
      try {
        this.conn.close(); // interrupts a pending read(); the read loop then finishes
      } catch {
        // Already closed.
      }
      this.resume();
    }
    await this.#reading;
    await this.#writing;
  }
}

function concat(parts: Uint8Array[]): Uint8Array {
  let length = 0;
  for (const part of parts) length += part.length;
  const out = new Uint8Array(length);
  let offset = 0;
  for (const part of parts) {
    out.set(part, offset);
    offset += part.length;
  }
  return out;
}

export async function openTransport(target: TransportTarget, handlers: TransportHandlers): Promise<Transport> {
  const where = describeEndpoint(target.endpoint);
  const { endpoint, tls, signal } = target;
  if (tls !== undefined) checkTlsOptions(tls);
  let conn: DenoConn;
  try {
    if (endpoint.kind === "unix") conn = await Deno.connect({ transport: "unix", path: endpoint.path });
    else if (tls === undefined) conn = await Deno.connect({ hostname: endpoint.host, port: endpoint.port, signal });
    else conn = await openTls(endpoint, tls, signal);
  } catch (error) {
    if (signal?.aborted) throw signal.reason;
    if (isTlsFailure(error)) throw tlsFailure(where, (error as Error).message, error);
    throw new ConnectionError(`could not connect to ${where}: ${(error as Error).message}`, { cause: error });
  }
  if (endpoint.kind !== "unix") conn.setNoDelay?.(true);
  return new DenoTransport(conn, handlers, where);
}

/**
 * What Deno 2.9.6 cannot do per connection is refused here rather than ignored: it has no option to
 * skip certificate verification (only the process-wide --unsafely-ignore-certificate-errors flag),
 * and Deno.startTls, the one way to verify against a name other than the address, takes no client
 * certificate.
 */
function checkTlsOptions(tls: TlsOptions): void {
  if (tls.rejectUnauthorized === false) {
    throw new InvalidArgumentError(
      "tls.rejectUnauthorized = false is not available on Deno, which verifies every certificate unless " +
        "it runs with --unsafely-ignore-certificate-errors=<host> (process-wide): give the server's CA as tls.ca instead",
    );
  }
  if (tls.servername !== undefined && (tls.cert !== undefined || tls.key !== undefined)) {
    throw new InvalidArgumentError(
      "tls.servername together with tls.cert/tls.key is not available on Deno (Deno.startTls sends no client " +
        "certificate): connect to a host name the server certificate lists instead of naming it in tls.servername",
    );
  }
}

/**
 * A TLS connection whose handshake finished (a certificate error surfaces here, not on the first
 * read). With tls.servername the TCP connection is opened to the address and the certificate is
 * checked against the name (SNI too) by Deno.startTls; otherwise against the address.
 */
async function openTls(endpoint: { host: string; port: number }, tls: TlsOptions, signal: AbortSignal | undefined): Promise<DenoConn> {
  const caCerts = tls.ca === undefined ? undefined : [tls.ca].flat();
  let conn: DenoConn;
  if (tls.servername === undefined) {
    conn = await Deno.connectTls({ hostname: endpoint.host, port: endpoint.port, caCerts, cert: tls.cert, key: tls.key });
  } else {
    const tcp = await Deno.connect({ hostname: endpoint.host, port: endpoint.port, signal });
    try {
      conn = await Deno.startTls(tcp, { hostname: tls.servername, caCerts });
    } catch (error) {
      tcp.close();
      throw error;
    }
  }
  // Closing the connection is what interrupts a handshake the server never answers.
  const onAbort = () => conn.close();
  try {
    signal?.throwIfAborted();
    signal?.addEventListener("abort", onAbort, { once: true });
    await conn.handshake();
    return conn;
  } catch (error) {
    try {
      conn.close();
    } catch {
      // Already closed by the abort.
    }
    throw error;
  } finally {
    signal?.removeEventListener("abort", onAbort);
  }
}

/** Deno reports a refused certificate or a peer that speaks no TLS as InvalidData (rustls' words). */
function isTlsFailure(error: unknown): boolean {
  return error instanceof Error && (error.name === "InvalidData" || /peer certificate|fatal alert|corrupt message/i.test(error.message));
}
