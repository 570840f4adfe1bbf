// URL and options parsing: turns `connect(url, options)` into one validated, fully defaulted settings
// object before any socket is opened. Rule: every default lives here, once, and every bad value is an
// InvalidArgumentError that names the option.
import { InvalidArgumentError } from "./errors.ts";
import type { ParserLimits } from "./native/parser.ts";
import type { Message } from "./frame.ts";
import type { DurableSubscribeOptions } from "./durable/options.ts";

/** What a subscription does when its buffer is full. See README "Delivery semantics". */
export type OverflowPolicy = "drop-oldest" | "drop-newest" | "error" | "pause";
/**
 * The subscribe command of a subscription: channels (`subscribe`), glob patterns (`psubscribe`) or
 * shard channels (`ssubscribe`, served by the node owning the channel's slot in a cluster).
 */
export type SubscriptionType = "subscribe" | "psubscribe" | "ssubscribe";

/**
 * TLS settings. Any of them (`{}` and `true` too) means TLS: the first byte sent is a TLS
 * ClientHello, and no command (no password) goes out before the server's certificate passed. The
 * certificate is always verified — its chain against the trusted CAs and its names against the host
 * (or `servername`) — unless `rejectUnauthorized: false` says otherwise. See README "Security".
 */
export interface TlsOptions {
  /** PEM CA certificate(s) that sign the server's certificate (Deno trusts them besides its root store). */
  ca?: string | string[];
  /** PEM client certificate (mutual TLS); give `key` with it. */
  cert?: string;
  /** PEM private key of `cert`; give both or neither. */
  key?: string;
  /**
   * The name to verify the server's certificate against (and to send as SNI) instead of the host
   * connected to, e.g. for a server reached by IP. On Deno it cannot be combined with cert/key.
   */
  servername?: string;
  /**
   * false: accept a server certificate that fails verification (any CA, any name) — traffic is still
   * encrypted, but anyone in between can read it. Bun only: Deno has no such per-connection option
   * and refuses it with InvalidArgumentError (run Deno with --unsafely-ignore-certificate-errors=<host>).
   */
  rejectUnauthorized?: boolean;
}

/**
 * The backoff of reconnection (and of `waitForServer`): the wait before attempt n is a random time
 * between 0 and min(`maxDelayMs`, `initialDelayMs` × 2ⁿ) (full jitter, so that many clients cut off
 * at once do not come back at once).
 */
export interface ReconnectOptions {
  /** Ceiling of the first wait, in ms (default 100). */
  initialDelayMs?: number;
  /** Most any wait's ceiling grows to, in ms (default 5000). */
  maxDelayMs?: number;
  /**
   * Attempts per outage before the client gives up and ends every subscription with a
   * ConnectionError (default 20).
   */
  maxAttempts?: number;
}

/**
 * Options of `connect()` (and of `connectCluster()` and `connectSentinel()`, which add their own).
 * Where the URL also gives a setting (user, password, `?name=`, `?protocol=`), the option wins. The
 * flow options are the defaults of every subscription of the client (each can set its own). Every
 * bad value is an InvalidArgumentError naming the option, before anything is sent.
 */
