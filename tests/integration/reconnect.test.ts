// Method: a real redis-server per file; the connection is cut from the server side (CLIENT KILL through
// the independent raw client, or the whole server killed and restarted on its port), so the client
// sees a genuine disconnect and must reconnect and resubscribe on its own.
import { assert, runtime, test, waitFor } from "../shim.ts";
import { ClosedError, connect, ConnectionError, type LifecycleEvent } from "../../mod.ts";
import { numsub, withServer } from "./support.ts";

const fast = { initialDelayMs: 10, maxDelayMs: 50, maxAttempts: 50 };

test(`reconnect: a killed connection is reopened and resubscribed (${runtime})`, () =>
  withServer(async (server) => {
    await using client = await connect(server.url, { reconnect: fast });
    const channel = await client.subscribe("steady");
    const pattern = await client.psubscribe("steady.*");
    const events: LifecycleEvent[] = [];
    channel.onEvent((event) => events.push(event));
    await server.command("CLIENT", "KILL", "TYPE", "pubsub");
    await waitFor(() => events.some((event) => event.type === "reconnected"), "reconnected event");
    assert.deepEqual(events.map((event) => event.type), ["disconnected", "reconnected"]);
    assert.equal(client.stats().reconnects, 1);
    assert.equal(await numsub(server, "steady"), 1);
    assert.equal(await client.publish("steady", "after"), 1);
    assert.equal(await client.publish("steady.x", "after"), 1);
    assert.equal((await channel[Symbol.asyncIterator]().next()).value?.text(), "after");
    assert.equal((await pattern[Symbol.asyncIterator]().next()).value?.channel, "steady.x");
  }));

test(`reconnect: the server restarts on its port; subscriptions come back (${runtime})`, () =>
  withServer(async (server) => {
    await using client = await connect(server.url, { reconnect: fast });
    const subscription = await client.subscribe("phoenix");
    const events: LifecycleEvent[] = [];
    subscription.onEvent((event) => events.push(event));
    await server.kill();
    await waitFor(() => events.length > 0, "disconnected event");
    await server.restart();
    await waitFor(() => events.some((event) => event.type === "reconnected"), "reconnected event");
    const reconnected = events.find((event) => event.type === "reconnected");
    assert.ok(reconnected?.type === "reconnected" && reconnected.downtimeMs >= 0);
    assert.equal(await client.publish("phoenix", "risen"), 1);
    assert.equal((await subscription[Symbol.asyncIterator]().next()).value?.text(), "risen");
  }));

test(`reconnect: false ends subscriptions with ConnectionError when the connection drops (${runtime})`, () =>
  withServer(async (server) => {
    const client = await connect(server.url, { reconnect: false });
    const subscription = await client.subscribe("fragile");
    await client.publish("fragile", "kept");
    await waitFor(() => subscription.stats().queueDepth === 1, "one buffered");
    await server.command("CLIENT", "KILL", "TYPE", "pubsub");
    await waitFor(() => subscription.closed, "subscription ended");
    const seen: string[] = [];
    await assert.rejects(async () => {
      for await (const message of subscription) seen.push(message.text());
    }, ConnectionError);
    assert.deepEqual(seen, ["kept"], "what was buffered is still delivered before the error");
    await assert.rejects(client.publish("fragile", "x"), ClosedError);
    await client.close();
  }));

test(`reconnect: close() while reconnecting stops the attempts (${runtime})`, () =>
  withServer(async (server) => {
    const client = await connect(server.url, { reconnect: { initialDelayMs: 20, maxDelayMs: 20 } });
    const subscription = await client.subscribe("doomed");
    const events: LifecycleEvent[] = [];
    subscription.onEvent((event) => events.push(event));
    await server.kill();
    await waitFor(() => events.some((event) => event.type === "disconnected"), "disconnected event");
    await new Promise((resolve) => setTimeout(resolve, 50)); // let a few attempts fail
    await client.close();
    assert.equal(subscription.closed, true);
    assert.equal(client.stats().reconnects, 0);
  }));
