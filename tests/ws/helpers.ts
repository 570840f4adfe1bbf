// Test plumbing for tests/ws: the bridge served by this runtime's own HTTP server (Bun.serve with the
// bridge's websocket handler, or Deno.serve with Deno.upgradeWebSocket) on 127.0.0.1:0, browsers
// played by the runtime's own global WebSocket client (batch frames unwrapped, as a page must), a
// raw-socket WebSocket client that upgrades and then never reads (a stalled tab), and the fixture
// every test of a real server starts from (withBridge: redis-server, client, bridge, server, raw
// publisher; torn down in order, then native memory checked). Only loopback.
import net from "node:net";
import { connect } from "../../mod.ts";
import type { Client } from "../../src/client.ts";
import { type WSBridge, wsBridge, type WSBridgeOptions } from "../../src/ws.ts";
import { nativeMemory } from "../../src/native/parser.ts";
import { RedisServer } from "../helpers/redis_server.ts";
import { RawConnection } from "../helpers/raw_resp.ts";
import { assert, runtime, waitFor } from "../shim.ts";

// deno-lint-ignore no-explicit-any
declare const Bun: any;
// deno-lint-ignore no-explicit-any
declare const Deno: any;

export interface BridgeServer {
  readonly port: number;
  readonly url: string;
  stop(): Promise<void>;
}

/** Serves `bridge` at ws://127.0.0.1:<port>/ws; `context(request)` becomes the socket's context. */
export function serveBridge(bridge: WSBridge, context?: (request: Request) => unknown): BridgeServer {
  const options = (request: Request) => ({ context: context?.(request) });
  if (typeof Bun !== "undefined") {
    const server = Bun.serve({
      hostname: "127.0.0.1",
      port: 0,
      idleTimeout: 0,
      fetch: (request: Request, bunServer: unknown) => bridge.upgrade(request, bunServer, options(request)),
      websocket: bridge.websocket,
    });
    return { port: server.port, url: `ws://127.0.0.1:${server.port}/ws`, stop: async () => await server.stop(true) };
  }
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, (request: Request) =>
    bridge.upgrade(request, undefined, options(request))!
  );
  const port: number = server.addr.port;
  return { port, url: `ws://127.0.0.1:${port}/ws`, stop: async () => await server.shutdown() };
}

// deno-lint-ignore no-explicit-any
export type Frame = Record<string, any>;

/**
 * A browser: the runtime's WebSocket, every frame parsed and kept in order. A `batch` frame is
 * unwrapped as a page does it: its frames join `frames` in their order (and are remembered in
 * `batched`); `batches` counts the batch frames themselves.
 */
export class Browser {
  readonly frames: Frame[] = [];
  /** The frames that came inside a batch frame. */
  readonly batched: WeakSet<Frame> = new WeakSet();
  batches = 0;
  readonly socket: WebSocket;
  readonly closed: Promise<{ code: number; reason: string }>;

  private constructor(socket: WebSocket) {
    this.socket = socket;
    socket.onmessage = (event) => {
      const frame: Frame = JSON.parse(String(event.data));
      if (frame.type !== "batch") {
        this.frames.push(frame);
        return;
      }
      this.batches++;
      assert.ok(Array.isArray(frame.frames) && frame.frames.length >= 2, `a batch of two or more: ${String(event.data).slice(0, 200)}`);
      for (const inner of frame.frames as Frame[]) {
        assert.notEqual(inner.type, "batch", "no batch inside a batch");
        this.frames.push(inner);
        this.batched.add(inner);
      }
    };
    this.closed = new Promise((resolve) => socket.addEventListener("close", (event) => resolve({ code: event.code, reason: event.reason })));
  }

  static open(url: string): Promise<Browser> {
    const socket = new WebSocket(url);
    return new Promise((resolve, reject) => {
      socket.onopen = () => resolve(new Browser(socket));
      socket.onerror = () => reject(new Error(`could not open ${url}`));
    });
  }

