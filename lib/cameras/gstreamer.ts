/**
 * The camera pipeline as a pure function of its config: the argv for `gst-launch-1.0`, never a shell
 * string. Property names, nicks and units were checked with `gst-inspect-1.0` (GStreamer 1.22).
 */
import type { CameraConfig, FlipMethod } from "../config/schema.ts";
import type { Codec } from "../stream/access_unit.ts";

/** A concrete encoder, after `auto` was resolved against the installed elements. */
export type ResolvedEncoder = "x264" | "openh264" | "v4l2" | "nvv4l2" | "vp8";

/** The codec each encoder produces. */
export const ENCODER_CODEC: Record<ResolvedEncoder, Codec> = {
  x264: "h264",
  openh264: "h264",
  v4l2: "h264",
  nvv4l2: "h264",
  vp8: "vp8",
};

/**
 * videoflip `video-direction` nicks. The older `method` property takes other nicks (clockwise, ...)
 * but gst-inspect marks it deprecated.
 */
const VIDEO_DIRECTION: Record<Exclude<FlipMethod, "none">, string> = {
  "vertical-flip": "vert",
  "horizontal-flip": "horiz",
  "rotate-90": "90r",
  "rotate-180": "180",
  "rotate-270": "90l",
};

/**
 * Returns the `gst-launch-1.0` argv that captures `camera` and writes the encoded stream to stdout:
 * H.264 as Annex-B, one access unit per write, parameter sets before every IDR; VP8 as streamable WebM.
 * gst-launch joins its argv into one description and parses it, so every token here is fixed text or a
 * number, apart from the camera's device, which config validation restricts to plain path characters.
 */
export function buildPipeline(camera: CameraConfig, encoder: ResolvedEncoder): string[] {
  if (ENCODER_CODEC[encoder] !== camera.codec) {
    throw new Error(`encoder ${encoder} cannot produce ${camera.codec} (camera ${camera.name})`);
  }
  const stages = [
    [...source(camera), "!", ...rawCaps(camera)],
    // The memory guard sits right after capture: when encoding falls behind, old frames are dropped
    // here, before scaling and flipping spend CPU on them, and the capture thread never blocks.
    ["queue", "max-size-buffers=2", "max-size-bytes=0", "max-size-time=0", "leaky=downstream"],
    ...scale(camera),
    ...flip(camera.flipMethod),
    ...encode(camera, encoder),
    ...tail(camera.codec),
  ];
  return ["-q", ...stages.flatMap((stage, i) => i === 0 ? stage : ["!", ...stage])];
}

function source(camera: CameraConfig): string[] {
  switch (camera.source) {
    case "test":
      return ["videotestsrc", "is-live=true", `pattern=${camera.pattern}`];
    case "libcamera":
      return ["libcamerasrc", ...(camera.device ? [`camera-name=${camera.device}`] : [])];
    case "v4l2":
      return ["v4l2src", `device=${camera.device}`];
  }
}

/** Caps right after the source: the full size, or only the frame rate when scaling is on. */
function rawCaps(camera: CameraConfig): string[] {
  // Raspberry Pi's camera docs (and the Pion-based Pi camera streamer) pin NV12 for libcamerasrc: a
  // format its ISP outputs directly.
  const format = camera.source === "libcamera" ? "format=NV12," : "";
  const size = camera.scalingEnabled ? "" : `width=${camera.width},height=${camera.height},`;
  return [`video/x-raw,${format}${size}framerate=${camera.fps}/1`];
}

function scale(camera: CameraConfig): string[][] {
  if (!camera.scalingEnabled) return [];
  return [["videoscale"], [`video/x-raw,width=${camera.width},height=${camera.height}`]];
}

function flip(method: FlipMethod): string[][] {
  return method === "none" ? [] : [["videoflip", `video-direction=${VIDEO_DIRECTION[method]}`]];
}

/** Colour conversion and the encoder, each stage one element or caps. */
function encode(camera: CameraConfig, encoder: ResolvedEncoder): string[][] {
  const bps = camera.bitrate;
  const ki = camera.keyframeInterval;
  // Chromium's WebRTC stack decodes no High profile; every H.264 encoder is held to Constrained Baseline.
  const baseline = ["video/x-h264,profile=constrained-baseline"];
  switch (encoder) {
    case "x264":
      // threads=1 gives one slice per frame (several slices confuse jmuxer); bitrate is in kbit/s.
      return [
        ["videoconvert"],
        [
          "x264enc",
          "tune=zerolatency",
          "speed-preset=ultrafast",
          `bitrate=${Math.round(bps / 1000)}`,
          `key-int-max=${ki}`,
          "threads=1",
        ],
        baseline,
      ];
    case "openh264":
      // bitrate in bit/s; rate-control defaults to "quality", which ignores the bitrate.
      return [
        ["videoconvert"],
        [
          "openh264enc",
          `bitrate=${bps}`,
          `gop-size=${ki}`,
          "rate-control=bitrate",
          "slice-mode=n-slices",
          "num-slices=1",
          "complexity=low",
        ],
        baseline,
      ];
    case "v4l2":
      // The Pi 4's bcm2835-codec: settings go through V4L2 controls, bitrate in bit/s. Its driver
      // defaults to High profile, and without a level in the caps negotiation fixates a level too low
      // for the frame size and the firmware refuses to start (raspberrypi/linux#3974); level 4 covers
      // 1080p30, the codec's design point. repeat_sequence_header puts SPS/PPS before every IDR.
      return [
        ["videoconvert"],
        [
          "v4l2h264enc",
          `extra-controls=controls,video_bitrate=${bps},h264_i_frame_period=${ki},repeat_sequence_header=1`,
        ],
        ["video/x-h264,level=(string)4,profile=(string)constrained-baseline"],
      ];
    case "nvv4l2":
      // Jetson: nvvidconv replaces videoconvert to move frames into NVMM memory. bitrate in bit/s;
      // iframeinterval alone yields non-IDR I-frames, and IDRs default to every 256 frames, so
      // idrinterval is set too: a new viewer can only start at an IDR. profile=0 is Baseline.
      return [
        ["nvvidconv"],
        ["video/x-raw(memory:NVMM),format=I420"],
        [
          "nvv4l2h264enc",
          `bitrate=${bps}`,
          `iframeinterval=${ki}`,
          `idrinterval=${ki}`,
          "control-rate=1",
          "preset-level=1",
          "profile=0",
          "insert-sps-pps=true",
          "maxperf-enable=true",
        ],
      ];
    case "vp8":
      // threads=1 cpu-used=-8 held real time on 2 cores where threads=2 did not. target-bitrate in bit/s.
      // error-resilient=default lets a decoder carry on after a lost frame, which WebRTC viewers see.
      return [
        ["videoconvert"],
        [
          "vp8enc",
          "deadline=1",
          "cpu-used=-8",
          "threads=1",
          `target-bitrate=${bps}`,
          `keyframe-max-dist=${ki}`,
          "end-usage=cbr",
          "lag-in-frames=0",
          "error-resilient=default",
        ],
      ];
  }
}

/** How encoded frames leave on stdout with their boundaries intact. */
function tail(codec: Codec): string[][] {
  const stdout = ["fdsink", "fd=1", "sync=false"];
  if (codec === "vp8") return [["webmmux", "streamable=true"], stdout];
  // config-interval=-1: SPS/PPS in front of every IDR, so any keyframe is a starting point.
  return [
    ["h264parse", "config-interval=-1"],
    ["video/x-h264,stream-format=byte-stream,alignment=au"],
    stdout,
  ];
}
