import assert from "node:assert/strict";
import { validateConfig } from "../../lib/config/load.ts";
import { type CameraConfig, ENCODER_NAMES, FLIP_METHODS, SOURCE_KINDS } from "../../lib/config/schema.ts";
import { buildPipeline, ENCODER_CODEC, type ResolvedEncoder } from "../../lib/cameras/gstreamer.ts";

/** A camera with every default (test source, 640x480@30, h264, 2 Mbit/s, keyframe every 30), then `fields`. */
function camera(fields: Partial<CameraConfig> = {}): CameraConfig {
  return { ...validateConfig({ cameras: [{ name: "cam" }] }).cameras[0], ...fields };
}

const RESOLVED = ENCODER_NAMES.filter((e): e is ResolvedEncoder => e !== "auto");

/** The argv split at each "!" into one token list per element or caps. */
function stages(argv: string[]): string[][] {
  assert.equal(argv[0], "-q");
  return argv.slice(1).join("\u0000").split("\u0000!\u0000").map((s) => s.split("\u0000"));
}

const GUARD = ["queue", "max-size-buffers=2", "max-size-bytes=0", "max-size-time=0", "leaky=downstream"];
const H264_TAIL = [
  ["h264parse", "config-interval=-1"],
  ["video/x-h264,stream-format=byte-stream,alignment=au"],
  ["fdsink", "fd=1", "sync=false"],
];

Deno.test("the default camera with x264: the whole argv", () => {
  assert.deepEqual(buildPipeline(camera(), "x264"), [
    "-q",
    ...["videotestsrc", "is-live=true", "pattern=smpte", "!"],
    ...["video/x-raw,width=640,height=480,framerate=30/1", "!"],
    ...["queue", "max-size-buffers=2", "max-size-bytes=0", "max-size-time=0", "leaky=downstream", "!"],
    ...["videoconvert", "!"],
    ...[
      "x264enc",
      "tune=zerolatency",
      "speed-preset=ultrafast",
      "bitrate=2000",
      "key-int-max=30",
      "threads=1",
      "!",
    ],
    ...["video/x-h264,profile=constrained-baseline", "!"],
    ...["h264parse", "config-interval=-1", "!"],
    ...["video/x-h264,stream-format=byte-stream,alignment=au", "!"],
    ...["fdsink", "fd=1", "sync=false"],
  ]);
});

Deno.test("each encoder: its elements, with bitrate in the unit that element takes", async (t) => {
  const cam = { bitrate: 1_500_000, keyframeInterval: 60 };
  const cases: [ResolvedEncoder, string[][]][] = [
    ["x264", [
      ["videoconvert"],
      [
        "x264enc",
        "tune=zerolatency",
        "speed-preset=ultrafast",
        "bitrate=1500",
        "key-int-max=60",
        "threads=1",
      ],
      ["video/x-h264,profile=constrained-baseline"],
      ...H264_TAIL,
    ]],
    ["openh264", [
      ["videoconvert"],
      [
        "openh264enc",
        "bitrate=1500000",
        "gop-size=60",
        "rate-control=bitrate",
        "slice-mode=n-slices",
        "num-slices=1",
        "complexity=low",
      ],
      ["video/x-h264,profile=constrained-baseline"],
      ...H264_TAIL,
    ]],
    ["v4l2", [
      ["videoconvert"],
      [
        "v4l2h264enc",
        "extra-controls=controls,video_bitrate=1500000,h264_i_frame_period=60,repeat_sequence_header=1",
      ],
      ["video/x-h264,level=(string)4,profile=(string)constrained-baseline"],
      ...H264_TAIL,
    ]],
    ["nvv4l2", [
      ["nvvidconv"],
      ["video/x-raw(memory:NVMM),format=I420"],
      [
        "nvv4l2h264enc",
        "bitrate=1500000",
        "iframeinterval=60",
        "idrinterval=60",
        "control-rate=1",
        "preset-level=1",
        "profile=0",
        "insert-sps-pps=true",
        "maxperf-enable=true",
      ],
      ...H264_TAIL,
    ]],
    ["vp8", [
      ["videoconvert"],
      [
        "vp8enc",
        "deadline=1",
        "cpu-used=-8",
        "threads=1",
        "target-bitrate=1500000",
        "keyframe-max-dist=60",
        "end-usage=cbr",
        "lag-in-frames=0",
        "error-resilient=default",
      ],
      ["webmmux", "streamable=true"],
      ["fdsink", "fd=1", "sync=false"],
    ]],
  ];
  for (const [encoder, expected] of cases) {
    await t.step(encoder, () => {
      const all = stages(buildPipeline(camera({ ...cam, codec: ENCODER_CODEC[encoder] }), encoder));
      assert.deepEqual(all.slice(all.findIndex((s) => s[0] === "queue") + 1), expected);
    });
  }
});

