// Method: a real primary + replica + three real sentinels (tests/helpers/sentinel_group.ts, one group
// for the file, never killed) for the unknown master name and a dead sentinel in the list; "down"
// sentinels are loopback ports nobody listens on (connection refused, as for a dead process); a
// second, small real group is started inside the one test that kills its sentinels. Only the role
// check uses a fake sentinel (tests/faults/fake_server.ts): a sentinel that names a replica as the
// primary is what a real one does only in the race of a failover.
import { assert, runtime, test, waitFor } from "../shim.ts";
import { SentinelGroup } from "../helpers/sentinel_group.ts";
import { freePort } from "../helpers/certificates.ts";
import { FakeServer } from "../faults/fake_server.ts";
import { Client, connectSentinel, ConnectionError, InvalidArgumentError, type LifecycleEvent, nativeMemory } from "../../mod.ts";

nativeMemory(); // load libpushwire outside any test (Deno's sanitizer would count it)
const group = await SentinelGroup.start();
const masterName = group.masterName;

function assertNoNativeMemory(): void {
  assert.equal(nativeMemory().liveBytes, 0, "native live bytes after close");
  assert.equal(nativeMemory().liveMessages, 0, "native live messages after close");
  assert.equal(nativeMemory().openParsers, 0, "open native parsers after close");
}

test(`sentinel: a master name no sentinel knows is an InvalidArgumentError, not retried (${runtime})`, async () => {
  const started = Date.now();
  // waitForServer retries what is absent; an unknown name is not absent, so it still fails at once.
  await assert.rejects(connectSentinel(group.sentinelUrls, { masterName: "no-such-master", waitForServer: true }), (error: unknown) => {
    assert.ok(error instanceof InvalidArgumentError, String(error));
    assert.match(error.message, /no sentinel knows a master named "no-such-master"/);
    return true;
  });
  assert.ok(Date.now() - started < 2_000, `failed at once (${Date.now() - started} ms)`);
  assertNoNativeMemory();
});

test(`sentinel: a dead sentinel first in the list is skipped; subscribe and publish work (${runtime})`, async () => {
  const dead = `redis://127.0.0.1:${await freePort()}`;
  const client = await connectSentinel([dead, ...group.sentinelUrls], { masterName });
  try {
    assert.ok(client instanceof Client, "connectSentinel returns a Client");
    const subscription = await client.subscribe("skip");
    assert.equal(await client.publish("skip", "hello"), 1);
    assert.equal((await subscription[Symbol.asyncIterator]().next()).value?.text(), "hello");
  } finally {
    await client.close();
  }
  assertNoNativeMemory();
});

test(`sentinel: every sentinel down is a ConnectionError naming each; waitForServer retries by the policy (${runtime})`, async () => {
  const dead = [`redis://127.0.0.1:${await freePort()}`, `redis://127.0.0.1:${await freePort()}`];
  await assert.rejects(connectSentinel(dead, { masterName }), (error: unknown) => {
    assert.ok(error instanceof ConnectionError, String(error));
    assert.match(error.message, /no sentinel answered/);
    for (const url of dead) assert.ok(error.message.includes(url.slice("redis://".length)), error.message);
    return true;
  });
  const policy = { initialDelayMs: 10, maxDelayMs: 20, maxAttempts: 4 };
  await assert.rejects(connectSentinel(dead, { masterName, waitForServer: true, reconnect: policy }), (error: unknown) => {
    assert.ok(error instanceof ConnectionError, String(error));
    assert.match(error.message, /within 4 attempt\(s\).*no sentinel answered/s);
    return true;
  });
  assertNoNativeMemory();
});

test(`sentinel: bad arguments are InvalidArgumentErrors before anything opens (${runtime})`, async () => {
  const urls = group.sentinelUrls;
  await assert.rejects(connectSentinel(urls, {} as never), InvalidArgumentError);
  await assert.rejects(connectSentinel(urls, { masterName: "" }), InvalidArgumentError);
  await assert.rejects(connectSentinel([], { masterName }), InvalidArgumentError);
  await assert.rejects(connectSentinel("unix:///tmp/sentinel.sock", { masterName }), InvalidArgumentError);
  await assert.rejects(connectSentinel(urls, { masterName, sentinelPassword: 42 as never }), InvalidArgumentError);
  await assert.rejects(connectSentinel(urls, { masterName, reconnect: "often" as never }), InvalidArgumentError);
  assert.equal(nativeMemory().openParsers, 0);
});

