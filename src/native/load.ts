// Finds, opens and ABI-checks libpushwire, once per path.
// Lookup order (the first rule that names a path decides):
//   1. the explicit `libraryPath` option — authoritative: only that file is tried;
//   2. the PUSHWIRE_LIB environment variable — authoritative too;
//   3. the packaged prebuilt `<package root>/prebuilt/<os>-<arch>[-musl]/<file>` (on Linux, then the
//      other libc's build: when musl detection guesses wrong, that one opens and the guess does not);
//   4. the local build `<repo>/native/zig-out/lib/<file>` (a checkout after `zig build`);
//   5. for a module that is not a local file (JSR, https): the npm package installed next to the
//      program, `<cwd>/node_modules/pushwire/prebuilt/...`, then the per-user cache
//      `<cache>/pushwire/abi-<N>/<os>-<arch>[-musl]/<file>` (see docs/PACKAGING.md).
// Why 1 and 2 do not fall through: someone who names a library wants that one; silently loading
// another build would hide a stale or mistyped path. The error lists every path tried and why.
// Rule: runtime-specific code stays in bun.ts / deno.ts; this file only uses node:* modules that
// both runtimes ship.
import { existsSync, readdirSync } from "node:fs";
import { homedir } from "node:os";
import { dirname, join } from "node:path";
import process from "node:process";
import { fileURLToPath } from "node:url";
import { NativeLibraryError } from "../errors.ts";
import type { NativeLibrary, OpenLibrary } from "./library.ts";
import { PW_ABI_VERSION } from "./symbols.ts";

declare const Bun: unknown;

const runtime: "bun" | "deno" = typeof Bun !== "undefined" ? "bun" : "deno";
// Each adapter is imported only on its own runtime, so the other runtime's FFI module never loads.
const openLibrary: OpenLibrary = runtime === "bun"
  ? (await import("./bun.ts")).openLibrary
  : (await import("./deno.ts")).openLibrary;

const opened = new Map<string, NativeLibrary>();

/** Opens libpushwire (cached per path) or throws NativeLibraryError listing every path tried. */
export function loadLibrary(libraryPath?: string): NativeLibrary {
  const attempts: string[] = [];
  for (const candidate of candidates(libraryPath, attempts)) {
    const cached = opened.get(candidate);
    if (cached) return cached;
    if (!existsSync(candidate)) {
      attempts.push(`${candidate}: not found`);
      continue;
    }
    let library: NativeLibrary;
    try {
      library = openLibrary(candidate);
    } catch (error) {
      attempts.push(`${candidate}: could not be opened (${(error as Error).message})`);
      continue;
    }
    checkAbi(library);
    const ready = traceEnabled() ? traced(library) : library;
    opened.set(candidate, ready);
    return ready;
  }
  throw new NativeLibraryError(
    `pushwire: no usable native library for ${platformDirectory()}. Tried:\n  ${attempts.join("\n  ")}\n` +
      shippedTargetsNote() +
      "Set the libraryPath option or PUSHWIRE_LIB to a libpushwire built for this platform, " +
      "or build one with `cd native && zig build -Doptimize=ReleaseSafe`.",
  );
}

// The default library is opened (best effort) when this module is evaluated, not on first use. It
// lives as long as the process anyway, and opening it up front keeps it out of Deno's test resource
// sanitizer, which otherwise blames the first test that happens to create a parser for "leaking" it.
// A failure here is forgotten: the first real use looks again and throws the full error.
try {
  loadLibrary();
} catch {
  // reported by the first real loadLibrary() call
}

/** Throws NativeLibraryError naming both versions when `library` was built for another ABI. */
export function checkAbi(library: NativeLibrary): void {
  const version = library.abiVersion();
  if (version !== PW_ABI_VERSION) {
    throw new NativeLibraryError(
      `pushwire: ${library.path} has ABI version ${version}, but this pushwire needs ABI version ` +
        `${PW_ABI_VERSION}. Install the matching native library (or rebuild native/).`,
    );
  }
}

/** Candidate paths in lookup order. Rules that do not apply add a line to `attempts` saying why. */
function candidates(libraryPath: string | undefined, attempts: string[]): string[] {
  if (libraryPath !== undefined && libraryPath !== "") return [libraryPath];
  const fromEnvironment = environment("PUSHWIRE_LIB");
  if (fromEnvironment) return [fromEnvironment];
  const packageRoot = localPackageRoot();
  if (packageRoot === undefined) {
    attempts.push(`${import.meta.url}: not a local file, so no packaged or local build next to it`);
    return [...besideTheProgram(), ...inTheCache()].flatMap((folder) =>
      platformDirectories().map((directory) => join(folder, directory, libraryFileName()))
    );
  }
  return [
    ...platformDirectories().map((directory) => join(packageRoot, "prebuilt", directory, libraryFileName())),
    join(packageRoot, "native", "zig-out", "lib", libraryFileName()),
  ];
}

