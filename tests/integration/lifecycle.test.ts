// Method: a real redis-server per file; the tests drive the public API through its ends — close,
// dispose, abort, throwing callbacks, bad arguments — and check both the local state and, through
// the independent raw client, the server's view.
import { assert, runtime, sleep, test, waitFor } from "../shim.ts";
import {
  ClosedError,
  connect,
  InvalidArgumentError,
  type LifecycleEvent,
  type Message,
  nativeMemory,
  TimeoutError,
} from "../../mod.ts";
import { numsub, withServer } from "./support.ts";

test(`lifecycle: close() during iteration ends the loop cleanly (${runtime})`, () =>
  withServer(async (server) => {
    const client = await connect(server.url);
    const subscription = await client.subscribe("live");
    const events: LifecycleEvent[] = [];
    subscription.onEvent((event) => events.push(event));
    const seen: string[] = [];
    const loop = (async () => {
      for await (const message of subscription) seen.push(message.text());
    })();
    await client.publish("live", "one");
    await waitFor(() => seen.length === 1, "first message");
    await client.close();
    await loop; // ends without throwing
    assert.deepEqual(seen, ["one"]);
    assert.equal(subscription.closed, true);
    assert.deepEqual(events.map((event) => event.type), ["end"]);
    assert.equal(nativeMemory().openParsers, 0);
  }));

test(`lifecycle: close() lets consumers take what is already buffered (${runtime})`, () =>
  withServer(async (server) => {
    const client = await connect(server.url, { closeTimeoutMs: 2_000 });
    const subscription = await client.subscribe("buffered");
    for (let i = 0; i < 5; i++) await server.command("PUBLISH", "buffered", String(i));
    await waitFor(() => subscription.stats().queueDepth === 5, "five buffered");
    const closing = client.close();
    const seen: string[] = [];
    for await (const message of subscription) {
      seen.push(message.text());
      await sleep(1);
    }
    await closing;
    assert.deepEqual(seen, ["0", "1", "2", "3", "4"]);
    assert.equal(client.stats().dropped, 0);
  }));

test(`lifecycle: close() gives up on a consumer that does not drain after closeTimeoutMs (${runtime})`, () =>
  withServer(async (server) => {
    const client = await connect(server.url, { closeTimeoutMs: 50 });
    const subscription = await client.subscribe("stuck");
    for (let i = 0; i < 3; i++) await server.command("PUBLISH", "stuck", String(i));
    await waitFor(() => subscription.stats().queueDepth === 3, "three buffered");
    const started = Date.now();
    await client.close();
    assert.ok(Date.now() - started < 1_000);
    assert.equal(subscription.closed, true);
    assert.equal(client.stats().dropped, 3, "undelivered messages are counted");
    assert.equal((await subscription[Symbol.asyncIterator]().next()).done, true);
  }));

test(`lifecycle: await using disposes client and subscription (${runtime})`, () =>
  withServer(async (server) => {
    let outer: { closed: boolean } | undefined;
    {
      await using client = await connect(server.url);
      {
        await using subscription = await client.subscribe("scoped");
        outer = subscription;
        assert.equal(await numsub(server, "scoped"), 1);
      }
      assert.equal(outer.closed, true);
      assert.equal(await numsub(server, "scoped"), 0);
      const sync = await client.subscribe("sync-scoped");
      {
        using _disposed = sync;
      }
      assert.equal(sync.closed, true);
      await waitFor(async () => (await numsub(server, "sync-scoped")) === 0, "sync dispose unsubscribed");
    }
    assert.equal(nativeMemory().openParsers, 0);
  }));

test(`lifecycle: a throwing onMessage is counted and reported, others still get messages (${runtime})`, () =>
  withServer(async (server) => {
    await using client = await connect(server.url);
    const failures: unknown[] = [];
    const good: string[] = [];
    await client.subscribe("cb", {
      onMessage: () => {
        throw new Error("consumer bug");
      },
      onError: (error, message) => failures.push([(error as Error).message, message.text()]),
    });
    await client.subscribe("cb", (message: Message) => good.push(message.text()));
    await client.publish("cb", "a");
    await client.publish("cb", "b");
    await waitFor(() => good.length === 2, "the healthy callback got both");
    assert.deepEqual(failures, [["consumer bug", "a"], ["consumer bug", "b"]]);
    assert.equal(client.stats().errors, 2);
    assert.equal(client.stats().delivered, 4);
  }));

