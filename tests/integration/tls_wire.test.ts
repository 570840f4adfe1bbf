// Method: what a TLS client puts on the wire, seen by a plain TCP listener (tests/helpers/plain_listener)
// that records every byte and never answers: for every way of asking for TLS, with and without a
// password, the first byte must be 0x16 (a TLS handshake record: the ClientHello) and no byte of the
// password or of a command may arrive. Also against a real plain-text server with --requirepass (the
// connect must fail, not succeed), for cluster seeds, and for the node clients a cluster opens from
// the topology it read (a real one-node TLS cluster whose announced TLS port is the listener).
import { assert, runtime, test, waitFor } from "../shim.ts";
import {
  type ClientOptions,
  type ClusterClient,
  connect,
  connectCluster,
  InvalidArgumentError,
  PushwireError,
  TlsError,
} from "../../mod.ts";
import { PlainListener } from "../helpers/plain_listener.ts";
import { RedisServer } from "../helpers/redis_server.ts";
import { tlsSkip } from "../helpers/certificates.ts";
import { type TlsServer, type TlsServerOptions, withTlsCluster } from "../helpers/tls_server.ts";
import { assertNoNativeMemory } from "./support.ts";

const password = "wire-Secret-83f1";
const tlsRecordHandshake = 0x16;

interface Spelling {
  label: string;
  scheme: string;
  tls?: ClientOptions["tls"];
}

const spellings: Spelling[] = [
  { label: "rediss://", scheme: "rediss" },
  { label: "valkeys://", scheme: "valkeys" },
  { label: "tls: true", scheme: "redis", tls: true },
  { label: "tls: {}", scheme: "redis", tls: {} },
  { label: "tls: { servername }", scheme: "redis", tls: { servername: "localhost" } },
  { label: "rediss:// + tls: { servername }", scheme: "rediss", tls: { servername: "localhost" } },
];

type PasswordPlace = "none" | "url" | "options";
const passwordPlaces: PasswordPlace[] = ["none", "url", "options"];

function attempt(listener: PlainListener, spelling: Spelling, place: PasswordPlace): { url: string; options: ClientOptions } {
  const url = listener.url(spelling.scheme, place === "url" ? `:${password}@` : "");
  const options: ClientOptions = {};
  if (spelling.tls !== undefined) options.tls = spelling.tls;
  if (place === "options") options.password = password;
  return { url, options };
}

/** The error a connect ends with, or "connected" (after closing what connected). */
async function outcome(connecting: Promise<{ close(): Promise<void> }>): Promise<unknown> {
  return await connecting.then(async (client) => {
    await client.close();
    return "connected";
  }, (error: unknown) => error);
}

function assertNothingInClear(listener: PlainListener, what: string): void {
  const firstBytes = listener.firstBytes();
  assert.ok(firstBytes.length > 0, `${what}: the client sent something`);
  for (const first of firstBytes) assert.equal(first, tlsRecordHandshake, `${what}: the first byte is a TLS handshake record`);
  for (const clear of [password, "HELLO", "AUTH", "PING"]) {
    assert.ok(!listener.includes(clear), `${what}: "${clear}" never reaches the plain-text socket`);
  }
}

test(`tls wire: every TLS spelling starts with a ClientHello, with and without a password, and fails (${runtime})`, async () => {
  for (const spelling of spellings) {
    for (const place of passwordPlaces) {
      const what = `${spelling.label}, password ${place}`;
      await using listener = await PlainListener.start();
      const { url, options } = attempt(listener, spelling, place);
      const error = await outcome(connect(url, options));
      assert.ok(error instanceof PushwireError, `${what}: connect fails with a typed error, got ${error}`);
      assertNothingInClear(listener, what);
    }
  }
  assertNoNativeMemory();
});

test(`tls wire: rediss:// to a real plain-text server with --requirepass fails instead of authenticating (${runtime})`, async () => {
  const server = await RedisServer.start({ args: ["--requirepass", password] });
  try {
    // The server reads the ClientHello as the start of an inline command and waits for the rest (or
    // answers it with an error the TLS client cannot read): connectTimeoutMs, a TimeoutError or TlsError.
    // A 2 s connectTimeoutMs instead of the default 10 s only shortens the wait; what is tested is
    // that the password never goes out in clear (the default timeout has tests of its own).
    const error = await outcome(connect(`rediss://:${password}@127.0.0.1:${server.port}`, { connectTimeoutMs: 2_000 }));
    assert.ok(error instanceof PushwireError, `rediss:// fails with a typed error, got ${error}`);
  } finally {
    await server.stop();
  }
  assertNoNativeMemory();
}, { timeoutMs: 60_000 });

