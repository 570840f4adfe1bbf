// Typed errors. Every error pushwire raises is one of these, with a message that says what to do.
// Rule: code that throws picks the most specific class; callers branch on `instanceof` or `code`.

/**
 * The `code` of every error pushwire raises, one per class (a `TlsError` has its own although it is a
 * `ConnectionError`). Stable across versions: branch on it where `instanceof` does not reach (errors
 * that crossed a realm or were serialized).
 */
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

/**
 * The base class of every error pushwire raises (its `name` is the subclass's, e.g. `"ReplyError"`).
 * Messages say what went wrong and what to do, and never contain a password: URLs are quoted with
 * `***` for their credentials. `cause` holds the runtime's own error where there is one.
 *
 * @example Branch on the class or the code
 * ```ts
 * import { connect, PushwireError, TlsError } from "pushwire";
 * try {
 *   await connect("rediss://cache.internal:6380");
 * } catch (error) {
 *   if (error instanceof TlsError) console.error("TLS refused:", error.reason);
 *   else if (error instanceof PushwireError) console.error(error.code, error.message);
 *   else throw error;
 * }
 * ```
 */
export class PushwireError extends Error {
  /** Which kind of failure this is; the same for every instance of a class. */
  readonly code: PushwireErrorCode;
  /** Made by pushwire; subclasses pass their own code. */
  constructor(code: PushwireErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
    this.name = new.target.name;
  }
}

/**
 * The socket could not be opened, was refused, or dropped; or a reconnection gave up
 * (`reconnect.maxAttempts`), or a command could not wait for one (`maxPendingCommands`). A publish
 * already written when its connection was lost rejects with it and is not sent again.
 */
export class ConnectionError extends PushwireError {
  /** Made by pushwire; `cause` is the runtime's socket error where there is one. */
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
  /** `"ERR_PUSHWIRE_TLS"`, where a plain `ConnectionError` has `"ERR_PUSHWIRE_CONNECTION"`. */
  override readonly code: PushwireErrorCode = "ERR_PUSHWIRE_TLS";
  /**
   * Made by pushwire.
   * @param reason what failed; the message has the runtime's own words.
   */
  constructor(readonly reason: TlsFailureReason, message: string, options?: { cause?: unknown }) {
    super(message, options);
  }
}

/**
 * The server sent bytes that are not valid RESP, a push of the wrong shape, or a frame over a parser
 * limit (`parserLimits`). The connection is closed (subscribers see `disconnected`) and reconnected;
 * nothing already delivered is lost.
 */
export class ProtocolError extends PushwireError {
  /** The native pw_status (negative), e.g. -1 malformed, -2 bulk too long, -3 too deep. */
  readonly status: number;
  /** Made by pushwire from the core's status and its explanation of where the input went wrong. */
  constructor(status: number, message: string, options?: { cause?: unknown }) {
    super("ERR_PUSHWIRE_PROTOCOL", message, options);
    this.status = status;
  }
}

/**
 * The server answered a command with an error reply (e.g. WRONGPASS, NOPERM, MOVED); after a
 * command's error the connection stays usable. An error reply to `HELLO`/`AUTH` has any password the
 * server quoted cut out.
 */
export class ReplyError extends PushwireError {
  /** First word of the server's error, e.g. "WRONGPASS", "ERR", "MOVED". */
  readonly serverCode: string;
  /**
   * Made by pushwire.
   * @param serverMessage the server's error text, as sent.
   * @param command the command it answered, put in front of the message.
   */
  constructor(serverMessage: string, command?: string) {
    super("ERR_PUSHWIRE_REPLY", command ? `${command}: ${serverMessage}` : serverMessage);
    this.serverCode = serverMessage.split(" ", 1)[0];
  }
}

/**
 * An operation did not complete within its time limit: connecting (`connectTimeoutMs`, e.g. a TLS
 * port that never answers the ClientHello), or a health-check PING unanswered, with nothing else
 * received, for `healthCheckIntervalMs` (that connection is then closed and reopened).
 */
export class TimeoutError extends PushwireError {
  /** Made by pushwire; the message names the limit. */
  constructor(message: string) {
    super("ERR_PUSHWIRE_TIMEOUT", message);
  }
}

/** The client or subscription was closed; create a new one to continue. */
export class ClosedError extends PushwireError {
  /** Made by pushwire; the default message is the plain client's. */
  constructor(message = "the pushwire client is closed: call connect() again to get a new one") {
    super("ERR_PUSHWIRE_CLOSED", message);
  }
}

/**
 * The native library could not be found, opened, or has the wrong ABI version. The message lists
 * every path tried and why each failed (`libraryPath` option → `PUSHWIRE_LIB` → packaged prebuilt →
 * `native/zig-out`; a path given by either of the first two is the only one tried).
 */
export class NativeLibraryError extends PushwireError {
  /** Made by pushwire; `cause` is the runtime's loader error. */
  constructor(message: string, options?: { cause?: unknown }) {
    super("ERR_PUSHWIRE_NATIVE_LIBRARY", message, options);
  }
}

/**
 * A subscription with `overflow: "error"` had more undelivered messages than its `bufferSize` (or
 * payload bytes than its `bufferBytes`): it ends with this error (its iterator throws it, its `end`
 * event carries it). Also the end of an SSE stream with `slowClient: "close"` that fell behind.
 */
export class OverflowError extends PushwireError {
  /** Made by pushwire. */
  constructor(message: string) {
    super("ERR_PUSHWIRE_OVERFLOW", message);
  }
}

/**
 * An argument was rejected before anything was sent; the message names the option or argument.
 * Nothing already accepted is affected.
 */
export class InvalidArgumentError extends PushwireError {
  /** Made by pushwire. */
  constructor(message: string) {
    super("ERR_PUSHWIRE_INVALID_ARGUMENT", message);
  }
}
