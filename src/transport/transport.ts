// The one small interface both socket implementations (bun.ts, deno.ts) provide, so the client never
// knows which runtime it runs on, and what they share. Rule: runtime-specific code lives only in
// bun.ts and deno.ts; open.ts picks one of them, and nothing here imports either.
import type { Endpoint, TlsOptions } from "../options.ts";

export interface TransportHandlers {
  /**
   * One received chunk, in order. Return true when something keeps a view of `chunk` after the call
   * (NativeParser's in-place payloads): the transport then never writes to that memory again.
   * Otherwise the transport may read the next bytes into the same memory.
   */
  onData(chunk: Uint8Array): boolean | void;
  /**
   * Where the next bytes should land, if the consumer already has room for them: the unfilled rest
   * of the buffer NativeParser assembles a cut frame in. A transport that chooses its read buffers
   * (Deno's) reads at most that many bytes straight there and passes that view to onData, so the
   * kernel's copy is the only one; others (Bun's, which hands out its own chunks) ignore it.
   */
  readTarget?(): Uint8Array | undefined;
  /** The socket closed (by the peer, an error, or close()). Called exactly once. */
  onClose(error: Error | undefined): void;
}

export interface TransportTarget {
  endpoint: Endpoint;
  /** TLS: nothing is written until the handshake verified the server (see TlsOptions). */
  tls: TlsOptions | undefined;
  /**
   * Aborted when the caller stops waiting (connect timeout, close()): a socket still opening or in
   * its TLS handshake is closed and openTransport rejects, so no handshake outlives its connect.
   */
  signal?: AbortSignal;
}

export interface Transport {
  /** Queues bytes; the transport keeps whatever the socket does not take and writes it when it can. */
  write(bytes: Uint8Array): void;
  /** Stops reading (TCP backpressure then reaches the server). Idempotent. */
  pause(): void;
  resume(): void;
  /** Bytes accepted by write() that the socket has not taken yet. */
  readonly pendingWriteBytes: number;
  /** Closes the socket; resolves once it is closed and no read is in flight. Idempotent. */
  close(): Promise<void>;
}

export type OpenTransport = (target: TransportTarget, handlers: TransportHandlers) => Promise<Transport>;

/** "127.0.0.1:6379" or "/tmp/redis.sock", for error messages. */
export function describeEndpoint(endpoint: Endpoint): string {
  if (endpoint.kind === "unix") return endpoint.path;
  return endpoint.host.includes(":") ? `[${endpoint.host}]:${endpoint.port}` : `${endpoint.host}:${endpoint.port}`;
}
