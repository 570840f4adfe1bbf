// Method: a real redis-server with its TLS port on loopback, using a throwaway CA and server
// certificate made with the openssl CLI for this run (no fixtures checked in), so the client's real
// TLS path (Bun.connect tls / Deno.connectTls) verifies a real chain.
import { execFileSync } from "node:child_process";
import net from "node:net";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { assert, runtime, test } from "../shim.ts";
import { connect, ConnectionError } from "../../mod.ts";
import { withServer } from "./support.ts";

function hasOpenssl(): boolean {
  try {
    execFileSync("openssl", ["version"], { stdio: "ignore" });
    return true;
  } catch {
    return false;
  }
}

interface Certificates {
  directory: string;
  caFile: string;
  certFile: string;
  keyFile: string;
  ca: string;
}

function makeCertificates(): Certificates {
  const directory = mkdtempSync(join(tmpdir(), "pushwire-tls-"));
  const file = (name: string) => join(directory, name);
  const openssl = (...args: string[]) => execFileSync("openssl", args, { stdio: "ignore" });
  openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=pushwire test CA",
    "-keyout", file("ca.key"), "-out", file("ca.crt"));
  openssl("req", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=localhost",
    "-keyout", file("server.key"), "-out", file("server.csr"));
  writeFileSync(file("san.ext"), "subjectAltName=IP:127.0.0.1,DNS:localhost\n");
  openssl("x509", "-req", "-in", file("server.csr"), "-CA", file("ca.crt"), "-CAkey", file("ca.key"),
    "-CAcreateserial", "-days", "1", "-extfile", file("san.ext"), "-out", file("server.crt"));
  return {
    directory,
    caFile: file("ca.crt"),
    certFile: file("server.crt"),
    keyFile: file("server.key"),
    ca: readFileSync(file("ca.crt"), "utf8"),
  };
}

/** A port the kernel just handed out (free a moment ago), for the TLS listener. */
function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const port = (server.address() as net.AddressInfo).port;
      server.close(() => resolve(port));
    });
  });
}

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
