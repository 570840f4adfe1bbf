/**
 * `pushwire/ws`: browsers on WebSockets subscribe to Valkey/Redis channels, patterns and shard
 * channels (and publish, where the application allows it) through one bridge per process, served by
 * Bun.serve or Deno.serve. One server subscription per topic however many sockets watch it; on Bun a
 * message is one native `server.publish()`; on Deno sends per socket go through the process's write
 * budget (35,000 writes/s, shared with sse()), and a socket that gets messages faster gets them
 * together in `batch` frames. A socket that falls behind holds its topics' reading, then misses
 * messages (counted, announced by a `dropped` frame) or is closed; it holds up the others for about
 * `slowConsumerMs` at most. README "WebSocket bridge" has the details and the limits measured.
 *
 * Protocol: JSON text frames. A browser sends `{"op": "subscribe" | "unsubscribe", "topic", "kind"?,
 * "id"?}` or `{"op": "publish", "topic", "kind"?, "data", "id"?}` (`kind`: "channel" (default),
 * "pattern" or "shard"; a pattern cannot be published to; `id`, a number or a string of at most 64
 * characters, is echoed in the answer). It gets `subscribed` / `unsubscribed` / `published`
 * (`receivers`) answers; `{"type": "message", "topic", "kind", "channel", "pattern"?, "id"?, "data",
 * "encoding"?: "base64"}` (`id`: a durable topic's history id; `data` is text when the payload is
 * UTF-8, else base64); `disconnected`, `reconnected`, `recovered` and `end` frames for a topic's
 * subscription; `{"type": "dropped", "count", "total"}` after it missed messages; and
 * `{"type": "error", "code", "message", "id"?}` (codes `bad-request`, `forbidden`, `limit`, `failed`)
 * for a frame that was refused: the socket stays open.
 *
 * **Batch frames: a page must unwrap them.** `{"type": "batch", "frames": [<frame>, …]}` carries two or
 * more of the frames above, in the order they were sent (messages, answers and lifecycle frames alike;
 * never a batch inside a batch). Deno's bridge sends them whenever a socket is still writing its last
 * frame or the process's write budget is spent (a busy topic, many sockets); Bun's does not today, but
 * a page should not rely on that. A page that handles only `message` frames misses every message that
 * came in a batch, silently: handle each frame as in the example below.
 *
 * @example Deno: the bridge, with who the socket is as its context; a page subscribes
 * ```ts
 * import { connect } from "pushwire";
 * import { wsBridge } from "pushwire/ws";
 *
 * const client = await connect("redis://127.0.0.1:6379");
 * const bridge = wsBridge(client, { authorizePublish: ({ context }) => context === "admin" });
 * Deno.serve((request) => bridge.upgrade(request, undefined, { context: request.headers.get("x-user") })!);
 *
 * // In the browser:
 * const socket = new WebSocket("wss://example.com/ws");
 * socket.onopen = () => socket.send(JSON.stringify({ op: "subscribe", topic: "room-1", id: 1 }));
 * const handle = (frame: { type: string; channel?: string; data?: string }) => {
 *   if (frame.type === "message") console.log(frame.channel, frame.data);
 * };
 * socket.onmessage = (event) => {
 *   const frame = JSON.parse(event.data);
 *   if (frame.type === "batch") frame.frames.forEach(handle); // several frames, in order
 *   else handle(frame);
 * };
 * ```
 *
 * @module
 */
