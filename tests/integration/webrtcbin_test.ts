import assert from "node:assert/strict";
import { getJson, startEdgecam, waitFor } from "../helpers/edgecam.ts";

/** Debian's Python, which has the GStreamer bindings (a pyenv python3 first on PATH may not). */
const PYTHON = "/usr/bin/python3";
const CLIENT = new URL("../clients/whep_webrtcbin.py", import.meta.url).pathname;

async function run(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const out = await new Deno.Command(PYTHON, { args, stdout: "piped", stderr: "piped" }).output();
  const text = (b: Uint8Array) => new TextDecoder().decode(b);
  return { code: out.code, stdout: text(out.stdout), stderr: text(out.stderr) };
}

Deno.test("GStreamer's webrtcbin, an independent WHEP client, decodes H.264 and VP8", async () => {
  const probe = await run([
    "-c",
    "import gi; gi.require_version('GstWebRTC', '1.0'); gi.require_version('GstSdp', '1.0')",
  ])
    .catch((err: Error) => ({ code: -1, stdout: "", stderr: err.message }));
  assert.equal(
    probe.code,
    0,
    `webrtcbin from Python is missing (${probe.stderr.trim()}): run scripts/bootstrap.sh --test`,
  );
  const edgecam = await startEdgecam({ path: "config.toml" });
  try {
    await waitFor(
      "healthy",
      async () => (await getJson(`${edgecam.url}/health`)).status === 200 ? true : undefined,
    );
    const results = await Promise.all([
      run([CLIENT, `${edgecam.url}/whep/front`, "h264", "4"]),
      run([CLIENT, `${edgecam.url}/whep/rear`, "vp8", "4"]),
    ]);
    for (const [name, result] of [["front", results[0]], ["rear", results[1]]] as const) {
      assert.equal(
        result.code,
        0,
        `${name}: ${result.stderr.split("\n").filter((l) => !/CRITICAL|^$/.test(l)).join("\n")}`,
      );
      const [, frames, size] = result.stdout.match(/decoded (\d+) (\d+x\d+)/) ?? [];
      assert.ok(Number(frames) >= 60, `${name}: decoded ${frames} frames in 4 s`);
      assert.equal(size, "640x480", name);
    }
    await waitFor("sessions freed by DELETE", async () => {
      const { body } = await getJson<{ readers: number }[]>(`${edgecam.url}/api/streams`);
      return body.every((s) => s.readers === 0) ? true : undefined;
    });
  } finally {
    await edgecam.stop();
  }
});