  send(frame: Frame | string): void {
    this.socket.send(typeof frame === "string" ? frame : JSON.stringify(frame));
  }

  /** Frames of one type. */
  of(type: string): Frame[] {
    return this.frames.filter((frame) => frame.type === type);
  }

  /** Waits for the first frame of `type` (or any of several types; optionally with this `id`), received already or later. */
  async next(type: string | string[], id?: unknown, timeoutMs = 10_000): Promise<Frame> {
    const types = typeof type === "string" ? [type] : type;
    let found: Frame | undefined;
    await waitFor(
      () => (found = this.frames.find((frame) => types.includes(frame.type) && (id === undefined || frame.id === id))) !== undefined,
      `a ${types.join("/")} frame${id === undefined ? "" : ` with id ${id}`}`,
      timeoutMs,
    );
    return found!;
  }

  async subscribe(topic: string, kind = "channel"): Promise<void> {
    const id = `s-${kind}-${topic}-${this.frames.length}`;
    this.send({ op: "subscribe", topic, kind, id });
    const answer = await this.next(["subscribed", "error"], id);
    if (answer.type === "error") throw new Error(`subscribe ${topic}: ${answer.code} ${answer.message}`);
  }

  async close(): Promise<void> {
    if (this.socket.readyState !== WebSocket.CLOSED) this.socket.close();
    await this.closed;
  }
}

/**
 * A WebSocket client on a raw socket that completes the upgrade, subscribes, and then reads nothing
 * (socket paused): its receive window fills and the server's send buffer for it grows.
 */
export class StalledSocket {
  readonly #socket: net.Socket;
  readonly #closed: Promise<void>;
  #received: Uint8Array[] = [];

  private constructor(socket: net.Socket) {
    this.#socket = socket;
    this.#closed = new Promise((resolve) => socket.once("close", () => resolve()));
    socket.on("error", () => {});
  }

