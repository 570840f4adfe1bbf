// Stages the npm package in an empty directory: the files npm would pack from the checkout (the
// `files` field of package.json decides, via `npm pack --dry-run`), a type-stripped `.js` twin of
// every `.ts` module, and every prebuilt library from native/zig-out/prebuilt/<zig target>/ copied
// to prebuilt/<os>-<arch>[-musl]/ (the loader's names).
// Why `.js` twins: Bun runs the `.ts` sources (export condition "bun"), but Deno, like Node, refuses
// to strip types from files under node_modules (ERR_UNSUPPORTED_NODE_MODULES_TYPE_STRIPPING), so
// `npm:pushwire` on Deno loads the `.js` files (condition "default"). Each twin sits next to its
// `.ts` so import.meta.url-relative paths (the loader's package root) are the same in both.
// Each library is checked before it is staged: right format and machine for its target, and every
// symbol of src/native/symbols.ts in its export table (ELF .dynsym, Mach-O export trie, PE export
// directory), read here rather than with nm/objdump so the check is the same on every host.
// Rule: the target list below is closed and must equal native/build.zig's `prebuilt_targets`; a
// library built for a target not listed here, or a listed target without a library, fails the run.
// Usage: bun scripts/pack-stage.ts <staging directory>   (Bun only: it uses Bun.Transpiler)
import { execFileSync } from "node:child_process";
import { copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import process from "node:process";
import { fileURLToPath } from "node:url";
import { symbols } from "../src/native/symbols.ts";

type Format = "elf" | "macho" | "pe";
type Machine = "x64" | "arm64";

export interface Target {
  /** Folder under native/zig-out/prebuilt (the Zig target triple). */
  zigTarget: string;
  /** Folder under prebuilt/ in the package: what src/native/load.ts platformDirectory() returns. */
  platformDirectory: string;
  fileName: string;
  format: Format;
  machine: Machine;
}

export const targets: readonly Target[] = [
  { zigTarget: "x86_64-linux-gnu", platformDirectory: "linux-x64", fileName: "libpushwire.so", format: "elf", machine: "x64" },
  { zigTarget: "aarch64-linux-gnu", platformDirectory: "linux-arm64", fileName: "libpushwire.so", format: "elf", machine: "arm64" },
  { zigTarget: "x86_64-linux-musl", platformDirectory: "linux-x64-musl", fileName: "libpushwire.so", format: "elf", machine: "x64" },
  { zigTarget: "aarch64-linux-musl", platformDirectory: "linux-arm64-musl", fileName: "libpushwire.so", format: "elf", machine: "arm64" },
  { zigTarget: "x86_64-macos", platformDirectory: "darwin-x64", fileName: "libpushwire.dylib", format: "macho", machine: "x64" },
  { zigTarget: "aarch64-macos", platformDirectory: "darwin-arm64", fileName: "libpushwire.dylib", format: "macho", machine: "arm64" },
  { zigTarget: "x86_64-windows", platformDirectory: "windows-x64", fileName: "pushwire.dll", format: "pe", machine: "x64" },
];

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const requiredSymbols = Object.keys(symbols);

function main(): void {
  const staging = process.argv[2];
  if (!staging) fail("usage: pack-stage.ts <staging directory>");
  if (existsSync(staging) && readdirSync(staging).length > 0) fail(`${staging} is not empty`);
  mkdirSync(staging, { recursive: true });
  const prebuiltRoot = join(root, "native", "zig-out", "prebuilt");
  checkTargetListIsClosed(prebuiltRoot);
  const files = packedFiles();
  for (const file of files) {
    mkdirSync(dirname(join(staging, file)), { recursive: true });
    copyFileSync(join(root, file), join(staging, file));
  }
  const modules = files.filter((file) => file.endsWith(".ts") && !file.endsWith(".d.ts"));
  for (const file of modules) writeJavaScriptTwin(staging, file);
  console.error(`[pack-stage] ${modules.length} modules: .ts for Bun and type checkers, .js twins for Deno`);
  console.error(`[pack-stage] ${"package folder".padEnd(18)} ${"bytes".padStart(8)}  exports`);
  for (const target of targets) {
    const source = join(prebuiltRoot, target.zigTarget, target.fileName);
    if (!existsSync(source)) fail(`missing ${source} (run \`zig build prebuilt\` in native/)`);
    const exported = checkLibrary(target, readFileSync(source), source);
    const destination = join(staging, "prebuilt", target.platformDirectory, target.fileName);
    mkdirSync(dirname(destination), { recursive: true });
    copyFileSync(source, destination);
    const size = statSync(source).size;
    console.error(`[pack-stage] ${target.platformDirectory.padEnd(18)} ${String(size).padStart(8)}  ${exported} pw_* symbols`);
  }
}

/** Paths (relative to the checkout) that `npm pack` takes from it, per package.json `files`. */
function packedFiles(): string[] {
  const output = execFileSync("npm", ["pack", "--dry-run", "--json", "--ignore-scripts", "--loglevel=error"], {
    cwd: root,
    encoding: "utf8",
    stdio: ["ignore", "pipe", "inherit"],
  });
  const [report] = JSON.parse(output) as { files: { path: string }[] }[];
  return report.files.map((file) => file.path);
}

declare const Bun: {
  Transpiler: new (options: { loader: "ts" | "js"; target: "browser" }) => {
    transformSync(code: string): string;
    scanImports(code: string): { path: string; kind: string }[];
  };
};

const generatedHeader = (file: string) =>
  `// Generated from ${file.split("/").pop()} by scripts/pack-stage.ts: types stripped, nothing else changed.\n`;

// Strips the types, then points relative `.ts` specifiers (static and dynamic) at the `.js` twins,
// and proves the result: every relative import of the twin names a `.js` file that is staged too.
function writeJavaScriptTwin(staging: string, file: string): void {
  const source = readFileSync(join(staging, file), "utf8");
  const stripped = new Bun.Transpiler({ loader: "ts", target: "browser" }).transformSync(source);
  const relativeTsSpecifier = /((?:\bfrom|\bimport)\s*\(?\s*)(["'])(\.{1,2}\/[^"'\n]+)\.ts\2/g;
  const code = generatedHeader(file) + stripped.replace(relativeTsSpecifier, "$1$2$3.js$2");
  const twin = join(staging, file.replace(/\.ts$/, ".js"));
  writeFileSync(twin, code);
  for (const { path } of new Bun.Transpiler({ loader: "js", target: "browser" }).scanImports(code)) {
    if (!path.startsWith(".")) continue;
    if (!path.endsWith(".js")) fail(`${file}: import "${path}" was not rewritten to a .js twin`);
    const target = join(dirname(twin), path);
    if (!existsSync(target.replace(/\.js$/, ".ts"))) fail(`${file}: import "${path}" names no packed module`);
  }
}

// Zig folders that no table row claims mean build.zig and this table drifted apart.
function checkTargetListIsClosed(prebuiltRoot: string): void {
  if (!existsSync(prebuiltRoot)) fail(`${prebuiltRoot} does not exist (run \`zig build prebuilt\` in native/)`);
  const known = new Set(targets.map((target) => target.zigTarget));
  const unknown = readdirSync(prebuiltRoot).filter((name) => !name.startsWith(".") && !known.has(name));
  if (unknown.length > 0) fail(`prebuilt targets with no package folder: ${unknown.join(", ")} (update scripts/pack-stage.ts and the loader)`);
}

/**
 * Throws unless `bytes` is a library of the target's format and machine exporting every symbol of
 * src/native/symbols.ts; returns how many pw_* symbols it exports.
 */
export function checkLibrary(target: Target, bytes: Uint8Array, path: string): number {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const reader = { elf: elfExports, macho: machoExports, pe: peExports }[target.format];
  let exports: Exports;
  try {
    exports = reader(view, bytes, path);
  } catch (error) {
    if (error instanceof RangeError) fail(`${path}: truncated or malformed ${target.format} file`);
    throw error;
  }
  const { machine, names } = exports;
  if (machine !== target.machine) fail(`${path}: built for ${machine}, expected ${target.machine}`);
  const missing = requiredSymbols.filter((name) => !names.has(name));
  if (missing.length > 0) fail(`${path}: does not export ${missing.join(", ")}`);
  return [...names].filter((name) => name.startsWith("pw_")).length;
}

interface Exports {
  machine: Machine | string;
  names: Set<string>;
}

function cString(bytes: Uint8Array, offset: number): string {
  let end = offset;
  while (end < bytes.length && bytes[end] !== 0) end++;
  return new TextDecoder().decode(bytes.subarray(offset, end));
}

// ELF64 little-endian: the defined GLOBAL/WEAK entries of .dynsym are what dlopen can find.
function elfExports(view: DataView, bytes: Uint8Array, path: string): Exports {
  if (view.getUint32(0, false) !== 0x7f454c46) fail(`${path}: not an ELF file`);
  if (bytes[4] !== 2 || bytes[5] !== 1) fail(`${path}: not a 64-bit little-endian ELF file`);
  const machineCode = view.getUint16(18, true);
  const machine = machineCode === 62 ? "x64" : machineCode === 183 ? "arm64" : `e_machine ${machineCode}`;
  const sectionTable = Number(view.getBigUint64(40, true));
  const sectionSize = view.getUint16(58, true);
  const sectionCount = view.getUint16(60, true);
  const section = (index: number) => {
    const base = sectionTable + index * sectionSize;
    return {
      type: view.getUint32(base + 4, true),
      offset: Number(view.getBigUint64(base + 24, true)),
      size: Number(view.getBigUint64(base + 32, true)),
      link: view.getUint32(base + 40, true),
      entrySize: Number(view.getBigUint64(base + 56, true)),
    };
  };
  const names = new Set<string>();
  for (let index = 0; index < sectionCount; index++) {
    const dynsym = section(index);
    if (dynsym.type !== 11) continue; // SHT_DYNSYM
    const strings = section(dynsym.link);
    for (let entry = dynsym.offset; entry < dynsym.offset + dynsym.size; entry += dynsym.entrySize) {
      const binding = bytes[entry + 4] >> 4;
      const sectionIndex = view.getUint16(entry + 6, true);
      if (sectionIndex === 0 || (binding !== 1 && binding !== 2)) continue; // undefined, or local
      names.add(cString(bytes, strings.offset + view.getUint32(entry, true)));
    }
  }
  return { machine, names };
}

// Mach-O 64-bit: the export trie (LC_DYLD_INFO[_ONLY] or LC_DYLD_EXPORTS_TRIE) is what dyld reads.
function machoExports(view: DataView, bytes: Uint8Array, path: string): Exports {
  if (view.getUint32(0, true) !== 0xfeedfacf) fail(`${path}: not a 64-bit Mach-O file`);
  const cpuType = view.getUint32(4, true);
  const machine = cpuType === 0x01000007 ? "x64" : cpuType === 0x0100000c ? "arm64" : `cputype ${cpuType}`;
  const commandCount = view.getUint32(16, true);
  let trieOffset = -1;
  let trieSize = 0;
  let command = 32;
  for (let index = 0; index < commandCount; index++) {
    const kind = view.getUint32(command, true);
    if (kind === 0x22 || kind === 0x80000022) { // LC_DYLD_INFO, LC_DYLD_INFO_ONLY
      trieOffset = view.getUint32(command + 40, true);
      trieSize = view.getUint32(command + 44, true);
    } else if (kind === 0x80000033) { // LC_DYLD_EXPORTS_TRIE (a linkedit_data_command)
      trieOffset = view.getUint32(command + 8, true);
      trieSize = view.getUint32(command + 12, true);
    }
    command += view.getUint32(command + 4, true);
  }
  if (trieOffset < 0 || trieSize === 0) fail(`${path}: no export trie`);
  const names = new Set<string>();
  for (const name of walkExportTrie(bytes.subarray(trieOffset, trieOffset + trieSize))) {
    names.add(name.startsWith("_") ? name.slice(1) : name); // C symbols carry a leading underscore
  }
  return { machine, names };
}

// Iterative walk with an explicit stack and a visit limit: a malformed trie cannot loop forever.
function walkExportTrie(trie: Uint8Array): string[] {
  const uleb = (cursor: { at: number }) => {
    let value = 0;
    let shift = 0;
    for (;;) {
      const byte = trie[cursor.at++];
      value += (byte & 0x7f) * 2 ** shift;
      if ((byte & 0x80) === 0 || cursor.at >= trie.length) return value;
      shift += 7;
    }
  };
  const found: string[] = [];
  const stack: { node: number; prefix: string }[] = [{ node: 0, prefix: "" }];
  for (let visits = 0; stack.length > 0; visits++) {
    if (visits > 100_000) throw new Error("export trie has too many nodes");
    const { node, prefix } = stack.pop()!;
    const cursor = { at: node };
    const terminalSize = uleb(cursor);
    if (terminalSize > 0) found.push(prefix);
    cursor.at += terminalSize;
    const childCount = trie[cursor.at++];
    for (let child = 0; child < childCount; child++) {
      const edge = cString(trie, cursor.at);
      cursor.at += new TextEncoder().encode(edge).length + 1;
      stack.push({ node: uleb(cursor), prefix: prefix + edge });
    }
  }
  return found;
}

// PE32+: names in the export directory (data directory 0), addressed by RVA through the sections.
function peExports(view: DataView, bytes: Uint8Array, path: string): Exports {
  if (view.getUint16(0, true) !== 0x5a4d) fail(`${path}: not a PE file`);
  const header = view.getUint32(0x3c, true);
  if (view.getUint32(header, true) !== 0x00004550) fail(`${path}: no PE signature`);
  const machineCode = view.getUint16(header + 4, true);
  const machine = machineCode === 0x8664 ? "x64" : machineCode === 0xaa64 ? "arm64" : `machine 0x${machineCode.toString(16)}`;
  const sectionCount = view.getUint16(header + 6, true);
  const optionalHeader = header + 24;
  if (view.getUint16(optionalHeader, true) !== 0x20b) fail(`${path}: not PE32+`);
  const optionalHeaderSize = view.getUint16(header + 20, true);
  const sections = optionalHeader + optionalHeaderSize;
  const fileOffset = (rva: number) => {
    for (let index = 0; index < sectionCount; index++) {
      const base = sections + index * 40;
      const virtualSize = view.getUint32(base + 8, true);
      const virtualAddress = view.getUint32(base + 12, true);
      if (rva >= virtualAddress && rva < virtualAddress + virtualSize) {
        return rva - virtualAddress + view.getUint32(base + 20, true);
      }
    }
    fail(`${path}: RVA 0x${rva.toString(16)} is in no section`);
  };
  const names = new Set<string>();
  const exportRva = view.getUint32(optionalHeader + 112, true);
  if (exportRva === 0) return { machine, names };
  const directory = fileOffset(exportRva);
  const nameCount = view.getUint32(directory + 24, true);
  const nameTable = fileOffset(view.getUint32(directory + 32, true));
  for (let index = 0; index < nameCount; index++) {
    names.add(cString(bytes, fileOffset(view.getUint32(nameTable + index * 4, true))));
  }
  return { machine, names };
}

function fail(message: string): never {
  throw new Error(message);
}

if (import.meta.main) {
  try {
    main();
  } catch (error) {
    console.error(`[pack-stage] error: ${(error as Error).message}`);
    process.exit(1);
  }
}
