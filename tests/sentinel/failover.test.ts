// Method: real failovers of a real primary + replica + three real sentinels (tests/helpers/
// sentinel_group.ts; one group per test, started inside it: a killed process must be one the test
// itself started, or Deno's sanitizer flags it). The primary is SIGKILLed by the PID we started (or
// handed over with SENTINEL FAILOVER, the old primary staying up); the test publishes and inspects
// through the independent raw client wherever the point is not to trust pushwire, and the clients
// use default options (one RESP2 client beside, for its second connection).
import { assert, runtime, test, waitFor } from "../shim.ts";
import { SentinelGroup } from "../helpers/sentinel_group.ts";
import { serverKind } from "../helpers/server_kind.ts";
import { asText, RawConnection } from "../helpers/raw_resp.ts";
import type { RedisServer } from "../helpers/redis_server.ts";
import { watch } from "../cluster/watch.ts";
import { type Client, connectSentinel, ConnectionError, nativeMemory } from "../../mod.ts";

nativeMemory(); // load libpushwire outside any test (Deno's sanitizer would count it)

async function subscribers(group: SentinelGroup, server: RedisServer, channel: string): Promise<number> {
  return Number((await group.command(server, "PUBSUB", "NUMSUB", channel) as unknown[])[1]);
}

/** The next message a raw subscriber on `server` gets for `channel` after `publish` ran ("" after 5 s). */
async function heardOn(server: RedisServer, channel: string, publish: () => Promise<unknown>): Promise<string> {
  const raw = await RawConnection.connect(server.port);
  let timer: ReturnType<typeof setTimeout> | undefined;
  try {
    await raw.command("SUBSCRIBE", channel);
    await publish();
    const nothing = new Promise<string>((resolve) => (timer = setTimeout(() => resolve(""), 5_000)));
    return await Promise.race([raw.next().then((message) => (asText(message) as string[])[2]), nothing]);
  } finally {
    clearTimeout(timer);
    await raw.close();
  }
}

/**
 * A fresh group and two clients with default options, one over RESP2 (its commands have a connection
 * of their own), closed and stopped afterwards; then no native memory may be left.
 */
async function withGroup(body: (group: SentinelGroup, client: Client, resp2: Client) => Promise<void>): Promise<void> {
  const group = await SentinelGroup.start();
  try {
    const client = await connectSentinel(group.sentinelUrls, { masterName: group.masterName });
    const resp2 = await connectSentinel(group.sentinelUrls, { masterName: group.masterName, protocol: 2 });
    try {
      await body(group, client, resp2);
    } finally {
      await client.close();
      await resp2.close();
    }
  } finally {
    await group.stop();
  }
  assert.equal(nativeMemory().liveBytes, 0, "native live bytes after close");
  assert.equal(nativeMemory().liveMessages, 0, "native live messages after close");
  assert.equal(nativeMemory().openParsers, 0, "open native parsers after close");
}

test(`sentinel failover: SIGKILL the primary, one sentinel down too: subscriptions flow again on the promoted replica, publish() goes there (${runtime})`, () =>
  withGroup(async (group, client, resp2) => {
    const channel = "feed";
    const watched = watch(await client.subscribe(channel));
    const watched2 = watch(await resp2.subscribe(channel));
    assert.equal(await client.publish(channel, "before"), 2);
    await waitFor(() => watched.got.includes("before") && watched2.got.includes("before"), "the message before the kill");

    // The first sentinel served both clients' +switch-master watch: it moves to another sentinel.
    await group.kill(group.sentinels[0]);
    const sentinelView = await group.watchSwitch();
    const promoted = group.replicas[0];
    const killedAt = Date.now();
    await group.kill(group.primary);
    // Issued in the gap: each waits for its client's reconnection, then goes to the new primary.
    const queued = client.publish(channel, "queued");
    const queued2 = resp2.publish(channel, "queued over RESP2");
    await waitFor(async () => {
      watched.check();
      watched2.check();
      await group.command(promoted, "PUBLISH", channel, "after").catch(() => {});
      return watched.got.includes("after") && watched2.got.includes("after");
    }, "delivery from the promoted replica", 20_000, 20);
    const flowingAt = Date.now();
    const switched = await sentinelView.switched;
    await sentinelView.close();
    console.log(
      `sentinel failover (${serverKind()}, ${runtime}): kill → +switch-master ${switched.at - killedAt} ms, ` +
        `kill → messages flowing again on both clients ${flowingAt - killedAt} ms`,
    );
    assert.equal(switched.port, promoted.port, "the sentinels promoted our replica");

    // The gap was signalled, once, in order.
    for (const { events } of [watched, watched2]) {
      assert.deepEqual(events.map((event) => event.type), ["disconnected", "reconnected"]);
      assert.ok(events[0].type === "disconnected" && events[0].error instanceof ConnectionError);
    }
    // The queued publishes went to the new primary (both subscriptions live there now).
    assert.ok(await queued >= 1 && await queued2 >= 1);
    await waitFor(() => watched.got.includes("queued") && watched2.got.includes("queued over RESP2"), "the queued publishes");
    assert.equal(await subscribers(group, promoted, channel), 2);
    assert.equal(await heardOn(promoted, channel, () => client.publish(channel, "via client")), "via client");
    assert.equal(await heardOn(promoted, channel, () => resp2.publish(channel, "via RESP2")), "via RESP2");
  }), { timeoutMs: 60_000 });

test(`sentinel failover: SENTINEL FAILOVER with the old primary still up: the client moves on +switch-master (${runtime})`, () =>
  withGroup(async (group, client, resp2) => {
    const channel = "handover";
    const watched = watch(await client.subscribe(channel));
    const watched2 = watch(await resp2.subscribe(channel));
    assert.equal(await resp2.publish(channel, "warm"), 2); // opens RESP2's command connection
    const [oldPrimary, newPrimary] = [group.primary, group.replicas[0]];
    const sentinelView = await group.watchSwitch();
    assert.equal(await group.command(group.sentinels[1], "SENTINEL", "FAILOVER", group.masterName), "OK");
    const switched = await sentinelView.switched;
    await sentinelView.close();
    await waitFor(async () => await subscribers(group, newPrimary, channel) === 2, "both subscriptions on the new primary", 5_000, 20);
    const movedAt = Date.now();
    // Moved by the watch, not by the demotion: the sentinels demote the old primary (and drop its
    // clients) only at their next INFO to it, seconds later; it is still a primary now.
    const role = asText(await group.command(oldPrimary, "ROLE")) as string[];
    assert.equal(role[0], "master", "the old primary was not demoted yet");
    assert.equal(await subscribers(group, oldPrimary, channel), 0);
    console.log(`sentinel handover (${serverKind()}, ${runtime}): +switch-master → subscription on the new primary ${movedAt - switched.at} ms`);
    for (const { events } of [watched, watched2]) {
      assert.deepEqual(events.map((event) => event.type), ["disconnected", "reconnected"]);
    }
    assert.equal(await heardOn(newPrimary, channel, () => client.publish(channel, "to the new primary")), "to the new primary");
    // RESP2's command connection moved too (the old primary would still take a PUBLISH).
    assert.equal(await heardOn(newPrimary, channel, () => resp2.publish(channel, "RESP2 too")), "RESP2 too");
    await waitFor(() => watched.got.includes("RESP2 too") && watched2.got.includes("to the new primary"), "our own messages");
  }), { timeoutMs: 60_000 });
