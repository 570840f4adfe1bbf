// pushwire inside Hono, on Bun and on Deno: a channel streamed as Server-Sent Events, and a publish route.
//   bun examples/hono/server.ts          deno run -A examples/hono/server.ts
// Env: VALKEY_URL (default redis://127.0.0.1:6379), PORT (default 8080; 0 = any free port), HOST.
// Routes: GET  /channels/:channel/events  the channel as text/event-stream (one sse() per browser)
//         POST /channels/:channel         the request body is published → {"receivers": n}
// The one thing to get right is the signal that tells sse() the browser left (`browserGone` below):
// on Bun it is the request's own signal; on Deno it comes from the `completed` promise of Deno.serve's
// handler info, which Hono hands the route as `c.env`. Deno 2.9 still aborts `request.signal` after a
// response that ended well too, and warns that this is "legacy behavior" (the signal of an SSE stream
// the server ended would fire and print that warning); `completed` settles once the response is over,
// whichever side ended it.
// In a project of your own, import from "pushwire" and "pushwire/sse" instead of the relative paths.
import process from "node:process";
import { type Context, Hono } from "hono";
import { bodyLimit } from "hono/body-limit";
import { type Client, connect } from "../../mod.ts";
import { sse } from "../../src/sse.ts";

// deno-lint-ignore no-explicit-any
declare const Bun: any;
// deno-lint-ignore no-explicit-any
declare const Deno: any;

/** Aborts when the HTTP client is gone, on whichever runtime serves the app. */
function browserGone(c: Context): AbortSignal {
  const completed = (c.env as { completed?: Promise<void> } | undefined)?.completed;
  if (completed === undefined) return c.req.raw.signal; // Bun.serve: c.env is the Server
  const gone = new AbortController();
  // `completed` rejects when the response could not be sent in full (the client left mid-stream).
  completed.then(() => gone.abort(), () => gone.abort());
  return gone.signal;
}

export function createApp(client: Client): Hono {
  const app = new Hono();
  app.get("/channels/:channel/events", (c) =>
    // A subscription per browser; the client's refcount keeps one server subscription per channel.
    sse(client.subscribe(c.req.param("channel")), {
      signal: browserGone(c),
      lastEventId: c.req.header("last-event-id"),
    }));
  // bodyLimit: a public publish route answers 413 to a body over 64 KiB instead of reading it.
  app.post("/channels/:channel", bodyLimit({ maxSize: 64 * 1024 }), async (c) => {
    const receivers = await client.publish(c.req.param("channel"), await c.req.text());
    return c.json({ receivers });
  });
  return app;
}

export interface HonoExample {
  readonly url: string;
  stop(): Promise<void>;
}

export async function start(
  options: { redisUrl?: string; port?: number; hostname?: string } = {},
): Promise<HonoExample> {
  const client = await connect(options.redisUrl ?? process.env.VALKEY_URL ?? "redis://127.0.0.1:6379");
  const app = createApp(client);
  const hostname = options.hostname ?? process.env.HOST ?? "127.0.0.1";
  const port = options.port ?? Number(process.env.PORT ?? 8080);
  let server: { port: number; stop(): Promise<void> };
  if (typeof Bun !== "undefined") {
    // Bun closes a connection idle for idleTimeout s (default 10): keep it above sse()'s 15 s heartbeat.
    const bun = Bun.serve({ hostname, port, idleTimeout: 30, fetch: app.fetch });
    server = { port: bun.port, stop: () => bun.stop(true) };
  } else {
    const deno = Deno.serve({ hostname, port, onListen: () => {} }, app.fetch);
    server = { port: deno.addr.port, stop: () => deno.shutdown() };
  }
  let stopping: Promise<void> | undefined;
  return {
    url: `http://${hostname}:${server.port}`,
    // Closing the client first ends every stream (sse() ends its body); Deno's shutdown waits for them.
    stop: () =>
      stopping ??= (async () => {
        await client.close();
        await server.stop();
      })(),
  };
}

if (import.meta.main) {
  const example = await start();
  console.log(`Hono + pushwire on ${example.url}: curl -N ${example.url}/channels/news/events`);
  process.once("SIGINT", () => void example.stop().then(() => process.exit(0)));
}
