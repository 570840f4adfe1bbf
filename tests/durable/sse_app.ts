// The SSE endpoint of the durable SSE tests (not a test file): the documented pattern, as an
// application writes it, on an HTTP server of its own and a pushwire client of its own. The test
// process runs one; run directly (`bun tests/durable/sse_app.ts <redis url>`), it is the second server
// process: it serves until killed and prints "port <n>" once it listens.
import process from "node:process";
import { connect } from "../../mod.ts";
import { resumeFrom, sse } from "../../src/sse.ts";
import { serve } from "../sse/http.ts";

export interface ResumeServer {
  readonly url: string;
  stop(): Promise<void>;
}

/** GET /events/<channel>: the channel's durable stream, resumed from Last-Event-ID (else its last 20). */
export async function startResumeServer(redisUrl: string): Promise<ResumeServer> {
  const client = await connect(redisUrl);
  const server = await serve((request) => {
    const channel = decodeURIComponent(new URL(request.url).pathname.replace(/^\/events\//, ""));
    const since = resumeFrom(request.headers.get("last-event-id"), { last: 20 });
    return sse(client.subscribe(channel, { since }), { signal: request.signal, heartbeatMs: 0 });
  });
  return {
    url: server.url,
    stop: async () => {
      await server.stop();
      await client.close();
    },
  };
}

if (import.meta.main) {
  const server = await startResumeServer(process.argv[process.argv.length - 1]);
  console.log(`port ${new URL(server.url).port}`);
}