// pushwire/ws: browsers on WebSockets subscribe to Valkey channels, patterns and shard channels through
// one bridge per process (wire protocol: src/ws/protocol.ts; README "WebSocket bridge").
// Rule: one server subscription per topic however many sockets watch it (src/ws/topics.ts); on Bun a
// message is one `server.publish()` (native fan-out), on Deno sends per socket in JS through the
// process's write budget, batched past it (src/ws/deno.ts); a socket that falls behind follows the
// SSE flow rule (src/ws/socket.ts); a frame from a browser is checked before anything acts on it, and
// a bad one gets an `error` frame back, never a crash; publishing from a browser is denied unless
// `authorizePublish` says yes.
//
//   const bridge = wsBridge(client);
//   Bun.serve({ fetch: (req, server) => bridge.upgrade(req, server), websocket: bridge.websocket });
//   Deno.serve((req) => bridge.upgrade(req)!);
import { InvalidArgumentError } from "./errors.ts";
import { BunFanout, bunHandle, type BunServer, type BunSocket, type BunWebSocket, registerBunSocket } from "./ws/bun.ts";
import { JsFanout } from "./ws/deno.ts";
import { type ClientFrame, encodeError, encodeFrame, encodeMessage, type TopicKind, utf8Length } from "./ws/protocol.ts";
import { BridgeSocket, slowSocketCloseCode, type SocketHandle, type SocketOwner } from "./ws/socket.ts";
import { type BridgeClient, type Topic, type TopicLifecycleEvent, TopicTable } from "./ws/topics.ts";
import { parseClientFrame } from "./ws/protocol.ts";

export type { BridgeClient, BunWebSocket, TopicKind, TopicLifecycleEvent };
export type { SubscribeCall, TopicSubscription } from "./ws/topics.ts";
export type { WSMessage } from "./ws/protocol.ts";
export { slowSocketCloseCode } from "./ws/socket.ts";

/** What `authorizeSubscribe` is asked: may this socket subscribe to this topic? */
export interface WSTopicRequest {
  /** The topic's name as the browser sent it (1 to 1,024 characters; a pattern for kind "pattern"). */
  topic: string;
  /** What the name means: a channel, a pattern or a shard channel. */
  kind: TopicKind;
  /** What the application passed to upgrade() for this socket (the user, a session, …). */
  context: unknown;
}

/**
 * What `authorizePublish` is asked: may this socket publish `data` to this topic? Only `data` is read
 * back from it (the hook may replace it); `topic` and `kind` are what the browser sent.
 */
export interface WSPublishRequest extends WSTopicRequest {
  /** A channel or a shard channel (a publish to a pattern is a `bad-request` before any hook). */
  kind: "channel" | "shard";
  /**
   * The payload as the browser sent it; the hook may set another string, published instead (anything
   * but a string: a `failed` error frame, nothing published).
   */
  data: string;
}

/**
 * Options of wsBridge(). Every bad value (a number that is not an integer in range, a hook that is not
 * a function, another `slowSocket`) is an InvalidArgumentError thrown by wsBridge(). The hooks are
 * called for one socket's frames one at a time, in order: a slow hook delays that socket's later
 * frames, not other sockets'.
 */
