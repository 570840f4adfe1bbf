// Method: starts a real server (the pass's: PUSHWIRE_TEST_SERVER, tests/helpers/server_kind.ts) on a
// random loopback port and talks to it with the independent test client (tests/helpers/raw_resp.ts).
// Proves the test harness itself works on this runtime, and starts the server the switch names.
import { assert, runtime, test } from "../shim.ts";
import { RedisServer } from "../helpers/redis_server.ts";
import { asText, RawConnection } from "../helpers/raw_resp.ts";
import { serverBinary, serverKind } from "../helpers/server_kind.ts";

test(`harness: ${serverBinary()} starts, answers and stops by PID (${runtime})`, async () => {
  const server = await RedisServer.start();
  try {
    assert.equal(await server.command("PING"), "PONG");
    // Valkey's INFO has valkey_version (beside a redis_version kept for old clients); Redis's has not.
    const info = String(asText(await server.command("INFO", "server")));
    assert.equal(info.includes("valkey_version:"), serverKind() === "valkey", `the ${serverKind()} pass started another server`);
    const subscriber = await RawConnection.connect(server.port);
    assert.deepEqual(asText(await subscriber.command("SUBSCRIBE", "smoke")), ["subscribe", "smoke", 1]);
    assert.deepEqual(asText(await server.command("PUBSUB", "NUMSUB", "smoke")), ["smoke", 1]);
    await subscriber.close();
  } finally {
    await server.stop();
  }
  assert.equal(server.pid !== undefined, true);
});
