// The public client: connect(), subscribe/psubscribe/ssubscribe, publish/spublish, stats(), close().
// It owns the subscriber connection (RESP3: also carries commands; RESP2: a second, lazily opened
// connection carries them, since a RESP2 connection in subscribe mode accepts no other command),
// the router with its refcounted server subscriptions, and reconnection (policy in reconnect.ts; the
// PING health check of each connection in health.ts). With an EndpointLocator (connectSentinel) each
// connection asks it where to go instead of using the URL's address.
// Rule: arguments are validated before anything is sent; after close() every call rejects with
// ClosedError; close() frees all native memory and leaves no timer or socket behind.
// Reconnection rule: after a loss, the new connection's first write re-subscribes every channel,
// pattern and shard channel (one pipelined write); commands issued meanwhile wait (at most
// maxPendingCommands of them) and go out only after the server confirmed the resubscription.
import { type NameInput, parseSubscribeArguments, type SubscribeArgument, validatePublishArguments } from "./arguments.ts";
import type { EndpointLocator } from "./endpoint_locator.ts";
import { publishWithHistory, resolveHistory } from "./durable/history.ts";
import { type HistoryOptions, parsePublishOptions, type PublishOptions } from "./durable/options.ts";
import type { PublishResult } from "./durable/script.ts";
import { ClosedError, ConnectionError, TimeoutError } from "./errors.ts";
import type { Frame } from "./frame.ts";
import { Connection, type ConnectionEvents, type ConnectionRole, type ParserFactory } from "./protocol/connection.ts";
import type { CommandArgument } from "./protocol/encode.ts";
import type { DecodeOptions, ReplyValue } from "./protocol/reply.ts";
import { type ClientOptions, defaultReconnect, resolveSettings, type Settings, type SubscriptionType } from "./options.ts";
import { nameRecord, type NameRecord, type Receiver, Router, type ServerSubscription } from "./router.ts";
import { abortable, BackoffTimer, backoffDelayMs, isFinalFailure } from "./reconnect.ts";
import { type ClientStats, Counters } from "./stats.ts";
import { type LifecycleEvent, type ShareFactory, Subscription, type SubscriptionOwner } from "./subscription.ts";

export type { HistoryOptions, NameInput, PublishOptions, PublishResult, SubscribeArgument };

const commands: Record<SubscriptionType, { subscribe: string; unsubscribe: string; unsubscribed: Frame["kind"] }> = {
  subscribe: { subscribe: "SUBSCRIBE", unsubscribe: "UNSUBSCRIBE", unsubscribed: "unsubscribe" },
  psubscribe: { subscribe: "PSUBSCRIBE", unsubscribe: "PUNSUBSCRIBE", unsubscribed: "punsubscribe" },
  ssubscribe: { subscribe: "SSUBSCRIBE", unsubscribe: "SUNSUBSCRIBE", unsubscribed: "sunsubscribe" },
};

const serverUnsubscribeTypes: Partial<Record<Frame["kind"], SubscriptionType>> = {
  unsubscribe: "subscribe",
  punsubscribe: "psubscribe",
  sunsubscribe: "ssubscribe",
};

/**
 * Connects, authenticates and returns a ready client. `url`: `redis://`, `rediss://` (TLS),
 * `valkey://`, `valkeys://` (TLS) or `unix:///path`, with user, password, `?name=` and `?protocol=`
 * in it if wanted (options win). Rejects with InvalidArgumentError for a bad URL or option (before
 * any socket opens), ConnectionError when the server refuses or cannot be reached (unless
 * `waitForServer: true`), TlsError when the TLS handshake fails, TimeoutError after
 * `connectTimeoutMs`, ReplyError when HELLO/AUTH is refused (WRONGPASS, NOPERM), NativeLibraryError
 * when the native library cannot be loaded, and with the signal's reason when `signal` aborts.
 * Nothing stays open after a rejection. close() the client (or `await using` it) to free it all.
 *
 * @example
 * ```ts
 * import { connect } from "pushwire";
 *
 * await using client = await connect("redis://127.0.0.1:6379", { name: "api-1" });
 * const news = await client.subscribe("news");
 * await client.publish("news", "hello");
 * for await (const message of news) {
 *   console.log(message.channel, message.text());
 *   break; // leaving the loop unsubscribes
 * }
 * ```
 */
