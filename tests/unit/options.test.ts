// Method: pure TS: resolveSettings() is called with URLs and options and its result compared; no
// socket is opened.
import { assert, runtime, test } from "../shim.ts";
import { resolveSettings } from "../../src/options.ts";
import { InvalidArgumentError } from "../../src/errors.ts";

test(`options: schemes, hosts, ports and defaults (${runtime})`, () => {
  const plain = resolveSettings("redis://127.0.0.1");
  assert.deepEqual(plain.endpoint, { kind: "tcp", host: "127.0.0.1", port: 6379 });
  assert.equal(plain.tls, undefined);
  assert.equal(plain.protocol, 3);
  assert.deepEqual(plain.flow, {
    bufferSize: 65_536,
    bufferBytes: 8 * 1024 * 1024,
    highWaterMark: 1_024,
    highWaterMarkBytes: 1024 * 1024,
    slowConsumerMs: 3_000,
    overflow: "drop-oldest",
  });
  assert.equal(plain.connectTimeoutMs, 10_000);
  assert.equal(plain.closeTimeoutMs, 1_000);
  assert.ok(plain.reconnect !== undefined);
  assert.deepEqual(resolveSettings("valkey://[::1]:7000").endpoint, { kind: "tcp", host: "::1", port: 7000 });
  assert.deepEqual(resolveSettings("rediss://localhost:6380").tls, {});
  assert.deepEqual(resolveSettings("valkeys://localhost").tls, {});
  assert.deepEqual(resolveSettings("redis://localhost", { tls: { ca: "pem" } }).tls, { ca: "pem" });
  assert.equal(resolveSettings("rediss://localhost", { tls: false }).tls, undefined);
  assert.deepEqual(resolveSettings("unix:///tmp/redis.sock").endpoint, { kind: "unix", path: "/tmp/redis.sock" });
});

test(`options: credentials and name from the URL, overridden by options (${runtime})`, () => {
  const fromUrl = resolveSettings("redis://alice:p%40ss@127.0.0.1:6379?name=worker&protocol=2");
  assert.equal(fromUrl.username, "alice");
  assert.equal(fromUrl.password, "p@ss");
  assert.equal(fromUrl.name, "worker");
  assert.equal(fromUrl.protocol, 2);
  const passwordOnly = resolveSettings("redis://:secret@127.0.0.1");
  assert.equal(passwordOnly.username, undefined);
  assert.equal(passwordOnly.password, "secret");
  const overridden = resolveSettings("redis://alice:x@127.0.0.1", { username: "bob", password: "y", name: "n" });
  assert.deepEqual([overridden.username, overridden.password, overridden.name], ["bob", "y", "n"]);
  const unix = resolveSettings("unix:///run/valkey.sock?password=pw");
  assert.equal(unix.password, "pw");
  assert.equal(resolveSettings("redis://h", { reconnect: false }).reconnect, undefined);
  assert.deepEqual(resolveSettings("redis://h", { reconnect: { maxAttempts: 3 } }).reconnect, {
    initialDelayMs: 100,
    maxDelayMs: 5_000,
    maxAttempts: 3,
  });
});

test(`options: bad values are InvalidArgumentError naming the option (${runtime})`, () => {
  const bad: [string, () => unknown, RegExp][] = [
    ["empty url", () => resolveSettings(""), /url/],
    ["not a url", () => resolveSettings("not a url"), /not a valid URL/],
    ["http", () => resolveSettings("http://localhost"), /unsupported scheme/],
    ["unix without path", () => resolveSettings("unix://"), /no socket path/],
    ["tls over unix", () => resolveSettings("unix:///x.sock", { tls: true }), /tls/],
    ["protocol", () => resolveSettings("redis://h", { protocol: 1 as 2 }), /protocol/],
    ["bufferSize 0", () => resolveSettings("redis://h", { bufferSize: 0 }), /bufferSize/],
    ["overflow", () => resolveSettings("redis://h", { overflow: "nope" as "error" }), /overflow/],
    ["bufferBytes 0", () => resolveSettings("redis://h", { bufferBytes: 0 }), /bufferBytes/],
    ["highWaterMark 1.5", () => resolveSettings("redis://h", { highWaterMark: 1.5 }), /highWaterMark/],
    ["highWaterMarkBytes -1", () => resolveSettings("redis://h", { highWaterMarkBytes: -1 }), /highWaterMarkBytes/],
    ["slowConsumerMs NaN", () => resolveSettings("redis://h", { slowConsumerMs: NaN }), /slowConsumerMs/],
    ["timeout", () => resolveSettings("redis://h", { connectTimeoutMs: 0 }), /connectTimeoutMs/],
    ["username", () => resolveSettings("redis://h", { username: 1 as unknown as string }), /username/],
    ["hook", () => resolveSettings("redis://h", { onVacated: "x" as unknown as () => void }), /onVacated/],
    ["reconnect", () => resolveSettings("redis://h", { reconnect: { maxAttempts: 0 } }), /maxAttempts/],
    ["signal", () => resolveSettings("redis://h", { signal: {} as AbortSignal }), /signal/],
  ];
  for (const [label, call, message] of bad) {
    assert.throws(call, (error: unknown) => error instanceof InvalidArgumentError && message.test(error.message), label);
  }
});
