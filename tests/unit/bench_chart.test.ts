// Method: pure TS, nothing faked: the bench charts rendered from small hand-made results (the JSON
// shapes of bench/results/<run>/client.json and sse-*.json), read back with a strict XML reader
// (tests/helpers/xml.ts), and checked for their bars, their lengths and their labels. The reader
// itself is checked against broken XML first, so "well-formed" means something.
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { assert, test } from "../shim.ts";
import { type SSERun, sseChart, throughputChart, writeCharts } from "../../bench/charts.ts";
import type { ClientResult } from "../../bench/report.ts";
import { allElements, parseXml, type XmlElement } from "../helpers/xml.ts";

function replay(runtime: string, library: string, payloadBytes: number, messagesPerSecond: number): ClientResult {
  return { runtime, library, mode: "replay", payloadBytes, messagesPerSecond };
}

const clientResults: ClientResult[] = [
  replay("bun", "pushwire", 16, 6_000_000),
  replay("bun", "ioredis", 16, 2_000_000),
  replay("bun", "node-redis", 16, 1_500_000),
  replay("bun", "pushwire", 4096, 400_000),
  replay("bun", "ioredis", 4096, 200_000),
  replay("deno", "pushwire", 16, 4_000_000),
  replay("deno", "node-redis", 16, 1_000_000),
  // Not drawn: another mode, and a run that measured nothing.
  { runtime: "bun", library: "pushwire", mode: "redis", payloadBytes: 16, messagesPerSecond: 900_000 },
  replay("deno", "ioredis", 4096, 0),
];

const sseRuns: SSERun[] = [
  { runtime: "bun", clients: 1000, rate: 100, coalesceMs: 0, eventsPerSecond: 99_000, payloadBytes: 64 },
  { runtime: "bun", clients: 100, rate: 100, coalesceMs: 0, eventsPerSecond: 10_000, payloadBytes: 64 },
  { runtime: "deno", clients: 1000, rate: 100, coalesceMs: 0, eventsPerSecond: 98_000, payloadBytes: 64 },
  { runtime: "deno", clients: 1000, rate: 100, coalesceMs: 50, eventsPerSecond: 97_000, payloadBytes: 64 },
];

const bars = (svg: XmlElement) => allElements(svg).filter((element) => element.name === "rect" && element.attributes.class === "bar");
const tooltip = (bar: XmlElement) => bar.children.find((child) => child.name === "title")?.text ?? "";
const texts = (svg: XmlElement) => allElements(svg).filter((element) => element.name === "text").map((element) => element.text);

test("bench chart: the XML reader refuses what is not well-formed", () => {
  for (const broken of ["<svg><g></svg>", "<svg a=1/>", "<svg>a & b</svg>", "<svg/><svg/>", "<svg a='1' a='2'/>", "<svg><g>"]) {
    assert.throws(() => parseXml(broken), Error, broken);
  }
  assert.equal(parseXml(`<svg x="&lt;&amp;"><t>a &#233; b</t></svg>`).children[0].text, "a é b");
});