export interface ClientOptions extends FlowOptions {
  /** ACL user for HELLO/AUTH (also `redis://user:password@host` or `?username=` in the URL). */
  username?: string;
  /**
   * Password for HELLO/AUTH (also in the URL). Never shown: not in errors, events, stats or logs,
   * and not sent before a TLS handshake finished.
   */
  password?: string;
  /** CLIENT SETNAME value, as `CLIENT LIST` shows the connection (also `?name=` in the URL). */
  name?: string;
  /** true or TLS options to use TLS (also implied by rediss:// and valkeys://). */
  tls?: boolean | TlsOptions;
  /** 3 (default): HELLO 3, falling back to RESP2 when the server refuses. 2: RESP2 only. */
  protocol?: 2 | 3;
  /** Socket open + handshake time limit per attempt (default 10000). */
  connectTimeoutMs?: number;
  /** How long close() lets consumers drain what is already buffered (default 1000). */
  closeTimeoutMs?: number;
  /**
   * Reconnection after a lost connection (default on: 100 ms doubling to 5000 ms, full jitter, 20
   * attempts per outage). `false`: a lost connection ends every subscription with its error.
   * An authentication failure (WRONGPASS, NOAUTH, NOPERM) or a TlsError stops the attempts at once.
   */
  reconnect?: false | ReconnectOptions;
  /**
   * A connection refused (or a host not resolved) by connect() is retried with the reconnect backoff
   * (up to reconnect.maxAttempts attempts) until the server appears, instead of failing at once.
   * Default false: connect() rejects with ConnectionError.
   */
  waitForServer?: boolean;
  /**
   * Aborts connect() (or connectCluster()) while it connects or waits for the server: it rejects at
   * once with the signal's reason and leaves nothing open. No effect once connected (use close()).
   */
  signal?: AbortSignal;
  /**
   * Interval of the PING health check on every connection (default 15000; 0 disables). A server that
   * goes silent (paused, half-open socket) is noticed within 2 × this interval and the connection is
   * closed with a TimeoutError and reopened. Not checked while the client itself stopped reading
   * (overflow "pause").
   */
  healthCheckIntervalMs?: number;
  /**
   * Commands (publish, spublish) issued while the client is reconnecting wait for the connection, up
   * to this many (default 1000); beyond it they are rejected at once with ConnectionError.
   */
  maxPendingCommands?: number;
  /**
   * Limits of the RESP parser of each connection (defaults: README "Delivery semantics"). A frame
   * over one is a ProtocolError: the connection is dropped and reopened, nothing delivered is lost.
   */
  parserLimits?: ParserLimits;
  /**
   * Path of the libpushwire shared library to load: only this file is tried (no fall-back to
   * `PUSHWIRE_LIB`, the packaged prebuilt or `native/zig-out`, which are tried in that order when it
   * is unset). A library that cannot be opened, or has another ABI, is a NativeLibraryError.
   */
  libraryPath?: string;
  /**
   * The first local subscriber of `name` made the server subscription (confirmed by the server). A
   * throw is counted in stats().errors and changes nothing.
   */
  onOccupied?: (name: string, type: SubscriptionType) => void;
  /** The last local subscriber of `name` left; the server subscription was removed. A throw is counted. */
  onVacated?: (name: string, type: SubscriptionType) => void;
  /**
   * The server ended a subscription on its own (not in answer to our UNSUBSCRIBE), e.g. SSUBSCRIBE
   * channels of a slot that moved to another node. Used by the cluster client to resubscribe.
   */
  onServerUnsubscribe?: (name: string, type: SubscriptionType) => void;
}

/**
 * How a subscription's buffer meets its consumer (README "Delivery semantics"). A consumer that reads
 * (for await, or sse()) paces the connection: while its buffer holds highWaterMark messages or
 * highWaterMarkBytes payload bytes, the socket is not read (TCP backpressure reaches the server);
 * reading resumes below half of both. A consumer that holds for slowConsumerMs without getting there
 * (it takes nothing, or too slowly to catch up) is stalled: it stops holding, and its buffer, bounded
 * by bufferSize and bufferBytes, meets the overflow policy alone; it paces again once it drained. A
 * subscription that was never read does not pace (it only fills its bounds).
 */
