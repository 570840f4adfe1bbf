// Throwaway TLS material for TESTS ONLY: a private CA and a server certificate for 127.0.0.1 and
// localhost, made with the openssl CLI for this run (no fixtures checked in), so clients verify a
// real chain. Remove `directory` when done.
import { execFileSync } from "node:child_process";
import net from "node:net";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

export interface Certificates {
  directory: string;
  caFile: string;
  certFile: string;
  keyFile: string;
  /** The CA certificate as PEM text (what `tls: { ca }` takes). */
  ca: string;
}

export function hasOpenssl(): boolean {
  try {
    execFileSync("openssl", ["version"], { stdio: "ignore" });
    return true;
  } catch {
    return false;
  }
}

export function makeCertificates(): Certificates {
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

/** A port the kernel just handed out (free a moment ago), for a TLS listener. */
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
