// The package's public entry points, read from deno.json "exports" (the one list: JSR publishes it,
// tests/packaging/jsr.test.ts holds package.json's to it), for the scripts that must cover every entry
// point and nothing else: docs.sh (the HTML reference) and test.sh (deno doc --lint, the JSDoc
// examples). A new entry point in deno.json is documented and checked without touching either script.
// Usage: deno run --allow-read scripts/entry_points.ts                one path a line
//        deno run --allow-read scripts/entry_points.ts --import-map   an import map that resolves the
//          package's own specifiers ("pushwire", "pushwire/sse", ...: package.json's name, as users and
//          the JSDoc examples write them) to these files, for type-checking the examples
const root = new URL("../", import.meta.url);
const config = JSON.parse(Deno.readTextFileSync(new URL("deno.json", root)));
const exports: unknown = config.exports;
const entries: [string, unknown][] = typeof exports === "string" ? [[".", exports]] : Object.entries(exports ?? {});
if (entries.length === 0 || !entries.every(([, path]) => typeof path === "string")) {
  console.error('deno.json: "exports" must name at least one module path');
  Deno.exit(1);
}
if (Deno.args[0] === "--import-map") {
  const name = JSON.parse(Deno.readTextFileSync(new URL("package.json", root))).name;
  const imports = Object.fromEntries(
    entries.map(([subpath, path]) => [name + subpath.slice(1), new URL(path as string, root).href]),
  );
  console.log(JSON.stringify({ imports }, null, 2));
} else {
  for (const [, path] of entries) console.log(path);
}
