// What every framework example must do, checked the same way for each: over real HTTP (fetch), a
// browser-like client opens the SSE route, a message published through the example's publish route
// arrives on it, the client aborts, and the server subscription is gone (PUBSUB NUMSUB through the
// independent raw RESP client, so pushwire cannot vouch for itself).
import { assert, runtime, waitFor } from "../shim.ts";
import { asText } from "../helpers/raw_resp.ts";
import { RedisServer } from "../helpers/redis_server.ts";
import { nativeMemory } from "../../src/native/parser.ts";
import { EventStreamParser, readEvents } from "../sse/helpers.ts";

/**
 * Deno.serve prints its "request.signal aborts on successful responses (legacy behavior)" warning with
 * console.warn, once per isolate, the first time a handler that read request.signal ends well. Watch
 * it from the test file's start so it is seen whichever test triggers it. (Bun has no such warning.)
 */
export function watchLegacyAbortWarning(): () => string[] {
  const seen: string[] = [];
  if (runtime !== "deno") return () => seen;
  const warn = console.warn;
  console.warn = (...args: unknown[]) => {
    const line = args.map(String).join(" ");
    if (line.includes("legacy behavior")) seen.push(line);
    warn(...args);
  };
  return () => seen;
}

export async function numsub(redis: RedisServer, channel: string): Promise<number> {
  const reply = asText(await redis.command("PUBSUB", "NUMSUB", channel)) as [string, number];
  return reply[1];
}

/** An open SSE response of an example, read the way EventSource would parse it. */
export class EventStreamClient {
  readonly parser = new EventStreamParser();
  readonly #abort: AbortController;
  readonly #reader: ReadableStreamDefaultReader<Uint8Array>;

  private constructor(abort: AbortController, reader: ReadableStreamDefaultReader<Uint8Array>) {
    this.#abort = abort;
    this.#reader = reader;
  }

  static async open(url: string): Promise<EventStreamClient> {
    const abort = new AbortController();
    const response = await fetch(url, { signal: abort.signal, headers: { accept: "text/event-stream" } });
    assert.equal(response.status, 200);
    assert.equal(response.headers.get("content-type"), "text/event-stream; charset=utf-8");
    return new EventStreamClient(abort, response.body!.getReader());
  }

  /** Reads until `count` events arrived; false when the body ended first. */
  read(count: number): Promise<boolean> {
    return readEvents(this.#reader, this.parser, (parser) => parser.events.length >= count);
  }

  /** Reads to the end of the body (the server ended the stream). */
  async readToEnd(): Promise<void> {
    while (!(await this.#reader.read()).done) { /* comments and events the test does not need */ }
  }

  /** The browser leaves. Deno's fetch keeps the connection open on abort() once the body was read: cancel it too. */
  async abort(): Promise<void> {
    this.#abort.abort();
    await this.#reader.cancel().catch(() => {});
  }
}

async function publishOverHttp(baseUrl: string, channel: string, text: string): Promise<number> {
  const response = await fetch(`${baseUrl}/channels/${encodeURIComponent(channel)}`, {
    method: "POST",
    headers: { "content-type": "text/plain" },
    body: text,
  });
  assert.equal(response.status, 200, await response.clone().text());
  const { receivers } = await response.json() as { receivers: number };
  return receivers;
}

/**
 * Subscribe over HTTP, receive what the publish route sent, abort, and see the server subscription
 * go. `channel` should be unique per test so a leftover from another cannot satisfy a count.
 */
export async function subscribeReceiveAbort(baseUrl: string, redis: RedisServer, channel: string): Promise<void> {
  const stream = await EventStreamClient.open(`${baseUrl}/channels/${encodeURIComponent(channel)}/events`);
  try {
    await waitFor(async () => (await numsub(redis, channel)) === 1, "the server subscription of the SSE route");
    assert.equal(await publishOverHttp(baseUrl, channel, "hello from the publish route"), 1);
    assert.ok(await stream.read(1), "the body ended before the event");
    assert.deepEqual(stream.parser.events, [{ type: "message", data: "hello from the publish route", lastEventId: "1" }]);
  } finally {
    await stream.abort();
  }
  await waitFor(async () => (await numsub(redis, channel)) === 0, "the server subscription to end after the abort");
  // A publish now reaches nobody: the example holds nothing for the browser that left.
  assert.equal(await publishOverHttp(baseUrl, channel, "after the abort"), 0);
}

/** A running example: its base URL and an idempotent stop(). */
export interface RunningExample {
  readonly url: string;
  stop(): Promise<void>;
}

/** The publish route refuses a body over 64 KiB with 413; the open stream sees nothing. */
export async function oversizedBodyIsRefused(example: RunningExample, redis: RedisServer, channel: string): Promise<void> {
  const stream = await EventStreamClient.open(`${example.url}/channels/${encodeURIComponent(channel)}/events`);
  try {
    await waitFor(async () => (await numsub(redis, channel)) === 1, "the SSE route's subscription");
    const response = await fetch(`${example.url}/channels/${encodeURIComponent(channel)}`, {
      method: "POST",
      body: "x".repeat(64 * 1024 + 1),
    });
    assert.equal(response.status, 413);
    await response.body?.cancel();
  } finally {
    await stream.abort();
  }
  assert.deepEqual(stream.parser.events, []);
}

/** Stopping the example (its client closes first) ends an open stream's body; stop() then returns. */
export async function stopEndsOpenStreams(example: RunningExample, redis: RedisServer, channel: string): Promise<void> {
  const stream = await EventStreamClient.open(`${example.url}/channels/${encodeURIComponent(channel)}/events`);
  await waitFor(async () => (await numsub(redis, channel)) === 1, "the SSE route's subscription");
  const stopped = example.stop();
  await stream.readToEnd();
  await stopped;
}

export type StartExample = (options: { redisUrl: string; port: number }) => Promise<RunningExample>;

/** Starts an example against a fresh redis-server, runs `body`, stops both, checks native memory. */
export async function withExample(
  start: StartExample,
  body: (example: RunningExample, redis: RedisServer) => Promise<void>,
): Promise<void> {
  const redis = await RedisServer.start();
  const example = await start({ redisUrl: redis.url, port: 0 });
  try {
    await body(example, redis);
  } finally {
    await example.stop();
    await redis.stop();
  }
  assert.equal(nativeMemory().liveBytes, 0);
  assert.equal(nativeMemory().liveMessages, 0);
}
