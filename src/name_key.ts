// A string key for a channel or pattern name's exact bytes, so that names which are not UTF-8 can key
// a Map or Set (the router's table of server subscriptions, a connection's pending UNSUBSCRIBE).
// Rule: one char per byte, so two names share a key only when their bytes are equal.

const encoder = new TextEncoder();

/** One char per byte: a collision-free key for arbitrary bytes. */
export function bytesKey(bytes: Uint8Array): string {
  let text = "";
  for (let i = 0; i < bytes.length; i += 4096) {
    text += String.fromCharCode(...bytes.subarray(i, i + 4096));
  }
  return text;
}

/** The key of a name as it goes on the wire: a string stands for its UTF-8 bytes. */
export function wireNameKey(name: string | Uint8Array): string {
  return bytesKey(typeof name === "string" ? encoder.encode(name) : name);
}
