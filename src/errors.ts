// Typed errors. Every error pushwire raises is one of these, with a message that says what to do.
// Rule: code that throws picks the most specific class; callers branch on `instanceof` or `code`.

export type PushwireErrorCode =
  | "ERR_PUSHWIRE_CONNECTION"
  | "ERR_PUSHWIRE_TLS"
  | "ERR_PUSHWIRE_PROTOCOL"
  | "ERR_PUSHWIRE_REPLY"
  | "ERR_PUSHWIRE_TIMEOUT"
  | "ERR_PUSHWIRE_CLOSED"
  | "ERR_PUSHWIRE_NATIVE_LIBRARY"
  | "ERR_PUSHWIRE_OVERFLOW"
  | "ERR_PUSHWIRE_INVALID_ARGUMENT";

export class PushwireError extends Error {
  readonly code: PushwireErrorCode;
  constructor(code: PushwireErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
    this.name = new.target.name;
  }
}

/** The socket could not be opened, was refused, or dropped. */
export class ConnectionError extends PushwireError {
  constructor(message: string, options?: { cause?: unknown }) {
    super("ERR_PUSHWIRE_CONNECTION", message, options);
  }
}

/**
 * Why a TLS handshake failed: the server's certificate is not signed by a trusted CA (a self-signed
 * one included), names another host, is expired or not yet valid, or is refused for another reason;
 * or the handshake itself failed (the peer does not speak TLS, or broke off).
 */
export type TlsFailureReason =
  | "untrusted-certificate"
  | "hostname-mismatch"
  | "expired-certificate"
  | "invalid-certificate"
  | "handshake";

/**
 * The TLS handshake failed: nothing was sent to the server (no password, no command). Final: neither
 * reconnect nor waitForServer tries again, since a refused certificate or a server that does not
 * speak TLS on that port stays so until someone changes the setup (a connection merely reset during
 * the handshake is a plain ConnectionError and is retried).
 */
export class TlsError extends ConnectionError {
  override readonly code: PushwireErrorCode = "ERR_PUSHWIRE_TLS";
  constructor(readonly reason: TlsFailureReason, message: string, options?: { cause?: unknown }) {
    super(message, options);
  }
}

/** The server sent bytes that are not valid RESP, or a frame exceeded a configured limit. */
export class ProtocolError extends PushwireError {
  /** The native pw_status (negative), e.g. -1 malformed, -2 bulk too long, -3 too deep. */
  readonly status: number;
  constructor(status: number, message: string, options?: { cause?: unknown }) {
    super("ERR_PUSHWIRE_PROTOCOL", message, options);
    this.status = status;
  }
}

/** The server answered a command with an error reply (e.g. WRONGPASS, NOPERM, MOVED). */
export class ReplyError extends PushwireError {
  /** First word of the server's error, e.g. "WRONGPASS", "ERR", "MOVED". */
  readonly serverCode: string;
  constructor(serverMessage: string, command?: string) {
    super("ERR_PUSHWIRE_REPLY", command ? `${command}: ${serverMessage}` : serverMessage);
    this.serverCode = serverMessage.split(" ", 1)[0];
  }
}

/** An operation did not complete within its time limit. */
export class TimeoutError extends PushwireError {
  constructor(message: string) {
    super("ERR_PUSHWIRE_TIMEOUT", message);
  }
}

/** The client or subscription was closed; create a new one to continue. */
export class ClosedError extends PushwireError {
  constructor(message = "the pushwire client is closed: call connect() again to get a new one") {
    super("ERR_PUSHWIRE_CLOSED", message);
  }
}

/** The native library could not be found, opened, or has the wrong ABI version. */
export class NativeLibraryError extends PushwireError {
  constructor(message: string, options?: { cause?: unknown }) {
    super("ERR_PUSHWIRE_NATIVE_LIBRARY", message, options);
  }
}

/** A subscription with `overflow: "error"` had more undelivered messages than its bufferSize. */
export class OverflowError extends PushwireError {
  constructor(message: string) {
    super("ERR_PUSHWIRE_OVERFLOW", message);
  }
}

/** An argument was rejected before anything was sent. */
export class InvalidArgumentError extends PushwireError {
  constructor(message: string) {
    super("ERR_PUSHWIRE_INVALID_ARGUMENT", message);
  }
}