  /** Subscribes to each of `topics` (answered), then stops reading. */
  static async open(port: number, ...topics: string[]): Promise<StalledSocket> {
    const socket = net.connect({ port, host: "127.0.0.1" });
    await new Promise<void>((resolve, reject) => {
      socket.once("connect", () => resolve());
      socket.once("error", reject);
    });
    const stalled = new StalledSocket(socket);
    socket.write(
      `GET /ws HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
        `Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n`,
    );
    const text = () => new TextDecoder().decode(concat(stalled.#received));
    socket.on("data", (chunk: Uint8Array) => stalled.#received.push(new Uint8Array(chunk)));
    await waitFor(() => text().includes("\r\n\r\n"), "the upgrade answer");
    for (const topic of topics) socket.write(maskedText(JSON.stringify({ op: "subscribe", topic, id: "stalled" })));
    await waitFor(() => text().split('"subscribed"').length > topics.length, "the stalled socket's subscribed frames");
    socket.pause();
    return stalled;
  }

  /** Starts reading again. */
  resume(): void {
    this.#socket.resume();
  }

  /** Every byte received so far, as text (frames' headers are binary noise around the JSON). */
  receivedText(): string {
    return new TextDecoder().decode(concat(this.#received));
  }

  async close(): Promise<void> {
    this.#socket.destroy();
    await this.#closed;
  }
}

function concat(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((sum, part) => sum + part.length, 0));
  let offset = 0;
  for (const part of parts) {
    out.set(part, offset);
    offset += part.length;
  }
  return out;
}

/** One masked text frame (RFC 6455 §5.3: a client's frames are masked), payload < 64 KiB. */
function maskedText(text: string): Uint8Array {
  const payload = new TextEncoder().encode(text);
  const mask = [0x12, 0x34, 0x56, 0x78];
  const header = payload.length < 126 ? [0x81, 0x80 | payload.length] : [0x81, 0x80 | 126, payload.length >> 8, payload.length & 0xff];
  const out = new Uint8Array(header.length + 4 + payload.length);
  out.set(header, 0);
  out.set(mask, header.length);
  for (let index = 0; index < payload.length; index++) out[header.length + 4 + index] = payload[index] ^ mask[index % 4];
  return out;
}

/** What withBridge() hands a test; everything it opens is closed by the fixture, in order. */
/**
 * The most a stalled socket may have buffered (WSBridgeStats.peakBufferedBytes) with the default
 * 1 MiB bound: Deno looks at a socket with every frame it takes, so the bound plus a message; Bun's
 * buffered count lags what one task published, and one task is one socket read of the bridge's
 * client (at most 512 KiB on Bun: its socket layer's receive buffer), so the bound plus a read plus
 * a message. Seen on Bun: up to 1.27 × the bound (1 run in ~6 went past 1.25 ×).
 */
export function stalledSocketLimit(messageBytes: number): number {
  const bound = 1024 * 1024;
  return bound + (runtime === "bun" ? 512 * 1024 : 0) + 2 * messageBytes;
}

export interface BridgeFixture {
  readonly redis: RedisServer;
  readonly client: Client;
  readonly bridge: WSBridge;
  readonly server: BridgeServer;
  /** An independent raw RESP connection to the server: publishes and inspects beside pushwire. */
  readonly publisher: RawConnection;
  /** Opens `count` browsers on `url` (the fixture's bridge by default), in waves of 100. */
  browsers(count: number, url?: string): Promise<Browser[]>;
  /** A raw-socket client on `topics` that then never reads (StalledSocket). */
  stalled(...topics: string[]): Promise<StalledSocket>;
  /** Another bridge over the same client, on a server of its own (closed before the fixture's). */
  serveAnother(options?: WSBridgeOptions, context?: (request: Request) => unknown): { bridge: WSBridge; server: BridgeServer };
}

/**
 * Runs `body` against a fresh redis-server with pushwire's client, a bridge with `options` served by
 * this runtime (serveBridge), and a raw publisher; then closes every socket the fixture opened, the
 * publisher, the bridges and servers, the client and the server, and asserts every native message freed.
 */
export async function withBridge(
  options: WSBridgeOptions & { context?: (request: Request) => unknown },
  body: (fixture: BridgeFixture) => Promise<void>,
): Promise<void> {
  const { context, ...bridgeOptions } = options;
  const redis = await RedisServer.start();
  const client = await connect(redis.url);
  const bridge = wsBridge(client, bridgeOptions);
  const server = serveBridge(bridge, context);
  const publisher = await RawConnection.connect(redis.port);
  const sockets: { close(): Promise<void> }[] = [];
  const others: { bridge: WSBridge; server: BridgeServer }[] = [];
  const fixture: BridgeFixture = {
    redis, client, bridge, server, publisher,
    async browsers(count, url = server.url) {
      const opened: Browser[] = [];
      for (let wave = 0; wave < count; wave += 100) {
        const batch = await Promise.all(Array.from({ length: Math.min(100, count - wave) }, () => Browser.open(url)));
        sockets.push(...batch);
        opened.push(...batch);
      }
      return opened;
    },
    async stalled(...topics) {
      const stalled = await StalledSocket.open(server.port, ...topics);
      sockets.push(stalled);
      return stalled;
    },
    serveAnother(anotherOptions = {}, anotherContext) {
      const another = wsBridge(client, anotherOptions);
      const served = { bridge: another, server: serveBridge(another, anotherContext) };
      others.push(served);
      return served;
    },
  };
  try {
    await body(fixture);
  } finally {
    await Promise.all(sockets.map((socket) => socket.close()));
    await publisher.close();
    for (const other of others) await other.bridge.close();
    await bridge.close();
    for (const other of others) await other.server.stop();
    await server.stop();
    await client.close();
    await redis.stop();
  }
  assert.equal(nativeMemory().liveBytes, 0, "every native message freed");
  assert.equal(nativeMemory().liveMessages, 0);
}
