import assert from "node:assert/strict";
import { validateConfig } from "../../lib/config/load.ts";
import { type CameraConfig } from "../../lib/config/schema.ts";
import { ENCODER_ELEMENTS, parseInspectOutput, resolveEncoder } from "../../lib/cameras/encoders.ts";
import { buildPipeline, ENCODER_CODEC, type ResolvedEncoder } from "../../lib/cameras/gstreamer.ts";

/** Lines of `gst-inspect-1.0` (GStreamer 1.22, Debian 12), every kind of line it prints. */
const LISTING = `coretracers:  latency (GstTracerFactory)
libav:  avdec_h264: libav H.264 / AVC / MPEG-4 AVC / MPEG-4 part 10 decoder
matroska:  matroskamux: Matroska muxer
matroska:  webmmux: WebM muxer
openh264:  openh264enc: OpenH264 video encoder
typefindfunctions: video/x-h264: h264, x264, 264
video4linux2:  v4l2deviceprovider (GstDeviceProviderFactory)
video4linux2:  v4l2src: Video (video4linux2) Source
videoparsersbad:  h264parse: H.264 parser
videotestsrc:  videotestsrc: Video test source
vpx:  vp8enc: On2 VP8 Encoder
x264:  x264enc: x264 H.264 Encoder

Total count: 264 plugins, 1582 features
`;

Deno.test("parseInspectOutput keeps element names only", () => {
  assert.deepEqual(
    [...parseInspectOutput(LISTING)].sort(),
    [
      "avdec_h264",
      "h264parse",
      "matroskamux",
      "openh264enc",
      "v4l2src",
      "videotestsrc",
      "vp8enc",
      "webmmux",
      "x264enc",
    ],
  );
});

function camera(fields: Partial<CameraConfig> = {}): CameraConfig {
  return { ...validateConfig({ cameras: [{ name: "cam" }] }).cameras[0], ...fields };
}

/** This machine: software encoders only, no camera stack. */
const DESKTOP = ["videotestsrc", "v4l2src", "x264enc", "openh264enc", "h264parse", "vp8enc", "webmmux"];
/** A Raspberry Pi 4 with Raspberry Pi OS: hardware H.264 and libcamera. */
const PI4 = [...DESKTOP, "libcamerasrc", "v4l2h264enc"];
/** A Jetson with JetPack. */
const JETSON = [...DESKTOP, "nvvidconv", "nvv4l2h264enc"];

Deno.test("resolveEncoder", async (t) => {
  const cases: [string, Partial<CameraConfig>, string[], ReturnType<typeof resolveEncoder>][] = [
    // auto
    ["auto h264 picks the Pi 4's hardware encoder", {}, PI4, { encoder: "v4l2" }],
    ["auto h264 picks the Jetson's hardware encoder", {}, JETSON, { encoder: "nvv4l2" }],
    ["auto h264 without hardware picks x264", {}, DESKTOP, { encoder: "x264" }],
    [
      "auto h264 without x264 picks openh264",
      {},
      DESKTOP.filter((e) => e !== "x264enc"),
      { encoder: "openh264" },
    ],
    [
      "auto h264 with no H.264 encoder names the software fix",
      {},
      ["videotestsrc", "h264parse"],
      {
        error:
          "no H.264 encoder found (tried v4l2, nvv4l2, x264, openh264): x264enc not found: install gstreamer1.0-plugins-ugly",
      },
    ],
    [
      "auto h264 without h264parse names it",
      {},
      DESKTOP.filter((e) => e !== "h264parse"),
      {
        error:
          "no H.264 encoder found (tried v4l2, nvv4l2, x264, openh264): h264parse not found: install gstreamer1.0-plugins-bad",
      },
    ],
    ["auto vp8 picks vp8", { codec: "vp8" }, PI4, { encoder: "vp8" }],
    [
      "auto vp8 without vp8enc",
      { codec: "vp8" },
      ["videotestsrc", "webmmux"],
      { error: "vp8enc not found: install gstreamer1.0-plugins-good" },
    ],
    // requested
    ["x264 on a Pi 4 stays x264", { encoder: "x264" }, PI4, { encoder: "x264" }],
    ["openh264 when present", { encoder: "openh264" }, DESKTOP, { encoder: "openh264" }],
    [
      "x264 missing",
      { encoder: "x264" },
      ["videotestsrc", "h264parse"],
      { error: "x264enc not found: install gstreamer1.0-plugins-ugly" },
    ],
    [
      "openh264 missing",
      { encoder: "openh264" },
      ["videotestsrc", "h264parse"],
      { error: "openh264enc not found: install gstreamer1.0-plugins-bad" },
    ],
    [
      "v4l2 asked for on a machine without the hardware",
      { encoder: "v4l2" },
      DESKTOP,
      {
        error:
          "v4l2h264enc not found: install gstreamer1.0-plugins-good; it only appears where a V4L2 hardware encoder exists (Raspberry Pi 4; the Pi 5 has none)",
      },
    ],
    [
      "nvv4l2 asked for off a Jetson names both elements",
      { encoder: "nvv4l2" },
      DESKTOP,
      {
        error: "nvvidconv not found: install nvidia-l4t-gstreamer (NVIDIA JetPack); " +
          "nvv4l2h264enc not found: install nvidia-l4t-gstreamer (NVIDIA JetPack)",
      },
    ],
    [
      "vp8 without webmmux",
      { codec: "vp8", encoder: "vp8" },
      ["videotestsrc", "vp8enc"],
      { error: "webmmux not found: install gstreamer1.0-plugins-good" },
    ],
    // sources
    ["libcamera on a Pi 4", { source: "libcamera" }, PI4, { encoder: "v4l2" }],
    [
      "libcamera missing",
      { source: "libcamera" },
      DESKTOP,
      { error: "libcamerasrc not found: install gstreamer1.0-libcamera" },
    ],
    [
      "v4l2src missing",
      { source: "v4l2", device: "/dev/video0" },
      ["x264enc", "h264parse"],
      { error: "v4l2src not found: install gstreamer1.0-plugins-good" },
    ],
    [
      "source and encoder both missing: both named",
      { source: "libcamera", encoder: "x264" },
      ["h264parse"],
      {
        error: "libcamerasrc not found: install gstreamer1.0-libcamera; " +
          "x264enc not found: install gstreamer1.0-plugins-ugly",
      },
    ],
  ];
  for (const [name, fields, elements, expected] of cases) {
    await t.step(name, () => assert.deepEqual(resolveEncoder(camera(fields), new Set(elements)), expected));
  }
});

Deno.test("ENCODER_ELEMENTS lists every encoder-specific element its pipeline uses", () => {
  // Elements every pipeline has come from gstreamer1.0-plugins-base/-good and the core.
  const common = new Set(["videotestsrc", "queue", "videoconvert", "fdsink"]);
  for (const encoder of Object.keys(ENCODER_ELEMENTS) as ResolvedEncoder[]) {
    const argv = buildPipeline(camera({ codec: ENCODER_CODEC[encoder] }), encoder);
    const elements = argv.filter((_, i) => argv[i - 1] === "!" || argv[i - 1] === "-q")
      .filter((a) => !a.includes("/") && !common.has(a));
    assert.deepEqual(elements.sort(), [...ENCODER_ELEMENTS[encoder]].sort(), encoder);
  }
});
