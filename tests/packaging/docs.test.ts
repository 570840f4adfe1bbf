// Method: the real scripts/docs.sh (deno doc --html over every entry point of deno.json) run into a
// temporary folder outside the checkout; nothing faked. It checks the pages exist for the three entry
// points and name their main exports, and that the script refuses to replace a folder it did not make.
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { assert, runtime, test } from "../shim.ts";
import { repositoryRoot, run, userEnvironment } from "./support.ts";

test(`docs: scripts/docs.sh writes the HTML reference of pushwire, pushwire/sse and pushwire/otel (${runtime})`, async () => {
  const directory = mkdtempSync(join(tmpdir(), "pushwire-docs-"));
  try {
    const out = join(directory, "api");
    const result = await run("bash", ["scripts/docs.sh", out], { cwd: repositoryRoot, env: userEnvironment(), timeoutMs: 120_000 });
    assert.equal(result.code, 0, result.stderr);
    assert.ok(existsSync(join(out, "index.html")), "index.html");
    const html = ["index.html", "all_symbols.html"].filter((page) => existsSync(join(out, page)))
      .map((page) => readFileSync(join(out, page), "utf8")).join("\n");
    for (const name of ["connect", "sse", "registerMetrics", "watchMetrics", "ClusterClient"]) {
      assert.ok(html.includes(name), `the reference names ${name}`);
    }
    // Run again: it replaces its own output.
    assert.equal((await run("bash", ["scripts/docs.sh", out], { cwd: repositoryRoot, env: userEnvironment() })).code, 0);

    const foreign = join(directory, "foreign");
    const keep = join(foreign, "keep.txt");
    await run("mkdir", ["-p", foreign]);
    writeFileSync(keep, "not generated");
    const refused = await run("bash", ["scripts/docs.sh", foreign], { cwd: repositoryRoot, env: userEnvironment() });
    assert.notEqual(refused.code, 0);
    assert.match(refused.stderr, /not made by scripts\/docs\.sh/);
    assert.equal(readFileSync(keep, "utf8"), "not generated");
  } finally {
    rmSync(directory, { recursive: true, force: true });
  }
}, { timeoutMs: 300_000 });