test(`lifecycle: an AbortSignal ends the subscription and unsubscribes (${runtime})`, () =>
  withServer(async (server) => {
    await using client = await connect(server.url);
    const controller = new AbortController();
    const subscription = await client.subscribe("abortable", { signal: controller.signal });
    const loop = (async () => {
      let count = 0;
      for await (const _ of subscription) count++;
      return count;
    })();
    await client.publish("abortable", "x");
    await waitFor(() => subscription.stats().delivered === 1, "one delivered");
    controller.abort();
    assert.equal(await loop, 1);
    await waitFor(async () => (await numsub(server, "abortable")) === 0, "server unsubscribed");
    const aborted = new AbortController();
    aborted.abort(new Error("already aborted"));
    await assert.rejects(client.subscribe("never", { signal: aborted.signal }), /already aborted/);
    assert.equal(await numsub(server, "never"), 0);
  }));

test(`lifecycle: invalid arguments are rejected before anything is sent (${runtime})`, () =>
  withServer(async (server) => {
    await using client = await connect(server.url);
    const bad: [string, () => Promise<unknown>][] = [
      ["no names", () => client.subscribe()],
      ["empty list", () => client.subscribe([])],
      ["empty name", () => client.subscribe("")],
      ["number name", () => client.subscribe(42 as unknown as string)],
      ["null name", () => client.psubscribe(null as unknown as string)],
      ["bufferSize 0", () => client.subscribe("x", { bufferSize: 0 })],
      ["bufferSize 1.5", () => client.subscribe("x", { bufferSize: 1.5 })],
      ["bad overflow", () => client.subscribe("x", { overflow: "explode" as "error" })],
      ["bad signal", () => client.subscribe("x", { signal: {} as AbortSignal })],
      ["publish number channel", () => client.publish(1 as unknown as string, "x")],
      ["publish empty channel", () => client.publish("", "x")],
      ["publish object data", () => client.publish("x", {} as unknown as string)],
    ];
    for (const [label, call] of bad) await assert.rejects(call(), InvalidArgumentError, label);
    assert.equal(await numsub(server, "x"), 0);
    await assert.rejects(connect("http://127.0.0.1:1"), InvalidArgumentError);
    await assert.rejects(connect(server.url, { bufferSize: 0 }), InvalidArgumentError);
    await assert.rejects(connect(server.url, { protocol: 4 as 3 }), InvalidArgumentError);
    await assert.rejects(connect(server.url, { connectTimeoutMs: -1 }), InvalidArgumentError);
  }));

test(`lifecycle: every call after close() rejects with ClosedError; close is idempotent (${runtime})`, () =>
  withServer(async (server) => {
    const client = await connect(server.url);
    const subscription = await client.subscribe("gone");
    await Promise.all([client.close(), client.close()]);
    await client.close();
    await assert.rejects(client.subscribe("again"), ClosedError);
    await assert.rejects(client.psubscribe("again.*"), ClosedError);
    await assert.rejects(client.ssubscribe("again"), ClosedError);
    await assert.rejects(client.publish("gone", "x"), ClosedError);
    await assert.rejects(client.spublish("gone", "x"), ClosedError);
    await subscription.unsubscribe(); // already ended: a no-op, not an error
    assert.equal(subscription.closed, true);
    assert.equal(client.stats().queueDepth, 0);
  }));

test(`lifecycle: a server that accepts but never answers trips connectTimeoutMs (${runtime})`, () =>
  withServer(async (server) => {
    server.signal("SIGSTOP"); // the kernel still accepts the TCP connection; HELLO is never answered
    try {
      const started = Date.now();
      await assert.rejects(connect(server.url, { connectTimeoutMs: 200 }), TimeoutError);
      assert.ok(Date.now() - started < 2_000);
    } finally {
      server.signal("SIGCONT");
    }
  }));

test(`lifecycle: nobody listening on the port is a ConnectionError (${runtime})`, async () => {
  await assert.rejects(connect("redis://127.0.0.1:1", { reconnect: false }), { name: "ConnectionError" });
  assert.equal(nativeMemory().openParsers, 0);
});
