// A throwaway server for the demo when no VALKEY_URL/REDIS_URL is given: valkey-server when it is
// installed, else redis-server; a free loopback port, no persistence, stopped by the PID we started
// (on stop(), and as a last resort on process exit). Small on purpose; examples never import test helpers.
import { spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import net from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import process from "node:process";

/** The binaries tried, in order: the first one installed is started. */
export const localServerBinaries: readonly string[] = ["valkey-server", "redis-server"];

export interface LocalServer {
  readonly url: string;
  readonly pid: number;
  /** The binary started (one of the candidates). */
  readonly binary: string;
  stop(): Promise<void>;
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = net.createServer();
    probe.once("error", reject);
    probe.listen(0, "127.0.0.1", () => {
      const { port } = probe.address() as net.AddressInfo;
      probe.close(() => resolve(port));
    });
  });
}

function accepts(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ port, host: "127.0.0.1" });
    socket.once("connect", () => {
      socket.destroy();
      resolve(true);
    });
    socket.once("error", () => resolve(false));
  });
}

async function launch(binary: string, port: number, directory: string): Promise<ChildProcess> {
  const child = spawn(
    binary,
    ["--port", String(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
      "--daemonize", "no", "--dir", directory, "--loglevel", "warning"],
    { stdio: ["ignore", "ignore", "inherit"] },
  );
  const failed = new Promise<Error>((resolve) => {
    child.once("error", resolve); // e.g. not installed (code ENOENT)
    child.once("exit", (code) => resolve(new Error(`${binary} exited with code ${code}`)));
  });
  const deadline = Date.now() + 5_000;
  while (Date.now() < deadline) {
    const outcome = await Promise.race([failed, accepts(port)]);
    if (outcome instanceof Error) throw outcome;
    if (outcome) return child;
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
  child.kill("SIGKILL");
  throw new Error(`${binary} did not accept connections on 127.0.0.1:${port} within 5 s`);
}

/**
 * Starts the first installed of `binaries` on a free 127.0.0.1 port (a few tries each: another process
 * may take the port first).
 */
export async function startLocalServer(binaries: readonly string[] = localServerBinaries): Promise<LocalServer> {
  const directory = mkdtempSync(join(tmpdir(), "pushwire-demo-server-"));
  const errors: string[] = [];
  for (const binary of binaries) {
    const started = await startOn(binary, directory).catch((error: Error) => error);
    if (!(started instanceof Error)) return started;
    errors.push(`${binary}: ${started.message}`);
  }
  rmSync(directory, { recursive: true, force: true });
  throw new Error(
    `could not start a local server (is valkey-server or redis-server installed? set VALKEY_URL to use another):\n  ${errors.join("\n  ")}`,
  );
}

async function startOn(binary: string, directory: string): Promise<LocalServer> {
  let lastError: unknown;
  for (let attempt = 0; attempt < 5; attempt++) {
    const port = await freePort();
    let child: ChildProcess;
    try {
      child = await launch(binary, port, directory);
    } catch (error) {
      lastError = error;
      if ((error as { code?: string }).code === "ENOENT") break; // not installed: the next binary
      continue;
    }
    const pid = child.pid!;
    const exited = new Promise<void>((resolve) => {
      if (child.exitCode !== null) resolve();
      else child.once("exit", () => resolve());
    });
    // Last resort if the demo exits without stop(): never leave a server running behind us.
    const killOnExit = () => child.exitCode === null && child.kill("SIGKILL");
    process.once("exit", killOnExit);
    let stopped: Promise<void> | undefined;
    const stop = () =>
      stopped ??= (async () => {
        process.removeListener("exit", killOnExit);
        if (child.exitCode === null && child.signalCode === null) {
          process.kill(pid, "SIGTERM");
          const timer = setTimeout(() => child.exitCode === null && process.kill(pid, "SIGKILL"), 3_000);
          await exited;
          clearTimeout(timer);
        }
        rmSync(directory, { recursive: true, force: true });
      })();
    return { url: `redis://127.0.0.1:${port}`, pid, binary, stop };
  }
  throw lastError instanceof Error ? lastError : new Error(String(lastError));
}
