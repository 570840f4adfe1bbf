// Method: examples/hono/server.ts started as it is (its start(), on this runtime's own server: Bun.serve
// or Deno.serve) against a real redis-server, driven over real HTTP by fetch(); nothing is faked. The
// server subscription is read with PUBSUB NUMSUB through the raw RESP helper. The whole file watches
// console.warn for Deno.serve's "legacy behavior" warning, which fires when a handler read
// request.signal and its response ended well (a stream the server ends; often an abort too): the
// example must take its signal from Deno's `completed` promise instead. sse() also ends a stream
// whose body the server cancels, so the abort test alone would pass without any signal.
import { assert, test } from "../shim.ts";
import { start } from "../../examples/hono/server.ts";
import { keySlot } from "../../src/native/parser.ts";
import { oversizedBodyIsRefused, stopEndsOpenStreams, subscribeReceiveAbort, watchLegacyAbortWarning, withExample } from "./support.ts";

// Load libpushwire outside any test: Deno's sanitizer counts a library first opened inside a test as a leak.
keySlot("load");
const legacyAbortWarnings = watchLegacyAbortWarning();

/** The example, then the check that no legacy-abort warning came out of it. */
const withHono = (body: Parameters<typeof withExample>[1]) =>
  withExample(start, async (example, redis) => {
    await body(example, redis);
    await example.stop();
    assert.deepEqual(legacyAbortWarnings(), []);
  });

test("examples/hono: SSE route receives what the publish route sent; an abort ends the server subscription", () =>
  withHono(async (example, redis) => {
    await subscribeReceiveAbort(example.url, redis, "hono:news");
    await subscribeReceiveAbort(example.url, redis, "hono:news"); // the route works again after an abort
  }));

test("examples/hono: a body over 64 KiB is refused with 413 and publishes nothing", () =>
  withHono((example, redis) => oversizedBodyIsRefused(example, redis, "hono:limit")));

test("examples/hono: stopping the example ends open streams without Deno.serve's legacy-abort warning", () =>
  withHono((example, redis) => stopEndsOpenStreams(example, redis, "hono:stop")));
