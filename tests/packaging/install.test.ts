// Method: the real release path, nothing faked. scripts/pack.sh builds (or reuses) the cross-compiled
// libraries and packs the npm tarball; the tarball is installed with `bun add` into a fresh project in
// the OS temp directory with the registry pointed at a closed port (so an install that needed the
// network would fail); then a subscribe/publish round trip runs there under Bun and under Deno against
// a real redis-server, with every PUSHWIRE_* variable unset and no native/zig-out next to the package.
// The heavy part (pack + install) runs once per runtime and is shared by the tests of this file.
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, realpathSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { basename, join } from "node:path";
import { assert, runtime, test } from "../shim.ts";
import { RedisServer } from "../helpers/redis_server.ts";
import { platformDirectory } from "../../src/native/load.ts";
import { checkLibrary, targets } from "../../scripts/pack-stage.ts";
import { listTarball, repositoryRoot, run, type TarEntry, tool, userEnvironment } from "./support.ts";

const heavyTimeoutMs = 180_000; // a cold `zig build prebuilt` of 7 targets on 2 cores takes ~40 s
const tarballBytesMax = 1_000_000; // measured ~280 kB; a jump means something unintended got packed

interface Prepared {
  workDirectory: string;
  tarball: string;
  entries: TarEntry[];
  project: string;
  installer: string;
}

let preparing: Promise<Prepared> | undefined;
let workDirectoryMade: string | undefined;
const prepared = () => (preparing ??= prepare());

async function prepare(): Promise<Prepared> {
  const workDirectory = realpathSync(mkdtempSync(join(tmpdir(), "pushwire-packaging-")));
  workDirectoryMade = workDirectory;
  assert.ok(!workDirectory.startsWith(repositoryRoot + "/"), "the test project must live outside the checkout");
  const packed = await run("bash", [join(repositoryRoot, "scripts", "pack.sh"), "--out", join(workDirectory, "out")], {
    cwd: repositoryRoot,
    env: userEnvironment(),
    timeoutMs: heavyTimeoutMs,
  });
  // pack.sh's own report (zig build, per-target sizes and exports, npm's contents table) goes here.
  console.log(packed.stderr.replace(/^npm notice.*\n/gm, "").trimEnd());
  assert.equal(packed.code, 0, `scripts/pack.sh failed:\n${packed.stderr}`);
  const tarball = packed.stdout.trim().split("\n").pop()!;
  assert.ok(existsSync(tarball), `no tarball at ${tarball}`);
  const entries = listTarball(readFileSync(tarball));

  const project = join(workDirectory, "project");
  mkdirSync(project);
  copyFileSync(tarball, join(project, basename(tarball)));
  writeFileSync(join(project, "package.json"), JSON.stringify({ name: "pushwire-smoke", private: true, type: "module" }));
  // Deno resolves "pushwire" through package.json + the node_modules that bun populated.
  writeFileSync(join(project, "deno.json"), JSON.stringify({ nodeModulesDir: "manual" }));
  writeFileSync(join(project, "roundtrip.ts"), roundtripScript);
  const offline = userEnvironment({
    BUN_CONFIG_REGISTRY: "http://127.0.0.1:9/", // nothing listens on port 9: any registry request fails
    BUN_INSTALL_CACHE_DIR: join(workDirectory, "bun-cache"),
    npm_config_registry: "http://127.0.0.1:9/",
    npm_config_cache: join(workDirectory, "npm-cache"),
  });
  let installer = "bun add";
  let installed = await run(tool("bun"), ["add", `./${basename(tarball)}`], { cwd: project, env: offline, timeoutMs: 60_000 });
  if (installed.code !== 0) {
    console.log(`bun add failed (${installed.stderr.trim()}); trying npm install --offline`);
    installer = "npm install --offline";
    installed = await run(tool("npm"), ["install", "--offline", "--no-audit", "--no-fund", `./${basename(tarball)}`], {
      cwd: project,
      env: offline,
      timeoutMs: 60_000,
    });
  }
  assert.equal(installed.code, 0, `installing the tarball failed:\n${installed.stdout}\n${installed.stderr}`);
  return { workDirectory, tarball, entries, project, installer };
}

// What a user of the package writes; it also reports which entry point and library were used.
const roundtripScript = `
import process from "node:process";
import { connect, nativeMemory } from "pushwire";
import { sse } from "pushwire/sse";
declare const Bun: unknown;
const url = process.argv[process.argv.length - 1];
const watchdog = setTimeout(() => { console.error("no message within 10 s"); process.exit(2); }, 10_000);
const client = await connect(url);
const subscription = await client.subscribe("pushwire-packaging");
const receivers = await client.publish("pushwire-packaging", "hello from the tarball");
let text = "";
for await (const message of subscription) { text = message.text(); break; }
await subscription.unsubscribe();
await client.close();
clearTimeout(watchdog);
const entry = import.meta.resolve("pushwire");
// The loader module the package itself runs: load.ts under Bun, load.js under Deno.
const loader = await import(new URL("src/native/load." + entry.split(".").pop(), new URL("./", entry)).href);
console.log(JSON.stringify({
  receivers, text, entry, library: loader.loadLibrary().path, sse: typeof sse, liveBytes: nativeMemory().liveBytes,
}));
`;