export interface WSBridgeOptions {
  /**
   * A socket's send buffer bound, bytes (default 1 MiB; an integer ≥ 1): what the runtime has not yet
   * written for it and, on Deno, the frames waiting in its next `batch`. At a quarter of it buffered
   * the socket holds its topics' reading (the client's connection pauses, so one that keeps reading
   * loses nothing) until it drained below an eighth. Over the bound the socket counts as stalled at
   * once: it misses messages until it drained below an eighth (then a `dropped` frame says how many),
   * or is closed (`slowSocket`). On Bun, Bun's own `backpressureLimit` is 4 times this.
   */
  maxBufferedBytes?: number;
  /**
   * How long a socket behind may hold its topics' reading without draining, ms (default 3000; an
   * integer ≥ 0; 0: never holds). Then it is stalled: it lets go, the other sockets flow on, and its
   * buffer meets `maxBufferedBytes` alone.
   */
  slowConsumerMs?: number;
  /** A stalled socket over its bound: "drop" (default: it misses messages until drained) or "close" (code 1013, slowSocketCloseCode). */
  slowSocket?: "drop" | "close";
  /** Topics one socket may be on (default 100; an integer ≥ 1); a subscribe past it gets a `limit` error frame. */
  maxTopicsPerSocket?: number;
  /**
   * Largest frame a browser may send (default 64 KiB; an integer ≥ 1). Bun: its `maxPayloadLength`,
   * in bytes (Bun closes a socket that sends more, code 1009). Deno: a frame of more UTF-8 bytes than
   * this gets a `limit` error frame, is counted in `badFrames` and is not acted on.
   */
  maxFrameBytes?: number;
  /**
   * May this socket subscribe to this topic? Default: yes. Asked once per subscribe frame for a topic
   * the socket is not on yet; only `true` (or a promise of it) allows: false, another value, a throw
   * or a rejection is a `forbidden` error frame.
   */
  authorizeSubscribe?: (request: WSTopicRequest) => boolean | Promise<boolean>;
  /**
   * May this socket publish this? Default: no (browsers cannot publish unless this says yes); only
   * `true` allows, as for authorizeSubscribe. The hook may replace `request.data` (a string) with what
   * is to be published instead, e.g. stamped.
   */
  authorizePublish?: (request: WSPublishRequest) => boolean | Promise<boolean>;
  /**
   * Durable topics (README "Durable channels"): for a channel or shard topic this returns history
   * options for, the bridge's subscription is durable (its messages carry `id`, gaps after a Valkey
   * reconnect are filled from history and announced by a `recovered` frame) and browser publishes go
   * with that history (`maxLength` entries, kept `ttlMs`; the stream key is the derived one). Default:
   * none. Asked when a topic's subscription is made (its answer then holds while the subscription
   * lives) and at each browser publish; never for a pattern; undefined or a throw: a plain topic.
   * (A browser resumes per socket over SSE, not here.)
   */
  history?: (topic: { topic: string; kind: "channel" | "shard" }) => { maxLength: number; ttlMs?: number } | undefined;
}

/**
 * A bridge's counters (WSBridge.stats()): `sockets`, `topics` and `detachedSockets` are now; the
 * others are totals since the bridge was made, closed sockets included.
 */
export interface WSBridgeStats {
  /** Open sockets. */
  sockets: number;
  /** Topics with a server subscription (or one being made). */
  topics: number;
  /** Messages from Valkey, counted once per topic. */
  messages: number;
  /**
   * Frames the fan-out handed to sockets: each message frame and each topic's `disconnected`,
   * `reconnected` and `recovered` frame, times the sockets in that topic's fan-out — whether it went
   * out alone or inside a `batch` frame (Deno), which is not counted itself. One put in the batch of a
   * socket that then closed is counted, and lost with the socket, as its send buffer is.
   */
  deliveries: number;
  /**
   * `batch` frames sent (Deno: a socket behind, or the process's write budget spent, gets what came
   * meanwhile as one; always 0 on Bun, which fans out natively).
   */
  batches: number;
  /** Frames that went out inside those `batch` frames (`batchedFrames / batches`: frames per batch). */
  batchedFrames: number;
  /**
   * Messages sockets missed for being too far behind (out of the fan-out: never sent nor put in a
   * batch), counted when such a socket drained and got its `dropped` frame, or when it closed before
   * it drained.
   */
  dropped: number;
  /** Sockets closed for being too far behind (slowSocket "close"). */
  slowCloses: number;
  /** Times a socket was found stalled. */
  stalls: number;
  /**
   * The most bytes any socket had waiting when it was found behind: its send buffer and, on Deno, its
   * batch not yet sent (bounded by maxBufferedBytes plus a frame on Deno; on Bun, plus what one task
   * published before Bun's count showed it: one socket read of the client, at most 512 KiB; ~27 % of
   * the default bound seen in tests).
   */
  peakBufferedBytes: number;
  /** Sockets out of the fan-out right now for being too far behind. */
  detachedSockets: number;
  /** Publishes from browsers that were allowed and sent. */
  published: number;
  /** Requests refused by a hook (subscribe or publish), or publishes refused for want of authorizePublish. */
  denied: number;
  /** Frames from browsers that were not valid protocol (binary, not JSON, a bad field), each answered by a `bad-request` error frame. */
  badFrames: number;
}

/**
 * Bun's `websocket` handler object: give it to Bun.serve as `websocket` (unused on Deno). The bridge
 * made it; Bun calls its methods.
 */