// Deno without --allow-read / --allow-env throws on cwd() / homedir(): such a rule is skipped.
function besideTheProgram(): string[] {
  try {
    return [join(process.cwd(), "node_modules", "pushwire", "prebuilt")];
  } catch {
    return [];
  }
}

function inTheCache(): string[] {
  try {
    return [cacheDirectory()];
  } catch {
    return [];
  }
}

/** The package root (two levels above this file) when this module is a local file. */
function localPackageRoot(): string | undefined {
  const moduleDirectory = localModuleDirectory();
  return moduleDirectory === undefined ? undefined : join(moduleDirectory, "..", "..");
}

/** This platform's prebuilt folder first; on Linux the other libc's folder second. */
function platformDirectories(): string[] {
  const detected = platformDirectory();
  if (process.platform !== "linux") return [detected];
  return detected.endsWith("-musl") ? [detected, detected.slice(0, -"-musl".length)] : [detected, `${detected}-musl`];
}

/**
 * Where a JSR user puts a library by hand: `$PUSHWIRE_CACHE_DIR`, else the platform's per-user cache
 * (`$XDG_CACHE_HOME` or ~/.cache on Linux, ~/Library/Caches on macOS, %LOCALAPPDATA% on Windows),
 * then `pushwire/abi-<N>` so libraries of another ABI never collide.
 */
export function cacheDirectory(): string {
  const base = environment("PUSHWIRE_CACHE_DIR") ??
    (process.platform === "win32"
      ? environment("LOCALAPPDATA") ?? join(homedir(), "AppData", "Local")
      : process.platform === "darwin"
      ? join(homedir(), "Library", "Caches")
      : environment("XDG_CACHE_HOME") ?? join(homedir(), ".cache"));
  return join(base, "pushwire", `abi-${PW_ABI_VERSION}`);
}

// Names the folders the package does ship, so "no library for linux-riscv64" says what exists.
function shippedTargetsNote(): string {
  const packageRoot = localPackageRoot();
  if (packageRoot === undefined) return "";
  try {
    const shipped = readdirSync(join(packageRoot, "prebuilt")).filter((name) => !name.startsWith(".")).sort();
    if (shipped.length === 0 || shipped.includes(platformDirectory())) return "";
    return `This package ships prebuilt libraries for: ${shipped.join(", ")} (none for ${platformDirectory()}).\n`;
  } catch {
    return ""; // a checkout has no prebuilt/ folder
  }
}

function localModuleDirectory(): string | undefined {
  if (!import.meta.url.startsWith("file:")) return undefined;
  return dirname(fileURLToPath(import.meta.url));
}

/** `<os>-<arch>[-musl]`, e.g. linux-x64, linux-arm64-musl, darwin-arm64, windows-x64. */
export function platformDirectory(): string {
  const os = process.platform === "win32" ? "windows" : process.platform;
  const musl = os === "linux" && isMusl() ? "-musl" : "";
  return `${os}-${process.arch}${musl}`;
}

export function libraryFileName(): string {
  if (process.platform === "win32") return "pushwire.dll";
  if (process.platform === "darwin") return "libpushwire.dylib";
  return "libpushwire.so";
}

// musl's dynamic loader is the reliable tell: glibc systems do not ship /lib/ld-musl-*.
function isMusl(): boolean {
  const machine = process.arch === "arm64" ? "aarch64" : process.arch === "x64" ? "x86_64" : process.arch;
  return existsSync(`/lib/ld-musl-${machine}.so.1`);
}

// Deno without --allow-env throws on a read; an unreadable variable counts as unset.
export function environment(name: string): string | undefined {
  try {
    return process.env[name] || undefined;
  } catch {
    return undefined;
  }
}

function traceEnabled(): boolean {
  return environment("PUSHWIRE_TRACE_FFI") === "1";
}

/** PUSHWIRE_TRACE_FFI=1: logs every FFI call with its integer arguments, result and duration. */
function traced(library: NativeLibrary): NativeLibrary {
  const wrapped: Record<string, unknown> = { path: library.path };
  for (const [name, value] of Object.entries(library)) {
    if (typeof value !== "function") continue;
    wrapped[name] = (...args: unknown[]) => {
      const started = performance.now();
      const result = value(...args);
      const elapsedUs = ((performance.now() - started) * 1000).toFixed(1);
      const shown = args.map((arg) => (typeof arg === "number" ? arg : typeof arg)).join(", ");
      console.error(`[pushwire ffi] ${name}(${shown}) -> ${typeof result === "number" ? result : typeof result} ${elapsedUs}us`);
      return result;
    };
  }
  return wrapped as unknown as NativeLibrary;
}
