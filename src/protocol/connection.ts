// One server connection: a transport, its own native parser, the handshake, and the command pipeline.
// Commands issued in one tick are coalesced into one write (auto-pipelining); replies are matched to
// commands in order (FIFO). Subscribe-family commands are answered by push frames (one per name)
// rather than a reply, so their queue entry counts those frames instead. An UNSUBSCRIBE-family
// command goes out with a PING behind it and owns every answer up to the PING's (see
// unsubscribeCommand: the server's own unsubscribe pushes look like its confirmations).
// Rule: pull only — each received chunk is fed to the parser once, then every complete frame drained.
import { ClosedError, ConnectionError, PushwireError, ReplyError, TimeoutError } from "../errors.ts";
import type { Frame, FrameKind } from "../frame.ts";
import { HealthCheck } from "../health.ts";
import type { NativeStats, ParserLimits } from "../native/parser.ts";
import type { Settings } from "../options.ts";
import { openTransport } from "../transport/open.ts";
import { describeEndpoint, type Transport } from "../transport/transport.ts";
import { type CommandArgument, CommandBuffer } from "./encode.ts";
import { bytesKey, wireNameKey } from "../name_key.ts";
import { type DecodeOptions, decodeReply, type ReplyValue } from "./reply.ts";

/** The part of NativeParser a connection uses (tests may pass a stand-in with the same contract). */
export interface FrameParser {
  feed(bytes: Uint8Array): void;
  drain(sink: (frame: Frame) => void): number;
  /** feed(bytes) then drain(sink) in one step, when the parser has a cheaper way to do both. */
  receive?(bytes: Uint8Array, sink: (frame: Frame) => void, retained?: boolean): number;
  /** The last receive(…, true) handed out views of its bytes (they must never be written again). */
  readonly inputKept?: boolean;
  /** Where the next received bytes may be read straight into (TransportHandlers.readTarget). */
  readTarget?(): Uint8Array | undefined;
  setResp2PushArrays(enabled: boolean): void;
  stats(): NativeStats;
  close(): void;
}

/** `retainedInput`: the connection may pass chunks it never writes again (see NativeParserOptions). */
export type ParserFactory = (
  options: { limits?: ParserLimits; libraryPath?: string; retainedInput?: boolean },
) => FrameParser;

/**
 * What a queued command waits for: a reply, `count` subscribe-family pushes of one kind, (a PING)
 * either a reply or a "pong" push — a RESP2 connection in subscribe mode answers PING with a push —
 * or (an UNSUBSCRIBE-family command and its PING) the PING's answer, see UnsubscribeFence.
 */
type Expectation = "reply" | "ping" | "fence" | FrameKind;

interface PendingCommand {
  label: string;
  /** A password among the arguments: cut out of the server's error text, should it quote them. */
  secret: string | undefined;
  expect: Expectation;
  remaining: number;
  /** How its reply is decoded (bulk strings as text, or as bytes). */
  decode: DecodeOptions | undefined;
  resolve(value: ReplyValue): void;
  reject(error: Error): void;
  /** Only for expect "fence". */
  fence?: UnsubscribeFence;
}

/**
 * An UNSUBSCRIBE-family command in flight, followed by a PING. Until the PING is answered, pushes of
 * `kind` for its names and one error belong to it: its confirmations, or the server's own unsubscribe
 * of one of the names just before the command arrived, then the command's real answer (a second push;
 * or an error: MOVED or CLUSTERDOWN from a cluster node whose slot went away; on Valkey 8, NOSUB
 * when the connection has no subscription left at all). Pushes for other names are the server's own
 * and go to onPush.
 */
interface UnsubscribeFence {
  kind: FrameKind;
  names: Set<string>;
  /** The command's error answer, other than NOSUB (which means: nothing is subscribed, done). */
  error: ReplyError | undefined;
  errors: number;
}

export interface ConnectionEvents {
  /** A published message (message, pmessage, smessage); called straight from the parser's sink. */
  onMessage(frame: Frame): void;
  /** A push the pipeline did not consume and not a message: unsolicited (un)subscribe frames, pong, ... */
  onPush(frame: Frame): void;
  /** The connection ended without close() being called (server gone, protocol error). */
  onLost(error: Error): void;
}