test("bench chart: throughput is one panel per runtime and size, a bar per measured library, pushwire's ratio to the fastest peer", () => {
  const svg = parseXml(throughputChart(clientResults, "20261207T000000Z")!);
  assert.equal(svg.name, "svg");
  assert.equal(svg.attributes.xmlns, "http://www.w3.org/2000/svg");
  const drawn = bars(svg);
  assert.equal(drawn.length, 7, "replay runs with a rate only");
  const width = (runtime: string, size: string, library: string) => {
    const bar = drawn.find((candidate) => tooltip(candidate).startsWith(`${runtime} · ${size} ${library}:`));
    assert.ok(bar, `${runtime} ${size} ${library}`);
    return Number(bar.attributes.width);
  };
  // Each panel has its own scale: its fastest library's bar is the full length.
  assert.equal(width("bun", "16 B", "pushwire"), width("bun", "4 KiB", "pushwire"));
  // Lengths in proportion to msgs/s (coordinates are rounded to 0.1 px).
  const near = (actual: number, expected: number) => assert.ok(Math.abs(actual - expected) < 0.005, `${actual} ≈ ${expected}`);
  near(width("bun", "16 B", "ioredis") / width("bun", "16 B", "pushwire"), 2_000_000 / 6_000_000);
  near(width("bun", "4 KiB", "ioredis") / width("bun", "4 KiB", "pushwire"), 0.5);
  const labels = texts(svg);
  for (const label of ["bun · 16 B", "bun · 4 KiB", "deno · 16 B", "deno · 4 KiB", "6.00 M (3.0×)", "4.00 M (4.0×)", "400 k (2.0×)"]) {
    assert.ok(labels.includes(label), `label ${label}`);
  }
  assert.ok(labels.some((label) => label.includes("20261207T000000Z")));
  assert.ok(labels.filter((label) => label === "not run").length > 0, "a library missing in a panel says so");
  assert.ok(tooltip(drawn[0]).includes("6,000,000 msgs/s"));
  assert.equal(throughputChart([]), undefined);
});

test("bench chart: SSE events/s are grouped by open streams, one bar per runtime, rate and coalesceMs", () => {
  const svg = parseXml(sseChart(sseRuns)!);
  const drawn = bars(svg);
  assert.equal(drawn.length, 4);
  const height = (label: string) => Number(drawn.find((bar) => tooltip(bar).startsWith(label))!.attributes.height);
  assert.ok(Math.abs(height("bun · 100 msgs/s published, 1000 streams") / height("bun · 100 msgs/s published, 100 streams") - 9.9) < 0.05);
  const labels = texts(svg);
  for (const label of ["100 streams", "1,000 streams", "99.0 k", "bun · 100 msgs/s published", "deno · 100 msgs/s published, coalesceMs 50"]) {
    assert.ok(labels.includes(label), `label ${label}`);
  }
  // Behind each bar, dashed, what was offered: published msgs/s × streams (the bun 1,000-stream run lost 1 %).
  const offered = allElements(svg).filter((element) => element.name === "rect" && element.attributes.class === "offered");
  assert.equal(offered.length, 4);
  assert.ok(offered.some((outline) => tooltip(outline) === "offered: 100,000 events/s"));
  const outlineOf = (bar: XmlElement) => offered.find((outline) => outline.attributes.x === bar.attributes.x)!;
  const bun1000 = drawn.find((bar) => tooltip(bar).startsWith("bun · 100 msgs/s published, 1000 streams"))!;
  assert.ok(Math.abs(Number(bun1000.attributes.height) / Number(outlineOf(bun1000).attributes.height) - 0.99) < 0.005);
  // Bars of one group sit left of the next group's.
  const x = (label: string) => Number(drawn.find((bar) => tooltip(bar).startsWith(label))!.attributes.x);
  assert.ok(x("bun · 100 msgs/s published, 100 streams") < x("bun · 100 msgs/s published, 1000 streams"));
  assert.equal(sseChart([]), undefined);
});

test("bench chart: writeCharts puts both SVGs next to the JSON of a result directory", () => {
  const directory = mkdtempSync(join(tmpdir(), "pushwire-charts-"));
  try {
    writeFileSync(join(directory, "client.json"), JSON.stringify({ results: clientResults, failures: [] }));
    writeFileSync(join(directory, "sse-bun.json"), JSON.stringify({ runtime: "bun", runs: sseRuns.slice(0, 2) }));
    const written = writeCharts(directory);
    assert.deepEqual(written, [join(directory, "client-throughput.svg"), join(directory, "sse-fanout.svg")]);
    assert.equal(bars(parseXml(readFileSync(written[1], "utf8"))).length, 2);
    const empty = mkdtempSync(join(directory, "empty-"));
    assert.deepEqual(writeCharts(empty), [], "nothing to draw, nothing written");
    assert.deepEqual(readdirSync(empty), []);
  } finally {
    rmSync(directory, { recursive: true, force: true });
  }
});