export function connect(url: string, options?: ClientOptions): Promise<Client> {
  return Client.open(url, options);
}

type State = "open" | "reconnecting" | "closing" | "closed";

let nativeParserFactory: Promise<ParserFactory> | undefined;

// Imported on first use so the options, router and protocol code load (and unit-test) without the
// native library; connect() is the first thing that needs it.
function loadNativeParserFactory(): Promise<ParserFactory> {
  nativeParserFactory ??= import("./native/parser.ts").then(({ NativeParser }) => (options) =>
    new NativeParser(options)
  );
  return nativeParserFactory;
}

/**
 * A connection to one Valkey/Redis server (made by `connect()`, or `connectSentinel()` for a primary
 * found through Sentinel): subscriptions, publishing, stats and close. Over RESP3 one socket carries
 * both (RESP2: a second one, opened on the first command). A lost connection is reopened with
 * backoff and every subscription resubscribed; each sees `disconnected` and `reconnected`, since
 * what was published meanwhile is lost (pub/sub is at-most-once; durable channels fill the gap).
 * Every call after close() rejects with ClosedError.
 */
// The locator's RelocatableClient is met structurally (src/sentinel/connect_sentinel.ts passes this
// class where one is asked for): naming it in `implements` would show an internal type in the docs.
export class Client implements AsyncDisposable {
  readonly #settings: Settings;
  readonly #createParser: ParserFactory;
  /** Where connections go when the address can change (Sentinel); else settings.endpoint. */
  readonly #locator: EndpointLocator | undefined;
  /** relocate() asked for a reconnection without the backoff wait. */
  #moveNow = false;
  readonly #router = new Router();
  readonly #counters = new Counters();
  readonly #subscriptions = new Set<Subscription>();
  /** What holds the subscriber socket paused: own subscriptions ("pause" policy) and holdReading() holders. */
  readonly #pausedBy = new Set<object>();
  #subscriber!: Connection;
  #commands: Promise<Connection> | undefined;
  /** The RESP2 command connection once open (for stats). */
  #commandsOpen: Connection | undefined;
  #state: State = "open";
  /** Settles when a reconnection finished (resolves) or gave up (rejects). */
  #reconnected: Promise<void> | undefined;
  readonly #backoff = new BackoffTimer();
  /** Commands waiting for a reconnection (bounded by maxPendingCommands). */
  #waitingCommands = 0;
  #closed: Promise<void> | undefined;
  #drained: (() => void) | undefined;
  readonly #owner: SubscriptionOwner;