export interface FlowOptions {
  /** Most messages the buffer holds before the overflow policy applies (default 65,536). */
  bufferSize?: number;
  /** Most payload bytes the buffer holds before the overflow policy applies (default 8 MiB; one message always fits). */
  bufferBytes?: number;
  /** Buffered messages at which a reading consumer holds the connection's reading (default 1,024). */
  highWaterMark?: number;
  /** Buffered payload bytes at which a reading consumer holds the connection's reading (default 1 MiB). */
  highWaterMarkBytes?: number;
  /**
   * How long one hold of the connection's reading may last before the consumer is stalled (default
   * 3,000 ms): it stops holding up the connection and the overflow policy applies to it alone. 0:
   * never hold (the bounds alone decide, as in a client without pacing).
   */
  slowConsumerMs?: number;
  /**
   * Over bufferSize / bufferBytes: drop-oldest (default), drop-newest, error (the subscription ends
   * with OverflowError), or pause (never stalled, never drops: holds reading until it drains).
   */
  overflow?: OverflowPolicy;
}

/**
 * The options object of `subscribe()`, `psubscribe()` and `ssubscribe()` (given after the names).
 * Flow options left out take the client's (ClientOptions). `since` / `history` make the
 * subscription durable (README "Durable channels").
 */
export interface SubscribeOptions extends FlowOptions, DurableSubscribeOptions {
  /**
   * Callback form: called synchronously per message, in order. Messages are then not buffered (an
   * iterator gets none) and never paced, stalled or dropped. The message is the same object for every
   * subscription it matched: treat its `data` as read-only.
   */
  onMessage?: (message: Message) => void;
  /** Called when onMessage throws (the error is also counted in stats().errors); delivery goes on. */
  onError?: (error: unknown, message: Message) => void;
  /** Ends the subscription when aborted (as unsubscribe() does); aborted already: subscribe rejects. */
  signal?: AbortSignal;
}

export type Endpoint =
  | { kind: "tcp"; host: string; port: number }
  | { kind: "unix"; path: string };

export interface ResolvedReconnect {
  initialDelayMs: number;
  maxDelayMs: number;
  maxAttempts: number;
}

export interface Settings {
  endpoint: Endpoint;
  tls: TlsOptions | undefined;
  username: string | undefined;
  password: string | undefined;
  name: string | undefined;
  protocol: 2 | 3;
  connectTimeoutMs: number;
  closeTimeoutMs: number;
  reconnect: ResolvedReconnect | undefined;
  waitForServer: boolean;
  connectSignal: AbortSignal | undefined;
  healthCheckIntervalMs: number;
  maxPendingCommands: number;
  flow: ResolvedFlow;
  parserLimits: ParserLimits | undefined;
  libraryPath: string | undefined;
  onOccupied: ((name: string, type: SubscriptionType) => void) | undefined;
  onVacated: ((name: string, type: SubscriptionType) => void) | undefined;
  onServerUnsubscribe: ((name: string, type: SubscriptionType) => void) | undefined;
}

export const defaultPort = 6379;
export const defaultConnectTimeoutMs = 10_000;
export const defaultCloseTimeoutMs = 1_000;
export interface ResolvedFlow {
  bufferSize: number;
  bufferBytes: number;
  highWaterMark: number;
  highWaterMarkBytes: number;
  slowConsumerMs: number;
  overflow: OverflowPolicy;
}

/**
 * Flow defaults. The high-water marks are what a live consumer's buffer holds before reading pauses
 * (a socket read of up to 512 KiB past them still lands in the buffer); the bounds, far above them
 * plus one read, only meet a consumer that stalled or never reads: 8 MiB is the server's own soft
 * limit for a pub/sub client (client-output-buffer-limit pubsub 32mb 8mb 60). slowConsumerMs: a few
 * seconds, well inside the 60 s the server lets a client stay over that soft limit.
 */
export const defaultFlow: Readonly<ResolvedFlow> = Object.freeze({
  bufferSize: 65_536,
  bufferBytes: 8 * 1024 * 1024,
  highWaterMark: 1_024,
  highWaterMarkBytes: 1024 * 1024,
  slowConsumerMs: 3_000,
  overflow: "drop-oldest",
});
export const defaultReconnect: ResolvedReconnect = { initialDelayMs: 100, maxDelayMs: 5_000, maxAttempts: 20 };
/** 15 s: a dead server is noticed within 30 s, at the cost of one PING per connection per 15 s. */
export const defaultHealthCheckIntervalMs = 15_000;
/** 1000 commands waiting for a reconnection: a burst survives a short outage, memory stays bounded. */
export const defaultMaxPendingCommands = 1_000;