for (const protocol of [3, 2] as const) {
  test(`sentinel: a node the sentinel calls primary but that is a replica is refused (RESP${protocol}) (${runtime})`, async () => {
    const replicaPort = group.replicas[0].port;
    const lying = await FakeServer.start((connection, args) => {
      if (args[0].toUpperCase() !== "SENTINEL") return false;
      connection.write(`*2\r\n$9\r\n127.0.0.1\r\n$${String(replicaPort).length}\r\n${replicaPort}\r\n`);
      return true;
    });
    try {
      await assert.rejects(connectSentinel([lying.url], { masterName, protocol }), (error: unknown) => {
        assert.ok(error instanceof ConnectionError, String(error));
        assert.match(error.message, new RegExp(`127\\.0\\.0\\.1:${replicaPort} is a (slave|replica), not the primary`));
        return true;
      });
    } finally {
      await lying.close();
    }
    assertNoNativeMemory();
  });
}

test(`sentinel: every sentinel lost while connected: reconnection retries by the policy, then the subscription ends with a ConnectionError (${runtime})`, async () => {
  const small = await SentinelGroup.start({ replicas: 0 });
  try {
    const policy = { initialDelayMs: 10, maxDelayMs: 50, maxAttempts: 5 };
    const client = await connectSentinel(small.sentinelUrls, { masterName: small.masterName, reconnect: policy });
    try {
      const subscription = await client.subscribe("orphan");
      const events: LifecycleEvent[] = [];
      subscription.onEvent((event) => events.push(event));
      for (const sentinel of small.sentinels) await small.kill(sentinel);
      await small.command(small.primary, "CLIENT", "KILL", "TYPE", "pubsub");
      await waitFor(() => subscription.closed, "the subscription to end", 10_000);
      assert.deepEqual(events.map((event) => event.type), ["disconnected", "end"]);
      const end = events[1];
      assert.ok(end.type === "end" && end.error instanceof ConnectionError, String(end.type === "end" && end.error));
      assert.match(end.error!.message, /gave up reconnecting after 5 attempt\(s\): sentinel: no sentinel answered/);
    } finally {
      await client.close();
    }
  } finally {
    await small.stop();
  }
  assertNoNativeMemory();
}, { timeoutMs: 40_000 });

// Last on the shared group: it makes the sentinels forget the master.
test(`sentinel: a master forgotten by every sentinel ends the reconnection at once with InvalidArgumentError (${runtime})`, async () => {
  const client = await connectSentinel(group.sentinelUrls, { masterName });
  try {
    const subscription = await client.subscribe("forgotten");
    const events: LifecycleEvent[] = [];
    subscription.onEvent((event) => events.push(event));
    for (const sentinel of group.sentinels) await group.command(sentinel, "SENTINEL", "REMOVE", masterName);
    await group.command(group.primary, "CLIENT", "KILL", "TYPE", "pubsub");
    // Default policy: 20 attempts would take tens of seconds; a name nobody knows is not retried.
    await waitFor(() => subscription.closed, "the subscription to end", 5_000);
    const end = events.at(-1);
    assert.ok(end?.type === "end" && end.error instanceof ConnectionError, String(end?.type === "end" && end.error));
    assert.match(end.error!.message, /gave up reconnecting after 1 attempt\(s\): connectSentinel: no sentinel knows a master named/);
    assert.ok(end.error!.cause instanceof InvalidArgumentError);
  } finally {
    await client.close();
  }
  assertNoNativeMemory();
});

// Sanitizers off with a reason: the group is started once at module level (one group per file), and
// Deno counts stopping processes started before a test as that test's leak.
test(`sentinel errors: teardown (${runtime})`, async () => {
  await group.stop();
}, { sanitize: false });
