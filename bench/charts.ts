// SVG charts of one scripts/bench.sh run, written next to its JSON (bench/results/<run>/):
//   client-throughput.svg  msgs/s of every library on the replay server, one panel per runtime and
//                          payload size (each panel its own scale), pushwire's ratio to the fastest peer
//   sse-fanout.svg         SSE events/s delivered against the number of streams, per runtime and
//                          published rate / coalesceMs
// Rule: draw what the JSON says, nothing more (no fitting, no averaging across runs).
// Usage: bun bench/charts.ts <result directory> [--out <directory>]   (default: the result directory)
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import process from "node:process";
import type { ClientResult } from "./report.ts";
import { document, element, escapeXml, formatBytes, formatRate, text } from "./svg.ts";

/** One SSE bench run (sse-<runtime>.json `runs[]`); only what the chart reads. */
export interface SSERun {
  runtime: string;
  clients: number;
  rate: number;
  coalesceMs?: number;
  eventsPerSecond: number;
  payloadBytes?: number;
}

const ours = (library: string) => library.startsWith("pushwire");
const floor = (library: string) => library.startsWith("socket-");

const libraryColours: Record<string, string> = {
  "pushwire": "#1d4ed8",
  "pushwire-iterator": "#60a5fa",
  "ioredis": "#ea580c",
  "node-redis": "#b91c1c",
  "bun-redis": "#7e22ce",
};

function libraryColour(library: string): string {
  return libraryColours[library] ?? (floor(library) ? "#9ca3af" : "#6b7280");
}

/** pushwire first, then the peers, then the floors; by name within each. */
function libraryOrder(left: string, right: string): number {
  const rank = (library: string) => (ours(library) ? 0 : floor(library) ? 2 : 1);
  return rank(left) - rank(right) || (left === "pushwire" ? -1 : right === "pushwire" ? 1 : left.localeCompare(right));
}

const panelWidth = 300;
const labelWidth = 118;
const barAreaWidth = 110;
const rowHeight = 20;
const barHeight = 14;

/** Replay-server msgs/s per library, one panel per (runtime, payload size); undefined without such runs. */
export function throughputChart(results: readonly ClientResult[], runName = ""): string | undefined {
  const replay = results.filter((result) => result.mode === "replay" && (result.messagesPerSecond ?? 0) > 0);
  if (replay.length === 0) return undefined;
  const runtimes = [...new Set(replay.map((result) => result.runtime))].sort();
  const sizes = [...new Set(replay.map((result) => result.payloadBytes))].sort((a, b) => a - b);
  const libraries = [...new Set(replay.map((result) => result.library))].sort(libraryOrder);
  const panelHeight = 28 + libraries.length * rowHeight;
  const top = 58;
  const width = 20 + sizes.length * panelWidth;
  const height = top + runtimes.length * (panelHeight + 12) + 34;
  const body: string[] = [
    text(10, 22, "Client-bound throughput (replay server): messages/s, higher is better", { "font-size": 15, "font-weight": "bold" }),
    text(10, 40, `each panel has its own scale; (n×) = against the fastest peer of that panel${runName ? `; run ${runName}` : ""}`, {
      fill: "#4b5563",
    }),
  ];
  runtimes.forEach((runtime, row) => {
    sizes.forEach((size, column) => {
      const x = 10 + column * panelWidth;
      const y = top + row * (panelHeight + 12);
      const group = replay.filter((result) => result.runtime === runtime && result.payloadBytes === size);
      body.push(throughputPanel(x, y, panelHeight, `${runtime} · ${formatBytes(size)}`, group, libraries));
    });
  });
  body.push(text(10, height - 12, "socket-floor, socket-views: not libraries, the cost of the bytes reaching JavaScript (bench/README.md, Method)", {
    fill: "#4b5563",
    "font-size": 11,
  }));
  return document(width, height, "pushwire client throughput", body);
}