test(`packaging: scripts/pack.sh makes a tarball with every prebuilt library and nothing from tests/ or bench/ (${runtime})`, async () => {
  const { tarball, entries } = await prepared();
  const size = statSync(tarball).size;
  console.log(`${basename(tarball)}: ${size} bytes packed, ${entries.length} files:`);
  for (const entry of entries) console.log(`  ${String(entry.size).padStart(8)}  ${entry.path}`);
  const paths = entries.map((entry) => entry.path.replace(/^package\//, ""));
  const forbidden = paths.filter((path) => /^(tests|bench|scripts|examples|node_modules|native\/(src|zig-out|\.zig-cache))\//.test(path));
  assert.deepEqual(forbidden, []);
  assert.deepEqual(paths.filter((path) => /\.test\.[jt]s$/.test(path)), []);
  for (const target of targets) assert.ok(paths.includes(`prebuilt/${target.platformDirectory}/${target.fileName}`), target.platformDirectory);
  for (const module of ["mod.ts", "mod.js", "src/sse.ts", "src/sse.js", "src/native/load.ts", "src/native/load.js"]) {
    assert.ok(paths.includes(module), `${module} is packed`);
  }
  assert.ok(paths.includes("package.json"));
  assert.ok(size < tarballBytesMax, `tarball is ${size} bytes`);
}, { timeoutMs: heavyTimeoutMs });

test(`packaging: every staged library is checked for format, machine and exports (${runtime})`, async () => {
  await prepared(); // pack.sh has built native/zig-out/prebuilt
  const prebuilt = join(repositoryRoot, "native", "zig-out", "prebuilt");
  for (const target of targets) {
    const path = join(prebuilt, target.zigTarget, target.fileName);
    assert.ok(checkLibrary(target, readFileSync(path), path) >= 14, target.zigTarget);
  }
  // The same bytes under the other machine's target are refused.
  const linuxX64 = targets.find((target) => target.platformDirectory === "linux-x64")!;
  const linuxArm64 = targets.find((target) => target.platformDirectory === "linux-arm64")!;
  const elf = readFileSync(join(prebuilt, linuxX64.zigTarget, linuxX64.fileName));
  assert.throws(() => checkLibrary(linuxArm64, elf, "x64.so"), /built for x64, expected arm64/);
  // A library whose export is renamed (ELF and PE keep whole names) is refused, naming the symbol.
  const windows = targets.find((target) => target.format === "pe")!;
  const dll = readFileSync(join(prebuilt, windows.zigTarget, windows.fileName));
  for (const [target, bytes] of [[linuxX64, elf], [windows, dll]] as const) {
    const renamed = renameSymbol(bytes, "pw_glob_match", "pw_glob_matcx");
    assert.throws(() => checkLibrary(target, renamed, "renamed"), /does not export pw_glob_match/);
  }
  assert.throws(() => checkLibrary(linuxX64, elf.subarray(0, 200), "cut.so"), /truncated or malformed/);
}, { timeoutMs: heavyTimeoutMs });

function renameSymbol(bytes: Uint8Array, from: string, to: string): Uint8Array {
  const copy = new Uint8Array(bytes);
  const needle = new TextEncoder().encode(`${from}\0`);
  const replacement = new TextEncoder().encode(`${to}\0`);
  let renamed = 0;
  for (let index = 0; index + needle.length <= copy.length; index++) {
    if (needle.every((byte, offset) => copy[index + offset] === byte)) {
      copy.set(replacement, index);
      renamed++;
    }
  }
  assert.ok(renamed > 0, `${from} found in the library`);
  return copy;
}

for (const consumer of ["bun", "deno"] as const) {
  test(`packaging: the installed tarball does a round trip on ${consumer} with no PUSHWIRE_LIB and no native/zig-out (${runtime})`, async () => {
    const { project, installer } = await prepared();
    const installedPackage = join(project, "node_modules", "pushwire");
    assert.ok(existsSync(join(installedPackage, "package.json")), `${installer} installed pushwire`);
    assert.ok(!existsSync(join(installedPackage, "native", "zig-out")));
    const server = await RedisServer.start();
    try {
      const args = consumer === "bun" ? ["roundtrip.ts", server.url] : ["run", "-A", "roundtrip.ts", server.url];
      const result = await run(tool(consumer), args, { cwd: project, env: userEnvironment(), timeoutMs: 60_000 });
      assert.equal(result.code, 0, `${consumer} roundtrip.ts failed:\n${result.stdout}\n${result.stderr}`);
      const report = JSON.parse(result.stdout.trim().split("\n").pop()!);
      console.log(`${consumer} (installed with ${installer}): ${JSON.stringify(report)}`);
      assert.equal(report.receivers, 1);
      assert.equal(report.text, "hello from the tarball");
      assert.equal(report.sse, "function");
      assert.equal(report.liveBytes, 0);
      // Bun runs the TypeScript sources ("bun" condition); Deno will not strip types under
      // node_modules, so it runs the .js twins ("default" condition).
      assert.ok(report.entry.endsWith(consumer === "bun" ? "/node_modules/pushwire/mod.ts" : "/node_modules/pushwire/mod.js"), report.entry);
      const expectedLibrary = join(installedPackage, "prebuilt", platformDirectory());
      assert.ok(report.library.startsWith(expectedLibrary + "/"), `${report.library} is under ${expectedLibrary}`);
    } finally {
      await server.stop();
    }
  }, { timeoutMs: heavyTimeoutMs });
}

test(`packaging: the temporary project is removed (${runtime})`, async () => {
  await preparing?.catch(() => undefined);
  if (workDirectoryMade) rmSync(workDirectoryMade, { recursive: true, force: true });
  workDirectoryMade = undefined;
  preparing = undefined;
}, { timeoutMs: heavyTimeoutMs });
