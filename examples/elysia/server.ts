// pushwire inside Elysia (Bun): a channel streamed as Server-Sent Events, and a publish route.
//   bun examples/elysia/server.ts
// Env: VALKEY_URL (default redis://127.0.0.1:6379), PORT (default 8080; 0 = any free port), HOST.
// Routes: GET  /channels/:channel/events  the channel as text/event-stream (one sse() per browser)
//         POST /channels/:channel         the request body (text) is published → {"receivers": n}
// Elysia passes a returned Response through untouched, so sse()'s Response is the route's answer.
// The signal that tells sse() the browser left is the request's own: Elysia serves with Bun.serve,
// whose request.signal aborts when the client disconnects.
// In a project of your own, import from "pushwire" and "pushwire/sse" instead of the relative paths.
import process from "node:process";
import { Elysia } from "elysia";
import { type Client, connect } from "../../mod.ts";
import { sse } from "../../src/sse.ts";

export function createApp(client: Client) {
  return new Elysia()
    .get("/channels/:channel/events", ({ params, request }) =>
      // A subscription per browser; the client's refcount keeps one server subscription per channel.
      sse(client.subscribe(params.channel), {
        signal: request.signal,
        lastEventId: request.headers.get("last-event-id"),
      }))
    // parse: "text": the body is published as it came, whatever content-type the caller sent.
    .post("/channels/:channel", async ({ params, body }) => ({
      receivers: await client.publish(params.channel, body as string),
    }), { parse: "text" });
}

export interface ElysiaExample {
  readonly url: string;
  stop(): Promise<void>;
}

export async function start(
  options: { redisUrl?: string; port?: number; hostname?: string } = {},
): Promise<ElysiaExample> {
  const client = await connect(options.redisUrl ?? process.env.VALKEY_URL ?? "redis://127.0.0.1:6379");
  const hostname = options.hostname ?? process.env.HOST ?? "127.0.0.1";
  const app = createApp(client).listen({
    hostname,
    port: options.port ?? Number(process.env.PORT ?? 8080),
    // Bun closes a connection idle for idleTimeout s (default 10): keep it above sse()'s 15 s heartbeat.
    idleTimeout: 30,
    // A public publish route: Bun answers 413 to a body over 64 KiB instead of reading it.
    maxRequestBodySize: 64 * 1024,
  });
  let stopping: Promise<void> | undefined;
  return {
    url: `http://${hostname}:${app.server!.port}`,
    // Closing the client first ends every stream (sse() ends its body), then the server stops. Once.
    stop: () =>
      stopping ??= (async () => {
        await client.close();
        await app.stop(true);
      })(),
  };
}

if (import.meta.main) {
  const example = await start();
  console.log(`Elysia + pushwire on ${example.url}: curl -N ${example.url}/channels/news/events`);
  process.once("SIGINT", () => void example.stop().then(() => process.exit(0)));
}
