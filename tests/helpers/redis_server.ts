// Real server processes for integration and fault tests: one per test file (or per test), on a random
// loopback port, stopped by the PID we started. Nothing here touches other processes. Which binary
// (redis-server or valkey-server) is the test pass's choice: tests/helpers/server_kind.ts.
import { spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { RawConnection, rawCommand, type RawValue } from "./raw_resp.ts";
import { serverBinary } from "./server_kind.ts";

export interface RedisServerOptions {
  /** Extra `--name value` arguments, e.g. ["--requirepass", "secret"]. */
  args?: string[];
  /** Fixed port (used by restart tests); random when absent. */
  port?: number;
  /**
   * A config file to load first, written into the server's own directory (a sentinel needs one: it
   * rewrites it as it learns). Arguments still override it.
   */
  config?: string;
}

export class RedisServer {
  readonly host = "127.0.0.1";
  #process: ChildProcess | undefined;
  #exited: Promise<void> = Promise.resolve();
  #directory: string;

  private constructor(readonly port: number, readonly args: string[], directory: string, readonly configFile?: string) {
    this.#directory = directory;
  }

  get url(): string {
    return `redis://${this.host}:${this.port}`;
  }

  get pid(): number | undefined {
    return this.#process?.pid;
  }

  static async start(options: RedisServerOptions = {}): Promise<RedisServer> {
    const directory = mkdtempSync(join(tmpdir(), "pushwire-redis-"));
    const configFile = options.config === undefined ? undefined : join(directory, "server.conf");
    if (configFile !== undefined) writeFileSync(configFile, options.config!);
    let lastError: unknown;
    for (let attempt = 0; attempt < 10; attempt++) {
      const port = options.port ?? 20_000 + Math.floor(Math.random() * 40_000);
      const server = new RedisServer(port, options.args ?? [], directory, configFile);
      try {
        await server.#launch();
        return server;
      } catch (error) {
        lastError = error;
        await server.stop({ keepDirectory: true });
        if (options.port !== undefined) break;
      }
    }
    rmSync(directory, { recursive: true, force: true });
    throw new Error(`could not start ${serverBinary()}: ${lastError}`);
  }

  async #launch(): Promise<void> {
    const binary = serverBinary();
    const child = spawn(
      binary,
      [
        ...(this.configFile === undefined ? [] : [this.configFile]),
        "--port", String(this.port), "--bind", this.host, "--save", "", "--appendonly", "no",
        "--daemonize", "no", "--dir", this.#directory, "--loglevel", "warning", ...this.args,
      ],
      { stdio: ["ignore", "ignore", "pipe"] },
    );
    this.#process = child;
    let stderr = "";
    child.stderr!.on("data", (chunk: Uint8Array) => (stderr += new TextDecoder().decode(chunk)));
    this.#exited = new Promise((resolve) => child.once("exit", () => resolve()));
    const deadline = Date.now() + 5_000;
    for (;;) {
      if (child.exitCode !== null || child.signalCode !== null) {
        throw new Error(`${binary} exited early (port ${this.port}): ${stderr.trim()}`);
      }
      try {
        // The port is random: make sure the server answering is the process we started, not
        // another test's server that happened to take the same port first.
        const info = await this.#serverInfo();
        const text = info instanceof Uint8Array ? new TextDecoder().decode(info) : String(info);
        if (text.includes(`process_id:${child.pid}\r\n`)) return;
        throw new Error(`port ${this.port} answered by another process`);
      } catch {
        if (Date.now() > deadline) throw new Error(`${binary} did not accept on ${this.port}: ${stderr}`);
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
    }
  }

  // INFO server on a fresh connection, authenticating first when the server was started with
  // --requirepass (its INFO would otherwise answer NOAUTH).
  async #serverInfo(): Promise<RawValue> {
    const passwordIndex = this.args.indexOf("--requirepass");
    if (passwordIndex < 0) return await rawCommand(this.port, "INFO", "server");
    const connection = await RawConnection.connect(this.port, this.host);
    try {
      const [, info] = await connection.pipeline([["AUTH", this.args[passwordIndex + 1]], ["INFO", "server"]]);
      return info;
    } finally {
      await connection.close();
    }
  }

  /** Runs a command on a fresh connection (PUBSUB NUMSUB, CONFIG SET, CLIENT KILL, ...). */
  command(...args: (string | Uint8Array | number)[]): Promise<RawValue> {
    return rawCommand(this.port, ...args);
  }

  /** Sends a signal to the process we started (SIGKILL, SIGSTOP, SIGCONT, ...). */
  signal(name: NodeJS.Signals): void {
    if (this.#process?.pid !== undefined && this.#process.exitCode === null) process.kill(this.#process.pid, name);
  }

  /** SIGKILL and wait for the exit. */
  async kill(): Promise<void> {
    this.signal("SIGKILL");
    await this.#exited;
  }

  /** Starts again on the same port (after kill or stop). */
  async restart(): Promise<void> {
    await this.#launch();
  }

  /** SIGTERM (SIGCONT first, in case it is paused), wait for exit, remove the data directory. */
  async stop(options: { keepDirectory?: boolean } = {}): Promise<void> {
    if (this.#process && this.#process.exitCode === null && this.#process.signalCode === null) {
      this.signal("SIGCONT");
      this.signal("SIGTERM");
      const timer = setTimeout(() => this.signal("SIGKILL"), 3_000);
      await this.#exited;
      clearTimeout(timer);
    }
    this.#process?.stderr?.destroy();
    if (!options.keepDirectory) rmSync(this.#directory, { recursive: true, force: true });
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.stop();
  }
}
