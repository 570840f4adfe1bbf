// Method: the demo's own local server (examples/sse-demo/local_server.ts), really started: which binary
// it picks is the demo's choice, not the test pass's (tests/helpers/server_kind.ts), so this file asks
// the demo's candidate list which one is installed (`--version`) and the started server's INFO what it
// is. A candidate that is not installed is a name no machine has. No browser: demo.test.ts has that.
import { spawnSync } from "node:child_process";
import process from "node:process";
import { assert, runtime, test } from "../shim.ts";
import { asText, rawCommand } from "../helpers/raw_resp.ts";
import { localServerBinaries, startLocalServer } from "../../examples/sse-demo/local_server.ts";
import { startDemo } from "../../examples/sse-demo/server.ts";
import { keySlot, nativeMemory } from "../../src/native/parser.ts";

keySlot("load"); // libpushwire opened outside any test (Deno's sanitizer)

const installed = localServerBinaries.find((binary) => spawnSync(binary, ["--version"]).status === 0);
const missing = "pushwire-test-no-such-server";

async function serverInfo(url: string): Promise<string> {
  return String(asText(await rawCommand(Number(new URL(url).port), "INFO", "server")));
}

test(`demo local server: the first installed of ${localServerBinaries.join(", ")}, skipping one that is not (${runtime})`, async () => {
  assert.equal(localServerBinaries[0], "valkey-server", "valkey-server is the demo's first choice");
  assert.ok(installed, "one of the candidates is installed (scripts/setup.sh)");
  for (const candidates of [localServerBinaries, [missing, ...localServerBinaries]]) {
    const server = await startLocalServer(candidates);
    try {
      assert.equal(server.binary, installed);
      const info = await serverInfo(server.url);
      assert.ok(info.includes(`process_id:${server.pid}\r\n`), "the server answering is the one started");
      // Valkey's INFO says valkey_version (and a redis_version for compatibility); Redis's does not.
      assert.equal(info.includes("valkey_version:"), installed === "valkey-server");
    } finally {
      await server.stop();
    }
  }
});

test(`demo local server: none installed is an Error naming what was tried and VALKEY_URL (${runtime})`, async () => {
  const error = await startLocalServer([missing]).then(() => undefined, (failure) => failure);
  assert.ok(error instanceof Error);
  assert.match(error.message, /could not start a local server/);
  assert.match(error.message, /VALKEY_URL/);
  assert.ok(error.message.includes(missing));
});

test(`demo: with no server URL, startDemo() serves through its local server and stops it (${runtime})`, async () => {
  const saved = { VALKEY_URL: process.env.VALKEY_URL, REDIS_URL: process.env.REDIS_URL };
  delete process.env.VALKEY_URL;
  delete process.env.REDIS_URL;
  let demo: Awaited<ReturnType<typeof startDemo>> | undefined;
  try {
    demo = await startDemo({ port: 0, quiet: true });
    const info = await serverInfo(demo.redisUrl);
    assert.equal(info.includes("valkey_version:"), installed === "valkey-server");
    const posted = await fetch(`${demo.url}rooms/local`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ text: "hi", name: "test" }),
    });
    const reply = await posted.json();
    // Rooms are durable channels: the publish went into the room's history, with its entry id.
    assert.equal(reply.receivers, 0, "the POST went through the local server");
    assert.match(reply.id, /^\d+-0$/, "the first entry of the room's history");
    const url = demo.redisUrl;
    await demo.stop();
    demo = undefined;
    const after = await rawCommand(Number(new URL(url).port), "PING").then(() => "answered", () => "refused");
    assert.equal(after, "refused", "the local server stopped with the demo");
  } finally {
    await demo?.stop();
    for (const [name, value] of Object.entries(saved)) if (value !== undefined) process.env[name] = value;
  }
  assert.equal(nativeMemory().liveBytes, 0);
});
