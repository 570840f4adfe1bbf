// Method: a real redis-server started with --requirepass; the harness must still recognise the process it
// started (its readiness check authenticates before INFO) and the password must be enforced.
import { assert, test } from "../shim.ts";
import { RedisServer } from "../helpers/redis_server.ts";
import { RawError } from "../helpers/raw_resp.ts";

test("harness: a password-protected redis-server starts and refuses unauthenticated commands", async () => {
  const server = await RedisServer.start({ args: ["--requirepass", "harness-secret"] });
  try {
    const reply = await server.command("PING");
    assert.ok(reply instanceof RawError, "PING without AUTH must fail");
    assert.match(reply.message, /NOAUTH/);
  } finally {
    await server.stop();
  }
});
