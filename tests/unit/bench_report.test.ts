// Method: pure TS: the benchmark report's target lines built from hand-made results, to check what it
// says about a CPU target measured over several rounds (the rounds are paired by their order).
import { assert, test } from "../shim.ts";
import { type ClientResult, targetLines } from "../../bench/report.ts";

function redisRun(library: string, runCpu: number[]): ClientResult {
  const sorted = [...runCpu].sort((a, b) => a - b);
  return {
    runtime: "deno",
    library,
    mode: "redis",
    payloadBytes: 256,
    messagesPerSecond: 500_000,
    cpuUsPerMessage: sorted[Math.floor((sorted.length - 1) / 2)],
    runCpu,
  };
}

function cpuLine(results: ClientResult[]): string {
  const line = targetLines(results).split("\n").find((text) => text.startsWith("| deno 256 B pushwire CPU/msg"));
  assert.ok(line, "a CPU target line for deno 256 B");
  return line;
}

test("bench report: a CPU target counts the rounds it was met in, against the lowest peer of each round", () => {
  const line = cpuLine([
    // Round 0: lowest peer 1.0 (node-redis), met (0.4) and bound met (0.3).
    // Round 1: lowest peer 0.9 (ioredis), missed (0.48 > 0.45; against node-redis it would be met), bound missed (0.55).
    // Round 2: lowest peer 0.8 (node-redis), missed (0.45 > 0.4), bound met (0.3).
    redisRun("pushwire", [0.4, 0.48, 0.45]),
    redisRun("node-redis", [1.0, 1.0, 0.8]),
    redisRun("ioredis", [2.0, 0.9, 2.0]),
    redisRun("socket-views", [0.3, 0.55, 0.3]),
  ]);
  // Medians: pushwire 0.45, lowest peer node-redis 1.0: 0.45× is met, though only one round was.
  assert.match(line, /\| 0\.45× node-redis \| 0\.30× \| met; rounds met 1\/3, bound ≤ 0\.5× in 2\/3 \|$/);
});

test("bench report: no round count when the rounds do not pair up (a failed run) or there is one", () => {
  const unpaired = cpuLine([
    redisRun("pushwire", [0.4, 0.6, 0.45]),
    redisRun("node-redis", [1.0, 0.8]),
    redisRun("socket-views", [0.3, 0.55, 0.3]),
  ]);
  assert.doesNotMatch(unpaired, /rounds met/);
  assert.match(unpaired, /MISSED \(0\.450 vs 0\.800 µs\) \|$/);
  const single = cpuLine([redisRun("pushwire", [0.4]), redisRun("node-redis", [1.0])]);
  assert.match(single, /\| met \|$/);
});
