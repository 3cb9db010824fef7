import assert from "node:assert/strict";
import { spawnEdgecam, startTaskFlags, writeConfig } from "../helpers/edgecam.ts";

Deno.test("a bad config exits non-zero before anything starts, one line per problem naming key and value", async () => {
  const path = await writeConfig(`
[server]
port = 99999

[[cameras]]
name = "front"
fps = 0
shm_name = "../../etc/passwd"

[[cameras]]
name = "front"
source = "v4l2"
device = "/dev/video0 ! filesink location=/tmp/x"
`);
  const { child, stdout, logClosed } = spawnEdgecam(["--config", path]);
  const status = await child.status;
  const log = await logClosed;
  let out = "";
  for (let r = await stdout.read(); !r.done; r = await stdout.read()) out += r.value;
  assert.equal(status.code, 2);
  assert.equal(out, "", "nothing started, no viewer URL printed");
  assert.match(log, /server\.port: 99999 — /);
  assert.match(log, /cameras\[0\]\.fps: 0 — /);
  assert.match(log, /cameras\[0\]\.shm_name: "\.\.\/\.\.\/etc\/passwd" — .*no '\/'/);
  assert.match(log, /cameras\[1\]\.name: "front" — duplicate/);
  assert.match(log, /cameras\[1\]\.device: "\/dev\/video0 ! filesink location=\/tmp\/x" — /);
});

Deno.test("a missing config file is named with the reason", async () => {
  const { child, logClosed } = spawnEdgecam(["--config", "test-output/does-not-exist.toml"]);
  assert.equal((await child.status).code, 2);
  assert.match(await logClosed, /does-not-exist\.toml: cannot read/);
});

Deno.test("an unknown flag is refused with the usage", async () => {
  const { child, logClosed } = spawnEdgecam(["--bogus"]);
  assert.equal((await child.status).code, 2);
  assert.match(await logClosed, /Usage: deno task start/);
});

Deno.test("bad tokens stop the start with the key and reason, and the token never reaches the log", async () => {
  const path = await writeConfig(`
[auth]
view_tokens = ["tooshort1", "has a space 0123456789"]
api_read_tokens = [""]
`);
  const { child, logClosed } = spawnEdgecam(["--config", path]);
  assert.equal((await child.status).code, 2);
  const log = await logClosed;
  assert.match(log, /auth\.view_tokens\[0\]: <redacted> — must be at least 16 characters/);
  assert.match(log, /auth\.view_tokens\[1\]: <redacted> — must not contain whitespace/);
  assert.match(log, /auth\.api_read_tokens\[0\]: <redacted> — must not be empty/);
  assert.ok(!log.includes("tooshort1") && !log.includes("has a space"), log);
});

Deno.test("a --config the start task may not read is one line naming the flag to add, not a stack trace", async () => {
  const outside = await Deno.makeTempFile({ prefix: "edgecam-config-", suffix: ".toml" });
  try {
    const { child, logClosed } = spawnEdgecam(["--config", outside]);
    assert.equal((await child.status).code, 2);
    const log = await logClosed;
    assert.equal(
      log.trim(),
      `edgecam: --config: "${outside}" — this process may not read it: add --allow-read=${outside} to the command (the start task reads ./ and /etc/edgecam/)`,
    );
  } finally {
    await Deno.remove(outside);
  }
});

Deno.test("a recording.dir the start task may not write is refused at start with the flags to add", async () => {
  const path = await writeConfig(`[recording]\ndir = "/var/tmp/edgecam-recordings"`);
  const { child, logClosed } = spawnEdgecam(["--config", path]);
  assert.equal((await child.status).code, 2);
  const log = await logClosed;
  assert.match(
    log,
    /recording\.dir: "\/var\/tmp\/edgecam-recordings" — this process may not read or write there: add --allow-read=\/var\/tmp\/edgecam-recordings --allow-write=\/var\/tmp\/edgecam-recordings to the command/,
  );
  assert.ok(!log.includes("NotCapable"), log);
});

Deno.test("a hook program the start task may not run is refused at start with the flag to add", async () => {
  const path = await writeConfig(`[[hooks]]\non = "stream_lost"\nrun = ["/usr/local/bin/notify", "--all"]`);
  const { child, logClosed } = spawnEdgecam(["--config", path]);
  assert.equal((await child.status).code, 2);
  const log = await logClosed;
  assert.match(
    log,
    /hooks\[0\]\.run: "\/usr\/local\/bin\/notify" — this process may not run it: add it to --allow-run \(--allow-run=gst-launch-1\.0,gst-inspect-1\.0,\/usr\/local\/bin\/notify\)/,
  );
  assert.ok(!log.includes("NotCapable"), log);
});

Deno.test("[debug] enabled under flags without --allow-sys is refused at start, naming the flag", async () => {
  const path = await writeConfig(`[debug]\nenabled = true`);
  const narrow = startTaskFlags().map((f) =>
    f === "--allow-sys" ? "--allow-sys=networkInterfaces,hostname" : f
  );
  const { child, logClosed } = spawnEdgecam(["--config", path], narrow);
  assert.equal((await child.status).code, 2);
  assert.match(
    await logClosed,
    /debug\.enabled: true — CPU profiles need --allow-sys \(all of it\) for node:inspector/,
  );
});
