// Node addresses as the multi-node clients key them: "host:port", brackets around an IPv6 literal.
// Rule: one spelling per node, so the same node is never opened twice under two names.

/** "host:port", with brackets around an IPv6 literal. */
export function formatAddress(host: string, port: number): string {
  return host.includes(":") ? `[${host}]:${port}` : `${host}:${port}`;
}

/** Splits "host:port", "[v6]:port" or the bare "v6:port" that MOVED replies use. */
export function parseAddress(address: string): { host: string; port: number } | undefined {
  const colon = address.lastIndexOf(":");
  if (colon <= 0) return undefined;
  const port = Number(address.slice(colon + 1));
  if (!Number.isInteger(port) || port <= 0 || port > 65_535) return undefined;
  const host = address.slice(0, colon).replace(/^\[(.*)\]$/, "$1");
  return { host, port };
}
