// Method: connects that fail in every way a connect can fail, all on loopback: refused (a free port),
// timeout (a listener that accepts and never answers), wrong password (a real server with
// --requirepass), TLS failure (a real TLS server with a self-signed certificate), protocol error and
// a server that quotes the AUTH arguments back (the scripted fake server, for what no real server
// does), giving up while waiting or reconnecting; each with the password in the URL and in the
// options, through connect() and connectCluster(). With PUSHWIRE_DEBUG set and console captured, no
// error (message, stack, cause chain, inspection), lifecycle event, stats() or console line may
// contain the password. A connected client and cluster client are inspected too.
import { inspect } from "node:util";
import process from "node:process";
import { assert, runtime, test, waitFor } from "../shim.ts";
import {
  connect,
  connectCluster,
  type ClientOptions,
  InvalidArgumentError,
  type LifecycleEvent,
  ProtocolError,
  PushwireError,
  ReplyError,
  TimeoutError,
  TlsError,
} from "../../mod.ts";
import { FakeServer } from "./fake_server.ts";
import { PlainListener } from "../helpers/plain_listener.ts";
import { RawConnection } from "../helpers/raw_resp.ts";
import { RedisServer } from "../helpers/redis_server.ts";
import { makeCertificates, tlsSkip } from "../helpers/certificates.ts";
import { TlsServer, withTlsCluster } from "../helpers/tls_server.ts";
import { assertNoNativeMemory } from "../integration/support.ts";

/** Distinctive, with characters a URL must encode: found wherever it leaks, encoded or not. */
const password = "Zq9#leak-Me/not@42";
const secrets = [password, encodeURIComponent(password)];

/** Every text a value shows: message, stack and cause chain of errors, and its full inspection. */
function texts(value: unknown, seen = new Set<unknown>()): string[] {
  if (value === null || typeof value !== "object" || seen.has(value)) return [String(value)];
  seen.add(value);
  const shown = [inspect(value, { depth: 20, showHidden: true }), JSON.stringify(value, (_key, item) => typeof item === "bigint" ? String(item) : item) ?? ""];
  if (value instanceof Error) {
    shown.push(value.message, value.stack ?? "", String(value));
    if (value.cause !== undefined) shown.push(...texts(value.cause, seen));
    if (value instanceof AggregateError) for (const inner of value.errors) shown.push(...texts(inner, seen));
  }
  return shown;
}

function assertNoSecret(what: string, ...values: unknown[]): void {
  for (const value of values) {
    for (const text of texts(value)) {
      for (const secret of secrets) assert.ok(!text.includes(secret), `${what}: the password leaked into ${text.slice(0, 300)}`);
    }
  }
}

/** Runs `body` with console captured and PUSHWIRE_DEBUG set; returns every captured line. */
async function capturingConsole(body: () => Promise<void>): Promise<string[]> {
  const lines: string[] = [];
  const methods = ["log", "info", "warn", "error", "debug", "trace"] as const;
  const originals = methods.map((method) => console[method]);
  const debug = process.env.PUSHWIRE_DEBUG;
  process.env.PUSHWIRE_DEBUG = "1";
  for (const method of methods) {
    console[method] = (...args: unknown[]) => {
      lines.push(args.map((arg) => typeof arg === "string" ? arg : inspect(arg, { depth: 20 })).join(" "));
    };
  }
  try {
    await body();
  } finally {
    methods.forEach((method, index) => (console[method] = originals[index]));
    if (debug === undefined) delete process.env.PUSHWIRE_DEBUG;
    else process.env.PUSHWIRE_DEBUG = debug;
  }
  return lines;
}

/** A loopback port nobody listens on: a listener's, once it is closed. */
async function closedPort(): Promise<number> {
  const listener = await PlainListener.start();
  await listener.close();
  return listener.port;
}

type Place = "url" | "options";

/** `url` (no credentials) with the password in the URL or in the options. */
function withPassword(url: string, place: Place, options: ClientOptions = {}): [string, ClientOptions] {
  if (place === "options") return [url, { ...options, password }];
  return [url.replace("://", `://${encodeURIComponent("user-x")}:${encodeURIComponent(password)}@`), options];
}

/**
 * connect() and connectCluster() with the password in the URL and in the options: each must fail
 * with a typed error (of `type` for connect()) and show no password anywhere.
 */
async function failEveryWay(what: string, url: string, options: ClientOptions, type: new (...args: never[]) => Error): Promise<void> {
  for (const place of ["url", "options"] as const) {
    const [fullUrl, fullOptions] = withPassword(url, place, options);
    const single = await connect(fullUrl, fullOptions).then(() => "connected", (error: unknown) => error);
    assert.ok(single instanceof type, `${what}, password in ${place}: ${type.name}, got ${single}`);
    assertNoSecret(`${what}, password in ${place}`, single);
    const cluster = await connectCluster([fullUrl], fullOptions).then(() => "connected", (error: unknown) => error);
    assert.ok(cluster instanceof PushwireError, `${what}, cluster, password in ${place}: typed, got ${cluster}`);
    assertNoSecret(`${what}, cluster, password in ${place}`, cluster);
  }
}