const overflowPolicies: readonly OverflowPolicy[] = ["drop-oldest", "drop-newest", "error", "pause"];
const secureSchemes = new Set(["rediss:", "valkeys:"]);
const plainSchemes = new Set(["redis:", "valkey:"]);

/** Parses the URL, merges options over it (options win) and validates everything. */
export function resolveSettings(url: string, options: ClientOptions = {}): Settings {
  if (typeof url !== "string" || url === "") {
    throw new InvalidArgumentError("connect(url): url must be a non-empty string such as redis://127.0.0.1:6379");
  }
  if (options === null || typeof options !== "object") {
    throw new InvalidArgumentError("connect(url, options): options must be an object");
  }
  const fromUrl = parseUrl(url);
  const tls = resolveTls(options.tls, fromUrl.secure);
  if (tls && fromUrl.endpoint.kind === "unix") {
    throw new InvalidArgumentError("tls: TLS over a unix socket is not supported");
  }
  return {
    endpoint: fromUrl.endpoint,
    tls,
    username: optionalString("username", options.username) ?? fromUrl.username,
    password: optionalString("password", options.password) ?? fromUrl.password,
    name: optionalString("name", options.name) ?? fromUrl.name,
    protocol: resolveProtocol(options.protocol ?? fromUrl.protocol),
    connectTimeoutMs: positiveNumber("connectTimeoutMs", options.connectTimeoutMs, defaultConnectTimeoutMs),
    closeTimeoutMs: nonNegativeNumber("closeTimeoutMs", options.closeTimeoutMs, defaultCloseTimeoutMs),
    reconnect: resolveReconnect(options.reconnect),
    waitForServer: optionalBoolean("waitForServer", options.waitForServer) ?? false,
    connectSignal: optionalSignal(options.signal),
    healthCheckIntervalMs: nonNegativeNumber(
      "healthCheckIntervalMs",
      options.healthCheckIntervalMs,
      defaultHealthCheckIntervalMs,
    ),
    maxPendingCommands: nonNegativeInteger("maxPendingCommands", options.maxPendingCommands, defaultMaxPendingCommands),
    flow: resolveFlow(options, defaultFlow),
    parserLimits: options.parserLimits,
    libraryPath: optionalString("libraryPath", options.libraryPath),
    onOccupied: optionalFunction("onOccupied", options.onOccupied),
    onVacated: optionalFunction("onVacated", options.onVacated),
    onServerUnsubscribe: optionalFunction("onServerUnsubscribe", options.onServerUnsubscribe),
  };
}

interface UrlParts {
  endpoint: Endpoint;
  secure: boolean;
  username: string | undefined;
  password: string | undefined;
  name: string | undefined;
  protocol: 2 | 3 | undefined;
}

function parseUrl(url: string): UrlParts {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new InvalidArgumentError(`connect(url): ${JSON.stringify(redactUrl(url))} is not a valid URL`);
  }
  const query = parsed.searchParams;
  const protocolText = query.get("protocol");
  const common = {
    username: decodeComponent(parsed.username) || query.get("username") || undefined,
    password: decodeComponent(parsed.password) || query.get("password") || undefined,
    name: query.get("name") ?? undefined,
    protocol: protocolText === null ? undefined : (Number(protocolText) as 2 | 3),
  };
  if (parsed.protocol === "unix:") {
    const path = decodeComponent(parsed.pathname);
    if (path === "" || path === "/") throw new InvalidArgumentError(`connect(url): ${redactUrl(url)} has no socket path`);
    return { endpoint: { kind: "unix", path }, secure: false, ...common };
  }
  const secure = secureSchemes.has(parsed.protocol);
  if (!secure && !plainSchemes.has(parsed.protocol)) {
    throw new InvalidArgumentError(
      `connect(url): unsupported scheme ${parsed.protocol} (use redis://, rediss://, valkey://, valkeys:// or unix://)`,
    );
  }
  // URL keeps the brackets of an IPv6 literal; sockets want the bare address.
  const host = parsed.hostname.replace(/^\[(.*)\]$/, "$1") || "127.0.0.1";
  const port = parsed.port === "" ? defaultPort : Number(parsed.port);
  return { endpoint: { kind: "tcp", host, port }, secure, ...common };
}

