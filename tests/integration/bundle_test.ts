import assert from "node:assert/strict";
import { VIEWER_LINE, waitFor, waitHealthy } from "../helpers/edgecam.ts";

const ROOT = new URL("../../", import.meta.url).pathname;

/** Where the unit's StateDirectory (its working folder, holding the recordings) is mapped. */
const STATE = `${ROOT}test-output/unit-state`;

/** The ExecStart of the systemd unit, with its install paths mapped onto this checkout. */
async function unitCommand(configPath: string): Promise<string[]> {
  const unit = await Deno.readTextFile(`${ROOT}scripts/edgecam.service`);
  const execStart = unit.match(/^ExecStart=(.+)$/m)![1];
  return execStart
    .replaceAll("/opt/edgecam/bin/deno", Deno.execPath())
    .replaceAll("/etc/edgecam/config.toml", configPath)
    .replaceAll("/etc/edgecam", `${ROOT}test-output`)
    .replaceAll("/var/lib/edgecam", STATE)
    .replaceAll("/opt/edgecam", ROOT.replace(/\/$/, ""))
    .split(" ");
}

Deno.test("the bundle artifact runs and records under the systemd unit's exact permission flags", async () => {
  const bundle = await new Deno.Command(Deno.execPath(), {
    args: ["task", "--quiet", "bundle"],
    cwd: ROOT,
    stdout: "null",
    stderr: "piped",
  }).output();
  assert.ok(bundle.success, new TextDecoder().decode(bundle.stderr));

  await Deno.mkdir(`${ROOT}test-output`, { recursive: true });
  const config = `${ROOT}test-output/unit-config.toml`;
  await Deno.writeTextFile(
    config,
    `[server]\nlisten = "127.0.0.1"\nport = 0\n[recording]\nmin_free_bytes = 0\n` +
      `[[cameras]]\nname = "front"\nrecord = true\n`,
  );
  await Deno.remove(STATE, { recursive: true }).catch(() => {});
  await Deno.mkdir(STATE, { recursive: true });
  const [command, ...args] = await unitCommand(config);
  // systemd starts it in its WorkingDirectory, the state folder: recording.dir's default lands there.
  const child = new Deno.Command(command, { args, cwd: STATE, stdout: "piped", stderr: "null" }).spawn();
  try {
    const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
    let out = "";
    while (!VIEWER_LINE.test(out)) {
      const { value, done } = await reader.read();
      assert.ok(!done, "the bundle exited before listening");
      out += value;
    }
    reader.releaseLock();
    const url = out.match(VIEWER_LINE)![1];
    await waitHealthy(url);
    const page = await fetch(`${url}/`);
    assert.equal(page.status, 200);
    assert.match(await page.text(), /<title>edgecam<\/title>/);
    await waitFor("a recorded part", async () => {
      const status = await (await fetch(`${url}/api/streams/front/recording`)).json();
      return status.bytes_written > 0 || undefined;
    });
    const [segment] = Deno.readDirSync(`${STATE}/recordings/front`);
    assert.match(segment.name, /^\d{4}-\d\d-\d\dT.*Z\.mp4$/);
    child.kill("SIGTERM");
    assert.equal((await child.status).code, 0);
  } finally {
    try {
      child.kill("SIGKILL");
    } catch {
      // Exited already.
    }
    await child.stdout.cancel().catch(() => {});
    await Deno.remove(STATE, { recursive: true }).catch(() => {});
  }
});
