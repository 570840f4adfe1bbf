// Method: the real `deno publish --dry-run --allow-dirty` on the checkout (offline: it validates the
// package and lists its files without contacting JSR), plus a comparison of the two manifests. Nothing
// is faked. `--no-check`: type checking under the repo's `nodeModulesDir: "manual"` needs npm:@types/node
// in node_modules, which is not a devDependency (see docs/PACKAGING.md, "Type checking").
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { assert, runtime, test } from "../shim.ts";
import { repositoryRoot, run, tool, userEnvironment } from "./support.ts";

const packageJson = JSON.parse(readFileSync(join(repositoryRoot, "package.json"), "utf8"));
const denoJson = JSON.parse(readFileSync(join(repositoryRoot, "deno.json"), "utf8"));

test(`jsr: deno publish --dry-run passes and publishes exactly the TypeScript sources (${runtime})`, async () => {
  const result = await run(tool("deno"), ["publish", "--dry-run", "--allow-dirty", "--no-check"], {
    cwd: repositoryRoot,
    env: userEnvironment(),
    timeoutMs: 60_000,
  });
  const output = `${result.stdout}\n${result.stderr}`;
  assert.equal(result.code, 0, output);
  assert.match(output, /Dry run complete/);
  const files = [...output.matchAll(/^\s+file:\/\/(\S+) \(/gm)].map((match) => match[1].slice(repositoryRoot.length + 1));
  console.log(`JSR ${denoJson.name}@${denoJson.version}: ${files.length} files\n  ${files.join("\n  ")}`);
  assert.ok(files.length > 0, "the file list was printed");
  const unexpected = files.filter((file) =>
    !(file === "mod.ts" || file === "deno.json" || file === "README.md" || file === "docs/PACKAGING.md" ||
      file === "native/include/pushwire.h" || (file.startsWith("src/") && file.endsWith(".ts") && !file.endsWith(".test.ts")))
  );
  assert.deepEqual(unexpected, [], "only mod.ts, src/**/*.ts, the header and the docs are published");
  for (const required of ["mod.ts", "src/sse.ts", "src/native/load.ts", "deno.json"]) assert.ok(files.includes(required), required);
}, { timeoutMs: 90_000 });

test(`jsr: deno.json and package.json agree on version, license and entry points (${runtime})`, () => {
  assert.equal(denoJson.version, packageJson.version);
  assert.equal(denoJson.license, packageJson.license);
  const npmEntryPoints = Object.keys(packageJson.exports).filter((key) => key !== "./package.json");
  assert.deepEqual(Object.keys(denoJson.exports), npmEntryPoints);
  for (const key of npmEntryPoints) {
    // JSR serves the TypeScript; npm's "types"/"bun" conditions name the same file, "default" its .js twin.
    const conditions = packageJson.exports[key];
    assert.equal(conditions.types, denoJson.exports[key]);
    assert.equal(conditions.bun, denoJson.exports[key]);
    assert.equal(conditions.default, denoJson.exports[key].replace(/\.ts$/, ".js"));
  }
});