  private constructor(settings: Settings, createParser: ParserFactory, locator: EndpointLocator | undefined) {
    this.#settings = settings;
    this.#createParser = createParser;
    this.#locator = locator;
    this.#owner = {
      counters: this.#counters,
      release: (subscription) => this.#release(subscription),
      requestPause: (subscription) => this.#requestPause(subscription),
      releasePause: (subscription) => this.#releasePause(subscription),
      ended: (subscription) => this.#ended(subscription),
      share: (subscription, key, create) => this.#share(subscription, key, create),
    };
  }

  /**
   * @internal connect() without the native parser import: `createParser` lets tests run the client
   * on a stand-in parser with the NativeParser contract. With a `locator` (connectSentinel), every
   * connection goes where it says instead of the URL's host and port.
   * @ignore
   */
  static async open(url: string, options?: ClientOptions, createParser?: ParserFactory, locator?: EndpointLocator): Promise<Client> {
    const settings = resolveSettings(url, options);
    const signal = settings.connectSignal;
    signal?.throwIfAborted();
    const client = new Client(settings, createParser ?? await loadNativeParserFactory(), locator);
    client.#subscriber = await abortable(client.#openFirst(signal), signal, (connection) => void connection.close());
    return client;
  }

  /** The first connection: fails at once, or with waitForServer retries while it is refused. */
  async #openFirst(signal: AbortSignal | undefined): Promise<Connection> {
    if (!this.#settings.waitForServer) return this.#openSubscriber();
    const policy = this.#settings.reconnect ?? defaultReconnect;
    // An abort ends the backoff sleep at once; the loop then stops (connect() already rejected).
    const wake = () => this.#backoff.wake();
    signal?.addEventListener("abort", wake, { once: true });
    try {
      for (let attempt = 1;; attempt++) {
        signal?.throwIfAborted();
        try {
          return await this.#openSubscriber();
        } catch (error) {
          // Only "not there (yet)" is waited out; a refused password or a bad TLS setup is not.
          const absent = error instanceof ConnectionError || error instanceof TimeoutError;
          if (!absent || isFinalFailure(error)) throw error;
          if (attempt >= policy.maxAttempts) {
            throw new ConnectionError(
              `waitForServer: the server did not appear within ${attempt} attempt(s): ${(error as Error).message}`,
              { cause: error },
            );
          }
        }
        signal?.throwIfAborted(); // aborted during the attempt: no sleep (its timer would outlive connect())
        await this.#backoff.sleep(backoffDelayMs(policy, attempt - 1));
      }
    } finally {
      signal?.removeEventListener("abort", wake);
    }
  }

  #openSubscriber(): Promise<Connection> {
    return this.#openConnection("subscriber", {
      onPush: (frame) => this.#onPush(frame),
      onMessage: (frame) => this.#onMessage(frame),
      onLost: (error) => this.#onSubscriberLost(error),
    });
  }

  /** A connection to the fixed endpoint, or to where the locator says now (and checked there). */
  async #openConnection(role: ConnectionRole, events: ConnectionEvents): Promise<Connection> {
    const locator = this.#locator;
    if (locator === undefined) return Connection.open(this.#settings, role, this.#createParser, events);
    const endpoint = await locator.locate();
    return Connection.open({ ...this.#settings, endpoint }, role, this.#createParser, events, (connection) =>
      locator.verify(connection, endpoint)
    );
  }

  // ---- subscribing ---------------------------------------------------------------------------

  /** SUBSCRIBE to channels. Resolves once the server confirmed every name. */
  subscribe(...args: SubscribeArgument[]): Promise<Subscription> {
    return this.#subscribe("subscribe", args);
  }

  /** PSUBSCRIBE to glob patterns; messages carry `pattern` and `channel`. */
  psubscribe(...args: SubscribeArgument[]): Promise<Subscription> {
    return this.#subscribe("psubscribe", args);
  }

  /** SSUBSCRIBE to shard channels (Valkey/Redis 7+). */
  ssubscribe(...args: SubscribeArgument[]): Promise<Subscription> {
    return this.#subscribe("ssubscribe", args);
  }

  async #subscribe(type: SubscriptionType, args: SubscribeArgument[]): Promise<Subscription> {
    const { records, options, history } = parseSubscribeArguments(type, args, this.#settings);
    this.#assertUsable();
    if (options.signal?.aborted) throw options.signal.reason;
    if (history !== undefined) {
      options.history = await resolveHistory(type, records[0].bytes, history, () => (command, decode) => this.command(command, decode));
    }
    const subscription = new Subscription(this.#owner, type, records, options);
    this.#subscriptions.add(subscription);
    try {
      // A durable subscription: where it starts, then the subscription, then the history after it.
      await subscription.prepareHistory();
      await this.#acquire(subscription);
      await subscription.startHistory();
    } catch (error) {
      subscription.end(error as Error, false);
      await this.#release(subscription).catch(() => {});
      throw error;
    }
    return subscription;
  }

  /** Joins the server subscription of every name, creating those that do not exist yet. */
  async #acquire(subscription: Subscription): Promise<void> {
    const type = subscription.type;
    const created: ServerSubscription[] = [];
    const waits: Promise<void>[] = [];
    for (const record of subscription.records) {
      let entry = this.#router.get(type, record);
      if (entry === undefined) {
        entry = this.#router.add(type, record);
        created.push(entry);
      } else {
        waits.push(entry.ready);
      }
      entry.members.add(subscription);
    }
    if (created.length > 0) {
      const ready = this.#sendSubscribe(type, created.map((entry) => entry.record));
      for (const entry of created) entry.ready = ready;
      ready.then(
        () => {
          for (const entry of created) this.#occupied(entry);
        },
        () => {
          for (const entry of created) this.#router.remove(entry);
        },
      );
      waits.push(ready);
    }
    await Promise.all(waits);
  }

  async #sendSubscribe(type: SubscriptionType, records: NameRecord[]): Promise<void> {
    const connection = await this.#subscriberConnection();
    await connection.subscribeCommand(commands[type].subscribe, records.map((record) => record.argument), type);
  }

  #occupied(entry: ServerSubscription): void {
    if (entry.occupied || this.#router.get(entry.type, entry.record) !== entry) return;
    entry.occupied = true;
    this.#callHook(this.#settings.onOccupied, entry);
  }

  #callHook(hook: Settings["onOccupied"], entry: ServerSubscription): void {
    if (hook === undefined) return;
    try {
      hook(entry.record.name, entry.type);
    } catch {
      this.#counters.errors++;
    }
  }

  /** Leaves the server subscriptions this subscription held; UNSUBSCRIBE for names nobody holds. */
  async #release(subscription: Subscription): Promise<void> {
    const type = subscription.type;
    const vacated: ServerSubscription[] = [];
    for (const record of subscription.records) {
      const entry = this.#router.get(type, record);
      if (entry === undefined || !entry.members.delete(subscription) || entry.members.size > 0) continue;
      this.#router.remove(entry);
      vacated.push(entry);
    }
    if (vacated.length === 0 || this.#state === "closing" || this.#state === "closed") return;
    try {
      const connection = await this.#subscriberConnection();
      const names = vacated.map((entry) => entry.record.argument);
      await connection.unsubscribeCommand(commands[type].unsubscribe, names, commands[type].unsubscribed);
    } catch {
      // The connection is gone: the server dropped these subscriptions with it.
    }
    for (const entry of vacated) this.#vacated(entry);
  }

  #vacated(entry: ServerSubscription): void {
    if (!entry.occupied) return;
    entry.occupied = false;
    this.#callHook(this.#settings.onVacated, entry);
  }

  /** SubscriptionOwner.share: one receiver per (server subscription, key) delivers for its muted members. */
  #share(subscription: Subscription, key: string, create: ShareFactory): Receiver | undefined {
    if (subscription.records.length !== 1) return undefined;
    const entry = this.#router.get(subscription.type, subscription.records[0]);
    if (entry === undefined || !entry.members.has(subscription)) return undefined;
    const shared = (entry.shared ??= new Map());
    let receiver = shared.get(key);
    if (receiver === undefined) {
      const made: Receiver = create(() => {
        if (shared.get(key) !== made) return;
        shared.delete(key);
        entry.members.removeReceiver(made);
      }, this.#counters);
      receiver = made;
      shared.set(key, receiver);
      entry.members.addReceiver(receiver);
    }
    entry.members.mute(subscription);
    return receiver;
  }

  #ended(subscription: Subscription): void {
    this.#subscriptions.delete(subscription);
    this.#releasePause(subscription);
    if (this.#drained !== undefined && this.#subscriptions.size === 0) this.#drained();
  }

  /** A published message (the connection tells these apart): counted and routed to the subscriptions. */
  #onMessage(frame: Frame): void {
    this.#counters.received++;
    this.#router.route(frame);
  }

  #onPush(frame: Frame): void {
    const unsubscribed = serverUnsubscribeTypes[frame.kind];
    if (unsubscribed !== undefined) {
      // Not the answer to our own UNSUBSCRIBE (those are consumed by the command pipeline): the
      // server dropped the subscription itself, e.g. a shard channel whose slot moved.
      if (this.#settings.onServerUnsubscribe !== undefined) {
        try {
          this.#settings.onServerUnsubscribe(frame.channel, unsubscribed);
        } catch {
          this.#counters.errors++;
        }
      } else {
        this.#serverUnsubscribed(unsubscribed, frame);
      }
    }
    // Other unsolicited frames (subscribe confirmations, pong, invalidate) are not used by this client.
  }

  /**
   * Without an onServerUnsubscribe owner (the cluster client), a subscription the server dropped on
   * its own must not go quiet: its local subscriptions end with a ConnectionError saying so, after
   * what they already buffered. No automatic re-subscribe: a server that keeps dropping it (a moved
   * slot answers MOVED) would turn that into a loop.
   */
  #serverUnsubscribed(type: SubscriptionType, frame: Frame): void {
    const entry = this.#router.get(type, nameRecord(frame.channelBytes));
    if (entry === undefined) return;
    this.#router.remove(entry);
    this.#vacated(entry);
    const error = new ConnectionError(
      `the server ended the ${type} subscription to ${JSON.stringify(entry.record.name)} on its own ` +
        `(a shard channel whose slot moved, or whose node changed role in a failover): subscribe again`,
    );
    for (const member of [...entry.members]) {
      const subscription = member as Subscription;
      subscription.end(error, true);
      // Its other names, if nobody else holds them.
      this.#release(subscription).catch(() => {});
    }
  }

  // ---- pause policy -------------------------------------------------------------------------------

  #requestPause(holder: object): void {
    // Closing resumes reading on purpose (the UNSUBSCRIBE replies must get through): stays so.
    if (this.#state === "closing" || this.#state === "closed") return;
    this.#pausedBy.add(holder);
    if (this.#pausedBy.size === 1) this.#subscriber.pause();
  }

  #releasePause(holder: object): void {
    if (this.#pausedBy.delete(holder) && this.#pausedBy.size === 0) this.#subscriber.resume();
  }

  /**
   * @internal (src/cluster) the "pause" policy for a subscription whose buffer is not this client's:
   * the subscriber socket stops being read while any holder holds it (as for a paused subscription of
   * its own, also across a reconnect) and is read again when the last one lets go. Idempotent per holder.
   * @ignore
   */
  holdReading(holder: object): void {
    this.#requestPause(holder);
  }

  /**
   * @internal ends holdReading(holder). Idempotent.
   * @ignore
   */
  releaseReading(holder: object): void {
    this.#releasePause(holder);
  }

  // ---- publishing ---------------------------------------------------------------------------------

  /**
   * PUBLISH; resolves with the number of subscribers that received it (across the server). Calls in
   * the same tick go out in one write. While the client reconnects it waits (at most
   * `maxPendingCommands` calls; beyond, a ConnectionError at once); one already written when the
   * connection is lost rejects with ConnectionError and is not sent again.
   */
  publish(channel: NameInput, data: NameInput): Promise<number>;
  /**
   * PUBLISH that also appends the message to the channel's history, atomically (README "Durable
   * channels"): resolves with the receivers and the entry id, which durable subscribers see as
   * `message.id`.
   */
  publish(channel: NameInput, data: NameInput, options: PublishOptions & { history: HistoryOptions }): Promise<PublishResult>;
  /** PUBLISH with options known only at run time: the number without `history`, a PublishResult with it. */
  publish(channel: NameInput, data: NameInput, options?: PublishOptions): Promise<number | PublishResult>;
  publish(channel: NameInput, data: NameInput, options?: PublishOptions): Promise<number | PublishResult> {
    return this.#publish("PUBLISH", channel, data, options);
  }

  /** SPUBLISH to a shard channel (Valkey/Redis 7+), as publish() otherwise. */
  spublish(channel: NameInput, data: NameInput): Promise<number>;
  /** SPUBLISH with history, as publish() with history. */
  spublish(channel: NameInput, data: NameInput, options: PublishOptions & { history: HistoryOptions }): Promise<PublishResult>;
  /** SPUBLISH with options known only at run time, as publish(). */
  spublish(channel: NameInput, data: NameInput, options?: PublishOptions): Promise<number | PublishResult>;
  spublish(channel: NameInput, data: NameInput, options?: PublishOptions): Promise<number | PublishResult> {
    return this.#publish("SPUBLISH", channel, data, options);
  }

  async #publish(command: "PUBLISH" | "SPUBLISH", channel: NameInput, data: NameInput, options: unknown): Promise<number | PublishResult> {
    const label = command.toLowerCase();
    validatePublishArguments(label, channel, data);
    const history = parsePublishOptions(label, options);
    if (history !== undefined) return publishWithHistory(command, channel, data, history, () => (args) => this.command(args));
    const reply = await this.command([command, channel, data]);
    return Number(reply);
  }

  /**
   * @internal runs any command on the command-capable connection (used by src/cluster and the
   * history reads); resolves with the decoded reply (`decode`: bulk strings as bytes).
   * @ignore
   */
  async command(args: readonly CommandArgument[], decode?: DecodeOptions): Promise<ReplyValue> {
    this.#assertUsable();
    // RESP2 sends commands on a connection of their own: while only the subscriber reconnects, that
    // one takes them at once if it is open — unless earlier commands wait (they go first).
    const commandsReady = this.#commandsOpen !== undefined && this.#waitingCommands === 0;
    if (this.#state === "reconnecting" && !commandsReady) await this.#connectionBack();
    const connection = this.#subscriber.protocol === 3 ? this.#subscriber : await this.#commandConnection();
    return connection.command(args, undefined, { decode });
  }

  /** A command waits for the reconnection: at most maxPendingCommands of them, in order. */
  async #connectionBack(): Promise<void> {
    const limit = this.#settings.maxPendingCommands;
    if (this.#waitingCommands >= limit) {
      throw new ConnectionError(
        `the client is reconnecting and ${this.#waitingCommands} command(s) already wait for the connection ` +
          `(maxPendingCommands = ${limit}): this one was not sent`,
      );
    }
    this.#waitingCommands++;
    try {
      await this.#reconnected;
    } finally {
      this.#waitingCommands--;
    }
    this.#assertUsable();
  }

  #commandConnection(): Promise<Connection> {
    this.#commands ??= this.#openConnection("commands", {
      onPush: () => {},
      onMessage: () => {},
      onLost: () => {
        const lost = this.#commands;
        this.#commands = undefined; // the next command opens a fresh one
        this.#commandsOpen = undefined;
        lost?.then((connection) => connection.close()).catch(() => {});
      },
    }).then((connection) => {
      this.#commandsOpen = connection;
      return connection;
    }, (error) => {
      this.#commands = undefined;
      throw error;
    });
    return this.#commands;
  }

  /** The subscriber connection, after any reconnection in progress. */
  async #subscriberConnection(): Promise<Connection> {
    if (this.#state === "reconnecting") await this.#reconnected;
    this.#assertUsable();
    return this.#subscriber;
  }

  #assertUsable(): void {
    if (this.#state === "closing" || this.#state === "closed") throw new ClosedError();
  }

  // ---- reconnection -------------------------------------------------------------------------------

  #onSubscriberLost(error: Error): void {
    if (this.#state !== "open") return;
    const lostAt = Date.now();
    for (const subscription of this.#subscriptions) subscription.emit({ type: "disconnected", at: lostAt, error });
    const reconnect = this.#settings.reconnect;
    const lost = this.#subscriber;
    if (reconnect === undefined) {
      void this.#shutdown(error);
      return;
    }
    this.#state = "reconnecting";
    this.#reconnected = this.#reconnect(lost, lostAt, error);
    this.#reconnected.catch(() => {}); // observed by #subscriberConnection callers and #shutdown
  }

  async #reconnect(lost: Connection, lostAt: number, cause: Error): Promise<void> {
    await lost.close(); // frees its parser
    const policy = this.#settings.reconnect!;
    let lastError = cause;
    let attempts = 0;
    while (attempts < policy.maxAttempts) {
      if (this.#moveNow) this.#moveNow = false;
      else await this.#backoff.sleep(backoffDelayMs(policy, attempts));
      if (this.#state !== "reconnecting") throw new ClosedError();
      attempts++;
      let connection: Connection | undefined;
      try {
        connection = await this.#openSubscriber();
        if (this.#state !== "reconnecting") throw new ClosedError();
        // Current from now on, so close() can end it even while the resubscription is unanswered.
        this.#subscriber = connection;
        await this.#resubscribe(connection);
        // Lost right after the confirmations (same chunk as a protocol error): its onLost was ignored
        // while reconnecting, so it must not become the open connection.
        if (!connection.usable) throw connection.lostError ?? new ConnectionError("the connection closed");
        if (this.#state !== "reconnecting") throw new ClosedError();
        // Only now: a paused socket could not have read the resubscription's confirmations.
        if (this.#pausedBy.size > 0) connection.pause();
        this.#state = "open";
        this.#moveNow = false;
        this.#counters.reconnects++;
        const at = Date.now();
        for (const subscription of this.#subscriptions) {
          subscription.emit({ type: "reconnected", at, downtimeMs: at - lostAt });
        }
        return;
      } catch (error) {
        await connection?.close(); // frees the parser of a connection that did not make it
        if (this.#state !== "reconnecting") throw new ClosedError();
        lastError = error as Error;
        // A refused password will not fix itself: stop instead of retrying in a storm.
        if (isFinalFailure(error)) break;
      }
    }
    const failure = new ConnectionError(
      `gave up reconnecting after ${attempts} attempt(s): ${lastError.message}`,
      { cause: lastError },
    );
    void this.#shutdown(failure);
    throw failure;
  }

  /** Every server subscription, issued in one tick: the connection writes them as one pipelined write. */
  async #resubscribe(connection: Connection): Promise<void> {
    const sent: Promise<void>[] = [];
    for (const type of ["subscribe", "psubscribe", "ssubscribe"] as const) {
      const names = [...this.#router.entries(type)].map((entry) => entry.record.argument);
      if (names.length > 0) sent.push(connection.subscribeCommand(commands[type].subscribe, names, type));
    }
    await Promise.all(sent);
  }

  /**
   * @internal (src/sentinel) the server moved (a failover): the connections are left now, as if lost
   * (subscriptions see `disconnected`), and the reconnection through the locator starts without its
   * first backoff wait; during a reconnection, its next attempt starts now.
   * @ignore
   */
  relocate(reason: Error): void {
    if (this.#state === "open") {
      this.#moveNow = true;
      this.#commandsOpen?.fail(reason);
      this.#subscriber.fail(reason);
    } else if (this.#state === "reconnecting") {
      this.#moveNow = true;
      this.#backoff.wake();
    }
  }

  // ---- stats and close ----------------------------------------------------------------------------

  /**
   * @internal the subscriptions not yet ended, for per-channel metrics (src/metrics.ts).
   * @ignore
   */
  liveSubscriptions(): Iterable<Subscription> {
    return this.#subscriptions.values();
  }

  /** Counters and gauges of now, as a plain object (README "Delivery semantics" says what counts). */
  stats(): ClientStats {
    let queueDepth = 0;
    let queueBytes = 0;
    for (const subscription of this.#subscriptions) {
      queueDepth += subscription.queueDepth;
      queueBytes += subscription.queueBytes;
    }
    let nativeLiveMessages = 0;
    let nativeLiveBytes = 0;
    const parsers = [this.#subscriber?.parserStats(), this.#commandsOpen?.parserStats()];
    for (const native of parsers) {
      if (native === undefined) continue;
      nativeLiveMessages += native.liveMessages;
      nativeLiveBytes += native.liveBytes;
    }
    const counters = this.#counters;
    return {
      received: counters.received,
      delivered: counters.delivered,
      dropped: counters.dropped,
      errors: counters.errors,
      reconnects: counters.reconnects,
      queueDepth,
      queueBytes,
      nativeLiveMessages,
      nativeLiveBytes,
    };
  }

  /**
   * Unsubscribes, lets consumers take what is already buffered (up to closeTimeoutMs), then ends
   * every subscription, closes the sockets and frees the native parsers. Idempotent.
   */
  close(): Promise<void> {
    this.#closed ??= this.#shutdown(undefined);
    return this.#closed;
  }

  #shutdown(error: Error | undefined): Promise<void> {
    if (this.#state === "closing" || this.#state === "closed") return this.#closed ?? Promise.resolve();
    const closing = (async () => {
      this.#state = "closing";
      this.#backoff.wake();
      if (error === undefined) {
        this.#unsubscribeAll();
        await this.#drain();
      }
      for (const subscription of [...this.#subscriptions]) {
        // close(): the consumer had its chance; what is left is lost, so it is counted as dropped.
        // A lost connection: the consumer still gets what is buffered, then the error.
        subscription.end(error, error !== undefined, true);
      }
      this.#subscriptions.clear();
      this.#pausedBy.clear();
      const commandConnection = this.#commands;
      this.#commands = undefined;
      this.#commandsOpen = undefined;
      await Promise.all([
        this.#subscriber.close(),
        commandConnection?.then((connection) => connection.close(), () => {}),
        this.#reconnected?.catch(() => {}),
        this.#locator?.close(),
      ]);
      await this.#subscriber.close(); // a reconnection may have swapped it in meanwhile
      for (const entry of [...this.#router.entries()]) {
        this.#router.remove(entry);
        this.#vacated(entry);
      }
      this.#state = "closed";
    })();
    this.#closed ??= closing;
    return closing;
  }

  /** Best effort: tell the server to stop sending, so draining has an end. */
  #unsubscribeAll(): void {
    for (const type of ["subscribe", "psubscribe", "ssubscribe"] as const) {
      const names = [...this.#router.entries(type)].map((entry) => entry.record.argument);
      if (names.length === 0) continue;
      // Sent directly: the client already refuses new commands. Not awaited: the socket closes soon.
      this.#subscriber.unsubscribeCommand(commands[type].unsubscribe, names, commands[type].unsubscribed)
        .catch(() => {});
    }
  }

  async #drain(): Promise<void> {
    for (const subscription of [...this.#subscriptions]) subscription.beginDrain();
    if (this.#subscriptions.size === 0) return;
    // Reading must go on while consumers drain, or a paused socket would hold the UNSUBSCRIBE replies.
    this.#subscriber.resume();
    let timer: ReturnType<typeof setTimeout> | undefined;
    await new Promise<void>((resolve) => {
      this.#drained = resolve;
      timer = setTimeout(resolve, this.#settings.closeTimeoutMs);
    });
    clearTimeout(timer);
    this.#drained = undefined;
  }

  /** `await using` closes the client (close()). */
  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }
}

export type { LifecycleEvent };
