// Throwaway certificates for TLS tests, made with the openssl CLI in a temporary directory for each
// run (no fixtures checked in, nothing that outlives the test): a private CA and, signed by it, a
// server certificate for 127.0.0.1/localhost, one for another host name only, and a client
// certificate, and one that expired in 2020; plus a self-signed server certificate that no CA vouches for.
import { execFileSync } from "node:child_process";
import net from "node:net";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

/** A certificate and its key: file paths (for the server's flags) and the PEM text (for the client). */
export interface KeyPair {
  certFile: string;
  keyFile: string;
  cert: string;
  key: string;
}

export interface Certificates {
  directory: string;
  caFile: string;
  /** PEM of the private CA. */
  ca: string;
  /** Signed by the CA, for IP 127.0.0.1 and DNS localhost. */
  server: KeyPair;
  /** Signed by the CA, for DNS `otherHostName` only. */
  otherHost: KeyPair;
  /** Signed by the CA, for IP 127.0.0.1 and DNS localhost, valid only on 1 January 2020. */
  expired: KeyPair;
  /** Self-signed, for IP 127.0.0.1 and DNS localhost. */
  selfSigned: KeyPair;
  /** Signed by the CA, for client authentication (mutual TLS). */
  client: KeyPair;
  /** Removes the directory. */
  remove(): void;
}

export const otherHostName = "other.pushwire.test";

export function hasOpenssl(): boolean {
  try {
    execFileSync("openssl", ["version"], { stdio: "ignore" });
    return true;
  } catch {
    return false;
  }
}

/** Why TLS tests cannot run here, or false when they can (for `test(..., { skip })`). */
export const tlsSkip: string | false = hasOpenssl() ? false : "the openssl CLI is not installed (needed to make test certificates)";

export function makeCertificates(): Certificates {
  const directory = mkdtempSync(join(tmpdir(), "pushwire-tls-"));
  const file = (name: string) => join(directory, name);
  const openssl = (...args: string[]) => execFileSync("openssl", args, { stdio: "ignore" });
  // P-256 keys: made in milliseconds (an RSA key takes ~100 ms), and every TLS stack here takes them.
  const newKey = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1"];
  const read = (name: string) => readFileSync(file(name), "utf8");
  const pair = (name: string): KeyPair => ({
    certFile: file(`${name}.crt`),
    keyFile: file(`${name}.key`),
    cert: read(`${name}.crt`),
    key: read(`${name}.key`),
  });
  // Version 3 certificates (with extensions): rustls, behind Deno, refuses version 1 ones.
  const signed = (name: string, subject: string, extension: string): KeyPair => {
    openssl("req", ...newKey, "-nodes", "-subj", subject, "-keyout", file(`${name}.key`), "-out", file(`${name}.csr`));
    writeFileSync(file(`${name}.ext`), `${extension}\n`);
    openssl("x509", "-req", "-in", file(`${name}.csr`), "-CA", file("ca.crt"), "-CAkey", file("ca.key"),
      "-CAcreateserial", "-days", "1", "-extfile", file(`${name}.ext`), "-out", file(`${name}.crt`));
    return pair(name);
  };
  openssl("req", "-x509", ...newKey, "-nodes", "-days", "1", "-subj", "/CN=pushwire test CA",
    "-keyout", file("ca.key"), "-out", file("ca.crt"));
  const server = signed("server", "/CN=localhost", "subjectAltName=IP:127.0.0.1,DNS:localhost");
  const otherHost = signed("other", `/CN=${otherHostName}`, `subjectAltName=DNS:${otherHostName}`);
  const client = signed("client", "/CN=pushwire test client", "extendedKeyUsage=clientAuth");
  // `openssl x509 -req` cannot date a certificate in the past; `openssl ca` can, with a minimal setup.
  writeFileSync(file("index.txt"), "");
  writeFileSync(file("serial"), "01\n");
  writeFileSync(file("ca.cnf"), [
    "[ca]", "default_ca = test", "[test]", `database = ${file("index.txt")}`, `serial = ${file("serial")}`,
    `new_certs_dir = ${directory}`, "default_md = sha256", "policy = any", "copy_extensions = copy",
    "[any]", "commonName = supplied", "",
  ].join("\n"));
  openssl("req", ...newKey, "-nodes", "-subj", "/CN=localhost", "-addext",
    "subjectAltName=IP:127.0.0.1,DNS:localhost", "-keyout", file("expired.key"), "-out", file("expired.csr"));
  openssl("ca", "-batch", "-config", file("ca.cnf"), "-cert", file("ca.crt"), "-keyfile", file("ca.key"),
    "-in", file("expired.csr"), "-out", file("expired.crt"), "-startdate", "20200101000000Z", "-enddate", "20200102000000Z");
  openssl("req", "-x509", ...newKey, "-nodes", "-days", "1", "-subj", "/CN=localhost",
    "-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost", "-keyout", file("self.key"), "-out", file("self.crt"));
  return {
    directory,
    caFile: file("ca.crt"),
    ca: read("ca.crt"),
    server,
    otherHost,
    selfSigned: pair("self"),
    client,
    expired: pair("expired"),
    remove: () => rmSync(directory, { recursive: true, force: true }),
  };
}

/** A port the kernel just handed out (free a moment ago), for a listener a test starts. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const port = (server.address() as net.AddressInfo).port;
      server.close(() => resolve(port));
    });
  });
}
