// Test plumbing for tests/ws: the bridge served by this runtime's own HTTP server (Bun.serve with the
// bridge's websocket handler, or Deno.serve with Deno.upgradeWebSocket) on 127.0.0.1:0, browsers
// played by the runtime's own global WebSocket client, and a raw-socket WebSocket client that
// upgrades and then never reads (a stalled tab). Only loopback.
import net from "node:net";
import type { WSBridge } from "../../src/ws.ts";
import { waitFor } from "../shim.ts";

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

/** A browser: the runtime's WebSocket, every frame parsed and kept in order. */
export class Browser {
  readonly frames: Frame[] = [];
  readonly socket: WebSocket;
  readonly closed: Promise<{ code: number; reason: string }>;

  private constructor(socket: WebSocket) {
    this.socket = socket;
    socket.onmessage = (event) => this.frames.push(JSON.parse(String(event.data)));
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

  static async open(port: number, subscribeTo: string): Promise<StalledSocket> {
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
    stalled.#socket.write(maskedText(JSON.stringify({ op: "subscribe", topic: subscribeTo, id: "stalled" })));
    await waitFor(() => text().includes('"subscribed"'), "the stalled socket's subscribed frame");
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
