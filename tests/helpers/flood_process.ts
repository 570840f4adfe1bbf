// A PUBLISH flood from a process of its own (tests only), for tests that measure this process's
// memory: the publisher's commands and buffers then do not count as the library's. It runs
// tests/helpers/flood.ts with sequence payloads (tests/helpers/sequence.ts) under the same runtime.
// Rule: resolves once the child exited 0 (every PUBLISH acknowledged); rejects with its stderr otherwise.
import { spawn } from "node:child_process";
import process from "node:process";
import { fileURLToPath } from "node:url";
import { Flood } from "./flood.ts";
import { sequencePayload } from "./sequence.ts";

export interface FloodJob {
  port: number;
  /** Channels in turn: message `index` goes to channels[index % n] as number floor(index / n) of its channel. */
  channels: string[];
  /** Payload bytes of every message. */
  size: number;
  total: number;
  /** PUBLISH commands per write (the flood waits for their replies before the next). */
  batch: number;
}

declare const Bun: unknown;

/** Runs the flood in a child process of this runtime; resolves when every message was acknowledged. */
export function floodFromProcess(job: FloodJob): Promise<void> {
  const script = fileURLToPath(import.meta.url);
  const args = typeof Bun !== "undefined" ? [script, JSON.stringify(job)] : ["run", "-A", "--no-check", script, JSON.stringify(job)];
  const child = spawn(process.execPath, args, { stdio: ["ignore", "ignore", "pipe"] });
  let stderr = "";
  child.stderr!.on("data", (chunk: Uint8Array) => (stderr += new TextDecoder().decode(chunk)));
  return new Promise((resolve, reject) => {
    child.once("error", reject);
    child.once("close", (code: number | null) => {
      if (code === 0) resolve();
      else reject(new Error(`flood process exited with ${code}: ${stderr.trim()}`));
    });
  });
}

/** The child's side. */
async function main(job: FloodJob): Promise<void> {
  const count = job.channels.length;
  const flood = await Flood.start({
    port: job.port,
    channels: job.channels,
    payload: (index) => sequencePayload(Math.floor(index / count), job.size),
    batch: job.batch,
    total: job.total,
  });
  await flood.done;
  const acknowledged = flood.acknowledged;
  await flood.stop();
  if (acknowledged !== job.total) throw new Error(`only ${acknowledged} of ${job.total} acknowledged`);
}

if (import.meta.main) await main(JSON.parse(process.argv[process.argv.length - 1]) as FloodJob);
