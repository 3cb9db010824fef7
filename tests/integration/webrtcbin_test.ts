import assert from "node:assert/strict";
import { getJson, startEdgecam, waitFor, waitHealthy } from "../helpers/edgecam.ts";
import { WhepViewer } from "../helpers/whep_client.ts";
import { WhipPublisher } from "../helpers/whip_client.ts";

/** Debian's Python, which has the GStreamer bindings (a pyenv python3 first on PATH may not). */
const PYTHON = "/usr/bin/python3";
const CLIENT = new URL("../clients/whep_webrtcbin.py", import.meta.url).pathname;
const PUBLISHER = new URL("../clients/whip_webrtcbin.py", import.meta.url).pathname;

async function run(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const out = await new Deno.Command(PYTHON, { args, stdout: "piped", stderr: "piped" }).output();
  const text = (b: Uint8Array) => new TextDecoder().decode(b);
  return { code: out.code, stdout: text(out.stdout), stderr: text(out.stderr) };
}

/** Fails with the install step when Python's GStreamer WebRTC bindings are missing. */
async function requireWebrtcbin(): Promise<void> {
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
}

/** webrtcbin WHEP clients, one per [stream, codec] at once, each decode 60 frames or more of `size` in 4 s. */
async function webrtcbinDecodes(base: string, streams: [string, string][], size: string): Promise<void> {
  const results = await Promise.all(
    streams.map(([name, codec]) => run([CLIENT, `${base}/whep/${name}`, codec, "4"])),
  );
  for (const [i, [name]] of streams.entries()) {
    const result = results[i];
    assert.equal(
      result.code,
      0,
      `${name}: ${result.stderr.split("\n").filter((l) => !/CRITICAL|^$/.test(l)).join("\n")}`,
    );
    const [, frames, decoded] = result.stdout.match(/decoded (\d+) (\d+x\d+)/) ?? [];
    assert.ok(Number(frames) >= 60, `${name}: decoded ${frames} frames in 4 s`);
    assert.equal(decoded, size, name);
  }
}

Deno.test("GStreamer's webrtcbin, an independent WHEP client, decodes H.264 and VP8", async () => {
  await requireWebrtcbin();
  const edgecam = await startEdgecam({ path: "config.toml" });
  try {
    await waitHealthy(edgecam.url);
    await webrtcbinDecodes(edgecam.url, [["front", "h264"], ["rear", "vp8"]], "640x480");
    await waitFor("sessions freed by DELETE", async () => {
      const { body } = await getJson<{ readers: number }[]>(`${edgecam.url}/api/streams`);
      return body.every((s) => s.readers === 0) ? true : undefined;
    });
  } finally {
    await edgecam.stop();
  }
});

Deno.test("GStreamer's webrtcbin publishes H.264 and VP8 with Opus over WHIP; a webrtcbin viewer decodes each", async () => {
  await requireWebrtcbin();
  const token = "publish-0123456789abcdef";
  const edgecam = await startEdgecam({
    toml:
      `[auth]\npublish_tokens = ["${token}"]\n[[paths]]\nname = "gst264"\n[[paths]]\nname = "gstvp8"\ncodec = "vp8"\n`,
  });
  const publishers: Deno.ChildProcess[] = [];
  try {
    for (const [path, codec] of [["gst264", "h264"], ["gstvp8", "vp8"]]) {
      publishers.push(
        new Deno.Command(PYTHON, {
          args: [PUBLISHER, `${edgecam.url}/whip/${path}`, codec, "12", token],
          stdout: "piped",
          stderr: "piped",
        }).spawn(),
      );
    }
    for (const path of ["gst264", "gstvp8"]) {
      await waitFor(`${path} running`, async () => {
        const { body } = await getJson<{ state: string }>(`${edgecam.url}/api/streams/${path}`);
        return body.state === "running" || undefined;
      }, 20_000);
    }
    await webrtcbinDecodes(edgecam.url, [["gst264", "h264"], ["gstvp8", "vp8"]], "320x240");
  } finally {
    for (const child of publishers) {
      try {
        child.kill("SIGTERM");
      } catch {
        // Already exited.
      }
      await child.output();
    }
    await edgecam.stop();
  }
});

Deno.test("a publisher that vanishes (SIGKILL: no DELETE, no close_notify): consent expires, the stream waits, its viewer stays and resumes", async () => {
  await requireWebrtcbin();
  const edgecam = await startEdgecam({ toml: `[[paths]]\nname = "gone"\n` });
  const publisher = new Deno.Command(PYTHON, {
    args: [PUBLISHER, `${edgecam.url}/whip/gone`, "h264", "120"],
    stdout: "null",
    stderr: "null",
  }).spawn();
  const viewer = new WhepViewer();
  const comeback = new WhipPublisher("h264");
  const stateOf = async () =>
    (await getJson<{ state: string; last_error: string | null; webrtc: { viewers: number } }>(
      `${edgecam.url}/api/streams/gone`,
    )).body;
  try {
    await waitFor(
      "the webrtcbin publisher running",
      async () => (await stateOf()).state === "running" || undefined,
      20_000,
    );
    await viewer.connect(`${edgecam.url}/whep/gone`);
    await waitFor("the viewer decoding", () => viewer.frames.length >= 30 || undefined, 20_000);

    publisher.kill("SIGKILL");
    await publisher.status;
    const killedAt = performance.now();
    // RFC 7675: consent is lost 30 s after the last answered check; werift checks every ~5 s.
    const gone = await waitFor(
      "the stream waiting after consent expiry",
      async () => {
        const state = await stateOf();
        return state.state === "waiting" ? state : undefined;
      },
      45_000,
    );
    assert.match(gone.last_error ?? "", /consent expired/);
    assert.ok(performance.now() - killedAt >= 20_000, "waited for consent, not for something else");
    assert.equal(gone.webrtc.viewers, 1, "the viewer's session outlives the publisher");
    assert.equal(viewer.pc.connectionState, "connected");

    const before = viewer.frames.length;
    const { res, answer } = await comeback.publish(`${edgecam.url}/whip/gone`);
    assert.equal(res.status, 201, answer);
    await waitFor(
      "the same viewer playing the new publisher",
      () => viewer.frames.length >= before + 30 || undefined,
      20_000,
    );
  } finally {
    try {
      publisher.kill("SIGKILL");
    } catch {
      // Already killed.
    }
    await publisher.status;
    await comeback.close();
    await viewer.close();
    await edgecam.stop();
  }
});
