// Method: runs the real scripts/backports-source.sh (what scripts/setup.sh runs as root on /etc/apt)
// with bash against temporary APT directories laid out like real machines: deb822 sources (bookworm's
// default), one-line lists with options, an embedded key, a disabled stanza, a machine that already has
// the suite, and one with no bookworm source. Only the files it writes are checked; apt is not run.
import { spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { assert, runtime, test } from "../shim.ts";

const script = new URL("../../scripts/backports-source.sh", import.meta.url).pathname;

/** A temporary APT directory holding `files` (path under it → content); removed after `body`. */
function withAptDirectory(files: Record<string, string>, body: (directory: string) => void): void {
  const directory = mkdtempSync(join(tmpdir(), "pushwire-apt-"));
  try {
    for (const [path, content] of Object.entries(files)) {
      mkdirSync(join(directory, path, ".."), { recursive: true });
      writeFileSync(join(directory, path), content);
    }
    body(directory);
  } finally {
    rmSync(directory, { recursive: true, force: true });
  }
}

function run(directory: string): { status: number | null; stdout: string; stderr: string } {
  const result = spawnSync("bash", [script, directory], { encoding: "utf8" });
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

const read = (directory: string, path: string) => readFileSync(join(directory, path), "utf8");
const addedSource = "sources.list.d/bookworm-backports.sources";
const pin = "preferences.d/pushwire-valkey.pref";

/** Runs the script successfully on a directory holding `files`; returns the source file it added. */
function sourceAddedFor(files: Record<string, string>): string {
  let source = "";
  withAptDirectory(files, (directory) => {
    const result = run(directory);
    assert.equal(result.status, 0, result.stderr);
    source = read(directory, addedSource);
  });
  return source;
}

// The machine's own /etc/apt/sources.list.d/debian.sources as Debian's bookworm images ship it.
const bookwormDeb822 = `Types: deb
# http://snapshot.debian.org/archive/debian/20250520T000000Z
URIs: http://deb.debian.org/debian
Suites: bookworm bookworm-updates
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg

Types: deb
URIs: http://deb.debian.org/debian-security
Suites: bookworm-security
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
`;

test(`backports-source: deb822 sources get bookworm-backports on the same mirror and key, and the pin; a second run changes nothing (${runtime})`, () => {
  withAptDirectory({ "sources.list.d/debian.sources": bookwormDeb822 }, (directory) => {
    const first = run(directory);
    assert.equal(first.status, 0, first.stderr);
    assert.equal(first.stdout, "changed\n");
    const source = read(directory, addedSource);
    assert.match(source, /^Types: deb$/m);
    assert.match(source, /^URIs: http:\/\/deb\.debian\.org\/debian$/m);
    assert.match(source, /^Suites: bookworm-backports$/m);
    assert.match(source, /^Components: main$/m);
    assert.match(source, /^Signed-By: \/usr\/share\/keyrings\/debian-archive-keyring\.gpg$/m);
    const pinned = read(directory, pin);
    assert.match(pinned, /^Package: valkey-server valkey-tools$/m);
    assert.match(pinned, /^Pin: release n=bookworm-backports$/m);
    assert.match(pinned, /^Pin-Priority: 500$/m);

    const before = readdirSync(join(directory, "sources.list.d")).map((name) => [name, statSync(join(directory, "sources.list.d", name)).mtimeMs]);
    const second = run(directory);
    assert.equal(second.status, 0, second.stderr);
    assert.equal(second.stdout, "", "nothing written the second time");
    assert.deepEqual(readdirSync(join(directory, "sources.list.d")).map((name) => [name, statSync(join(directory, "sources.list.d", name)).mtimeMs]), before);
  });
});

test(`backports-source: a machine that already names the suite (in a file sorted before the others) gets only the pin (${runtime})`, () => {
  const existing = "Types: deb\nURIs: http://mirror.example/debian\nSuites: bookworm-backports\nComponents: main\n";
  withAptDirectory({ "sources.list.d/bookworm-backports.sources": existing, "sources.list.d/debian.sources": bookwormDeb822 }, (directory) => {
    const result = run(directory);
    assert.equal(result.status, 0, result.stderr);
    assert.equal(result.stdout, "changed\n");
    assert.equal(read(directory, addedSource), existing, "the machine's own file is left as it is");
    assert.match(read(directory, pin), /^Pin: release n=bookworm-backports$/m);
  });
});

test(`backports-source: one-line sources.list with options: the bookworm line's mirror and signed-by (${runtime})`, () => {
  const list = "# deb http://commented.example/debian bookworm main\n" +
    "deb [arch=amd64 signed-by=/usr/share/keyrings/mirror.gpg] http://ftp.de.debian.org/debian bookworm main contrib\n" +
    "deb http://security.debian.org/debian-security bookworm-security main\n";
  const source = sourceAddedFor({ "sources.list": list });
  assert.match(source, /^URIs: http:\/\/ftp\.de\.debian\.org\/debian$/m);
  assert.match(source, /^Signed-By: \/usr\/share\/keyrings\/mirror\.gpg$/m);
  withAptDirectory({ "sources.list": list.replace("bookworm main contrib", "bookworm main\ndeb http://x.example/debian bookworm-backports main") }, (directory) => {
    const result = run(directory);
    assert.equal(result.status, 0, result.stderr);
    assert.ok(!readdirSync(directory).includes("sources.list.d"), "no second source for a suite a list already has");
  });
});

test(`backports-source: an embedded key is not copied, a disabled stanza is skipped, the first URI is taken (${runtime})`, () => {
  const sources = "Types: deb\nURIs: http://disabled.example/debian\nSuites: bookworm\nEnabled: no\n\n" +
    "Types: deb deb-src\nURIs: http://first.example/debian http://second.example/debian\nSuites: bookworm\nComponents: main\n" +
    "Signed-By:\n -----BEGIN PGP PUBLIC KEY BLOCK-----\n .\n mQINBGP\n -----END PGP PUBLIC KEY BLOCK-----\n";
  const source = sourceAddedFor({ "sources.list.d/debian.sources": sources });
  assert.match(source, /^URIs: http:\/\/first\.example\/debian$/m);
  assert.doesNotMatch(source, /Signed-By/);
});

test(`backports-source: no bookworm source (trixie) is a clear failure and writes nothing (${runtime})`, () => {
  withAptDirectory({ "sources.list.d/debian.sources": bookwormDeb822.replaceAll("bookworm", "trixie") }, (directory) => {
    const result = run(directory);
    assert.equal(result.status, 1);
    assert.match(result.stderr, /no enabled 'deb \.\.\. bookworm' source/);
    assert.deepEqual(readdirSync(join(directory, "sources.list.d")), ["debian.sources"]);
    assert.ok(!readdirSync(directory).includes("preferences.d"));
  });
});