export type ConnectionRole = "subscriber" | "commands";

export class Connection {
  /** 3 after a successful HELLO 3, else 2. */
  protocol: 2 | 3 = 3;
  /** The server's role as HELLO 3 answered it ("master", "replica", "sentinel"); undefined over RESP2. */
  serverRole: string | undefined;
  #transport: Transport | undefined;
  #parser: FrameParser;
  #pending: PendingCommand[] = [];
  #pendingHead = 0;
  #outgoing = new CommandBuffer();
  #flushScheduled = false;
  #closed = false;
  #closing = false;
  /** open() finished: from now on a lost connection is reported through events.onLost. */
  #ready = false;
  /** Why the connection was lost (open() fails with it when it happened during the handshake). */
  #lostError: Error | undefined;
  #events: ConnectionEvents;
  /** events.onMessage, read once: the per-message path is one direct call. */
  readonly #onMessage: (frame: Frame) => void;
  /**
   * The parser's sink. Published messages are most frames, and no command ever waits for one: they
   * go straight to #onMessage, one call and one kind test less each than through #route and onPush
   * (replay 256 B on Bun, 6 A/B pairs: +3.5 % msgs/s median, inside this VM's run-to-run noise).
   */
  #onFrame = (frame: Frame) => {
    const kind = frame.kind;
    if (kind === "message" || kind === "smessage" || kind === "pmessage") this.#onMessage(frame);
    else this.#route(frame);
  };
  /** The parser takes a chunk and drains it in one call (NativeParser.receive). */
  readonly #fused: boolean;
  #bytesReceived = 0;
  /** The owner wants reading held (flow control). */
  #paused = false;
  /** The transport is not being read: held, and no command waits for its answer. */
  #transportPaused = false;
  #health: HealthCheck | undefined;
  /** Aborted by the connect timeout or close(): ends a socket that is still opening (a TLS handshake). */
  readonly #opening = new AbortController();

  private constructor(parser: FrameParser, events: ConnectionEvents) {
    this.#parser = parser;
    this.#fused = typeof parser.receive === "function";
    this.#events = events;
    this.#onMessage = events.onMessage;
  }

  /**
   * Opens the socket and runs the handshake within settings.connectTimeoutMs. `verify`, when given,
   * is part of the handshake: it may send commands, and its rejection fails the open (the connection
   * is closed, events.onLost is never called for it).
   */
  static async open(
    settings: Settings,
    role: ConnectionRole,
    createParser: ParserFactory,
    events: ConnectionEvents,
    verify?: (connection: Connection) => Promise<void>,
  ): Promise<Connection> {
    const parser = createParser({ limits: settings.parserLimits, libraryPath: settings.libraryPath, retainedInput: true });
    const connection = new Connection(parser, events);
    let timer: ReturnType<typeof setTimeout> | undefined;
    const expired = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        const error = new TimeoutError(
          `connecting to ${describeEndpoint(settings.endpoint)} took longer than connectTimeoutMs ` +
            `(${settings.connectTimeoutMs} ms)`,
        );
        connection.#opening.abort(error);
        reject(error);
      }, settings.connectTimeoutMs);
    });
    try {
      await Promise.race([connection.#start(settings, role, verify), expired]);
      if (connection.#lostError) throw connection.#lostError;
      connection.#ready = true;
      connection.#health = new HealthCheck(settings.healthCheckIntervalMs, {
        ping: () => connection.#enqueue(["PING"], "ping", 1),
        get bytesReceived() {
          return connection.#bytesReceived;
        },
        get paused() {
          return connection.#transportPaused;
        },
        fail: (error) => connection.fail(error),
      });
      connection.#health.start();
      return connection;
    } catch (error) {
      await connection.close();
      throw error;
    } finally {
      clearTimeout(timer);
    }
  }

  async #start(settings: Settings, role: ConnectionRole, verify: ((connection: Connection) => Promise<void>) | undefined): Promise<void> {
    const target = { endpoint: settings.endpoint, tls: settings.tls, signal: this.#opening.signal };
    const transport = await openTransport(target, {
      onData: (chunk) => this.#receive(chunk),
      readTarget: () => (this.#closed ? undefined : this.#parser.readTarget?.()),
      onClose: (error) => this.#lost(error),
    });
    if (this.#closing) {
      // The connect timeout fired while the socket was opening: close what arrived late.
      await transport.close();
      return;
    }
    this.#transport = transport;
    await this.#handshake(settings);
    // Before the RESP2 push arrays below: a verify command's reply may be an array.
    if (verify !== undefined) await verify(this);
    // A RESP2 subscriber connection sends pub/sub messages as plain arrays: tell the parser to
    // classify them. Only here: on a command connection such an array is an ordinary reply.
    if (this.protocol === 2 && role === "subscriber") this.#parser.setResp2PushArrays(true);
  }

  async #handshake(settings: Settings): Promise<void> {
    const { username, password, name } = settings;
    if (settings.protocol === 3) {
      const hello: CommandArgument[] = ["HELLO", "3"];
      if (password !== undefined) hello.push("AUTH", username ?? "default", password);
      if (name !== undefined) hello.push("SETNAME", name);
      try {
        const reply = await this.command(hello, authenticationLabel("HELLO 3", username, password), { secret: password });
        this.protocol = 3;
        const role = reply instanceof Map ? reply.get("role") : undefined;
        if (typeof role === "string") this.serverRole = role;
        return;
      } catch (error) {
        if (!(error instanceof ReplyError) || !helloUnsupported(error)) throw error;
      }
    }
    // RESP2: the server is older than 6 (no HELLO) or the caller asked for protocol 2.
    this.protocol = 2;
    const steps: Promise<ReplyValue>[] = [];
    if (password !== undefined) {
      const auth = username === undefined ? ["AUTH", password] : ["AUTH", username, password];
      steps.push(this.command(auth, authenticationLabel("AUTH", username, password), { secret: password }));
    }
    if (name !== undefined) steps.push(this.command(["CLIENT", "SETNAME", name]));
    // Nothing to send: PING anyway, so a server that wants a password says so now (NOAUTH), not on
    // the first SUBSCRIBE.
    if (steps.length === 0) steps.push(this.command(["PING"]));
    await Promise.all(steps);
  }

  /**
   * Sends a command in this tick's write; resolves with the decoded reply. `label` names it in a
   * ReplyError (default: its first argument); `secret`, an argument never to appear in one; `decode`,
   * how its reply is decoded (bulk strings as text, or as views of the reply).
   */
  command(
    args: readonly CommandArgument[],
    label?: string,
    options: { secret?: string; decode?: DecodeOptions } = {},
  ): Promise<ReplyValue> {
    return this.#enqueue(args, "reply", 1, label, options.secret, undefined, options.decode);
  }

  /**
   * Sends a subscribe-family command for `names` (already unique); resolves when the server has
   * confirmed every name with a `confirmKind` push, rejects on an error reply.
   */
  subscribeCommand(command: string, names: readonly CommandArgument[], confirmKind: FrameKind): Promise<void> {
    return this.#enqueue([command, ...names], confirmKind, names.length).then(() => undefined);
  }

  /**
   * Sends an UNSUBSCRIBE-family command for `names` (already unique) and a PING; resolves when the
   * PING is answered, by then the server has processed the command. Rejects with the ReplyError the
   * command got, except Valkey 8's NOSUB ("not in subscribed mode": nothing was subscribed any more).
   * Counting `confirmKind` pushes instead would end early when the server unsubscribed a name on its
   * own (a shard channel whose slot moved) just before the command, and the command's real answer
   * would then meet the next command: an error there fails the wrong command or, with none waiting,
   * the connection.
   */
  unsubscribeCommand(command: string, names: readonly CommandArgument[], confirmKind: FrameKind): Promise<void> {
    const fence: UnsubscribeFence = { kind: confirmKind, names: new Set(names.map(wireNameKey)), error: undefined, errors: 0 };
    return this.#enqueue([command, ...names], "fence", 1, undefined, undefined, fence).then(() => undefined);
  }

  #enqueue(
    args: readonly CommandArgument[],
    expect: Expectation,
    count: number,
    label?: string,
    secret?: string,
    fence?: UnsubscribeFence,
    decode?: DecodeOptions,
  ): Promise<ReplyValue> {
    if (this.#closed || this.#closing) {
      return Promise.reject(this.#lostError ?? new ClosedError("the connection is closed"));
    }
    return new Promise<ReplyValue>((resolve, reject) => {
      this.#pending.push({ label: label ?? String(args[0]), secret, expect, remaining: count, decode, resolve, reject, fence });
      if (this.#transportPaused) this.#updateReading();
      this.#outgoing.append(args);
      if (fence !== undefined) this.#outgoing.append(["PING"]);
      if (!this.#flushScheduled) {
        this.#flushScheduled = true;
        queueMicrotask(() => this.#flush());
      }
    });
  }

  #flush(): void {
    this.#flushScheduled = false;
    if (this.#outgoing.length === 0) return;
    const bytes = this.#outgoing.take();
    this.#transport?.write(bytes);
  }

  /** Commands sent but not yet answered. */
  get pendingCommands(): number {
    return this.#pending.length - this.#pendingHead;
  }

  /** TransportHandlers.onData: true when Frames keep views of `chunk` (the transport must not reuse it). */
  #receive(chunk: Uint8Array): boolean {
    if (this.#closed) return false;
    this.#bytesReceived += chunk.length;
    try {
      if (this.#fused) {
        this.#parser.receive!(chunk, this.#onFrame, true);
      } else {
        this.#parser.feed(chunk);
        this.#parser.drain(this.#onFrame);
      }
    } catch (error) {
      // A ProtocolError is sticky: this connection cannot be trusted any more.
      this.#fail(error instanceof PushwireError ? error : new ConnectionError(String(error), { cause: error }));
    }
    // Read even after a throw: frames built before it may hold views of the chunk.
    return this.#parser.inputKept === true;
  }

  /** Every frame but a published message (see #onFrame). */
  #route(frame: Frame): void {
    const head = this.#pendingHead < this.#pending.length ? this.#pending[this.#pendingHead] : undefined;
    if (head?.fence !== undefined) {
      this.#routeFenced(head, head.fence, frame);
      return;
    }
    if (frame.kind === "reply" || (frame.kind === "pong" && head?.expect === "ping")) {
      if (head?.expect !== "reply" && head?.expect !== "ping") {
        this.#fail(new ConnectionError("the server sent a reply that no command was waiting for"));
        return;
      }
      this.#shift();
      head.resolve(decodeReply(frame.data, head.decode));
      return;
    }
    if (frame.kind === "error") {
      if (!head) {
        this.#fail(new ConnectionError(`unexpected server error: ${frame.text()}`));
        return;
      }
      this.#shift();
      head.reject(new ReplyError(withoutSecret(frame.text(), head.secret), head.label));
      return;
    }
    if (head !== undefined && head.expect === frame.kind) {
      if (--head.remaining === 0) {
        this.#shift();
        head.resolve(null);
      }
      return;
    }
    this.#events.onPush(frame);
  }

  /** A frame while an UNSUBSCRIBE-family command and its PING are the oldest unanswered (see UnsubscribeFence). */
  #routeFenced(head: PendingCommand, fence: UnsubscribeFence, frame: Frame): void {
    const kind = frame.kind;
    if (kind === fence.kind) {
      if (!fence.names.has(bytesKey(frame.channelBytes))) this.#events.onPush(frame);
      return;
    }
    if (kind === "error" && fence.errors++ === 0 && !answersPing(frame.text())) {
      const text = frame.text();
      if (!notSubscribed(text)) fence.error = new ReplyError(text, head.label);
      return;
    }
    if (kind === "reply" || kind === "pong" || kind === "error") {
      this.#shift();
      if (fence.error !== undefined) head.reject(fence.error);
      else head.resolve(null);
      return;
    }
    this.#events.onPush(frame);
  }

  #shift(): void {
    this.#pendingHead++;
    if (this.#pendingHead === this.#pending.length && this.#paused) this.#updateReading();
    // Compact now and then instead of Array.shift() on every reply.
    if (this.#pendingHead === this.#pending.length) {
      this.#pending = [];
      this.#pendingHead = 0;
    } else if (this.#pendingHead > 1024) {
      this.#pending = this.#pending.slice(this.#pendingHead);
      this.#pendingHead = 0;
    }
  }

  #rejectPending(error: Error): void {
    const pending = this.#pending.slice(this.#pendingHead);
    this.#pending = [];
    this.#pendingHead = 0;
    for (const command of pending) command.reject(error);
  }

  /**
   * Ends the connection as lost with `error` (protocol error, failed health check): pending commands
   * reject with it and events.onLost hears it. The parser is freed by close().
   */
  fail(error: Error): void {
    this.#fail(error);
  }

  #fail(error: Error): void {
    if (this.#closed || this.#closing) return;
    this.#lost(error);
    void this.#transport?.close();
  }

  /** Why the connection was lost (undefined while it is usable or after a plain close()). */
  get lostError(): Error | undefined {
    return this.#lostError;
  }

  /** False once lost or closed. */
  get usable(): boolean {
    return !this.#closed && !this.#closing;
  }

  #lost(error: Error | undefined): void {
    if (this.#closed || this.#closing) return;
    this.#closed = true;
    this.#health?.stop();
    const reason = error ?? new ConnectionError("the connection closed");
    this.#lostError = reason;
    this.#rejectPending(reason);
    if (this.#ready) this.#events.onLost(reason);
  }

  /**
   * Holds reading (flow control). An answer comes after every message the server sent before it, so
   * while a command waits for one the socket is read all the same, and held again once none waits:
   * a consumer that publishes (or subscribes) while its own buffer holds the connection would
   * otherwise wait for itself until it is found stalled.
   */
  pause(): void {
    this.#paused = true;
    this.#updateReading();
  }

  resume(): void {
    this.#paused = false;
    this.#updateReading();
  }

  #updateReading(): void {
    const pause = this.#paused && this.#pendingHead === this.#pending.length;
    if (pause === this.#transportPaused) return;
    this.#transportPaused = pause;
    if (pause) this.#transport?.pause();
    else this.#transport?.resume();
  }

  /** Native parser counters (live messages/bytes for stats()). */
  parserStats(): NativeStats | undefined {
    if (this.#parserClosed) return undefined;
    return this.#parser.stats();
  }

  #parserClosed = false;

  /** Closes the socket, rejects what is pending with ClosedError, frees the parser. Idempotent. */
  close(): Promise<void> {
    this.#closePromise ??= this.#close();
    return this.#closePromise;
  }

  #closePromise: Promise<void> | undefined;

  async #close(): Promise<void> {
    this.#closing = true;
    this.#opening.abort(new ClosedError("the connection was closed while it opened"));
    this.#health?.stop();
    this.#rejectPending(new ClosedError());
    await this.#transport?.close();
    this.#closed = true;
    // After the socket is closed no chunk can arrive, so no drain() is running: safe to free.
    this.#parserClosed = true;
    this.#parser.close();
  }
}

/**
 * Valkey 8 answers an UNSUBSCRIBE-family command on a connection with no subscription at all with one
 * error, "NOSUB 'unsubscribe' command executed not in subscribed mode" (Redis 7 confirms each name).
 */
function notSubscribed(errorText: string): boolean {
  return errorText.startsWith("NOSUB ");
}

/** An error that can only be the fence PING's own answer: a user whose ACL denies PING ('ping' named). */
function answersPing(errorText: string): boolean {
  return /'ping'/i.test(errorText);
}

function helloUnsupported(error: ReplyError): boolean {
  // NOPROTO: the server knows HELLO but not RESP3; "unknown command": a server older than 6.
  return error.serverCode === "NOPROTO" || /unknown command/i.test(error.message);
}

/** A server may quote the arguments of a command it refuses (e.g. "unknown command ... with args"). */
function withoutSecret(text: string, secret: string | undefined): string {
  return secret === undefined || secret === "" ? text : text.split(secret).join("<password>");
}

function authenticationLabel(command: string, username: string | undefined, password: string | undefined): string {
  if (password === undefined) return command;
  return `authentication as user "${username ?? "default"}" failed (${command})`;
}