test(`tls wire: connectCluster seeds in every TLS spelling start with a ClientHello (${runtime})`, async () => {
  for (const spelling of spellings) {
    for (const place of passwordPlaces) {
      const what = `cluster, ${spelling.label}, password ${place}`;
      await using listener = await PlainListener.start();
      const { url, options } = attempt(listener, spelling, place);
      const error = await outcome(connectCluster([url], options));
      assert.ok(error instanceof PushwireError, `${what}: connectCluster fails with a typed error, got ${error}`);
      assertNothingInClear(listener, what);
    }
  }
  // Node clients follow one TLS setting: seeds that disagree are refused, nothing is opened.
  await using listener = await PlainListener.start();
  for (const seeds of [[listener.url("redis"), listener.url("rediss")], [listener.url("valkeys"), listener.url("valkey")]]) {
    const error = await outcome(connectCluster(seeds, { password }));
    assert.ok(error instanceof InvalidArgumentError && /mix TLS/.test(error.message), `mixed seeds ${seeds}: ${error}`);
  }
  assert.equal(listener.received.length, 0, "no connection was made");
  assertNoNativeMemory();
});

/** Runs `body` with a one-node TLS cluster and a cluster client of it, then cleans up. */
async function withTlsClusterClient(
  options: Omit<TlsServerOptions, "certificates">,
  seedHost: string,
  body: (cluster: ClusterClient, server: TlsServer) => Promise<void>,
): Promise<void> {
  await withTlsCluster(options, async (server, certificates) => {
    const credentials = options.password === undefined ? "" : `:${options.password}@`;
    const cluster = await connectCluster([`rediss://${credentials}${seedHost}:${server.port}`], {
      tls: { ca: certificates.ca },
      maxRedirections: 2,
    });
    try {
      await body(cluster, server);
    } finally {
      await cluster.close();
    }
  });
  assertNoNativeMemory();
}

test(`tls wire: a cluster's node clients, opened from the topology, speak TLS too (${runtime})`, async () => {
  await using listener = await PlainListener.start();
  // The node announces the listener as its TLS port: the seed answers CLUSTER SHARDS over TLS, and
  // the node client for the address it names must start with TLS too.
  const announced = ["--cluster-announce-tls-port", String(listener.port)];
  await withTlsClusterClient({ password, args: announced }, "127.0.0.1", async (cluster) => {
    assert.deepEqual(cluster.topology().slots.map((range) => range.primary), [`127.0.0.1:${listener.port}`]);
    const error = await cluster.ssubscribe("on-the-listener").then(() => undefined, (error: unknown) => error);
    assert.ok(error instanceof PushwireError, `subscribing through the listener fails, got ${error}`);
    assertNothingInClear(listener, "node client from the topology");
  });
}, { skip: tlsSkip, timeoutMs: 60_000 });

test(`tls wire: a node that listens on a plain-text port too is reached on its TLS port (${runtime})`, async () => {
  // CLUSTER SHARDS lists "port" (plain text) beside "tls-port": a TLS client must take the second.
  await withTlsClusterClient({ plainPort: true }, "localhost", async (cluster, server) => {
    assert.deepEqual(cluster.topology().slots.map((range) => range.primary), [`localhost:${server.port}`]);
    const subscription = await cluster.ssubscribe("tls-node");
    assert.equal(await cluster.spublish("tls-node", "over tls"), 1);
    assert.equal((await subscription[Symbol.asyncIterator]().next()).value?.text(), "over tls");
  });
}, { skip: tlsSkip, timeoutMs: 60_000 });

test(`tls wire: a TLS connect to a server that never answers ends at connectTimeoutMs, handshake and all (${runtime})`, async () => {
  await using listener = await PlainListener.start({ hold: true });
  const started = Date.now();
  const error = await outcome(connect(listener.url("rediss", `:${password}@`), { connectTimeoutMs: 300 }));
  assert.ok(error instanceof PushwireError && error.code === "ERR_PUSHWIRE_TIMEOUT", `a TimeoutError, got ${error}`);
  assert.ok(Date.now() - started < 3_000, "at the connect timeout, not later");
  assert.ok(!(error instanceof TlsError));
  assertNothingInClear(listener, "silent server");
  if (runtime === "bun") {
    // The client closed its socket at the timeout: a handshake still waiting would keep it open.
    await waitFor(() => listener.endedByClient === 1, "the client to close the connection it gave up on", 2_000);
  }
  // Deno 2.9.6 ends the handshake op at once (its sanitizer checks that no op is left) but keeps the
  // TCP socket of a TlsConn closed during its handshake open until the peer closes it or the process
  // exits, whatever the caller does (Deno.connectTls and Deno.startTls alike; README "Security").
  assertNoNativeMemory();
});
