// Method: starts a real redis-server on a random loopback port and talks to it with the independent
// test client (tests/helpers/raw_resp.ts). Proves the test harness itself works on this runtime.
import { assert, runtime, test } from "../shim.ts";
import { RedisServer } from "../helpers/redis_server.ts";
import { asText, RawConnection } from "../helpers/raw_resp.ts";

test(`harness: redis-server starts, answers and stops by PID (${runtime})`, async () => {
  const server = await RedisServer.start();
  try {
    assert.equal(await server.command("PING"), "PONG");
    const subscriber = await RawConnection.connect(server.port);
    assert.deepEqual(asText(await subscriber.command("SUBSCRIBE", "smoke")), ["subscribe", "smoke", 1]);
    assert.deepEqual(asText(await server.command("PUBSUB", "NUMSUB", "smoke")), ["smoke", 1]);
    await subscriber.close();
  } finally {
    await server.stop();
  }
  assert.equal(server.pid !== undefined, true);
});
