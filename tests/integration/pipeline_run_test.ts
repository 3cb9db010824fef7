// Runs the argv buildPipeline emits through the real gst-launch-1.0. Needs --allow-run --allow-read.
import assert from "node:assert/strict";
import { validateConfig } from "../../lib/config/load.ts";
import { type CameraConfig, FLIP_METHODS } from "../../lib/config/schema.ts";
import { listElements, resolveEncoder } from "../../lib/cameras/encoders.ts";
import { buildPipeline, type ResolvedEncoder } from "../../lib/cameras/gstreamer.ts";

const H264_START_CODE = [0x00, 0x00, 0x00, 0x01];
const EBML_MAGIC = [0x1a, 0x45, 0xdf, 0xa3];

function camera(fields: Partial<CameraConfig> = {}): CameraConfig {
  return { ...validateConfig({ cameras: [{ name: "cam" }] }).cameras[0], ...fields };
}

/** Runs gst-launch-1.0 with `argv` for `ms` and returns what it wrote to stdout and stderr. */
async function run(argv: string[], ms = 1000): Promise<{ stdout: Uint8Array; stderr: string }> {
  const child = new Deno.Command("gst-launch-1.0", {
    args: argv,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  })
    .spawn();
  const stderr = new Response(child.stderr).text();
  // Killing it closes stdout, which ends the read loop; a broken pipeline ends it sooner by exiting.
  const stop = setTimeout(() => child.kill("SIGTERM"), ms);
  const stdout = new Uint8Array(await new Response(child.stdout).arrayBuffer());
  clearTimeout(stop);
  await child.status;
  return { stdout, stderr: await stderr };
}

async function assertStreams(cam: CameraConfig, encoder: ResolvedEncoder, magic: number[]): Promise<void> {
  const argv = buildPipeline(cam, encoder);
  const { stdout, stderr } = await run(argv);
  const context = `gst-launch-1.0 ${argv.join(" ")}\nstderr: ${stderr}`;
  // About a second at 30 fps: more than a keyframe's worth of data.
  assert.ok(stdout.length > 10_000, `only ${stdout.length} bytes\n${context}`);
  assert.deepEqual([...stdout.subarray(0, 4)], magic, context);
}

Deno.test("each software encoder's pipeline streams from the test source", async (t) => {
  const cases: [ResolvedEncoder, Partial<CameraConfig>, number[]][] = [
    ["x264", {}, H264_START_CODE],
    ["openh264", {}, H264_START_CODE],
    ["vp8", { codec: "vp8", pattern: "ball" }, EBML_MAGIC],
  ];
  for (const [encoder, fields, magic] of cases) {
    await t.step(encoder, () => assertStreams(camera(fields), encoder, magic));
  }
});

Deno.test("every flip method runs, rotations included", async (t) => {
  for (const flipMethod of FLIP_METHODS) {
    await t.step(flipMethod, () => assertStreams(camera({ flipMethod }), "x264", H264_START_CODE));
  }
});

Deno.test("scaling runs from the source's native size", async () => {
  await assertStreams(camera({ scalingEnabled: true, width: 320, height: 180 }), "x264", H264_START_CODE);
});

Deno.test("this machine's gst-inspect listing resolves auto to a software encoder", async () => {
  const elements = await listElements();
  assert.ok(elements.has("videotestsrc") && elements.has("fdsink"), "listing parsed");
  assert.deepEqual(resolveEncoder(camera(), elements), { encoder: "x264" });
  assert.deepEqual(resolveEncoder(camera({ codec: "vp8" }), elements), { encoder: "vp8" });
});
