import assert from "node:assert/strict";
import { UnsupportedError } from "../../lib/errors.ts";
import { snapshotPipeline } from "../../lib/outputs/snapshot.ts";
import type { Codec } from "../../lib/stream/access_unit.ts";

/** What every snapshot pipeline needs besides its parser and decoder. */
const COMMON = ["fdsrc", "fdsink", "videoconvert", "jpegenc"];
/** This machine: GStreamer from Debian 12 with libav, plugins-bad and plugins-good. */
const DESKTOP = [...COMMON, "h264parse", "avdec_h264", "openh264dec", "ivfparse", "vp8dec"];

const h264 = (decoder: string) => [
  "-q",
  ...["fdsrc", "fd=0", "!", "h264parse", "!", decoder, "!", "videoconvert", "!"],
  ...["jpegenc", "quality=85", "!", "fdsink", "fd=1"],
];
const VP8 = [
  "-q",
  ...["fdsrc", "fd=0", "!", "ivfparse", "!", "vp8dec", "!", "videoconvert", "!"],
  ...["jpegenc", "quality=85", "!", "fdsink", "fd=1"],
];

Deno.test("snapshotPipeline: the argv for each decoder, or what to install", async (t) => {
  const cases: [string, Codec, string[], string[] | RegExp][] = [
    ["H.264 prefers libav", "h264", DESKTOP, h264("avdec_h264")],
    ["H.264 without libav: openh264", "h264", [...COMMON, "h264parse", "openh264dec"], h264("openh264dec")],
    [
      "H.264 on a Raspberry Pi with only its hardware decoder",
      "h264",
      [...COMMON, "h264parse", "v4l2h264dec"],
      h264("v4l2h264dec"),
    ],
    ["openh264 is preferred to the V4L2 decoder", "h264", [
      ...COMMON,
      "h264parse",
      "openh264dec",
      "v4l2h264dec",
    ], h264("openh264dec")],
    ["VP8 through IVF", "vp8", DESKTOP, VP8],
    [
      "H.264 with no decoder names libav's package",
      "h264",
      [...COMMON, "h264parse", "ivfparse", "vp8dec"],
      /none of avdec_h264, openh264dec, v4l2h264dec is installed: install gstreamer1\.0-libav$/,
    ],
    [
      "H.264 without h264parse",
      "h264",
      [...COMMON, "avdec_h264"],
      /^snapshots of H\.264 cannot be made: h264parse not found: install gstreamer1\.0-plugins-bad$/,
    ],
    [
      "VP8 without ivfparse",
      "vp8",
      [...COMMON, "vp8dec"],
      /ivfparse not found: install gstreamer1\.0-plugins-bad$/,
    ],
    [
      "VP8 without vp8dec",
      "vp8",
      [...COMMON, "ivfparse"],
      /vp8dec not found: install gstreamer1\.0-plugins-good$/,
    ],
    [
      "no jpegenc: every missing element is named",
      "vp8",
      ["fdsrc", "fdsink", "ivfparse", "vp8dec"],
      /videoconvert not found: install gstreamer1\.0-plugins-base; jpegenc not found: install gstreamer1\.0-plugins-good$/,
    ],
    ["nothing installed (gst-inspect failed)", "h264", [], /install gstreamer1\.0-libav$/],
  ];
  for (const [what, codec, elements, expected] of cases) {
    await t.step(what, () => {
      if (expected instanceof RegExp) {
        assert.throws(() => snapshotPipeline(codec, new Set(elements)), (err: Error) => {
          assert.ok(err instanceof UnsupportedError, `${err.name}: ${err.message}`);
          assert.match(err.message, expected);
          return true;
        });
      } else {
        assert.deepEqual(snapshotPipeline(codec, new Set(elements)), expected);
      }
    });
  }
});
