// Method: one real group for the file (tests/helpers/sentinel_group.ts) in which everything speaks
// TLS (a throwaway CA made with the openssl CLI for this run; every process keeps a plain port too)
// and both sides want a password, different ones: the data nodes a requirepass, the sentinels a
// requirepass (plain ports) and an ACL user. The data nodes are reached over TLS only: the sentinels
// monitor, and so report, their TLS ports. Nothing is faked.
import { rmSync } from "node:fs";
import { assert, runtime, test, waitFor } from "../shim.ts";
import { SentinelGroup } from "../helpers/sentinel_group.ts";
import { hasOpenssl, makeCertificates } from "../helpers/certificates.ts";
import {
  ConnectionError,
  connectSentinel,
  type LifecycleEvent,
  nativeMemory,
  ReplyError,
  type SentinelOptions,
  TlsError,
} from "../../mod.ts";

nativeMemory(); // load libpushwire outside any test (Deno's sanitizer would count it)
const skip = hasOpenssl() ? false : "the openssl CLI is not installed (needed to make test certificates)";
const secrets = { data: "data-secret-1", sentinel: "sentinel-secret-2", watcher: "watcher-secret-3" };
const certificates = skip ? undefined : makeCertificates();
const group = certificates === undefined ? undefined : await SentinelGroup.start({
  tls: { caFile: certificates.caFile, certFile: certificates.server.certFile, keyFile: certificates.server.keyFile },
  dataPassword: secrets.data,
  sentinelPassword: secrets.sentinel,
  sentinelUser: { name: "watcher", password: secrets.watcher },
});

function assertNoSecret(text: string): void {
  for (const secret of Object.values(secrets)) assert.ok(!text.includes(secret), `a password in: ${text}`);
}

function assertNoNativeMemory(): void {
  assert.equal(nativeMemory().liveBytes, 0, "native live bytes after close");
  assert.equal(nativeMemory().openParsers, 0, "open native parsers after close");
}

async function roundTrip(urls: string[], options: SentinelOptions): Promise<void> {
  const client = await connectSentinel(urls, options);
  try {
    const subscription = await client.subscribe("secure");
    const events: LifecycleEvent[] = [];
    subscription.onEvent((event) => events.push(event));
    const messages = subscription[Symbol.asyncIterator]();
    assert.equal(await client.publish("secure", "over tls"), 1);
    assert.equal((await messages.next()).value?.text(), "over tls");
    // A lost connection: the reconnection asks the sentinels again, with their credentials.
    await group!.command(await group!.currentPrimary(), "CLIENT", "KILL", "TYPE", "pubsub");
    await waitFor(() => events.some((event) => event.type === "reconnected"), "the reconnection");
    assert.equal(await client.publish("secure", "again"), 1);
    assert.equal((await messages.next()).value?.text(), "again");
    assertNoSecret(JSON.stringify(client.stats()));
    assertNoSecret(events.map((event) => JSON.stringify(event) + (event.type === "disconnected" ? String(event.error) : "")).join("\n"));
  } finally {
    await client.close();
  }
  assertNoNativeMemory();
}

test(`sentinel secure: TLS and an ACL user to the sentinels, TLS and a password to the data nodes (${runtime})`, () =>
  roundTrip(group!.sentinelTlsUrls, {
    masterName: group!.masterName,
    sentinelUsername: "watcher",
    sentinelPassword: secrets.watcher,
    sentinelTls: { ca: certificates!.ca },
    password: secrets.data,
    tls: { ca: certificates!.ca },
  }), { skip });

test(`sentinel secure: plain sentinels (requirepass), TLS data nodes: each side gets its own settings (${runtime})`, () =>
  roundTrip(group!.sentinelUrls, {
    masterName: group!.masterName,
    sentinelPassword: secrets.sentinel,
    password: secrets.data,
    tls: { ca: certificates!.ca },
  }), { skip });

test(`sentinel secure: one side's password or TLS settings never serve the other; errors name no password (${runtime})`, async () => {
  const masterName = group!.masterName;
  const ca = certificates!.ca;
  const sentinelTlsUrls = group!.sentinelTlsUrls;
  // [what is wrong, options, sentinel URLs (plain ones when undefined), the error's class and text]
  const refusals: [string, SentinelOptions, string[] | undefined, typeof ReplyError | typeof ConnectionError | typeof TlsError, RegExp][] = [
    // The data password given for the sentinels and the other way round: the sentinels refuse it.
    ["swapped passwords", { masterName, sentinelPassword: secrets.data, password: secrets.sentinel, tls: { ca } }, undefined,
      ReplyError, /^sentinel 127\.0\.0\.1:\d+ \(sentinelUsername\/sentinelPassword\): WRONGPASS/],
    // The data password alone does not open the sentinels, the sentinels' alone not the data nodes.
    ["no sentinel password", { masterName, password: secrets.data, tls: { ca } }, undefined, ReplyError, /^sentinel .*NOAUTH/],
    ["no data password", { masterName, sentinelPassword: secrets.sentinel, tls: { ca } }, undefined, ReplyError, /^HELLO 3: NOAUTH/],
    // TLS to the sentinels does not turn it on for the data nodes, nor does a data CA serve the sentinels.
    ["no data TLS", { masterName, sentinelTls: { ca }, sentinelPassword: secrets.sentinel, password: secrets.data }, sentinelTlsUrls,
      ConnectionError, /^(?!sentinel)/],
    ["no sentinel CA", { masterName, sentinelPassword: secrets.sentinel, password: secrets.data, tls: { ca } }, sentinelTlsUrls,
      TlsError, /^sentinel 127\.0\.0\.1:\d+: the certificate .* as sentinelTls\.ca$/],
  ];
  for (const [label, options, urls, kind, text] of refusals) {
    await assert.rejects(connectSentinel(urls ?? group!.sentinelUrls, options), (error: unknown) => {
      assert.ok(error instanceof kind, `${label}: ${String(error)}`);
      assert.match(error.message, text, label);
      assertNoSecret(`${error.message} ${String(error.cause ?? "")}`);
      return true;
    }, label);
  }
  assertNoNativeMemory();
}, { skip, timeoutMs: 40_000 });

// Sanitizers off with a reason: the group is started once at module level (one group per file), and
// Deno counts stopping processes started before a test as that test's leak.
test(`sentinel secure: teardown (${runtime})`, async () => {
  await group?.stop();
  if (certificates !== undefined) rmSync(certificates.directory, { recursive: true, force: true });
}, { sanitize: false });