function throughputPanel(
  x: number,
  y: number,
  height: number,
  title: string,
  group: readonly ClientResult[],
  libraries: readonly string[],
): string {
  const parts = [
    element("rect", { x, y, width: panelWidth - 10, height, fill: "#f9fafb", stroke: "#e5e7eb" }),
    text(x + 8, y + 18, title, { "font-weight": "bold" }),
  ];
  const peak = Math.max(...group.map((result) => result.messagesPerSecond!));
  const peers = group.filter((result) => !ours(result.library) && !floor(result.library));
  const fastestPeer = peers.length > 0 ? Math.max(...peers.map((result) => result.messagesPerSecond!)) : undefined;
  libraries.forEach((library, index) => {
    const rowY = y + 28 + index * rowHeight;
    parts.push(text(x + labelWidth - 6, rowY + barHeight - 3, library, { "text-anchor": "end" }));
    const result = group.find((candidate) => candidate.library === library);
    if (result === undefined) {
      parts.push(text(x + labelWidth, rowY + barHeight - 3, "not run", { fill: "#9ca3af" }));
      return;
    }
    const rate = result.messagesPerSecond!;
    const barWidth = Math.max(1, (rate / peak) * barAreaWidth);
    const ratio = ours(library) && fastestPeer ? ` (${(rate / fastestPeer).toFixed(1)}×)` : "";
    const tooltip = `${title} ${library}: ${Math.round(rate).toLocaleString("en-US")} msgs/s${ratio}`;
    parts.push(
      element("rect", { class: "bar", x: x + labelWidth, y: rowY, width: barWidth, height: barHeight, fill: libraryColour(library) },
        element("title", {}, escapeXml(tooltip))),
      text(x + labelWidth + barWidth + 4, rowY + barHeight - 3, formatRate(rate) + ratio, { "font-size": 11 }),
    );
  });
  return element("g", {}, parts.join(""));
}

const seriesColours = ["#1d4ed8", "#60a5fa", "#93c5fd", "#1e3a8a", "#15803d", "#4ade80", "#86efac", "#14532d"];

/** SSE events/s delivered per number of streams, one bar per (runtime, rate, coalesceMs); undefined without runs. */
export function sseChart(runs: readonly SSERun[], runName = ""): string | undefined {
  const usable = runs.filter((run) => run.eventsPerSecond > 0);
  if (usable.length === 0) return undefined;
  const seriesKey = (run: SSERun) => `${run.runtime}|${run.rate}|${run.coalesceMs ?? 0}`;
  const series = [...new Set(usable.map(seriesKey))].sort((left, right) => {
    const [runtimeA, rateA, coalesceA] = left.split("|");
    const [runtimeB, rateB, coalesceB] = right.split("|");
    return runtimeA.localeCompare(runtimeB) || Number(rateA) - Number(rateB) || Number(coalesceA) - Number(coalesceB);
  });
  const streams = [...new Set(usable.map((run) => run.clients))].sort((a, b) => a - b);
  const barWidth = 46;
  const groupGap = 40;
  const groupWidth = series.length * barWidth + groupGap;
  const left = 70;
  const top = 60;
  const plotHeight = 240;
  const width = Math.max(760, left + streams.length * groupWidth + 20);
  const legendTop = top + plotHeight + 44;
  const height = legendTop + series.length * 18 + 16;
  // Offered: what every stream would get if nothing were lost (published msgs/s × streams).
  const offered = (run: SSERun) => run.rate * run.clients;
  const peak = Math.max(...usable.map((run) => Math.max(run.eventsPerSecond, offered(run))));
  const axisMax = niceCeiling(peak);
  const payload = usable.find((run) => run.payloadBytes !== undefined)?.payloadBytes;
  const body: string[] = [
    text(10, 22, "SSE fan-out: events/s delivered against open streams, higher is better", { "font-size": 15, "font-weight": "bold" }),
    text(10, 40, `one channel, every stream gets every event${payload ? `, ${payload} B payloads` : ""}; dashed: offered ` +
      `(published msgs/s × streams)${runName ? `; run ${runName}` : ""}`, {
      fill: "#4b5563",
    }),
  ];
  for (let step = 0; step <= 4; step++) {
    const value = (axisMax / 4) * step;
    const y = top + plotHeight - (value / axisMax) * plotHeight;
    body.push(
      element("line", { x1: left, x2: width - 10, y1: y, y2: y, stroke: step === 0 ? "#374151" : "#e5e7eb" }),
      text(left - 6, y + 4, formatRate(value), { "text-anchor": "end", "font-size": 11, fill: "#4b5563" }),
    );
  }
  streams.forEach((count, groupIndex) => {
    const groupX = left + groupGap / 2 + groupIndex * groupWidth;
    body.push(text(groupX + (series.length * barWidth) / 2, top + plotHeight + 18, `${count.toLocaleString("en-US")} streams`, {
      "text-anchor": "middle",
    }));
    series.forEach((key, seriesIndex) => {
      const run = usable.find((candidate) => candidate.clients === count && seriesKey(candidate) === key);
      if (run === undefined) return;
      const barHeight = Math.max(1, (run.eventsPerSecond / axisMax) * plotHeight);
      const x = groupX + seriesIndex * barWidth;
      const y = top + plotHeight - barHeight;
      const offeredHeight = Math.max(1, (offered(run) / axisMax) * plotHeight);
      body.push(element("rect", {
        class: "offered",
        x: x + 2,
        y: top + plotHeight - offeredHeight,
        width: barWidth - 4,
        height: offeredHeight,
        fill: "none",
        stroke: "#6b7280",
        "stroke-dasharray": "3 2",
      }, element("title", {}, escapeXml(`offered: ${offered(run).toLocaleString("en-US")} events/s`))));
      const tooltip = `${seriesLabel(key)}, ${count} streams: ${Math.round(run.eventsPerSecond).toLocaleString("en-US")} events/s`;
      body.push(
        element("rect", { class: "bar", x: x + 2, y, width: barWidth - 4, height: barHeight, fill: seriesColour(key, series) },
          element("title", {}, escapeXml(tooltip))),
        text(x + barWidth / 2, y - 4, formatRate(run.eventsPerSecond), {
          "text-anchor": "middle",
          "font-size": 10,
        }),
      );
    });
  });
  series.forEach((key, index) => {
    const y = legendTop + index * 18;
    body.push(
      element("rect", { x: left, y: y - 10, width: 12, height: 12, fill: seriesColour(key, series) }),
      text(left + 18, y, seriesLabel(key)),
    );
  });
  return document(width, height, "pushwire SSE fan-out", body);
}

