// Where a channel's history lives (README "Durable channels", key rule):
//   stream  pushwire:history:{<channel>}            when the channel has no hash tag
//           pushwire:history:{<tag>}:<channel>      when it has one (tag per the cluster rules)
//   epoch   <stream>:epoch
// so the stream lands in the channel's cluster slot (SPUBLISH from the script is then allowed, and the
// shard channel's owner runs it). `history.key` overrides the stream key; both publish and subscribe
// must then name it. Rule: keys are bytes (binary-safe channels), and a key pair that cannot work in a
// cluster is refused before anything is sent, on every client alike, so the rule never depends on
// where the keys happen to run.
import { InvalidArgumentError } from "../errors.ts";

export interface HistoryKeys {
  stream: Uint8Array;
  epoch: Uint8Array;
}

const encoder = new TextEncoder();
const prefix = encoder.encode("pushwire:history:");
const epochSuffix = encoder.encode(":epoch");

/** The hash tag of `name` as the cluster reads it: between the first `{` and the next `}`, if not empty. */
export function hashTag(name: Uint8Array): Uint8Array | undefined {
  const open = name.indexOf(0x7b);
  if (open < 0) return undefined;
  const close = name.indexOf(0x7d, open + 1);
  if (close < 0 || close === open + 1) return undefined;
  return name.subarray(open + 1, close);
}

/**
 * The keys of `channel`'s history. `shard`: the channel is a shard channel (spublish, ssubscribe), so
 * an overriding key must share its slot too. `slotOf` is the cluster key slot (src/native keySlot).
 */
export function historyKeys(
  label: string,
  channel: Uint8Array,
  override: string | Uint8Array | undefined,
  shard: boolean,
  slotOf: (key: Uint8Array) => number,
): HistoryKeys {
  if (override !== undefined) {
    const stream = typeof override === "string" ? encoder.encode(override) : override.slice();
    const epoch = concat(stream, epochSuffix);
    if (slotOf(stream) !== slotOf(epoch)) {
      throw new InvalidArgumentError(
        `${label}: history.key must contain a {hash tag}, so that its epoch key (<key>:epoch) lands in the same cluster slot`,
      );
    }
    if (shard && slotOf(stream) !== slotOf(channel)) {
      throw new InvalidArgumentError(
        `${label}: history.key must be in the shard channel's cluster slot (give it the channel's {hash tag})`,
      );
    }
    return { stream, epoch };
  }
  const tag = hashTag(channel);
  const stream = tag === undefined
    ? concat(prefix, encoder.encode("{"), channel, encoder.encode("}"))
    : concat(prefix, encoder.encode("{"), tag, encoder.encode("}:"), channel);
  if (slotOf(stream) !== slotOf(channel)) {
    throw new InvalidArgumentError(
      `${label}: the history key of this channel would not be in the channel's cluster slot (a "}" without ` +
        `a hash tag?): name the stream with history.key, e.g. "pushwire:history:{room}"`,
    );
  }
  return { stream, epoch: concat(stream, epochSuffix) };
}

/** The parts as one array (keys are short, and derived once per subscription or cached per channel). */
function concat(...parts: Uint8Array[]): Uint8Array {
  return Uint8Array.from(parts.flatMap((part) => Array.from(part)));
}
