// Method: real failures to connect, all on this machine: a loopback port nobody listens on (refused),
// a server started on that port only after connect() began (waitForServer), a real redis-server with
// an ACL user whose password is wrong or changes while connected, and a host name under the reserved
// .invalid TLD, which fails in the local resolver (no traffic leaves the machine).
import { assert, runtime, sleep, test, waitFor } from "../shim.ts";
import net from "node:net";
import { ConnectionError, connect, type LifecycleEvent, ReplyError } from "../../mod.ts";
import { RedisServer } from "../helpers/redis_server.ts";
import { connectCluster } from "../../src/cluster/cluster_client.ts";
import { assertNoNativeMemory, withServer } from "../integration/support.ts";

/** A loopback port that was free a moment ago (listen on 0, note the port, close). */
function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

async function connectionsReceived(server: RedisServer): Promise<number> {
  const info = await server.command("INFO", "stats");
  const text = info instanceof Uint8Array ? new TextDecoder().decode(info) : String(info);
  return Number(/total_connections_received:(\d+)/.exec(text)?.[1]);
}

test(`connect errors: connection refused is a clear ConnectionError, at once (${runtime})`, async () => {
  const port = await freePort();
  const started = Date.now();
  const error = await connect(`redis://127.0.0.1:${port}`).then(() => undefined, (error: unknown) => error);
  assert.ok(error instanceof ConnectionError, `got ${error}`);
  assert.match(error.message, new RegExp(`127\\.0\\.0\\.1:${port}`));
  assert.ok(Date.now() - started < 2_000, "no retrying by default");
  assertNoNativeMemory();
});

test(`connect errors: waitForServer connects once the server appears (${runtime})`, async () => {
  const port = await freePort();
  const connecting = connect(`redis://127.0.0.1:${port}`, {
    waitForServer: true,
    reconnect: { initialDelayMs: 20, maxDelayMs: 100, maxAttempts: 200 },
  });
  await sleep(300); // refused a few times meanwhile
  const server = await RedisServer.start({ port });
  try {
    await using client = await connecting;
    const subscription = await client.subscribe("late");
    assert.equal(await client.publish("late", "finally"), 1);
    assert.equal((await subscription[Symbol.asyncIterator]().next()).value?.text(), "finally");
  } finally {
    await server.stop();
  }
  assertNoNativeMemory();
});

test(`connect errors: waitForServer gives up after reconnect.maxAttempts with a ConnectionError (${runtime})`, async () => {
  const port = await freePort();
  await assert.rejects(
    connect(`redis://127.0.0.1:${port}`, { waitForServer: true, reconnect: { initialDelayMs: 1, maxDelayMs: 5, maxAttempts: 3 } }),
    (error: unknown) => error instanceof ConnectionError && /within 3 attempt/.test(error.message),
  );
  assertNoNativeMemory();
});

test(`connect errors: an AbortSignal ends a waitForServer wait at once with its reason; no attempt follows (${runtime})`, async () => {
  const port = await freePort();
  const controller = new AbortController();
  const reason = new Error("the app is shutting down");
  const connecting = connect(`redis://127.0.0.1:${port}`, {
    waitForServer: true,
    signal: controller.signal,
    reconnect: { initialDelayMs: 20, maxDelayMs: 40, maxAttempts: 1_000 },
  });
  await sleep(200); // refused a few times meanwhile
  const abortedAt = Date.now();
  controller.abort(reason);
  await assert.rejects(connecting, (error: unknown) => error === reason);
  assert.ok(Date.now() - abortedAt < 100, "rejected at once");
  // The server appears now: a retry loop still running would reach it within its 40 ms backoff.
  const server = await RedisServer.start({ port });
  try {
    const before = await connectionsReceived(server);
    await sleep(300);
    assert.equal(await connectionsReceived(server), before + 1, "only our own INFO connection arrived");
  } finally {
    await server.stop();
  }
  assertNoNativeMemory();
});

