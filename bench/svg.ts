// The few SVG pieces the benchmark charts are drawn with (bench/charts.ts): escaped text, rectangles,
// lines, and number formats for axis and bar labels. No dependency; the output is plain SVG 1.1 that
// GitHub and browsers render as an <img>.

/** Text and attribute values with the five XML specials escaped. */
export function escapeXml(text: string): string {
  return text.replace(/[&<>"']/g, (character) =>
    ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&apos;" })[character]!);
}

type Attributes = Record<string, string | number | undefined>;

function attributes(values: Attributes): string {
  return Object.entries(values)
    .filter(([, value]) => value !== undefined)
    .map(([name, value]) => ` ${name}="${escapeXml(typeof value === "number" ? round(value) : value!)}"`)
    .join("");
}

/** Coordinates to 0.1 px: enough for a chart, and the file stays small and stable between runs. */
function round(value: number): string {
  return String(Math.round(value * 10) / 10);
}

export function element(name: string, values: Attributes, content?: string): string {
  return content === undefined ? `<${name}${attributes(values)}/>` : `<${name}${attributes(values)}>${content}</${name}>`;
}

export function text(x: number, y: number, content: string, values: Attributes = {}): string {
  return element("text", { x, y, ...values }, escapeXml(content));
}

export function document(width: number, height: number, title: string, body: string[]): string {
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${round(width)}" height="${round(height)}" ` +
    `viewBox="0 0 ${round(width)} ${round(height)}" font-family="system-ui, -apple-system, sans-serif" font-size="12">`,
    element("title", {}, escapeXml(title)),
    element("rect", { x: 0, y: 0, width, height, fill: "#ffffff" }),
    ...body,
    "</svg>",
    "",
  ].join("\n");
}

/** 1234567 → "1.23 M", 45600 → "45.6 k", 812 → "812". */
export function formatRate(value: number): string {
  if (value >= 1e6) return `${(value / 1e6).toFixed(value >= 1e7 ? 1 : 2)} M`;
  if (value >= 1e3) return `${(value / 1e3).toFixed(value >= 1e5 ? 0 : 1)} k`;
  return String(Math.round(value));
}

/** 16 → "16 B", 4096 → "4 KiB", 65536 → "64 KiB". */
export function formatBytes(value: number): string {
  if (value >= 1024 * 1024 && value % (1024 * 1024) === 0) return `${value / 1024 / 1024} MiB`;
  if (value >= 1024 && value % 1024 === 0) return `${value / 1024} KiB`;
  return `${value} B`;
}