function seriesLabel(key: string): string {
  const [runtime, rate, coalesceMs] = key.split("|");
  return `${runtime} · ${Number(rate).toLocaleString("en-US")} msgs/s published${coalesceMs !== "0" ? `, coalesceMs ${coalesceMs}` : ""}`;
}

/** Bun's series in blues, Deno's in greens, in series order. */
function seriesColour(key: string, series: readonly string[]): string {
  const runtime = key.split("|")[0];
  const sameRuntime = series.filter((candidate) => candidate.split("|")[0] === runtime);
  const offset = runtime === "deno" ? 4 : 0;
  return seriesColours[offset + (sameRuntime.indexOf(key) % 4)];
}

/** The smallest of 1, 2, 2.5, 5 × 10^n at or above `value`: axis steps people can read. */
function niceCeiling(value: number): number {
  const magnitude = 10 ** Math.floor(Math.log10(value));
  for (const factor of [1, 2, 2.5, 5, 10]) if (factor * magnitude >= value) return factor * magnitude;
  return 10 * magnitude;
}

function readJson<T>(path: string): T | undefined {
  return existsSync(path) ? JSON.parse(readFileSync(path, "utf8")) as T : undefined;
}

/** Writes the charts of one result directory into `out`; returns the paths written. */
export function writeCharts(resultDirectory: string, out = resultDirectory): string[] {
  const runName = resultDirectory.replace(/\/+$/, "").split("/").pop() ?? "";
  const written: string[] = [];
  mkdirSync(out, { recursive: true });
  const client = readJson<{ results: ClientResult[] }>(join(resultDirectory, "client.json"));
  const throughput = client && throughputChart(client.results, runName);
  if (throughput) {
    writeFileSync(join(out, "client-throughput.svg"), throughput);
    written.push(join(out, "client-throughput.svg"));
  }
  const runs = ["bun", "deno"].flatMap((runtime) =>
    readJson<{ runs: SSERun[] }>(join(resultDirectory, `sse-${runtime}.json`))?.runs ?? []
  );
  const fanout = sseChart(runs, runName);
  if (fanout) {
    writeFileSync(join(out, "sse-fanout.svg"), fanout);
    written.push(join(out, "sse-fanout.svg"));
  }
  return written;
}

if (import.meta.main) {
  const directory = process.argv[2];
  const outIndex = process.argv.indexOf("--out");
  if (!directory || !existsSync(directory)) {
    console.error("usage: bun bench/charts.ts <result directory> [--out <directory>]");
    process.exit(2);
  }
  const written = writeCharts(directory, outIndex > 0 ? process.argv[outIndex + 1] : directory);
  console.log(written.length > 0 ? `charts: ${written.join(", ")}` : "charts: no client.json or sse-*.json with runs in it");
}
