// Method: a real server (PUSHWIRE_TEST_SERVER: redis or valkey) and real HTTP: the durable SSE pattern
// (tests/durable/sse_app.ts: sse(client.subscribe(ch, { since: resumeFrom(Last-Event-ID, { last: 20 }) })))
// served by this test process AND by a child process of the same runtime with a pushwire client of its
// own (a second server process, as behind a load balancer; a child, not a second server in this
// process, so that nothing — client, router, parser — is shared between the two). The reader is
// fetch() with the event-stream parser of tests/sse/helpers.ts (the browser's rules); it sends
// Last-Event-ID by hand, as EventSource does on its reconnect (tests/browser/durable.test.ts does it
// with a real Chromium).
import { spawn } from "node:child_process";
import process from "node:process";
import { fileURLToPath } from "node:url";
import { assert, runtime, sleep, test, waitFor } from "../shim.ts";
import { connect } from "../../mod.ts";
import { serverKind } from "../helpers/server_kind.ts";
import { numsub, withServer } from "../integration/support.ts";
import { EventStreamParser, readEvents } from "../sse/helpers.ts";
import { startResumeServer } from "./sse_app.ts";
import { numbered, publishAll } from "./support.ts";

declare const Bun: unknown;
const label = `${runtime}, ${serverKind()}`;
const history = { maxLength: 1_000 };

/** The second server process: sse_app.ts in a child of this runtime; resolves with its URL and a stop. */
async function startChildServer(redisUrl: string): Promise<{ url: string; stop: () => Promise<void> }> {
  const script = fileURLToPath(new URL("./sse_app.ts", import.meta.url));
  const args = typeof Bun !== "undefined" ? [script, redisUrl] : ["run", "-A", "--no-check", script, redisUrl];
  const child = spawn(process.execPath, args, { stdio: ["ignore", "pipe", "pipe"] });
  const exited = new Promise<void>((resolve) => child.once("close", () => resolve()));
  let output = "";
  const port = await new Promise<number>((resolve, reject) => {
    child.stdout!.on("data", (chunk: Uint8Array) => {
      output += new TextDecoder().decode(chunk);
      const match = /port (\d+)/.exec(output);
      if (match) resolve(Number(match[1]));
    });
    child.stderr!.on("data", (chunk: Uint8Array) => (output += new TextDecoder().decode(chunk)));
    child.once("close", (code) => reject(new Error(`the SSE child exited (${code}): ${output}`)));
  });
  return {
    url: `http://127.0.0.1:${port}`,
    stop: async () => {
      child.kill("SIGKILL");
      await exited;
    },
  };
}

/** An EventSource-like reader: GET with Last-Event-ID, events parsed by the browser's rules. */
async function open(url: string, lastEventId?: string) {
  const controller = new AbortController();
  const headers: Record<string, string> = { accept: "text/event-stream" };
  if (lastEventId !== undefined) headers["last-event-id"] = lastEventId;
  const response = await fetch(url, { headers, signal: controller.signal });
  assert.equal(response.status, 200);
  const reader = response.body!.getReader();
  const parser = new EventStreamParser();
  return {
    parser,
    messages: () => parser.events.filter((event) => event.type === "message"),
    until: (condition: (parser: EventStreamParser) => boolean) => readEvents(reader, parser, condition),
    /** Leaves as a browser tab does (Deno's fetch needs the body cancelled too). */
    close: async () => {
      controller.abort();
      await reader.cancel().catch(() => {});
    },
  };
}