export interface BunWebSocketHandler {
  /** Largest frame a browser may send, bytes: `maxFrameBytes`. */
  maxPayloadLength: number;
  /** Bytes Bun may buffer for a socket: 4 × `maxBufferedBytes` (the bridge's own bound acts first). */
  backpressureLimit: number;
  /** true: Bun closes a socket whose buffer reaches `backpressureLimit`. */
  closeOnBackpressureLimit: boolean;
  /** Bun: a socket upgraded by the bridge opened. */
  open(ws: BunWebSocket): void;
  /** Bun: a frame from the browser (a binary one is a `bad-request`). */
  message(ws: BunWebSocket, data: string | Uint8Array): void;
  /** Bun: the socket's buffer drained (the bridge looks at a socket behind again). */
  drain(ws: BunWebSocket): void;
  /** Bun: the socket closed; it leaves its topics. */
  close(ws: BunWebSocket, code: number, reason: string): void;
}

/**
 * A WebSocket bridge (wsBridge()): answers upgrade requests, then serves its sockets until close().
 * It owns the subscriptions it makes, not the client.
 */
export interface WSBridge {
  /**
   * Answers a WebSocket upgrade request. Bun: pass the server; returns undefined once upgraded (what
   * Bun's fetch must return); the first server given is the one the bridge publishes through (one Bun
   * server per bridge: another server, or none, throws InvalidArgumentError). Deno: returns the upgrade
   * response. Not an upgrade: a 426 response; an upgrade that fails: 400; after close(): 503.
   * `options.context` is handed to the hooks for this socket (WSTopicRequest.context).
   */
  upgrade(request: Request, server?: unknown, options?: { context?: unknown }): Response | undefined;
  /** Bun.serve's `websocket` option (unused on Deno). */
  readonly websocket: BunWebSocketHandler;
  /** The bridge's counters now (a new object each call). */
  stats(): WSBridgeStats;
  /**
   * Closes every socket (1001, "bridge closed") and unsubscribes every topic; resolves once each
   * UNSUBSCRIBE was answered. Sockets that open later are closed the same way and upgrade() answers
   * 503. The client stays open. Idempotent (the same promise).
   */
  close(): Promise<void>;
}

const defaults = {
  maxBufferedBytes: 1024 * 1024,
  slowConsumerMs: 3_000,
  maxTopicsPerSocket: 100,
  maxFrameBytes: 64 * 1024,
} as const;

/** How often sockets found behind are looked at again (their drain is not an event on Deno). */
const watchIntervalMs = 20;

// deno-lint-ignore no-explicit-any
const runtimeGlobal = globalThis as any;
const onBun = typeof runtimeGlobal.Bun !== "undefined";

function positiveInteger(name: string, value: number | undefined, fallback: number, allowZero = false): number {
  if (value === undefined) return fallback;
  if (!Number.isSafeInteger(value) || value < (allowZero ? 0 : 1)) {
    throw new InvalidArgumentError(`pushwire/ws: ${name} must be an integer ≥ ${allowZero ? 0 : 1}, got ${value}`);
  }
  return value;
}

function hook<T>(name: string, value: T | undefined): T | undefined {
  if (value !== undefined && typeof value !== "function") {
    throw new InvalidArgumentError(`pushwire/ws: ${name} must be a function`);
  }
  return value;
}

