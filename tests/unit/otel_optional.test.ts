// Method: two independent looks at the module graph, no server, nothing faked. (1) A static walk of
// the import and export statements (and string-literal dynamic imports) from mod.ts, with its positive
// control: the same walk from src/otel.ts does reach @opentelemetry/api. (2) Deno's own resolver,
// `deno info --json mod.ts`, run as a child process under either runtime. @opentelemetry/api is an
// optional peer: the main entry point must never load it, nor src/otel.ts.
import { readFileSync } from "node:fs";
import { dirname, join, relative } from "node:path";
import { assert, runtime, test } from "../shim.ts";
import { repositoryRoot, run, tool, userEnvironment } from "../packaging/support.ts";

const importPatterns = [
  /(?:^|[\s;])(?:import|export)\s[^;]*?\sfrom\s*["']([^"']+)["']/g, // import … from "x", export … from "x"
  /(?:^|[\s;])import\s*["']([^"']+)["']/g, //                          import "x"
  /import\(\s*["']([^"']+)["']\s*\)/g, //                              import("x")
];

/** Every file reached from `entry` (relative to the checkout) and every bare specifier they name. */
function walk(entry: string): { files: Set<string>; bare: Set<string> } {
  const files = new Set<string>();
  const bare = new Set<string>();
  const pending = [entry];
  while (pending.length > 0) {
    const file = pending.pop()!;
    if (files.has(file)) continue;
    files.add(file);
    const source = readFileSync(join(repositoryRoot, file), "utf8");
    for (const pattern of importPatterns) {
      for (const [, specifier] of source.matchAll(pattern)) {
        if (specifier.startsWith(".")) pending.push(relative(repositoryRoot, join(repositoryRoot, dirname(file), specifier)));
        else bare.add(specifier);
      }
    }
  }
  return { files, bare };
}

const openTelemetry = (specifier: string) => /^(npm:)?@opentelemetry\//.test(specifier);

test(`otel optional: no import from mod.ts reaches @opentelemetry or src/otel.ts (static walk, ${runtime})`, () => {
  const main = walk("mod.ts");
  assert.ok(main.files.has("src/client.ts") && main.files.has("src/metrics.ts") && main.files.has("src/sse/totals.ts"));
  assert.deepEqual([...main.bare].filter(openTelemetry), []);
  assert.equal(main.files.has("src/otel.ts"), false);
  // Positive control: the walk does see the peer where it is imported.
  assert.ok([...walk("src/otel.ts").bare].includes("@opentelemetry/api"));
});

test(`otel optional: Deno's resolver agrees (deno info --json mod.ts, ${runtime})`, async () => {
  const info = await run(tool("deno"), ["info", "--json", "mod.ts"], { cwd: repositoryRoot, env: userEnvironment(), timeoutMs: 60_000 });
  assert.equal(info.code, 0, info.stderr);
  const modules = (JSON.parse(info.stdout).modules as { specifier: string }[]).map((module) => module.specifier);
  assert.ok(modules.some((specifier) => specifier.endsWith("/src/metrics.ts")), "the graph was read");
  assert.deepEqual(modules.filter((specifier) => specifier.includes("@opentelemetry") || specifier.endsWith("/src/otel.ts")), []);
  const otel = await run(tool("deno"), ["info", "--json", "src/otel.ts"], { cwd: repositoryRoot, env: userEnvironment(), timeoutMs: 60_000 });
  assert.ok(otel.stdout.includes("@opentelemetry/api"), "positive control: src/otel.ts's graph has the peer");
}, { timeoutMs: 90_000 });