test(`durable sse: 30 from one process, away while 40 are published, back on a second process with Last-Event-ID: exactly those 40, then live (${label})`, () =>
  withServer(async (server) => {
    await using publisher = await connect(server.url);
    const first = await startResumeServer(server.url);
    const second = await startChildServer(server.url);
    try {
      const reader = await open(`${first.url}/events/room`);
      // The stream's opening comment comes before its subscription exists: wait for the server's view.
      await waitFor(async () => await numsub(server, "room") === 1, "the first process's subscription");
      await publishAll(publisher, "room", numbered("a", 30), history);
      assert.ok(await reader.until(() => reader.messages().length >= 30));
      const seen = reader.messages();
      assert.deepEqual(seen.map((event) => event.data), numbered("a", 30));
      const lastEventId = seen.at(-1)!.lastEventId;
      assert.match(lastEventId, /^\d+-29$/);
      await reader.close();

      const ids = await publishAll(publisher, "room", numbered("b", 40), history);
      const back = await open(`${second.url}/events/room`, lastEventId);
      assert.ok(await back.until((parser) => parser.events.some((event) => event.type === "recovered")));
      await publishAll(publisher, "room", numbered("c", 5), history);
      assert.ok(await back.until(() => back.messages().length >= 45));
      assert.deepEqual(back.messages().map((event) => event.data), [...numbered("b", 40), ...numbered("c", 5)]);
      assert.deepEqual(back.messages().slice(0, 40).map((event) => event.lastEventId), ids);
      const types = back.parser.events.map((event) => event.type);
      assert.equal(types.indexOf("recovered"), 40, "recovered comes after the 40, before anything live");
      const recovered = JSON.parse(back.parser.events[40].data);
      assert.deepEqual({ ...recovered, at: 0 }, { at: 0, count: 40, complete: true });
      await back.close();
    } finally {
      await second.stop();
      await first.stop();
    }
  }), { timeoutMs: 60_000 });

test(`durable sse: a malformed Last-Event-ID is a fresh start that is signalled (recovered complete: false), never an error (${label})`, () =>
  withServer(async (server) => {
    await using publisher = await connect(server.url);
    const app = await startResumeServer(server.url);
    try {
      await publishAll(publisher, "lobby", numbered("m", 30), history);
      for (const header of ["17", "garbage", "1-2-3", "\u00e9"]) {
        const reader = await open(`${app.url}/events/lobby`, header);
        assert.ok(await reader.until((parser) => parser.events.some((event) => event.type === "recovered")));
        const events = reader.parser.events;
        assert.deepEqual(events.slice(0, 20).map((event) => event.data), numbered("m", 20, 10), "the fallback: the last 20");
        assert.equal(events[20].type, "recovered");
        assert.deepEqual({ ...JSON.parse(events[20].data), at: 0 }, { at: 0, count: 20, complete: false });
        await reader.close();
      }
    } finally {
      await app.stop();
    }
  }), { timeoutMs: 30_000 });

test(`durable sse: a replay five times the stream's queue limit reaches a reading browser whole (paced, no event: dropped) (${label})`, () =>
  withServer(async (server) => {
    await using publisher = await connect(server.url);
    await using client = await connect(server.url);
    const { sse } = await import("../../src/sse.ts");
    const padding = "p".repeat(1_000);
    const count = 5_000; // ~5 MB of events; sse()'s default maxQueuedBytes is 1 MiB
    await publishAll(publisher, "replay", numbered("r", count).map((text) => `${text}:${padding}`), { maxLength: count }, "publish", 500);
    const response = sse(client.subscribe("replay", { since: { last: count } }), { heartbeatMs: 0 });
    const reader = response.body!.getReader();
    const parser = new EventStreamParser();
    // A browser on a slower link: 5 ms per read. The replay (~1 MB per read of the history) must wait
    // for it, or the stream's queue would pass its limit and drop.
    while (parser.events.length < count && !parser.events.some((event) => event.type === "dropped")) {
      const { value, done } = await reader.read();
      if (done) break;
      parser.feed(value);
      await sleep(5);
    }
    assert.deepEqual(parser.events.map((event) => event.type).filter((type) => type !== "message"), []);
    assert.deepEqual(parser.events.map((event) => event.data.split(":")[0]), numbered("r", count));
    await reader.cancel();
  }), { timeoutMs: 60_000 });
