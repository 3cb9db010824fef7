/**
 * Which encoder a camera gets: the GStreamer elements each encoder needs, the Debian package behind each
 * element, and the choice behind `auto`. Only {@link listElements} runs a program; the rest is pure.
 */
import type { CameraConfig, SourceKind } from "../config/schema.ts";
import type { ResolvedEncoder } from "./gstreamer.ts";

/** The program that lists installed elements. */
export const GST_INSPECT = "gst-inspect-1.0";

/** Every element the pipeline of each encoder needs, parser or muxer included. */
export const ENCODER_ELEMENTS: Record<ResolvedEncoder, string[]> = {
  x264: ["x264enc", "h264parse"],
  openh264: ["openh264enc", "h264parse"],
  v4l2: ["v4l2h264enc", "h264parse"],
  nvv4l2: ["nvvidconv", "nvv4l2h264enc", "h264parse"],
  vp8: ["vp8enc", "webmmux"],
};

const SOURCE_ELEMENT: Record<SourceKind, string> = {
  test: "videotestsrc",
  libcamera: "libcamerasrc",
  v4l2: "v4l2src",
};

const JETPACK = "install nvidia-l4t-gstreamer (NVIDIA JetPack)";

/** What to do about each missing element (Debian 12 / Raspberry Pi OS package names). */
const INSTALL_HINT: Record<string, string> = {
  videotestsrc: "install gstreamer1.0-plugins-base",
  libcamerasrc: "install gstreamer1.0-libcamera",
  v4l2src: "install gstreamer1.0-plugins-good",
  x264enc: "install gstreamer1.0-plugins-ugly",
  openh264enc: "install gstreamer1.0-plugins-bad",
  h264parse: "install gstreamer1.0-plugins-bad",
  // The plugin is installed almost everywhere; the element only registers where the kernel exposes a
  // V4L2 memory-to-memory H.264 encoder.
  v4l2h264enc:
    "install gstreamer1.0-plugins-good; it only appears where a V4L2 hardware encoder exists (Raspberry Pi 4; the Pi 5 has none)",
  nvvidconv: JETPACK,
  nvv4l2h264enc: JETPACK,
  vp8enc: "install gstreamer1.0-plugins-good",
  webmmux: "install gstreamer1.0-plugins-good",
};

/** `auto` for H.264: hardware first, then x264 (faster than openh264 at the same quality). */
const AUTO_H264: ResolvedEncoder[] = ["v4l2", "nvv4l2", "x264", "openh264"];

/** Element names from the plain `gst-inspect-1.0` listing (lines like `x264:  x264enc: x264 H.264 Encoder`). */
export function parseInspectOutput(text: string): Set<string> {
  // Typefinders ("typefindfunctions: video/x-h264: ...") have a '/' in the name, and device providers
  // or tracers ("video4linux2:  v4l2deviceprovider (Gst...Factory)") no second colon: neither matches.
  const element = /^[\w.+-]+:\s+([A-Za-z0-9][\w-]*):\s/;
  const names = new Set<string>();
  for (const line of text.split("\n")) {
    const match = element.exec(line);
    if (match) names.add(match[1]);
  }
  return names;
}

/** Runs `gst-inspect-1.0` once and returns the names of every installed element. */
export async function listElements(): Promise<Set<string>> {
  let output: Deno.CommandOutput;
  try {
    output = await new Deno.Command(GST_INSPECT, { stdin: "null", stdout: "piped", stderr: "piped" })
      .output();
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) {
      throw new Error(`${GST_INSPECT} not found: install gstreamer1.0-tools`);
    }
    throw err;
  }
  if (!output.success) {
    const stderr = new TextDecoder().decode(output.stderr).trim();
    throw new Error(`${GST_INSPECT} exited with code ${output.code}: ${stderr}`);
  }
  return parseInspectOutput(new TextDecoder().decode(output.stdout));
}

/** The encoder a camera resolved to at start, or why it cannot run. */
export type Resolution = { encoder: ResolvedEncoder } | { error: string };

/**
 * Picks the encoder for `camera` from the installed `elements`, or says what to install: a missing
 * source element and a missing encoder are both reported, joined by "; ".
 */
export function resolveEncoder(camera: CameraConfig, elements: Set<string>): Resolution {
  const sourceErrors = missing([SOURCE_ELEMENT[camera.source]], elements);
  const choice = chooseEncoder(camera, elements);
  if (sourceErrors.length > 0 || "error" in choice) {
    return { error: [...sourceErrors, ...("error" in choice ? [choice.error] : [])].join("; ") };
  }
  return choice;
}

function chooseEncoder(camera: CameraConfig, elements: Set<string>): Resolution {
  if (camera.encoder !== "auto") {
    const absent = missing(ENCODER_ELEMENTS[camera.encoder], elements);
    return absent.length === 0 ? { encoder: camera.encoder } : { error: absent.join("; ") };
  }
  if (camera.codec === "vp8") return chooseEncoder({ ...camera, encoder: "vp8" }, elements);
  const found = AUTO_H264.find((e) => missing(ENCODER_ELEMENTS[e], elements).length === 0);
  if (found) return { encoder: found };
  // Hardware encoders cannot be installed on a machine without the hardware: name the software fix.
  const fix = missing(ENCODER_ELEMENTS.x264, elements).join("; ");
  return { error: `no H.264 encoder found (tried ${AUTO_H264.join(", ")}): ${fix}` };
}

function missing(needed: string[], elements: Set<string>): string[] {
  return needed.filter((e) => !elements.has(e)).map((e) => `${e} not found: ${INSTALL_HINT[e]}`);
}