/**
 * A bridge from WebSockets to `client`'s pub/sub (a pushwire Client or ClusterClient, which stays the
 * caller's to close, after the bridge). One bridge serves every socket of the process; with Bun, one
 * Bun server. Throws InvalidArgumentError for a client without pub/sub methods or a bad option.
 *
 * @example On Bun
 * ```ts ignore
 * import { connect } from "pushwire";
 * import { wsBridge } from "pushwire/ws";
 *
 * const client = await connect("redis://127.0.0.1:6379");
 * const bridge = wsBridge(client, { authorizeSubscribe: ({ topic }) => topic.startsWith("room-") });
 * Bun.serve({
 *   fetch: (request, server) => bridge.upgrade(request, server, { context: request.headers.get("x-user") }),
 *   websocket: bridge.websocket,
 * });
 * ```
 *
 * @example On Deno, with durable rooms and a graceful stop
 * ```ts
 * import { connect } from "pushwire";
 * import { wsBridge } from "pushwire/ws";
 *
 * const client = await connect("redis://127.0.0.1:6379");
 * const bridge = wsBridge(client, {
 *   history: ({ topic }) => topic.startsWith("room-") ? { maxLength: 500 } : undefined,
 *   authorizePublish: (request) => {
 *     request.data = JSON.stringify({ text: request.data, at: Date.now() });
 *     return request.topic.startsWith("room-");
 *   },
 * });
 * const server = Deno.serve((request) => bridge.upgrade(request)!);
 * Deno.addSignalListener("SIGTERM", async () => {
 *   await bridge.close();
 *   await server.shutdown();
 *   await client.close();
 * });
 * ```
 */
export function wsBridge(client: BridgeClient, options: WSBridgeOptions = {}): WSBridge {
  return new Bridge(client, options);
}

