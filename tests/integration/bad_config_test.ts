import assert from "node:assert/strict";
import { spawnEdgecam, writeConfig } from "../helpers/edgecam.ts";

Deno.test("a bad config exits non-zero before anything starts, one line per problem naming key and value", async () => {
  const path = await writeConfig(`
[server]
port = 99999

[[cameras]]
name = "front"
fps = 0

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
