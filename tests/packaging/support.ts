// Helpers for the packaging tests: run a tool to completion, find the repo's own Bun and Deno, and
// list a .tgz without a `tar` binary (gunzip + ustar/pax headers), so both runtimes do it the same way.
import { execFile } from "node:child_process";
import { existsSync } from "node:fs";
import { join } from "node:path";
import process from "node:process";
import { fileURLToPath } from "node:url";
import { gunzipSync } from "node:zlib";

export const repositoryRoot = fileURLToPath(new URL("../../", import.meta.url)).replace(/\/$/, "");

export interface Completed {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs `command` to completion (never throws on a non-zero exit; the caller asserts). */
export function run(
  command: string,
  args: string[],
  options: { cwd?: string; env?: Record<string, string>; timeoutMs?: number } = {},
): Promise<Completed> {
  return new Promise((resolve) => {
    execFile(
      command,
      args,
      { cwd: options.cwd, env: options.env, timeout: options.timeoutMs ?? 120_000, maxBuffer: 16 << 20 },
      (error, stdout, stderr) => {
        const code = error ? (typeof error.code === "number" ? error.code : 1) : 0;
        resolve({ code, stdout: String(stdout), stderr: String(stderr) });
      },
    );
  });
}

/** The pinned Bun/Deno from the repo's node_modules (what scripts/setup.sh installs), else PATH's. */
export function tool(name: "bun" | "deno" | "npm"): string {
  const pinned = join(repositoryRoot, "node_modules", ".bin", name);
  return existsSync(pinned) ? pinned : name;
}

/**
 * The environment a user's process would have: this one minus every PUSHWIRE_* override, so the
 * loader can only find the packaged library; the repo's tools first on PATH; no colours in output.
 */
export function userEnvironment(extra: Record<string, string> = {}): Record<string, string> {
  const environment: Record<string, string> = {};
  for (const [name, value] of Object.entries(process.env)) {
    if (value !== undefined && !name.startsWith("PUSHWIRE_")) environment[name] = value;
  }
  environment.PATH = `${join(repositoryRoot, "node_modules", ".bin")}:${environment.PATH ?? ""}`;
  environment.NO_COLOR = "1";
  environment.DENO_NO_UPDATE_CHECK = "1";
  return { ...environment, ...extra };
}

export interface TarEntry {
  path: string;
  size: number;
}

/** Regular files in a gzipped tar archive, in archive order. */
export function listTarball(gzipped: Uint8Array): TarEntry[] {
  const archive = gunzipSync(gzipped);
  const text = (start: number, length: number) => {
    const field = archive.subarray(start, start + length);
    const end = field.indexOf(0);
    return new TextDecoder().decode(end === -1 ? field : field.subarray(0, end));
  };
  const entries: TarEntry[] = [];
  let longPath: string | undefined;
  for (let offset = 0; offset + 512 <= archive.length;) {
    if (archive[offset] === 0) break; // the two zero blocks that end the archive
    const size = parseInt(text(offset + 124, 12).trim() || "0", 8);
    const type = String.fromCharCode(archive[offset + 156] || 48);
    const prefix = text(offset + 345, 155);
    const name = prefix ? `${prefix}/${text(offset, 100)}` : text(offset, 100);
    const data = offset + 512;
    if (type === "x") {
      // A pax header: "<length> path=<name>\n" records apply to the next entry.
      const match = /\d+ path=([^\n]*)\n/.exec(new TextDecoder().decode(archive.subarray(data, data + size)));
      longPath = match?.[1];
    } else if (type === "0") {
      entries.push({ path: longPath ?? name, size });
      longPath = undefined;
    }
    offset = data + Math.ceil(size / 512) * 512;
  }
  return entries;
}