class Bridge implements WSBridge, SocketOwner {
  readonly fanout: BunFanout | JsFanout;
  readonly maxBufferedBytes: number;
  readonly slowSocket: "drop" | "close";
  readonly websocket: BunWebSocketHandler;
  readonly #client: BridgeClient;
  readonly #slowConsumerMs: number;
  readonly #maxTopicsPerSocket: number;
  readonly #maxFrameBytes: number;
  readonly #authorizeSubscribe: WSBridgeOptions["authorizeSubscribe"];
  readonly #authorizePublish: WSBridgeOptions["authorizePublish"];
  readonly #history: WSBridgeOptions["history"];
  readonly #topics: TopicTable;
  readonly #sockets = new Set<BridgeSocket>();
  readonly #watched = new Set<BridgeSocket>();
  #watchTimer: ReturnType<typeof setInterval> | undefined;
  #closing: Promise<void> | undefined;
  #counters = {
    messages: 0, dropped: 0, slowCloses: 0, stallsOfClosed: 0, peakOfClosed: 0, published: 0, denied: 0, badFrames: 0,
  };

  constructor(client: BridgeClient, options: WSBridgeOptions) {
    if (client === null || typeof client !== "object" || typeof client.subscribe !== "function") {
      throw new InvalidArgumentError("pushwire/ws: wsBridge(client) needs a pushwire Client or ClusterClient");
    }
    this.#client = client;
    this.maxBufferedBytes = positiveInteger("maxBufferedBytes", options.maxBufferedBytes, defaults.maxBufferedBytes);
    this.#slowConsumerMs = positiveInteger("slowConsumerMs", options.slowConsumerMs, defaults.slowConsumerMs, true);
    this.#maxTopicsPerSocket = positiveInteger("maxTopicsPerSocket", options.maxTopicsPerSocket, defaults.maxTopicsPerSocket);
    this.#maxFrameBytes = positiveInteger("maxFrameBytes", options.maxFrameBytes, defaults.maxFrameBytes);
    this.slowSocket = options.slowSocket ?? "drop";
    if (this.slowSocket !== "drop" && this.slowSocket !== "close") {
      throw new InvalidArgumentError(`pushwire/ws: slowSocket must be "drop" or "close", got ${this.slowSocket}`);
    }
    this.#authorizeSubscribe = hook("authorizeSubscribe", options.authorizeSubscribe);
    this.#authorizePublish = hook("authorizePublish", options.authorizePublish);
    this.#history = hook("history", options.history);
    this.fanout = onBun ? new BunFanout(this.maxBufferedBytes) : new JsFanout(this.maxBufferedBytes);
    this.#topics = new TopicTable(client, {
      message: (topic, message) => {
        this.#counters.messages++;
        this.fanout.publish(topic, encodeMessage(topic.name, topic.kind, message));
      },
      lifecycle: (topic, event) => this.#onLifecycle(topic, event),
    }, (kind, name) => this.#historyOf(kind, name) !== undefined);
    this.websocket = this.#bunHandler();
  }

  /** History options of a durable topic; undefined for a plain one (or a pattern, or a throwing hook). */
  #historyOf(kind: TopicKind, topic: string): { maxLength: number; ttlMs?: number } | undefined {
    if (this.#history === undefined || kind === "pattern") return undefined;
    try {
      return this.#history({ topic, kind }) ?? undefined;
    } catch {
      return undefined;
    }
  }

  upgrade(request: Request, server?: unknown, options?: { context?: unknown }): Response | undefined {
    if (this.#closing !== undefined) return new Response("closed", { status: 503 });
    if ((request.headers.get("upgrade") ?? "").toLowerCase() !== "websocket") {
      return new Response("expected a WebSocket upgrade", { status: 426, headers: { upgrade: "websocket" } });
    }
    const context = options?.context;
    if (onBun) {
      const bunServer = server as BunServer | undefined;
      if (typeof bunServer?.upgrade !== "function" || typeof bunServer.publish !== "function") {
        throw new InvalidArgumentError("pushwire/ws: on Bun, pass the server: bridge.upgrade(request, server)");
      }
      // The fan-out is the server's native topics: sockets upgraded through a second server would be
      // in its topics, never reached by the first one's publish().
      const fanout = this.fanout as BunFanout;
      if (fanout.server !== undefined && fanout.server !== bunServer) {
        throw new InvalidArgumentError("pushwire/ws: a bridge serves one Bun server (make one bridge per server)");
      }
      fanout.server = bunServer;
      if (bunServer.upgrade(request, { data: { context } })) return undefined;
      return new Response("WebSocket upgrade failed", { status: 400 });
    }
    return this.#upgradeDeno(request, context);
  }

  #upgradeDeno(request: Request, context: unknown): Response {
    let upgraded: { socket: WebSocket; response: Response };
    try {
      upgraded = runtimeGlobal.Deno.upgradeWebSocket(request);
    } catch (error) {
      return new Response(`WebSocket upgrade failed: ${(error as Error).message}`, { status: 400 });
    }
    const { socket: webSocket, response } = upgraded;
    let socket: BridgeSocket | undefined;
    webSocket.onopen = () => {
      socket = this.#open((this.fanout as JsFanout).handle(webSocket), context);
    };
    webSocket.onmessage = (event: MessageEvent) => {
      if (socket === undefined) return;
      const data = event.data;
      if (typeof data !== "string") this.#refuse(socket, "binary frames are not part of the protocol");
      else if (utf8Length(data) > this.#maxFrameBytes) {
        this.#counters.badFrames++;
        this.#answerError(socket, "limit", `frame over ${this.#maxFrameBytes} bytes`, undefined);
      }
      else this.#receive(socket, data);
    };
    webSocket.onclose = () => {
      if (socket !== undefined) this.#closed(socket);
    };
    webSocket.onerror = () => {
      // A close event follows; nothing else to do.
    };
    return response;
  }

  #bunHandler(): BunWebSocketHandler {
    return {
      maxPayloadLength: this.#maxFrameBytes,
      // The bridge's own bound acts first; Bun's closes a socket only if a burst ever outran it.
      backpressureLimit: this.maxBufferedBytes * 4,
      closeOnBackpressureLimit: true,
      open: (ws: BunSocket) => {
        const socket = this.#open(bunHandle(ws), ws.data?.context);
        registerBunSocket(socket, ws);
        ws.data.socket = socket;
      },
      message: (ws: BunSocket, data) => {
        const socket = ws.data.socket;
        if (socket === undefined) return;
        if (typeof data !== "string") this.#refuse(socket, "binary frames are not part of the protocol");
        else this.#receive(socket, data);
      },
      drain: (ws: BunSocket) => ws.data.socket?.check(),
      close: (ws: BunSocket) => {
        const socket = ws.data.socket;
        if (socket !== undefined) this.#closed(socket);
      },
    };
  }

  #open(handle: SocketHandle, context: unknown): BridgeSocket {
    const socket = new BridgeSocket(this, handle, context, this.#slowConsumerMs);
    if (this.#closing !== undefined) {
      socket.closed = true;
      handle.close(1001, "bridge closed");
      return socket;
    }
    this.#sockets.add(socket);
    return socket;
  }

  #closed(socket: BridgeSocket): void {
    if (!this.#sockets.delete(socket)) return;
    this.#counters.stallsOfClosed += socket.stalls;
    this.#counters.peakOfClosed = Math.max(this.#counters.peakOfClosed, socket.peakBufferedBytes);
    this.#topics.leaveAll(socket); // a join still waiting then resolves false
    socket.dispose();
  }

  #refuse(socket: BridgeSocket, message: string): void {
    this.#counters.badFrames++;
    socket.send(encodeError("bad-request", `pushwire/ws: ${message}`, undefined));
  }

  #answerError(socket: BridgeSocket, code: "bad-request" | "forbidden" | "limit" | "failed", message: string, id: ClientFrame["id"]): void {
    socket.send(encodeError(code, message, id));
  }

  #receive(socket: BridgeSocket, text: string): void {
    let frame: ClientFrame;
    try {
      frame = parseClientFrame(text);
    } catch (error) {
      this.#counters.badFrames++;
      this.#answerError(socket, "bad-request", (error as Error).message, undefined);
      return;
    }
    socket.chain = socket.chain.then(() => this.#act(socket, frame)).catch((error) => {
      this.#answerError(socket, "failed", `pushwire/ws: ${(error as Error)?.message ?? error}`, frame.id);
    });
  }

  async #act(socket: BridgeSocket, frame: ClientFrame): Promise<void> {
    if (socket.closed) return;
    const answer = { topic: frame.topic, kind: frame.kind, ...(frame.id === undefined ? {} : { id: frame.id }) };
    switch (frame.op) {
      case "subscribe": {
        const joined = this.#topics.get(frame.kind, frame.topic);
        if (joined !== undefined && socket.topics.get(joined.key) === joined) {
          socket.send(encodeFrame("subscribed", answer));
          return;
        }
        if (socket.topics.size >= this.#maxTopicsPerSocket) {
          this.#answerError(socket, "limit", `pushwire/ws: at most ${this.#maxTopicsPerSocket} topics per socket`, frame.id);
          return;
        }
        if (!await this.#allowed(this.#authorizeSubscribe, { topic: frame.topic, kind: frame.kind, context: socket.context }, true)) {
          this.#answerError(socket, "forbidden", `pushwire/ws: not allowed to subscribe to ${frame.kind} ${JSON.stringify(frame.topic)}`, frame.id);
          return;
        }
        try {
          await this.#topics.join(socket, frame.kind, frame.topic, () => socket.send(encodeFrame("subscribed", answer)));
        } catch (error) {
          this.#answerError(socket, "failed", `pushwire/ws: subscribe failed: ${(error as Error)?.message ?? error}`, frame.id);
        }
        return;
      }
      case "unsubscribe": {
        const topic = this.#topics.get(frame.kind, frame.topic);
        if (topic !== undefined && topic.members.has(socket)) this.#topics.leave(socket, topic);
        socket.send(encodeFrame("unsubscribed", answer));
        return;
      }
      case "publish": {
        const request = { topic: frame.topic, kind: frame.kind, data: frame.data, context: socket.context };
        if (!await this.#allowed(this.#authorizePublish, request, false)) {
          this.#answerError(socket, "forbidden", `pushwire/ws: not allowed to publish to ${frame.kind} ${JSON.stringify(frame.topic)}`, frame.id);
          return;
        }
        if (typeof request.data !== "string") {
          this.#answerError(socket, "failed", "pushwire/ws: authorizePublish set data to something that is not a string", frame.id);
          return;
        }
        const history = this.#historyOf(frame.kind, frame.topic);
        const receivers = history === undefined
          ? await (frame.kind === "shard" ? this.#client.spublish(frame.topic, request.data) : this.#client.publish(frame.topic, request.data))
          : (await (frame.kind === "shard"
            ? this.#client.spublish(frame.topic, request.data, { history })
            : this.#client.publish(frame.topic, request.data, { history }))).receivers;
        this.#counters.published++;
        socket.send(encodeFrame("published", { ...answer, receivers }));
        return;
      }
    }
  }

  /** A hook's answer; a throwing hook denies. Without a hook: `fallback`. */
  async #allowed<R>(authorize: ((request: R) => boolean | Promise<boolean>) | undefined, request: R, fallback: boolean): Promise<boolean> {
    let allowed = fallback;
    if (authorize !== undefined) {
      try {
        allowed = (await authorize(request)) === true;
      } catch {
        allowed = false;
      }
    }
    if (!allowed) this.#counters.denied++;
    return allowed;
  }

  #onLifecycle(topic: Topic, event: TopicLifecycleEvent): void {
    const base = { topic: topic.name, kind: topic.kind, at: event.at };
    switch (event.type) {
      case "disconnected":
        this.fanout.publish(topic, encodeFrame("disconnected", event.error ? { ...base, error: event.error.message } : base));
        return;
      case "reconnected":
        this.fanout.publish(topic, encodeFrame("reconnected", { ...base, downtimeMs: event.downtimeMs }));
        return;
      case "recovered": {
        const fields = { ...base, count: event.count, complete: event.complete };
        this.fanout.publish(topic, encodeFrame("recovered", event.lost === undefined ? fields : { ...fields, lost: event.lost }));
        return;
      }
      case "dropped":
        return; // an onMessage subscription has no buffer to drop from
      case "end": {
        if (this.#closing !== undefined) return;
        const text = encodeFrame("end", event.error ? { ...base, error: event.error.message } : base);
        for (const socket of this.#topics.drop(topic)) socket.send(text);
        return;
      }
    }
  }

  watch(socket: BridgeSocket): void {
    this.#watched.add(socket);
    this.#watchTimer ??= setInterval(() => {
      for (const watched of this.#watched) watched.check();
      if (this.#watched.size === 0) this.#stopWatching();
    }, watchIntervalMs);
  }

  unwatch(socket: BridgeSocket): void {
    if (this.#watched.delete(socket) && this.#watched.size === 0) this.#stopWatching();
  }

  #stopWatching(): void {
    clearInterval(this.#watchTimer);
    this.#watchTimer = undefined;
  }

  countDropped(count: number): void {
    this.#counters.dropped += count;
  }

  closeSlow(socket: BridgeSocket): void {
    this.#counters.slowCloses++;
    this.#closed(socket);
    try {
      socket.handle.close(slowSocketCloseCode, "too slow: send buffer over its bound");
    } catch {
      // Already closing.
    }
  }

  stats(): WSBridgeStats {
    let stalls = this.#counters.stallsOfClosed;
    let peakBufferedBytes = this.#counters.peakOfClosed;
    let detachedSockets = 0;
    for (const socket of this.#sockets) {
      stalls += socket.stalls;
      peakBufferedBytes = Math.max(peakBufferedBytes, socket.peakBufferedBytes);
      if (socket.detached) detachedSockets++;
    }
    const { messages, dropped, slowCloses, published, denied, badFrames } = this.#counters;
    return {
      sockets: this.#sockets.size,
      topics: this.#topics.size,
      messages,
      deliveries: this.fanout.deliveries,
      batches: this.fanout instanceof JsFanout ? this.fanout.counters.batches : 0,
      batchedFrames: this.fanout instanceof JsFanout ? this.fanout.counters.batchedFrames : 0,
      dropped,
      slowCloses,
      stalls,
      peakBufferedBytes,
      detachedSockets,
      published,
      denied,
      badFrames,
    };
  }

  close(): Promise<void> {
    this.#closing ??= (async () => {
      for (const socket of [...this.#sockets]) {
        const handle = socket.handle;
        this.#closed(socket);
        try {
          handle.close(1001, "bridge closed");
        } catch {
          // Already closed.
        }
      }
      this.#stopWatching();
      await this.#topics.close();
    })();
    return this.#closing;
  }
}
