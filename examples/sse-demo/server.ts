// pushwire demo: chat rooms over Valkey/Redis pub/sub, streamed to browsers with sse() or over the
// pushwire/ws WebSocket bridge — the same rooms either way (the page has a switch). Rooms are durable
// channels (README "Durable channels"): an SSE tab that joins gets the room's last 50 messages, and one
// that was away (its EventSource reconnects with Last-Event-ID) gets exactly what it missed, from
// whichever server process it reaches.
//   bun examples/sse-demo/server.ts          deno run -A examples/sse-demo/server.ts
// Env: VALKEY_URL or REDIS_URL (else a local valkey-server, or redis-server, is started on a free
// loopback port and stopped on exit), PORT (default 8080; 0 = any free port), HOST (default 127.0.0.1).
// Routes: GET /  the page · GET /rooms/:room/events  the room as an event stream ·
//         POST /rooms/:room  {"text": "...", "name": "..."} → PUBLISH · GET /ws  the WebSocket bridge
//         (subscribe to and publish on demo:room:<room> topics only) · GET /stats  live counters.
// The one runtime-specific piece is `listen()` (Bun.serve vs Deno.serve, picked at run time);
// src/sse.ts and src/ws.ts pick their runtime's way themselves.
import { readFile } from "node:fs/promises";
import process from "node:process";
import { connect } from "../../mod.ts";
import { openSSE, resumeFrom, type SSEStream } from "../../src/sse.ts";
import { type BunWebSocketHandler, wsBridge, type WSPublishRequest } from "../../src/ws.ts";
import { type LocalServer, startLocalServer } from "./local_server.ts";

// deno-lint-ignore no-explicit-any
declare const Bun: any;
// deno-lint-ignore no-explicit-any
declare const Deno: any;

export interface DemoOptions {
  /** redis:// or valkey:// URL; default: VALKEY_URL, REDIS_URL, else a local valkey-server (or redis-server). */
  redisUrl?: string;
  /** HTTP port (0 = any free port); default: PORT or 8080. */
  port?: number;
  hostname?: string;
  /** Print nothing (tests). */
  quiet?: boolean;
}

export interface Demo {
  /** The page to open. */
  readonly url: string;
  readonly redisUrl: string;
  /** Channel that backs a room (what to PUBLISH to from elsewhere). */
  channel(room: string): string;
  stop(): Promise<void>;
}

interface HttpServer {
  readonly port: number;
  stop(): Promise<void>;
}

const roomPattern = /^[A-Za-z0-9_-]{1,40}$/;
const maxTextLength = 2_000;
const channelPrefix = "demo:room:";
/** What a room keeps (its history) and what a tab that joins gets of it. */
const roomHistory = { maxLength: 500, ttlMs: 7 * 24 * 3600 * 1000 };
const shownOnJoin = 50;

function listen(
  hostname: string,
  port: number,
  fetch: (request: Request, server?: unknown) => Promise<Response | undefined>,
  websocket: BunWebSocketHandler,
): HttpServer {
  if (typeof Bun !== "undefined") {
    // Bun closes a connection idle for idleTimeout seconds (default 10), an SSE stream included:
    // keep it above the 15 s heartbeat.
    const server = Bun.serve({ hostname, port, idleTimeout: 30, fetch, websocket });
    return { port: server.port, stop: () => server.stop(true) };
  }
  const server = Deno.serve({ hostname, port, onListen: () => {} }, fetch);
  return { port: server.addr.port, stop: () => server.shutdown() };
}

function json(body: unknown, status = 200): Response {
  return new Response(JSON.stringify(body), { status, headers: { "content-type": "application/json" } });
}

async function readMessage(request: Request): Promise<{ text: string; name: string } | string> {
  return parseMessage(await request.text(), (request.headers.get("content-type") ?? "").includes("application/json"));
}

/** A chat message from a POST body or a WebSocket publish: `{text, name}` JSON (or plain text), checked. */
function parseMessage(body: string, isJson: boolean): { text: string; name: string } | string {
  if (body.length > maxTextLength * 2) return "message too long";
  let text = body;
  let name = "";
  if (isJson) {
    try {
      const parsed = JSON.parse(body);
      text = String(parsed.text ?? "");
      name = String(parsed.name ?? "").slice(0, 40);
    } catch {
      return "body is not JSON";
    }
  }
  text = text.trim();
  if (text === "") return "empty message";
  if (text.length > maxTextLength) return `message longer than ${maxTextLength} characters`;
  return { text, name };
}

