// One server connection: a transport, its own native parser, the handshake, and the command pipeline.
// Commands issued in one tick are coalesced into one write (auto-pipelining); replies are matched to
// commands in order (FIFO). Subscribe-family commands are answered by push frames (one per name)
// rather than a reply, so their queue entry counts those frames instead.
// Rule: pull only — each received chunk is fed to the parser once, then every complete frame drained.
import { ClosedError, ConnectionError, PushwireError, ReplyError, TimeoutError } from "../errors.ts";
import type { Frame, FrameKind } from "../frame.ts";
import { HealthCheck } from "../health.ts";
import type { NativeStats, ParserLimits } from "../native/parser.ts";
import type { Settings } from "../options.ts";
import { describeEndpoint, openTransport, type Transport } from "../transport/transport.ts";
import { type CommandArgument, CommandBuffer } from "./encode.ts";
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
 * What a queued command waits for: a reply, `count` subscribe-family pushes of one kind, or (a PING)
 * either a reply or a "pong" push — a RESP2 connection in subscribe mode answers PING with a push.
 */
type Expectation = "reply" | "ping" | FrameKind;

interface PendingCommand {
  label: string;
  expect: Expectation;
  remaining: number;
  /** How its reply is decoded (bulk strings as text, or as bytes). */
  decode: DecodeOptions | undefined;
  resolve(value: ReplyValue): void;
  reject(error: Error): void;
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

  private constructor(parser: FrameParser, events: ConnectionEvents) {
    this.#parser = parser;
    this.#fused = typeof parser.receive === "function";
    this.#events = events;
    this.#onMessage = events.onMessage;
  }

  /** Opens the socket and runs the handshake within settings.connectTimeoutMs. */
  static async open(
    settings: Settings,
    role: ConnectionRole,
    createParser: ParserFactory,
    events: ConnectionEvents,
  ): Promise<Connection> {
    const parser = createParser({ limits: settings.parserLimits, libraryPath: settings.libraryPath, retainedInput: true });
    const connection = new Connection(parser, events);
    let timer: ReturnType<typeof setTimeout> | undefined;
    const expired = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        reject(new TimeoutError(
          `connecting to ${describeEndpoint(settings.endpoint)} took longer than connectTimeoutMs ` +
            `(${settings.connectTimeoutMs} ms)`,
        ));
      }, settings.connectTimeoutMs);
    });
    try {
      await Promise.race([connection.#start(settings, role), expired]);
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

  async #start(settings: Settings, role: ConnectionRole): Promise<void> {
    const transport = await openTransport({ endpoint: settings.endpoint, tls: settings.tls }, {
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
        await this.command(hello, authenticationLabel("HELLO 3", username, password));
        this.protocol = 3;
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
      steps.push(this.command(auth, authenticationLabel("AUTH", username, password)));
    }
    if (name !== undefined) steps.push(this.command(["CLIENT", "SETNAME", name]));
    // Nothing to send: PING anyway, so a server that wants a password says so now (NOAUTH), not on
    // the first SUBSCRIBE.
    if (steps.length === 0) steps.push(this.command(["PING"]));
    await Promise.all(steps);
  }

  /** Sends a command in this tick's write; resolves with the decoded reply. */
  command(args: readonly CommandArgument[], label?: string, decode?: DecodeOptions): Promise<ReplyValue> {
    return this.#enqueue(args, "reply", 1, label, decode);
  }

  /**
   * Sends a subscribe-family command for `names` (already unique); resolves when the server has
   * confirmed every name with a `confirmKind` push, rejects on an error reply.
   */
  subscribeCommand(command: string, names: readonly CommandArgument[], confirmKind: FrameKind): Promise<void> {
    return this.#enqueue([command, ...names], confirmKind, names.length).then(() => undefined);
  }

  #enqueue(
    args: readonly CommandArgument[],
    expect: Expectation,
    count: number,
    label?: string,
    decode?: DecodeOptions,
  ): Promise<ReplyValue> {
    if (this.#closed || this.#closing) {
      return Promise.reject(this.#lostError ?? new ClosedError("the connection is closed"));
    }
    return new Promise<ReplyValue>((resolve, reject) => {
      this.#pending.push({ label: label ?? String(args[0]), expect, remaining: count, decode, resolve, reject });
      if (this.#transportPaused) this.#updateReading();
      this.#outgoing.append(args);
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
      head.reject(new ReplyError(frame.text(), head.label));
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
    this.#health?.stop();
    this.#rejectPending(new ClosedError());
    await this.#transport?.close();
    this.#closed = true;
    // After the socket is closed no chunk can arrive, so no drain() is running: safe to free.
    this.#parserClosed = true;
    this.#parser.close();
  }
}

function helloUnsupported(error: ReplyError): boolean {
  // NOPROTO: the server knows HELLO but not RESP3; "unknown command": a server older than 6.
  return error.serverCode === "NOPROTO" || /unknown command/i.test(error.message);
}

function authenticationLabel(command: string, username: string | undefined, password: string | undefined): string {
  if (password === undefined) return command;
  return `authentication as user "${username ?? "default"}" failed (${command})`;
}
