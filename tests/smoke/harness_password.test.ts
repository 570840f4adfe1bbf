// Method: a real server (the pass's, tests/helpers/server_kind.ts) started with --requirepass; the
// harness must still recognise the process it started (its readiness check authenticates before INFO)
// and the password must be enforced.
import { assert, test } from "../shim.ts";
import { RedisServer } from "../helpers/redis_server.ts";
import { RawError } from "../helpers/raw_resp.ts";
import { serverBinary } from "../helpers/server_kind.ts";

test(`harness: a password-protected ${serverBinary()} starts and refuses unauthenticated commands`, async () => {
  const server = await RedisServer.start({ args: ["--requirepass", "harness-secret"] });
  try {
    const reply = await server.command("PING");
    assert.ok(reply instanceof RawError, "PING without AUTH must fail");
    assert.match(reply.message, /NOAUTH/);
  } finally {
    await server.stop();
  }
});
