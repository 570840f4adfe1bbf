// Prints the summary of one scripts/bench.sh run from its result directory (bench/results/<run>/):
// core (bytes → Frames) with the C/Zig ceilings beside it, client throughput with ratios against the
// fastest peer of the same runtime and size, real-server runs with the bottleneck, latency, SSE, and
// the issue's targets as met/missed. Usage: bun bench/summary.ts <result directory>
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import process from "node:process";
import { type ClientResult, fmt, latencyTable, targetLines, throughputTable } from "./report.ts";

const directory = process.argv[2];
if (!directory) {
  console.error("usage: bun bench/summary.ts <result directory>");
  process.exit(2);
}
const read = (name: string): string | undefined => {
  const path = join(directory, name);
  return existsSync(path) ? readFileSync(path, "utf8") : undefined;
};

interface CoreRow {
  runtime: string;
  reader: string;
  payloadBytes: number;
  nsPerMessage: number;
  messagesPerSecond: number;
  megabytesPerSecond?: number;
}

const out: string[] = [`# pushwire benchmarks (${directory.split("/").pop()})`, ""];
const cpuModel = readFileSync("/proc/cpuinfo", "utf8").match(/model name\s*:\s*(.*)/)?.[1] ?? "unknown cpu";
const cores = readFileSync("/proc/cpuinfo", "utf8").match(/^processor\s*:/gm)?.length ?? 0;
out.push(`machine: ${cores} × ${cpuModel}`, "");

// ---- core -------------------------------------------------------------------------------------------
const core: CoreRow[] = [];
for (const runtime of ["bun", "deno"]) {
  const text = read(`core-${runtime}.json`);
  if (text) core.push(...(JSON.parse(text).rows as CoreRow[]));
}
const ceiling: CoreRow[] = (read("c-consumer.jsonl") ?? "").split("\n").filter(Boolean).map((line) => ({
  runtime: "C",
  ...JSON.parse(line),
}));
if (core.length || ceiling.length) {
  out.push("## core: RESP bytes → message objects (ns per message, lower is better)", "");
  out.push("| size B | reader | runtime | ns/msg | msgs/s | vs baseline TS (same runtime) |");
  out.push("| ---: | --- | --- | ---: | ---: | ---: |");
  const sizes = [...new Set([...core, ...ceiling].map((row) => row.payloadBytes))].sort((a, b) => a - b);
  for (const size of sizes) {
    for (const row of [...core, ...ceiling].filter((candidate) => candidate.payloadBytes === size)) {
      const base = core.find((other) =>
        other.payloadBytes === size && other.runtime === row.runtime && other.reader === "baseline TS"
      );
      out.push(
        `| ${size} | ${row.reader} | ${row.runtime} | ${fmt(row.nsPerMessage)} | ` +
          `${Math.round(row.messagesPerSecond).toLocaleString("en-US")} | ${base ? `${fmt(base.nsPerMessage / row.nsPerMessage, 2)}×` : "-"} |`,
      );
    }
  }
  out.push("");
}
const zigBench = read("zig-bench.txt");
if (zigBench !== undefined) out.push("## pure-Zig ceiling (zig build bench)", "", "```", zigBench.trim(), "```", "");

// ---- client ---------------------------------------------------------------------------------------------
const clientText = read("client.json");
if (clientText) {
  const client = JSON.parse(clientText) as { results: ClientResult[]; failures: string[] };
  out.push("## client-bound: replay server (msgs/s, higher is better)", "", throughputTable(client.results, "replay"), "");
  out.push("## real redis-server, pipelined C publisher", "", throughputTable(client.results, "redis"), "");
  out.push("## latency publish → deliver (redis-server, 16 B)", "", latencyTable(client.results), "");
  out.push("## targets (msgs/s: replay server runs; CPU: redis-server runs)", "", targetLines(client.results), "");
  if (client.failures.length) out.push("## FAILED runs", "", ...client.failures.map((failure) => `- ${failure}`), "");
}

// ---- SSE ---------------------------------------------------------------------------------------------------
// ---- durable channels ---------------------------------------------------------------------------
const durableRows: { runtime: string; what: string; messagesPerSecond: number; serverMicrosPerCall?: number }[] = [];
for (const runtime of ["bun", "deno"]) {
  const text = read(`durable-${runtime}.json`);
  if (text) durableRows.push(...JSON.parse(text).rows);
}
if (durableRows.length) {
  out.push("## durable channels: publish with history, replay (msgs/s, 256 B, redis-server)", "");
  out.push("| what | runtime | msgs/s | server µs/call |", "| --- | --- | ---: | ---: |");
  for (const row of durableRows) {
    const server = row.serverMicrosPerCall === undefined ? "-" : fmt(row.serverMicrosPerCall, 2);
    out.push(`| ${row.what} | ${row.runtime} | ${row.messagesPerSecond.toLocaleString("en-US")} | ${server} |`);
  }
  out.push("");
}

const sseRows: Record<string, number | string>[] = [];
for (const runtime of ["bun", "deno"]) {
  const text = read(`sse-${runtime}.json`);
  if (text) sseRows.push(...JSON.parse(text).runs);
}
if (sseRows.length) {
  out.push("## SSE fan-out (one channel → N streaming HTTP clients, readers in a second process)", "");
  out.push("| runtime | clients | published msgs/s | coalesceMs | events/s delivered | lost | RSS KiB/client | heap KiB/client | server CPU share |");
  out.push("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |");
  for (const row of sseRows) {
    out.push(
      `| ${row.runtime} | ${row.clients} | ${row.rate} | ${row.coalesceMs ?? 0} | ${Math.round(row.eventsPerSecond as number).toLocaleString("en-US")} | ` +
        `${row.lost} | ${row.memoryPerClientKiB == null ? "–" : fmt(row.memoryPerClientKiB as number)} | ` +
        `${row.heapPerClientKiB == null ? "–" : fmt(row.heapPerClientKiB as number)} | ${fmt(row.serverCpuShare as number, 2)} |`,
    );
  }
  out.push("");
} else if (read("sse-skipped.txt")) {
  out.push("## SSE fan-out", "", read("sse-skipped.txt")!.trim(), "");
}
console.log(out.join("\n"));
