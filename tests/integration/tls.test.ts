// Method: real TLS servers (the binary of this pass, server_kind.ts, with --tls-port on loopback;
// tests/helpers/tls_server.ts) and throwaway certificates the test makes with the openssl CLI
// (tests/helpers/certificates.ts: a private CA, a server certificate, one for another host, an
// expired one, a self-signed one, a client one), so the client's real TLS path (Bun.connect tls /
// Deno.connectTls, Deno.startTls) verifies real chains and names. Default options everywhere except
// the option a test is about.
import { assert, runtime, test, waitFor } from "../shim.ts";
import {
  type ClusterClient,
  connect,
  connectCluster,
  ConnectionError,
  InvalidArgumentError,
  type LifecycleEvent,
  ReplyError,
  type TlsFailureReason,
  TlsError,
  type TlsOptions,
} from "../../mod.ts";
import { type Certificates, makeCertificates, otherHostName, tlsSkip } from "../helpers/certificates.ts";
import { type TlsServer, type TlsServerOptions, withTlsCluster, withTlsServer as withTls } from "../helpers/tls_server.ts";
import { assertNoNativeMemory } from "./support.ts";

/** Starts a TLS server with certificates made for this test, runs `body`, stops and cleans up. */
async function withTlsServer(
  options: Omit<TlsServerOptions, "certificates">,
  body: (server: TlsServer, certificates: Certificates) => Promise<void>,
): Promise<void> {
  await withTls(options, body);
  assertNoNativeMemory();
}

/** Subscribes, publishes and reads one message back over `url`: the connection really works. */
async function roundTrip(url: string, tls: TlsOptions | boolean, password?: string): Promise<void> {
  await using client = await connect(url, { tls, password });
  const subscription = await client.subscribe("secure");
  assert.equal(await client.publish("secure", "over tls"), 1);
  assert.equal((await subscription[Symbol.asyncIterator]().next()).value?.text(), "over tls");
}

/** connect() must fail with a TlsError for `reason`, quickly (a refused certificate is not retried). */
async function assertRefused(url: string, tls: TlsOptions | boolean, reason: TlsFailureReason, what: string): Promise<TlsError> {
  const started = Date.now();
  const error = await connect(url, { tls }).then(async (client) => {
    await client.close();
    return undefined;
  }, (error: unknown) => error);
  assert.ok(error instanceof TlsError, `${what}: a TlsError, got ${error}`);
  assert.ok(error instanceof ConnectionError, `${what}: a TlsError is a ConnectionError`);
  assert.equal(error.code, "ERR_PUSHWIRE_TLS");
  assert.equal(error.reason, reason, `${what}: ${error.message}`);
  assert.match(error.message, /(127\.0\.0\.1|localhost):\d+/, `${what}: the message names the server`);
  assert.ok(Date.now() - started < 5_000, `${what}: refused at once`);
  return error;
}

test(`tls: rediss:// with a private CA (tls.ca), with and without a password (${runtime})`, async () => {
  await withTlsServer({}, async (server, certificates) => {
    await roundTrip(server.url, { ca: certificates.ca });
    await roundTrip(`redis://127.0.0.1:${server.port}`, { ca: [certificates.ca] });
    await roundTrip(`rediss://localhost:${server.port}`, { ca: certificates.ca });
  });
  await withTlsServer({ password: "tls-Secret-1" }, async (server, certificates) => {
    await roundTrip(`rediss://:tls-Secret-1@127.0.0.1:${server.port}`, { ca: certificates.ca });
    await roundTrip(server.url, { ca: certificates.ca }, "tls-Secret-1");
  });
}, { skip: tlsSkip, timeoutMs: 60_000 });

test(`tls: certificates are verified by default: unknown CA, self-signed, expired, another host (${runtime})`, async () => {
  await withTlsServer({}, async (server) => {
    // The runtime's own roots do not know the test CA.
    await assertRefused(server.url, true, "untrusted-certificate", "no ca given");
  });
  await withTlsServer({}, async (server) => {
    // A CA that did not sign this certificate.
    const stranger = makeCertificates();
    try {
      await assertRefused(server.url, { ca: stranger.ca }, "untrusted-certificate", "another CA");
    } finally {
      stranger.remove();
    }
  });
  await withTlsServer({ certificate: "selfSigned" }, async (server) => {
    await assertRefused(server.url, {}, "untrusted-certificate", "self-signed");
  });
  await withTlsServer({ certificate: "expired" }, async (server, certificates) => {
    await assertRefused(server.url, { ca: certificates.ca }, "expired-certificate", "expired");
  });
  await withTlsServer({ certificate: "otherHost" }, async (server, certificates) => {
    await assertRefused(server.url, { ca: certificates.ca }, "hostname-mismatch", "a certificate for another host");
    await assertRefused(`rediss://localhost:${server.port}`, { ca: certificates.ca }, "hostname-mismatch", "by name");
  });
}, { skip: tlsSkip, timeoutMs: 60_000 });

test(`tls: tls.servername is the name verified, on both runtimes (${runtime})`, async () => {
  await withTlsServer({ certificate: "otherHost" }, async (server, certificates) => {
    // Reached by IP, verified against the name the certificate carries.
    await roundTrip(server.url, { ca: certificates.ca, servername: otherHostName });
  });
  await withTlsServer({}, async (server, certificates) => {
    // Not ignored either: a name the certificate does not list is refused, though the IP would pass.
    await assertRefused(server.url, { ca: certificates.ca, servername: otherHostName }, "hostname-mismatch", "servername");
  });
}, { skip: tlsSkip, timeoutMs: 60_000 });