Deno.test("each source: the elements and caps before the memory guard", async (t) => {
  const cases: [string, Partial<CameraConfig>, string[][]][] = [
    ["test pattern", { pattern: "ball" }, [
      ["videotestsrc", "is-live=true", "pattern=ball"],
      ["video/x-raw,width=640,height=480,framerate=30/1"],
    ]],
    ["libcamera, first camera", { source: "libcamera", device: "" }, [
      ["libcamerasrc"],
      ["video/x-raw,format=NV12,width=640,height=480,framerate=30/1"],
    ]],
    ["libcamera, named camera", { source: "libcamera", device: "/base/soc/i2c0mux/i2c@1/imx219@10" }, [
      ["libcamerasrc", "camera-name=/base/soc/i2c0mux/i2c@1/imx219@10"],
      ["video/x-raw,format=NV12,width=640,height=480,framerate=30/1"],
    ]],
    ["v4l2", { source: "v4l2", device: "/dev/video2", width: 1280, height: 720, fps: 15 }, [
      ["v4l2src", "device=/dev/video2"],
      ["video/x-raw,width=1280,height=720,framerate=15/1"],
    ]],
  ];
  for (const [name, fields, expected] of cases) {
    await t.step(name, () => {
      const all = stages(buildPipeline(camera(fields), "x264"));
      assert.deepEqual(all.slice(0, all.findIndex((s) => s[0] === "queue")), expected);
    });
  }
});

Deno.test("scaling: the source keeps its size, videoscale makes width x height after the guard", async (t) => {
  const cases: [string, Partial<CameraConfig>, string[][]][] = [
    ["test", {}, [
      ["videotestsrc", "is-live=true", "pattern=smpte"],
      ["video/x-raw,framerate=30/1"],
      GUARD,
      ["videoscale"],
      ["video/x-raw,width=640,height=480"],
      ["videoconvert"],
    ]],
    ["libcamera", { source: "libcamera" }, [
      ["libcamerasrc"],
      ["video/x-raw,format=NV12,framerate=30/1"],
      GUARD,
      ["videoscale"],
      ["video/x-raw,width=640,height=480"],
      ["videoconvert"],
    ]],
  ];
  for (const [name, fields, expected] of cases) {
    await t.step(name, () => {
      const all = stages(buildPipeline(camera({ ...fields, scalingEnabled: true }), "x264"));
      assert.deepEqual(all.slice(0, expected.length), expected);
    });
  }
});

Deno.test("flip methods map to videoflip video-direction nicks, none adds no element", async (t) => {
  const cases: [CameraConfig["flipMethod"], string[][]][] = [
    ["none", []],
    ["vertical-flip", [["videoflip", "video-direction=vert"]]],
    ["horizontal-flip", [["videoflip", "video-direction=horiz"]]],
    ["rotate-90", [["videoflip", "video-direction=90r"]]],
    ["rotate-180", [["videoflip", "video-direction=180"]]],
    ["rotate-270", [["videoflip", "video-direction=90l"]]],
  ];
  assert.deepEqual(cases.map(([m]) => m), [...FLIP_METHODS], "every flip method has a row");
  for (const [flipMethod, expected] of cases) {
    await t.step(flipMethod, () => {
      const all = stages(buildPipeline(camera({ flipMethod }), "x264"));
      const guard = all.findIndex((s) => s[0] === "queue");
      const convert = all.findIndex((s) => s[0] === "videoconvert");
      assert.deepEqual(all.slice(guard + 1, convert), expected);
    });
  }
});

Deno.test("every source x encoder x flip x scaling: same frame of a pipeline", () => {
  let count = 0;
  for (const source of SOURCE_KINDS) {
    for (const encoder of RESOLVED) {
      for (const flipMethod of FLIP_METHODS) {
        for (const scalingEnabled of [false, true]) {
          const device = { test: "", libcamera: "", v4l2: "/dev/video0" }[source];
          const cam = camera({ source, device, flipMethod, scalingEnabled, codec: ENCODER_CODEC[encoder] });
          const argv = buildPipeline(cam, encoder);
          const all = stages(argv);
          const names = all.map((s) => s[0]);
          const where = JSON.stringify(argv);
          assert.equal(
            names[0],
            { test: "videotestsrc", libcamera: "libcamerasrc", v4l2: "v4l2src" }[source],
            where,
          );
          assert.ok(names[1].startsWith("video/x-raw,"), where);
          assert.deepEqual(all[2], GUARD, where);
          assert.equal(names.includes("videoscale"), scalingEnabled, where);
          assert.equal(names.includes("videoflip"), flipMethod !== "none", where);
          assert.equal(names.includes(encoder === "nvv4l2" ? "nvvidconv" : "videoconvert"), true, where);
          assert.deepEqual(all.at(-1), ["fdsink", "fd=1", "sync=false"], where);
          // gst-launch re-joins argv with spaces: no token may carry a space or a "!" of its own.
          assert.ok(argv.every((a) => a === "!" || !/[\s!]/.test(a)), where);
          count++;
        }
      }
    }
  }
  assert.equal(count, 3 * 5 * 6 * 2);
});

Deno.test("an encoder that cannot make the camera's codec is a programming error", () => {
  assert.throws(() => buildPipeline(camera({ codec: "vp8" }), "x264"), /encoder x264 cannot produce vp8/);
  assert.throws(() => buildPipeline(camera({ codec: "h264" }), "vp8"), /encoder vp8 cannot produce h264/);
});
