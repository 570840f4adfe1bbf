// The package's public entry points, read from deno.json "exports" (the one list: JSR publishes it,
// tests/packaging/jsr.test.ts holds package.json's to it), one path a line, for the scripts that must
// cover every entry point and nothing else: docs.sh (the HTML reference) and test.sh (deno doc --lint).
// A new entry point in deno.json is documented and linted without touching either script.
// Usage: deno run --allow-read scripts/entry_points.ts
const config = JSON.parse(Deno.readTextFileSync(new URL("../deno.json", import.meta.url)));
const exports: unknown = config.exports;
const paths = typeof exports === "string" ? [exports] : Object.values(exports ?? {});
if (paths.length === 0 || !paths.every((path) => typeof path === "string")) {
  console.error("deno.json: \"exports\" must name at least one module path");
  Deno.exit(1);
}
for (const path of paths) console.log(path);