/**
 * The URL as an error may show it: what stands between "//" and the last "@" (user and password;
 * a password may hold any character, "/" and "@" included) and any password= value become "***".
 */
export function redactUrl(url: string): string {
  let shown = url;
  const start = shown.indexOf("//");
  const at = shown.lastIndexOf("@");
  if (start >= 0 && at > start) shown = `${shown.slice(0, start + 2)}***${shown.slice(at)}`;
  return shown.replace(/(password=)[^&#]*/gi, "$1***");
}

function decodeComponent(text: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    return text;
  }
}

const tlsOptionNames: readonly string[] = ["ca", "cert", "key", "servername", "rejectUnauthorized"];

/**
 * Every TLS option is checked here, so none is silently ignored: an unknown name (Bun's own
 * `serverName` spelling included) is an error, and so is `tls: false` beside a rediss:// URL, which
 * would otherwise turn TLS off without a word. The result holds only defined fields.
 */
function resolveTls(option: ClientOptions["tls"], secureUrl: boolean): TlsOptions | undefined {
  if (option === undefined) return secureUrl ? {} : undefined;
  if (option === false) {
    if (secureUrl) throw new InvalidArgumentError("tls: false contradicts a rediss:// or valkeys:// URL, which means TLS");
    return undefined;
  }
  if (option === true) return {};
  if (typeof option !== "object" || option === null || Array.isArray(option)) {
    throw new InvalidArgumentError("tls: expected true, false or { ca, cert, key, servername, rejectUnauthorized }");
  }
  for (const [name, value] of Object.entries(option)) {
    if (value === undefined || tlsOptionNames.includes(name)) continue;
    const hint = name.toLowerCase() === "servername" ? " (did you mean servername?)" : "";
    throw new InvalidArgumentError(`tls.${name}: not a TLS option${hint}; known: ${tlsOptionNames.join(", ")}`);
  }
  const tls: TlsOptions = {};
  const ca = option.ca;
  if (ca !== undefined) {
    const list = Array.isArray(ca) ? ca : [ca];
    if (list.length === 0 || !list.every((entry) => typeof entry === "string" && entry !== "")) {
      throw new InvalidArgumentError("tls.ca: expected a PEM string or a non-empty array of them");
    }
    tls.ca = Array.isArray(ca) ? [...ca] : ca;
  }
  for (const name of ["cert", "key", "servername"] as const) {
    const value = option[name];
    if (value === undefined) continue;
    if (typeof value !== "string" || value === "") throw new InvalidArgumentError(`tls.${name}: expected a non-empty string`);
    tls[name] = value;
  }
  if ((tls.cert === undefined) !== (tls.key === undefined)) {
    throw new InvalidArgumentError("tls.cert and tls.key: give both (a client certificate and its private key) or neither");
  }
  const rejectUnauthorized = optionalBoolean("tls.rejectUnauthorized", option.rejectUnauthorized);
  if (rejectUnauthorized !== undefined) tls.rejectUnauthorized = rejectUnauthorized;
  return tls;
}

function resolveProtocol(protocol: unknown): 2 | 3 {
  if (protocol === undefined) return 3;
  if (protocol === 2 || protocol === 3) return protocol;
  throw new InvalidArgumentError(`protocol: expected 2 or 3, got ${String(protocol)}`);
}

function resolveReconnect(option: ClientOptions["reconnect"]): ResolvedReconnect | undefined {
  if (option === false) return undefined;
  if (option === undefined) return { ...defaultReconnect };
  if (typeof option !== "object" || option === null) {
    throw new InvalidArgumentError("reconnect: expected false or { initialDelayMs, maxDelayMs, maxAttempts }");
  }
  return {
    initialDelayMs: nonNegativeNumber("reconnect.initialDelayMs", option.initialDelayMs, defaultReconnect.initialDelayMs),
    maxDelayMs: nonNegativeNumber("reconnect.maxDelayMs", option.maxDelayMs, defaultReconnect.maxDelayMs),
    maxAttempts: positiveNumber("reconnect.maxAttempts", option.maxAttempts, defaultReconnect.maxAttempts),
  };
}

/** Flow options over `defaults` (the client's, for a subscription), validated. */
export function resolveFlow(given: FlowOptions, defaults: Readonly<ResolvedFlow>): ResolvedFlow {
  return {
    bufferSize: positiveInteger("bufferSize", given.bufferSize, defaults.bufferSize),
    bufferBytes: positiveInteger("bufferBytes", given.bufferBytes, defaults.bufferBytes),
    highWaterMark: positiveInteger("highWaterMark", given.highWaterMark, defaults.highWaterMark),
    highWaterMarkBytes: positiveInteger("highWaterMarkBytes", given.highWaterMarkBytes, defaults.highWaterMarkBytes),
    slowConsumerMs: nonNegativeNumber("slowConsumerMs", given.slowConsumerMs, defaults.slowConsumerMs),
    overflow: validateOverflow(given.overflow ?? defaults.overflow),
  };
}

function positiveInteger(name: string, value: unknown, fallback: number): number {
  if (value === undefined) return fallback;
  if (typeof value !== "number" || !Number.isSafeInteger(value) || value < 1) {
    throw new InvalidArgumentError(`${name}: expected an integer >= 1, got ${String(value)}`);
  }
  return value;
}

function validateOverflow(value: unknown): OverflowPolicy {
  if (!overflowPolicies.includes(value as OverflowPolicy)) {
    throw new InvalidArgumentError(`overflow: expected one of ${overflowPolicies.join(", ")}, got ${String(value)}`);
  }
  return value as OverflowPolicy;
}

function optionalString(name: string, value: unknown): string | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== "string") throw new InvalidArgumentError(`${name}: expected a string`);
  return value;
}

