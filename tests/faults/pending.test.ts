// Method: a real redis-server killed under a connected client: commands issued while it reconnects
// wait (up to maxPendingCommands; beyond that they fail at once), go out only after the resubscription
// (so a PUBLISH to our own channel counts our subscriber), and close() rejects whatever still waits.
import { assert, runtime, test, waitFor } from "../shim.ts";
import { ClosedError, ConnectionError, connect, type LifecycleEvent } from "../../mod.ts";
import { withServer } from "../integration/support.ts";

const fast = { initialDelayMs: 10, maxDelayMs: 50, maxAttempts: 1_000 };

test(`pending: publishes while disconnected are queued up to maxPendingCommands, sent after resubscribing (${runtime})`, () =>
  withServer(async (server) => {
    await using client = await connect(server.url, { reconnect: fast, maxPendingCommands: 3 });
    const subscription = await client.subscribe("queued");
    const events: LifecycleEvent[] = [];
    subscription.onEvent((event) => events.push(event));
    await server.kill();
    await waitFor(() => events.length > 0, "disconnected");
    const queued = [1, 2, 3].map((n) => client.publish("queued", `q${n}`));
    const error = await client.publish("queued", "q4").then(() => undefined, (error: unknown) => error);
    assert.ok(error instanceof ConnectionError, `got ${error}`);
    assert.match(error.message, /maxPendingCommands = 3/);
    await server.restart();
    // Resubscribed before the queued commands went out: each PUBLISH reaches our subscriber.
    assert.deepEqual(await Promise.all(queued), [1, 1, 1]);
    const iterator = subscription[Symbol.asyncIterator]();
    const texts = [];
    for (let i = 0; i < 3; i++) texts.push((await iterator.next()).value?.text());
    assert.deepEqual(texts, ["q1", "q2", "q3"], "in the order they were issued");
    assert.deepEqual(events.map((event) => event.type), ["disconnected", "reconnected"]);
  }));

test(`pending: close() while reconnecting rejects what waits; every later call rejects with ClosedError (${runtime})`, () =>
  withServer(async (server) => {
    const client = await connect(server.url, { reconnect: fast });
    const subscription = await client.subscribe("closing");
    const events: LifecycleEvent[] = [];
    subscription.onEvent((event) => events.push(event));
    await server.kill();
    await waitFor(() => events.length > 0, "disconnected");
    const waiting = client.publish("closing", "never");
    const subscribing = client.subscribe("later");
    const outcome = Promise.allSettled([waiting, subscribing]);
    await client.close();
    const [published, subscribed] = await outcome;
    assert.ok(published.status === "rejected" && published.reason instanceof ClosedError, String(published.status));
    assert.ok(subscribed.status === "rejected" && subscribed.reason instanceof ClosedError);
    assert.equal(subscription.closed, true);
    const calls: (() => Promise<unknown>)[] = [
      () => client.publish("x", "y"),
      () => client.spublish("x", "y"),
      () => client.subscribe("x"),
      () => client.psubscribe("x*"),
      () => client.ssubscribe("x"),
      () => client.command(["PING"]),
    ];
    for (const call of calls) await assert.rejects(call(), ClosedError);
    await client.close(); // idempotent
    await server.restart();
  }));
