// Installs a packed pushwire tarball into a fresh temporary project (offline: the registry is pointed
// at a closed port) and checks, under Bun and under Deno, that `import "pushwire"` finds this
// machine's prebuilt library (no PUSHWIRE_* variable set) and that its ABI matches; with a Redis URL
// it also does a subscribe/publish round trip. The release workflow runs it on each OS/arch it can
// get, so the cross-compiled darwin/windows/arm64 libraries are opened for real before publishing.
// Usage: bun scripts/pack-smoke.ts <pushwire-x.y.z.tgz> [redis://host:port]
// SMOKE_RUNTIMES=bun limits it to Bun (e.g. on musl, where the npm `deno` package has no binary).
import { execFileSync } from "node:child_process";
import { copyFileSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { basename, join, resolve } from "node:path";
import process from "node:process";

const [tarballArgument, redisUrl = ""] = process.argv.slice(2);
if (!tarballArgument) {
  console.error("usage: bun scripts/pack-smoke.ts <pushwire-x.y.z.tgz> [redis://host:port]");
  process.exit(2);
}
const tarball = resolve(tarballArgument);
const project = mkdtempSync(join(tmpdir(), "pushwire-smoke-"));

const check = `
import process from "node:process";
import { connect, nativeMemory } from "pushwire";
const entry = import.meta.resolve("pushwire");
const loader = await import(new URL("src/native/load." + entry.split(".").pop(), new URL("./", entry)).href);
const library = loader.loadLibrary();
let roundtrip = "skipped (no Redis URL)";
const url = process.env.SMOKE_REDIS_URL;
if (url) {
  const client = await connect(url);
  const subscription = await client.subscribe("pushwire-smoke");
  await client.publish("pushwire-smoke", "ok");
  for await (const message of subscription) { roundtrip = message.text(); break; }
  await subscription.unsubscribe();
  await client.close();
  if (roundtrip !== "ok" || nativeMemory().liveBytes !== 0) throw new Error("round trip failed");
}
console.log(JSON.stringify({ entry, library: library.path, abi: library.abiVersion(), roundtrip }));
`;

try {
  copyFileSync(tarball, join(project, basename(tarball)));
  writeFileSync(join(project, "package.json"), JSON.stringify({ name: "pushwire-smoke", private: true, type: "module" }));
  writeFileSync(join(project, "deno.json"), JSON.stringify({ nodeModulesDir: "manual" }));
  writeFileSync(join(project, "check.ts"), check);
  const environment: Record<string, string> = {};
  for (const [name, value] of Object.entries(process.env)) {
    if (value !== undefined && !name.startsWith("PUSHWIRE_")) environment[name] = value;
  }
  environment.SMOKE_REDIS_URL = redisUrl;
  environment.NO_COLOR = "1";
  const bun = process.execPath; // this script runs under Bun
  execFileSync(bun, ["add", `./${basename(tarball)}`], {
    cwd: project,
    env: { ...environment, BUN_CONFIG_REGISTRY: "http://127.0.0.1:9/" },
    stdio: "inherit",
  });
  const runtimes = (process.env.SMOKE_RUNTIMES ?? "bun,deno").split(",");
  for (const [runtime, command, args] of [["bun", bun, ["check.ts"]], ["deno", "deno", ["run", "-A", "check.ts"]]] as const) {
    if (!runtimes.includes(runtime)) continue;
    // npm installs `deno` on Windows as a .cmd shim, which only a shell can start.
    const output = execFileSync(command, [...args], {
      cwd: project,
      env: environment,
      encoding: "utf8",
      shell: process.platform === "win32",
    });
    console.log(`${runtime}: ${output.trim()}`);
  }
} finally {
  rmSync(project, { recursive: true, force: true });
}
