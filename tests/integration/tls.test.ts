// Method: a real redis-server with its TLS port on loopback, using a throwaway CA and server
// certificate made with the openssl CLI for this run (no fixtures checked in), so the client's real
// TLS path (Bun.connect tls / Deno.connectTls) verifies a real chain.
import { rmSync } from "node:fs";
import { assert, runtime, test } from "../shim.ts";
import { connect, ConnectionError } from "../../mod.ts";
import { freePort, hasOpenssl, makeCertificates } from "../helpers/certificates.ts";
import { withServer } from "./support.ts";

const skip = hasOpenssl() ? false : "the openssl CLI is not installed (needed to make test certificates)";

test(`tls: rediss:// with a private CA, subscribe and publish (${runtime})`, async () => {
  const certificates = makeCertificates();
  const tlsPort = await freePort();
  try {
    await withServer(async () => {
      await using client = await connect(`rediss://127.0.0.1:${tlsPort}`, { tls: { ca: certificates.ca } });
      const subscription = await client.subscribe("secure");
      assert.equal(await client.publish("secure", "over tls"), 1);
      assert.equal((await subscription[Symbol.asyncIterator]().next()).value?.text(), "over tls");
      await assert.rejects(
        connect(`rediss://127.0.0.1:${tlsPort}`, { connectTimeoutMs: 2_000, reconnect: false }),
        ConnectionError,
        "an unknown CA is refused",
      );
    }, [
      "--tls-port", String(tlsPort),
      "--tls-cert-file", certificates.certFile,
      "--tls-key-file", certificates.keyFile,
      "--tls-ca-cert-file", certificates.caFile,
      "--tls-auth-clients", "no",
    ]);
  } finally {
    rmSync(certificates.directory, { recursive: true, force: true });
  }
}, { skip });
