// Which server the integration, fault, SSE, cluster and Sentinel tests start: PUSHWIRE_TEST_SERVER
// picks it (scripts/test.sh sets it per pass: PUSHWIRE_SERVER=redis|valkey|both). Every helper that
// spawns a server, a cluster node, a sentinel or the CLI asks here, so one switch moves them all.
// Rule: nothing else in tests/ names a server binary.
export type ServerKind = "redis" | "valkey";

import process from "node:process";

/** The server of this test pass: "redis" (default) or "valkey". */
export function serverKind(): ServerKind {
  const value = process.env.PUSHWIRE_TEST_SERVER ?? "redis";
  if (value !== "redis" && value !== "valkey") {
    throw new Error(`PUSHWIRE_TEST_SERVER must be "redis" or "valkey", got ${JSON.stringify(value)}`);
  }
  return value;
}

/** The server binary: redis-server or valkey-server (also started with --sentinel for sentinels). */
export function serverBinary(kind: ServerKind = serverKind()): string {
  return kind === "valkey" ? "valkey-server" : "redis-server";
}

/** The command-line client: redis-cli or valkey-cli (cluster creation). */
export function cliBinary(kind: ServerKind = serverKind()): string {
  return kind === "valkey" ? "valkey-cli" : "redis-cli";
}