export async function startDemo(options: DemoOptions = {}): Promise<Demo> {
  const env = process.env;
  let localServer: LocalServer | undefined;
  let redisUrl = options.redisUrl ?? env.VALKEY_URL ?? env.REDIS_URL;
  if (!redisUrl) {
    localServer = await startLocalServer();
    redisUrl = localServer.url;
  }
  const log = options.quiet ? () => {} : (line: string) => console.log(line);
  const occupied = new Set<string>();
  const client = await connect(redisUrl, {
    onOccupied: (name: string) => occupied.add(name),
    onVacated: (name: string) => occupied.delete(name),
  });
  const page = await readFile(new URL("./index.html", import.meta.url), "utf8");
  const streams = new Set<SSEStream>();
  const channel = (room: string) => channelPrefix + room;
  const isRoomChannel = (topic: string) => topic.startsWith(channelPrefix) && roomPattern.test(topic.slice(channelPrefix.length));
  // WebSockets: the same rooms as the SSE streams (the same channels, through the same client).
  // Browsers may subscribe to room channels only, and publish there only well-formed chat messages,
  // stamped here the way POST stamps them.
  const bridge = wsBridge(client, {
    authorizeSubscribe: ({ topic, kind }) => kind === "channel" && isRoomChannel(topic),
    authorizePublish: (request: WSPublishRequest) => {
      if (request.kind !== "channel" || !isRoomChannel(request.topic)) return false;
      const message = parseMessage(request.data, true);
      if (typeof message === "string") return false;
      request.data = JSON.stringify({ ...message, at: Date.now() });
      return true;
    },
    // Rooms are durable: a tab's post goes into the room's history like a POST, and the bridge's
    // messages carry their ids (a WebSocket tab starts live: the last 50 on join come over SSE).
    history: ({ topic, kind }) => kind === "channel" && isRoomChannel(topic) ? roomHistory : undefined,
  });

  const handle = async (request: Request, server: unknown): Promise<Response | undefined> => {
    const url = new URL(request.url);
    if (request.method === "GET" && (url.pathname === "/" || url.pathname === "/index.html")) {
      return new Response(page, { headers: { "content-type": "text/html; charset=utf-8", "cache-control": "no-store" } });
    }
    if (request.method === "GET" && url.pathname === "/stats") {
      return json({ rooms: [...occupied], streams: [...streams].map((stream) => stream.stats()), websockets: bridge.stats() });
    }
    if (request.method === "GET" && url.pathname === "/ws") return bridge.upgrade(request, server);
    const match = /^\/rooms\/([^/]+)(\/events)?$/.exec(url.pathname);
    if (!match) return json({ error: "not found" }, 404);
    const room = decodeURIComponent(match[1]);
    if (!roomPattern.test(room)) return json({ error: "room names are 1-40 of A-Z a-z 0-9 _ -" }, 400);
    if (match[2] && request.method === "GET") {
      // One client.subscribe() per browser: the client's refcount keeps one server subscription per room.
      // A first visit starts with the room's last messages; a reconnect resumes after Last-Event-ID.
      const since = resumeFrom(request.headers.get("last-event-id"), { last: shownOnJoin });
      const stream = openSSE(client.subscribe(channel(room), { since }), {
        signal: request.signal,
        retryMs: 2_000,
        onClose: () => streams.delete(stream),
      });
      streams.add(stream);
      return stream.response;
    }
    if (!match[2] && request.method === "POST") {
      const message = await readMessage(request);
      if (typeof message === "string") return json({ error: message }, 400);
      const { receivers, id } = await client.publish(channel(room), JSON.stringify({ ...message, at: Date.now() }), {
        history: roomHistory,
      });
      return json({ receivers, id });
    }
    return json({ error: "method not allowed" }, 405);
  };

  const hostname = options.hostname ?? env.HOST ?? "127.0.0.1";
  const server = listen(hostname, options.port ?? Number(env.PORT ?? 8080), async (request, bunServer) => {
    try {
      return await handle(request, bunServer);
    } catch (error) {
      log(`demo: ${request.method} ${request.url}: ${error}`);
      return json({ error: "internal error" }, 500);
    }
  }, bridge.websocket);
  const url = `http://${hostname}:${server.port}/`;
  log(`pushwire SSE demo on ${url}  (server: ${redisUrl}${localServer ? `, local ${localServer.binary} pid ${localServer.pid}` : ""})`);

  let stopping: Promise<void> | undefined;
  const stop = () =>
    stopping ??= (async () => {
      for (const stream of streams) stream.close(); // Deno's shutdown waits for open responses
      await bridge.close();
      await server.stop();
      await client.close();
      await localServer?.stop();
    })();
  return { url, redisUrl, channel, stop };
}

if (import.meta.main) {
  const demo = await startDemo();
  console.log(`open ${demo.url}`);
  const shutdown = async (signal: string) => {
    console.log(`\n${signal}: stopping`);
    await demo.stop();
    process.exit(0);
  };
  process.once("SIGINT", () => void shutdown("SIGINT"));
  process.once("SIGTERM", () => void shutdown("SIGTERM"));
}
