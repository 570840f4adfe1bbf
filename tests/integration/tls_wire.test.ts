// Method: what a TLS client puts on the wire, seen by a plain TCP listener (tests/helpers/plain_listener)
// that records every byte and never answers: for every way of asking for TLS, with and without a
// password, the first byte must be 0x16 (a TLS handshake record: the ClientHello) and no byte of the
// password or of a command may arrive. Also against a real plain-text server with --requirepass (the
// connect must fail, not succeed), and for cluster seeds.
import { assert, runtime, test, waitFor } from "../shim.ts";
import {
  type ClientOptions,
  connect,
  connectCluster,
  PushwireError,
  TlsError,
} from "../../mod.ts";
import { PlainListener } from "../helpers/plain_listener.ts";
import { RedisServer } from "../helpers/redis_server.ts";
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
    const error = await outcome(connect(`rediss://:${password}@127.0.0.1:${server.port}`));
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
  assertNoNativeMemory();
});

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