test(`tls: a refused certificate is final for waitForServer and for reconnection (${runtime})`, async () => {
  await withTlsServer({ certificate: "selfSigned" }, async (server) => {
    const started = Date.now();
    const error = await connect(server.url, { waitForServer: true }).then(() => undefined, (error: unknown) => error);
    assert.ok(error instanceof TlsError, `waitForServer does not wait out a refused certificate: ${error}`);
    assert.ok(Date.now() - started < 2_000, "no retry");
  });
  await withTlsServer({}, async (server, certificates) => {
    const client = await connect(server.url, { tls: { ca: certificates.ca } });
    try {
      const subscription = await client.subscribe("renewed");
      const events: LifecycleEvent[] = [];
      subscription.onEvent((event) => events.push(event));
      // The server now presents a certificate the client cannot verify; every connection is cut.
      await server.cli("CONFIG", "SET", "tls-cert-file", certificates.selfSigned.certFile, "tls-key-file", certificates.selfSigned.keyFile);
      await server.cli("CLIENT", "KILL", "TYPE", "pubsub");
      const end = await waitFor(() => events.find((event) => event.type === "end"), "the subscription to end", 10_000);
      assert.deepEqual(events.map((event) => event.type), ["disconnected", "end"]);
      const failure = end?.type === "end" ? end.error : undefined;
      assert.ok(failure instanceof ConnectionError && /after 1 attempt/.test(failure.message), `gave up at once: ${failure}`);
      assert.ok(failure.cause instanceof TlsError && failure.cause.reason === "untrusted-certificate");
      assert.equal(client.stats().reconnects, 0);
    } finally {
      await client.close();
    }
  });
}, { skip: tlsSkip, timeoutMs: 60_000 });

test(`tls: connectCluster gives the TlsError of a refused certificate and the ReplyError of a refused password (${runtime})`, async () => {
  await withTlsCluster({ password: "cluster-Secret-5" }, async (server, certificates) => {
    const seed = `rediss://127.0.0.1:${server.port}`;
    // No ca: the runtime's roots do not know the test CA.
    const untrusted = await connectCluster([seed], { password: "cluster-Secret-5" }).then(closeCluster, (error: unknown) => error);
    assert.ok(untrusted instanceof TlsError, `a refused certificate is a TlsError, got ${untrusted}`);
    assert.equal(untrusted.reason, "untrusted-certificate", untrusted.message);
    assert.match(untrusted.message, new RegExp(`cluster node 127\\.0\\.0\\.1:${server.port}`));
    const refused = await connectCluster([seed], { tls: { ca: certificates.ca }, password: "not-the-password" })
      .then(closeCluster, (error: unknown) => error);
    assert.ok(refused instanceof ReplyError, `a refused password is the server's ReplyError, got ${refused}`);
    assert.match(refused.serverCode, /^(WRONGPASS|ERR)$/, refused.message);
    assert.ok(!refused.message.includes("not-the-password") && !String(untrusted.cause).includes("cluster-Secret-5"), "no password in the errors");
    // The same seed with the CA and the password works: the failures above were the certificate's and the password's.
    const cluster = await connectCluster([seed], { tls: { ca: certificates.ca }, password: "cluster-Secret-5" });
    await cluster.close();
  });
  assertNoNativeMemory();
}, { skip: tlsSkip, timeoutMs: 60_000 });

async function closeCluster(cluster: ClusterClient): Promise<undefined> {
  await cluster.close();
  return undefined;
}

test(`tls: rejectUnauthorized: false is the one way to accept an unverified certificate: Bun honours it, Deno refuses it (${runtime})`, async () => {
  await withTlsServer({ certificate: "selfSigned" }, async (server) => {
    if (runtime === "bun") {
      await roundTrip(server.url, { rejectUnauthorized: false });
      return;
    }
    const error = await connect(server.url, { tls: { rejectUnauthorized: false } }).then(() => undefined, (error: unknown) => error);
    assert.ok(error instanceof InvalidArgumentError, `Deno: InvalidArgumentError, got ${error}`);
    assert.match(error.message, /--unsafely-ignore-certificate-errors/);
  });
}, { skip: tlsSkip, timeoutMs: 60_000 });

test(`tls: mutual TLS with tls.cert and tls.key; with servername only on Bun (${runtime})`, async () => {
  await withTlsServer({ authClients: true }, async (server, certificates) => {
    const client = { cert: certificates.client.cert, key: certificates.client.key };
    await roundTrip(server.url, { ca: certificates.ca, ...client });
    const withName = { ca: certificates.ca, servername: "localhost", ...client };
    if (runtime === "bun") {
      await roundTrip(server.url, withName);
    } else {
      // Deno.startTls, the only way to verify another name, sends no client certificate.
      const error = await connect(server.url, { tls: withName }).then(() => undefined, (error: unknown) => error);
      assert.ok(error instanceof InvalidArgumentError, `Deno: InvalidArgumentError, got ${error}`);
      assert.match(error.message, /servername together with tls\.cert/);
    }
  });
}, { skip: tlsSkip, timeoutMs: 60_000 });
