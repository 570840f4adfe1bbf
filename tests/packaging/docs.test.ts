// Method: the real scripts/docs.sh (deno doc --html over every entry point of deno.json) run into a
// temporary folder outside the checkout; nothing faked. It checks that every entry point deno.json
// exports has its page, naming that entry point's exports, that the index names the main exports, and
// that the script refuses to replace a folder it did not make.
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { assert, runtime, test } from "../shim.ts";
import { repositoryRoot, run, tool, userEnvironment } from "./support.ts";

/**
 * Each entry point of deno.json with its module and the page of deno doc --html that lists its
 * symbols: `./x` has `x/index.html`; the main one's are listed in `all_symbols.html` (the top
 * index.html shows its module doc and a few of them).
 */
function entryPoints(): { subpath: string; module: string; page: string }[] {
  const { exports } = JSON.parse(readFileSync(join(repositoryRoot, "deno.json"), "utf8"));
  return Object.entries(exports as Record<string, string>).map(([subpath, module]) => ({
    subpath,
    module,
    page: subpath === "." ? "all_symbols.html" : join(subpath.slice(2), "index.html"),
  }));
}

/** One module as `deno doc --json` sees it: its module doc and its documented symbols (not the @ignore'd). */
async function documented(module: string): Promise<{ moduleDoc: string; names: string[] }> {
  const listed = await run(tool("deno"), ["doc", "--json", module], { cwd: repositoryRoot, env: userEnvironment() });
  assert.equal(listed.code, 0, listed.stderr);
  type Node = { module_doc?: { doc?: string }; symbols?: { name: string }[] };
  const [node] = Object.values((JSON.parse(listed.stdout) as { nodes: Record<string, Node> }).nodes);
  return { moduleDoc: node.module_doc?.doc ?? "", names: (node.symbols ?? []).map((symbol) => symbol.name) };
}

test(`docs: scripts/docs.sh writes the HTML reference of every entry point of deno.json (${runtime})`, async () => {
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
    const entries = entryPoints();
    assert.ok(entries.length >= 3, "pushwire, pushwire/sse, pushwire/otel at least");
    for (const { subpath, module, page } of entries) {
      assert.ok(existsSync(join(out, page)), `the page of entry point ${subpath} (${page})`);
      const text = readFileSync(join(out, page), "utf8");
      const { moduleDoc, names } = await documented(module);
      assert.ok(moduleDoc.trim() !== "", `${subpath} has a module doc (JSR shows it as the entry point's overview)`);
      assert.ok(names.length > 0, `${subpath} exports something`);
      for (const name of names) assert.ok(text.includes(name), `the page of ${subpath} names ${name}`);
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
