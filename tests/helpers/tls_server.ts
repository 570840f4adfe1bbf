// A real server speaking TLS for tests: the binary of this pass (server_kind.ts: redis-server or
// valkey-server) with --tls-port on a random loopback port and, unless asked for, no plain-text port,
// started with certificates from certificates.ts and stopped by the PID we started. Commands for
// set-up go through the matching CLI over TLS. Nothing here touches other processes.
import { type ChildProcess, execFile, spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import process from "node:process";
import { type Certificates, makeCertificates } from "./certificates.ts";
import { cliBinary, serverBinary } from "./server_kind.ts";

/** Which of the certificates (certificates.ts) the server presents. */
export type ServerCertificate = "server" | "otherHost" | "expired" | "selfSigned";

export interface TlsServerOptions {
  certificates: Certificates;
  /** The server's certificate (default "server": signed by the CA, for 127.0.0.1 and localhost). */
  certificate?: ServerCertificate;
  /** Also listen in plain text on a random port (`plainPort`). */
  plainPort?: boolean;
  /** --tls-auth-clients yes: only clients with a certificate signed by the CA get in. */
  authClients?: boolean;
  /** --requirepass (also used by cli()). */
  password?: string;
  /** More `--name value` arguments (cluster mode, announced ports, ...). */
  args?: string[];
}

/** A start may not outlast this (a loaded machine included); the server says it is ready in ~10 ms. */
const startTimeoutMs = 15_000;

export class TlsServer {
  readonly host = "127.0.0.1";
  #process: ChildProcess | undefined;
  #exited: Promise<void> = Promise.resolve();

  private constructor(
    readonly port: number,
    readonly plainPort: number | undefined,
    readonly options: TlsServerOptions,
    readonly directory: string,
  ) {}

  /** rediss://127.0.0.1:<port> (no credentials). */
  get url(): string {
    return `rediss://${this.host}:${this.port}`;
  }

  get pid(): number | undefined {
    return this.#process?.pid;
  }

  static async start(options: TlsServerOptions): Promise<TlsServer> {
    let lastError: unknown;
    for (let attempt = 0; attempt < 10; attempt++) {
      // The cluster bus takes port + 10000: keep both below 65536.
      const port = 20_000 + Math.floor(Math.random() * 35_000);
      const plainPort = options.plainPort ? 20_000 + Math.floor(Math.random() * 35_000) : undefined;
      const server = new TlsServer(port, plainPort, options, mkdtempSync(join(tmpdir(), "pushwire-tls-server-")));
      try {
        await server.#launch();
        return server;
      } catch (error) {
        lastError = error;
        await server.stop();
      }
    }
    throw new Error(`could not start a TLS ${serverBinary()}: ${lastError}`);
  }

  /**
   * A one-node TLS cluster (cluster mode, `tls-cluster yes`, so CLUSTER SHARDS announces the TLS
   * port) that owns every slot, ready (cluster_state:ok) when this resolves.
   */
  static async startCluster(options: TlsServerOptions): Promise<TlsServer> {
    const clusterArgs = ["--cluster-enabled", "yes", "--tls-cluster", "yes", ...(options.args ?? [])];
    const server = await TlsServer.start({ ...options, args: clusterArgs });
    try {
      await server.cli("CLUSTER", "ADDSLOTSRANGE", 0, 16383);
      const deadline = Date.now() + startTimeoutMs;
      while (!(await server.cli("CLUSTER", "INFO")).includes("cluster_state:ok")) {
        if (Date.now() > deadline) throw new Error(`cluster_state:ok not reached within ${startTimeoutMs} ms`);
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
      return server;
    } catch (error) {
      await server.stop();
      throw error;
    }
  }

  async #launch(): Promise<void> {
    const { certificates, certificate = "server", authClients = false, password, args = [] } = this.options;
    const pair = certificates[certificate];
    const child = spawn(serverBinary(), [
      "--port", String(this.plainPort ?? 0), "--bind", this.host, "--tls-port", String(this.port),
      "--tls-cert-file", pair.certFile, "--tls-key-file", pair.keyFile, "--tls-ca-cert-file", certificates.caFile,
      "--tls-auth-clients", authClients ? "yes" : "no", "--save", "", "--appendonly", "no", "--daemonize", "no",
      "--dir", this.directory, ...(password === undefined ? [] : ["--requirepass", password]), ...args,
    ], { stdio: ["ignore", "pipe", "pipe"] });
    this.#process = child;
    this.#exited = new Promise((resolve) => child.once("exit", () => resolve()));
    let output = "";
    // "Ready to accept connections" comes only after every port is bound: it is this process that
    // listens there, not another test's server that took the same random port first.
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`not ready within ${startTimeoutMs} ms: ${output}`)), startTimeoutMs);
      const watch = (chunk: Uint8Array) => {
        output += new TextDecoder().decode(chunk);
        if (/Ready to accept connections/.test(output)) {
          clearTimeout(timer);
          resolve();
        }
      };
      child.stdout!.on("data", watch);
      child.stderr!.on("data", watch);
      child.once("exit", () => {
        clearTimeout(timer);
        reject(new Error(`${serverBinary()} exited early (tls port ${this.port}): ${output.trim().split("\n").slice(-3).join(" | ")}`));
      });
    });
    // Keep reading so a chatty server never blocks on a full pipe.
    child.stdout!.resume();
  }

  /** Runs the CLI over TLS against this server; resolves with its output (rejects when it fails). */
  cli(...args: (string | number)[]): Promise<string> {
    const { certificates, password } = this.options;
    const command = [
      // --insecure: the CLI only sets things up, and must still get in after a test swapped the
      // server's certificate for one nobody can verify.
      "-h", this.host, "-p", String(this.port), "--tls", "--insecure",
      "--cert", certificates.client.certFile, "--key", certificates.client.keyFile,
      ...(password === undefined ? [] : ["-a", password, "--no-auth-warning"]), ...args.map(String),
    ];
    return new Promise((resolve, reject) => {
      execFile(cliBinary(), command, { timeout: 10_000 }, (error, stdout, stderr) => {
        if (error) reject(new Error(`${cliBinary()} ${args.join(" ")}: ${error.message} ${stderr}`));
        else resolve(String(stdout));
      });
    });
  }

  /** SIGTERM (SIGKILL after 3 s), wait for the exit, remove the data directory. */
  async stop(): Promise<void> {
    const child = this.#process;
    if (child?.pid !== undefined && child.exitCode === null && child.signalCode === null) {
      process.kill(child.pid, "SIGTERM");
      const timer = setTimeout(() => child.exitCode === null && child.pid !== undefined && process.kill(child.pid, "SIGKILL"), 3_000);
      await this.#exited;
      clearTimeout(timer);
    }
    child?.stdout?.destroy();
    child?.stderr?.destroy();
    rmSync(this.directory, { recursive: true, force: true });
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.stop();
  }
}

/** Makes certificates for one run, starts a TLS server with them, runs `body`, then cleans up. */
export function withTlsServer<T>(
  options: Omit<TlsServerOptions, "certificates">,
  body: (server: TlsServer, certificates: Certificates) => Promise<T>,
): Promise<T> {
  return withCertificates((certificates) => TlsServer.start({ certificates, ...options }), body);
}

/** The same with a one-node TLS cluster (TlsServer.startCluster). */
export function withTlsCluster<T>(
  options: Omit<TlsServerOptions, "certificates">,
  body: (server: TlsServer, certificates: Certificates) => Promise<T>,
): Promise<T> {
  return withCertificates((certificates) => TlsServer.startCluster({ certificates, ...options }), body);
}

/** The server is stopped and the certificates removed whatever `body` did. */
async function withCertificates<T>(
  start: (certificates: Certificates) => Promise<TlsServer>,
  body: (server: TlsServer, certificates: Certificates) => Promise<T>,
): Promise<T> {
  const certificates = makeCertificates();
  try {
    const server = await start(certificates);
    try {
      return await body(server, certificates);
    } finally {
      await server.stop();
    }
  } finally {
    certificates.remove();
  }
}