test(`connect errors: an abort during an attempt that hangs rejects at once; no retry or retry timer follows (${runtime})`, async () => {
  // A server that accepts and never answers HELLO: each attempt ends only at connectTimeoutMs.
  const accepted: net.Socket[] = [];
  const silent = net.createServer((socket) => void accepted.push(socket));
  await new Promise<void>((resolve) => silent.listen(0, "127.0.0.1", resolve));
  try {
    const port = (silent.address() as net.AddressInfo).port;
    const controller = new AbortController();
    const reason = new Error("gave up waiting");
    const connecting = connect(`redis://127.0.0.1:${port}`, {
      waitForServer: true,
      connectTimeoutMs: 300,
      signal: controller.signal,
      reconnect: { initialDelayMs: 5_000, maxDelayMs: 5_000, maxAttempts: 5 },
    });
    await waitFor(() => accepted.length === 1, "the first attempt");
    const abortedAt = Date.now();
    controller.abort(reason);
    await assert.rejects(connecting, (error: unknown) => error === reason);
    assert.ok(Date.now() - abortedAt < 100, "rejected at once, not at the attempt's timeout");
    // The attempt times out meanwhile; the loop must end there, not sleep toward a next attempt
    // (Deno's sanitizer fails this test on a backoff timer left running).
    await sleep(500);
    assert.equal(accepted.length, 1, "no second attempt");
  } finally {
    for (const socket of accepted) socket.destroy();
    await new Promise<void>((resolve) => silent.close(() => resolve()));
  }
  assertNoNativeMemory();
});

test(`connect errors: an already aborted signal rejects connect() and connectCluster() before any connection (${runtime})`, () =>
  withServer(async (server) => {
    const before = await connectionsReceived(server);
    const reason = new Error("not wanted any more");
    const signal = AbortSignal.abort(reason);
    await assert.rejects(connect(server.url, { signal }), (error: unknown) => error === reason);
    await assert.rejects(connectCluster([server.url], { signal }), (error: unknown) => error === reason);
    assert.equal(await connectionsReceived(server), before + 1, "only our own INFO connection arrived");
    // A signal that never aborts changes nothing.
    const client = await connect(server.url, { signal: new AbortController().signal });
    assert.equal(await client.publish("nobody", "x"), 0);
    await client.close();
    assertNoNativeMemory();
  }));

test(`connect errors: a wrong password fails once, even with waitForServer (${runtime})`, () =>
  withServer(async (server) => {
    await server.command("ACL", "SETUSER", "carol", "on", ">right", "~*", "&*", "+@all");
    const before = await connectionsReceived(server);
    await assert.rejects(
      connect(server.url, { username: "carol", password: "wrong", waitForServer: true }),
      (error: unknown) => error instanceof ReplyError && error.serverCode === "WRONGPASS",
    );
    assert.ok(await connectionsReceived(server) - before <= 2, "one attempt, no retry storm");
  }));

test(`connect errors: a password changed while connected stops reconnection at once (${runtime})`, () =>
  withServer(async (server) => {
    await server.command("ACL", "SETUSER", "dave", "on", ">old", "~*", "&*", "+@all");
    const client = await connect(server.url, {
      username: "dave",
      password: "old",
      reconnect: { initialDelayMs: 5, maxDelayMs: 10, maxAttempts: 50 },
    });
    const subscription = await client.subscribe("guarded");
    const events: LifecycleEvent[] = [];
    subscription.onEvent((event) => events.push(event));
    await server.command("ACL", "SETUSER", "dave", "resetpass", ">new");
    const before = await connectionsReceived(server);
    await server.command("CLIENT", "KILL", "USER", "dave");
    await waitFor(() => subscription.closed, "subscription ended");
    const end = events.at(-1);
    assert.ok(end?.type === "end" && end.error instanceof ConnectionError, `end event: ${JSON.stringify(end)}`);
    assert.ok(end.error.cause instanceof ReplyError && end.error.cause.serverCode === "WRONGPASS");
    assert.match(end.error.message, /after 1 attempt/);
    assert.ok(await connectionsReceived(server) - before <= 3, "no retry storm");
    await assert.rejects(subscription[Symbol.asyncIterator]().next(), ConnectionError);
    await client.close();
  }));

test(`connect errors: an unknown host is a clear ConnectionError (${runtime})`, async () => {
  const error = await connect("redis://nonexistent.invalid:6379", { connectTimeoutMs: 5_000 })
    .then(() => undefined, (error: unknown) => error);
  assert.ok(error instanceof ConnectionError, `got ${error}`);
  assert.match(error.message, /nonexistent\.invalid/);
  assertNoNativeMemory();
});
