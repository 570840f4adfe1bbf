// Method: examples/elysia/server.ts started as it is (its start(): Elysia's listen(), i.e. Bun.serve)
// against a real redis-server, driven over real HTTP by fetch(); nothing is faked. The server
// subscription is read with PUBSUB NUMSUB through the raw RESP helper. Bun only: Elysia's listen()
// serves with Bun.serve (its default adapter), so under Deno the tests are skipped and say why.
import { runtime, test } from "../shim.ts";
import { keySlot } from "../../src/native/parser.ts";
import { oversizedBodyIsRefused, type StartExample, stopEndsOpenStreams, subscribeReceiveAbort, withExample } from "./support.ts";

// Load libpushwire outside any test: Deno's sanitizer counts a library first opened inside a test as a leak.
keySlot("load");

const skip = runtime === "deno" ? "Elysia serves with Bun.serve (listen()); the example is for Bun" : false;

// Imported only where it runs.
const startElysia: StartExample = async (options) => (await import("../../examples/elysia/server.ts")).start(options);

test("examples/elysia: SSE route receives what the publish route sent; an abort ends the server subscription", () =>
  withExample(startElysia, async (example, redis) => {
    await subscribeReceiveAbort(example.url, redis, "elysia:news");
    await subscribeReceiveAbort(example.url, redis, "elysia:news"); // the route works again after an abort
  }), { skip });

test("examples/elysia: a body over 64 KiB is refused with 413 and publishes nothing", () =>
  withExample(startElysia, (example, redis) => oversizedBodyIsRefused(example, redis, "elysia:limit")), { skip });

test("examples/elysia: stopping the example ends open streams", () =>
  withExample(startElysia, (example, redis) => stopEndsOpenStreams(example, redis, "elysia:stop")), { skip });