function optionalBoolean(name: string, value: unknown): boolean | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== "boolean") throw new InvalidArgumentError(`${name}: expected true or false`);
  return value;
}

function nonNegativeInteger(name: string, value: unknown, fallback: number): number {
  if (value === undefined) return fallback;
  if (typeof value !== "number" || !Number.isInteger(value) || value < 0) {
    throw new InvalidArgumentError(`${name}: expected an integer >= 0, got ${String(value)}`);
  }
  return value;
}

function optionalSignal(value: unknown): AbortSignal | undefined {
  if (value === undefined) return undefined;
  if (!(value instanceof AbortSignal)) throw new InvalidArgumentError("signal: expected an AbortSignal");
  return value;
}

function optionalFunction<T>(name: string, value: T | undefined): T | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== "function") throw new InvalidArgumentError(`${name}: expected a function`);
  return value;
}

function positiveNumber(name: string, value: unknown, fallback: number): number {
  if (value === undefined) return fallback;
  if (typeof value !== "number" || !(value > 0)) {
    throw new InvalidArgumentError(`${name}: expected a number > 0, got ${String(value)}`);
  }
  return value;
}

function nonNegativeNumber(name: string, value: unknown, fallback: number): number {
  if (value === undefined) return fallback;
  if (typeof value !== "number" || !(value >= 0)) {
    throw new InvalidArgumentError(`${name}: expected a number >= 0, got ${String(value)}`);
  }
  return value;
}
