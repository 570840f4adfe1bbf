// The history script: appends a message to its channel's history stream and publishes it in its v1
// envelope, atomically and in one round trip (EVALSHA, falling back to EVAL when the server's script
// cache does not have it: after a restart, a SCRIPT FLUSH, or on a node that never ran it).
// Rule: the script is versioned by its first line; a change to what it writes is a new version, and
// the envelope's version with it (src/durable/envelope.ts).
//
// KEYS: stream, epoch key. ARGV: channel, payload, maxLength, ttlMs (0: none), "PUBLISH" | "SPUBLISH".
// The epoch is the first part of every entry id: fixed while the stream lives, so sequences count its
// entries from 0 (XADD <epoch>-*). A stream (re)created gets the server's TIME in µs (16 digits,
// exact in Lua's doubles), and never less than the epoch before it + 1, so a reset is always seen as
// an epoch change — in ms, a stream deleted and recreated within one millisecond kept its epoch (a
// test caught it: its sequences restarted at 0 under the same epoch and the resume saw no reset). Trimming is exact
// (MAXLEN n, not ~): "the newest n" must mean n.
import { createHash } from "node:crypto";
import { ReplyError } from "../errors.ts";
import type { CommandArgument } from "../protocol/encode.ts";
import type { ReplyValue } from "../protocol/reply.ts";

export const historyScriptSource = `-- pushwire history v1
local stream, epochKey = KEYS[1], KEYS[2]
local epoch
if redis.call('EXISTS', stream) == 1 then
  epoch = redis.call('GET', epochKey)
  if not epoch then
    local last = redis.call('XREVRANGE', stream, '+', '-', 'COUNT', 1)[1]
    if last then
      epoch = string.match(last[1], '^(%d+)-')
      redis.call('SET', epochKey, epoch)
    end
  end
end
if not epoch then
  local now = redis.call('TIME')
  local us = tonumber(now[1]) * 1000000 + tonumber(now[2])
  local previous = tonumber(redis.call('GET', epochKey) or '0')
  if us <= previous then us = previous + 1 end
  epoch = string.format('%d', us)
  redis.call('SET', epochKey, epoch)
end
local id = redis.call('XADD', stream, 'MAXLEN', ARGV[3], epoch .. '-*', 'd', ARGV[2])
local ttlMs = tonumber(ARGV[4])
if ttlMs > 0 then
  redis.call('PEXPIRE', stream, ttlMs)
  redis.call('PEXPIRE', epochKey, ttlMs)
end
local receivers = redis.call(ARGV[5], ARGV[1], 'pw1 ' .. id .. '\\n' .. ARGV[2])
return {id, receivers}
`;

const historyScriptSha = createHash("sha1").update(historyScriptSource).digest("hex");

/** Runs one command on the node that holds the history keys; resolves with the decoded reply. */
export type RunCommand = (args: readonly CommandArgument[]) => Promise<ReplyValue>;

export interface HistoryScriptArguments {
  stream: CommandArgument;
  epochKey: CommandArgument;
  channel: CommandArgument;
  data: CommandArgument;
  maxLength: number;
  ttlMs: number;
  command: "PUBLISH" | "SPUBLISH";
}

/** What a publish with history resolves with: the subscribers reached and the new entry's id. */
export interface PublishResult {
  /** Subscribers the message reached, as a plain publish's number. */
  receivers: number;
  /** The history entry id (`<epoch>-<seq>`): what subscribers see as `message.id`, and a `since`. */
  id: string;
}

/** Appends and publishes through the script: EVALSHA, and EVAL once when the server lacks it. */
export async function runHistoryScript(run: RunCommand, script: HistoryScriptArguments): Promise<PublishResult> {
  const tail: CommandArgument[] = [
    "2", script.stream, script.epochKey,
    script.channel, script.data, String(script.maxLength), String(script.ttlMs), script.command,
  ];
  let reply: ReplyValue;
  try {
    reply = await run(["EVALSHA", historyScriptSha, ...tail]);
  } catch (error) {
    if (!(error instanceof ReplyError) || error.serverCode !== "NOSCRIPT") throw error;
    reply = await run(["EVAL", historyScriptSource, ...tail]); // EVAL also caches it for the next EVALSHA
  }
  if (!Array.isArray(reply) || typeof reply[0] !== "string" || typeof reply[1] !== "number") {
    throw new ReplyError(`the history script answered ${JSON.stringify(String(reply))}, not [id, receivers]`, "EVALSHA");
  }
  return { id: reply[0], receivers: reply[1] };
}