test(`secrets: refused, timeout, wrong password, protocol error: no password in any error or log line (${runtime})`, async () => {
  const lines = await capturingConsole(async () => {
    // A URL that does not parse is quoted in the error, without its credentials.
    const badUrl = `redis://user-x:${encodeURIComponent(password)}@bad host:6379`;
    for (const attempt of [connect(badUrl), connectCluster([badUrl])]) {
      const error = await attempt.then(() => "connected", (error: unknown) => error);
      assert.ok(error instanceof InvalidArgumentError, `a bad URL is an InvalidArgumentError, got ${error}`);
      assertNoSecret("a URL that does not parse", error);
    }
    await failEveryWay("refused", `redis://127.0.0.1:${await closedPort()}`, {}, PushwireError);
    await failEveryWay("waitForServer gave up", `redis://127.0.0.1:${await closedPort()}`, {
      waitForServer: true,
      reconnect: { initialDelayMs: 10, maxDelayMs: 20, maxAttempts: 2 },
    }, PushwireError);
    await using silent = await PlainListener.start({ hold: true });
    await failEveryWay("timeout", silent.url(), { connectTimeoutMs: 300 }, TimeoutError);
    const server = await RedisServer.start({ args: ["--requirepass", "the-right-one"] });
    try {
      await failEveryWay("wrong password", server.url, {}, ReplyError);
      await failEveryWay("wrong password over RESP2", server.url, { protocol: 2 }, ReplyError);
    } finally {
      await server.stop();
    }
    await using garbage = await FakeServer.start((connection, args) => {
      if (args[0].toUpperCase() !== "HELLO") return false;
      connection.write("?not resp\r\n");
      return true;
    });
    await failEveryWay("protocol error", garbage.url, {}, ProtocolError);
    // A server that quotes what it refuses, as servers do for unknown commands: HELLO, then AUTH.
    await using quoting = await FakeServer.start((connection, args) => {
      const quoted = args.map((arg) => `'${arg}'`).join(" ");
      const name = args[0].toUpperCase();
      if (name === "HELLO") connection.write(`-ERR unknown command 'HELLO', with args beginning with: ${quoted}\r\n`);
      else if (name === "AUTH") connection.write(`-WRONGPASS refused ${quoted}\r\n`);
      else return false;
      return true;
    });
    await failEveryWay("quoted AUTH arguments", quoting.url, {}, ReplyError);
    assert.ok(quoting.connections.some((connection) => connection.commands.some((command) => command.includes(password))),
      "the fake server did get the password (and quoted it back)");
  });
  assertNoSecret("console", lines);
  assertNoNativeMemory();
}, { timeoutMs: 60_000 });

test(`secrets: a TLS failure shows no password (${runtime})`, async () => {
  const certificates = makeCertificates();
  const server = await TlsServer.start({ certificates, certificate: "selfSigned", password });
  try {
    const lines = await capturingConsole(() => failEveryWay("TLS failure", server.url, {}, TlsError));
    assertNoSecret("console", lines);
  } finally {
    await server.stop();
    certificates.remove();
  }
  assertNoNativeMemory();
}, { skip: tlsSkip, timeoutMs: 60_000 });

test(`secrets: a client that gives up reconnecting shows no password in events, errors, stats or inspection (${runtime})`, async () => {
  const server = await RedisServer.start({ args: ["--requirepass", password] });
  const admin = await RawConnection.connect(server.port);
  try {
    await admin.command("AUTH", password);
    const lines = await capturingConsole(async () => {
      for (const place of ["url", "options"] as const) {
        const [url, options] = withPassword(server.url, place);
        const client = await connect(url.replace("user-x:", ":"), options);
        const events: LifecycleEvent[] = [];
        try {
          const subscription = await client.subscribe("watched");
          subscription.onEvent((event) => events.push(event));
          assertNoSecret(`connected (password in ${place})`, client, subscription, client.stats());
          // The password changes and the client is cut: its reconnect is refused (WRONGPASS, final).
          await admin.command("CONFIG", "SET", "requirepass", "changed-meanwhile");
          await admin.command("CLIENT", "KILL", "TYPE", "pubsub");
          await admin.command("CLIENT", "KILL", "TYPE", "normal");
          await waitFor(() => events.some((event) => event.type === "end"), "the subscription to end", 10_000);
          assert.deepEqual(events.map((event) => event.type), ["disconnected", "end"]);
          assertNoSecret(`gave up (password in ${place})`, events, client.stats(), client);
        } finally {
          await client.close();
          await admin.command("CONFIG", "SET", "requirepass", password);
        }
      }
    });
    assertNoSecret("console", lines);
  } finally {
    await admin.close();
    await server.stop();
  }
  assertNoNativeMemory();
}, { timeoutMs: 60_000 });

test(`secrets: a connected cluster client shows no password in inspection, stats or topology (${runtime})`, async () => {
  await withTlsCluster({ password }, async (server, certificates) => {
    for (const place of ["url", "options"] as const) {
      const [url, options] = withPassword(server.url, place, { tls: { ca: certificates.ca } });
      const cluster = await connectCluster([url.replace("user-x:", ":")], options);
      try {
        const subscription = await cluster.ssubscribe("inspected");
        assertNoSecret(`cluster (password in ${place})`, cluster, subscription, cluster.stats(), cluster.topology());
      } finally {
        await cluster.close();
      }
    }
  });
  assertNoNativeMemory();
}, { skip: tlsSkip, timeoutMs: 60_000 });
