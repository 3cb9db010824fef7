/**
 * Real demuxers' view of a media file: ffprobe's streams and packets and a GStreamer decode, each failing
 * with the apt package to install when its program or element is missing.
 */
import assert from "node:assert/strict";

/** The Debian package of each program and GStreamer element the checks use. */
export const INSTALL: Record<string, string> = {
  "ffprobe": "ffmpeg",
  "gst-launch-1.0": "gstreamer1.0-tools",
  "gst-inspect-1.0": "gstreamer1.0-tools",
  "qtdemux": "gstreamer1.0-plugins-good",
  "ivfparse": "gstreamer1.0-plugins-bad",
  "h264parse": "gstreamer1.0-plugins-bad",
  "avdec_h264": "gstreamer1.0-libav",
  "vp8dec": "gstreamer1.0-plugins-good",
  "opusdec": "gstreamer1.0-plugins-base",
  "opusenc": "gstreamer1.0-plugins-base",
  "webmmux": "gstreamer1.0-plugins-good",
  "audiotestsrc": "gstreamer1.0-plugins-base",
};

/** Runs a program to its end; fails naming the package to install when it is missing. */
export async function run(
  cmd: string,
  args: string[],
  env: Record<string, string> = {},
): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const out = await new Deno.Command(cmd, { args, env, stdout: "piped", stderr: "piped" }).output();
    const text = new TextDecoder();
    return { code: out.code, stdout: text.decode(out.stdout), stderr: text.decode(out.stderr) };
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) {
      throw new Error(`${cmd} is not installed: apt install ${INSTALL[cmd]}`);
    }
    throw e;
  }
}

/** Elements already found, so each is looked up once per test process. */
const checkedElements = new Set<string>();

/** Fails naming the package to install for the first of these GStreamer elements that is missing. */
export async function requireElements(...elements: string[]): Promise<void> {
  for (const element of elements) {
    if (checkedElements.has(element)) continue;
    const { code } = await run("gst-inspect-1.0", [element]);
    assert.equal(code, 0, `GStreamer element ${element} is missing: apt install ${INSTALL[element]}`);
    checkedElements.add(element);
  }
}

/** One stream as ffprobe describes it. */
export interface ProbedStream {
  codec_name: string;
  codec_type: string;
  nb_read_frames: string;
  width?: number;
  height?: number;
}

/**
 * ffprobe's view of the streams, every frame decoded to count it. A whole file must draw no warning;
 * a `partial` one (cut mid-fragment) is expected to.
 */
export async function probeStreams(file: string, partial = false): Promise<ProbedStream[]> {
  const { code, stdout, stderr } = await run("ffprobe", [
    "-v",
    "warning",
    "-count_frames",
    "-show_entries",
    "stream=codec_name,codec_type,nb_read_frames,width,height",
    "-of",
    "json",
    file,
  ]);
  assert.equal(code, 0, `ffprobe failed: ${stderr}`);
  if (!partial) assert.equal(stderr, "", "ffprobe warnings");
  return JSON.parse(stdout).streams;
}

/** ffprobe's packets of the first stream of a type: presentation time in seconds, and the keyframe flag. */
export async function probePackets(
  file: string,
  type: "v" | "a" = "v",
): Promise<{ pts: number; keyframe: boolean }[]> {
  const { code, stdout, stderr } = await run("ffprobe", [
    "-v",
    "error",
    "-select_streams",
    `${type}:0`,
    "-show_entries",
    "packet=pts_time,flags",
    "-of",
    "json",
    file,
  ]);
  assert.equal(code, 0, `ffprobe failed: ${stderr}`);
  return JSON.parse(stdout).packets.map((p: { pts_time: string; flags: string }) => ({
    pts: Number(p.pts_time),
    keyframe: p.flags.startsWith("K"),
  }));
}

/**
 * Runs a gst-launch pipeline whose branches end in fakesinks named by the caller, and returns the exit
 * code, the warnings and errors, and the start time (seconds) of each buffer each sink rendered, i.e.
 * of each decoded frame. Read from basesink's debug log, which is written line by line under a lock:
 * `-v` with fakesink's last-message is not, and coalesces or repeats frames when two sinks are busy.
 */
export async function gstDecode(
  pipeline: string,
): Promise<{ code: number; errors: string; pts: Record<string, number[]> }> {
  const { code, stderr } = await run("gst-launch-1.0", ["-q", ...pipeline.split(/\s+/)], {
    GST_DEBUG: "*:2,basesink:5",
    GST_DEBUG_NO_COLOR: "1",
  });
  const pts: Record<string, number[]> = {};
  const rendered = /gst_base_sink_chain_unlocked:<(\w+)> got times start: (\d+):(\d+):(\d+\.\d+)/;
  const errors: string[] = [];
  for (const line of stderr.split("\n")) {
    const m = rendered.exec(line);
    if (m) (pts[m[1]] ??= []).push(Number(m[2]) * 3600 + Number(m[3]) * 60 + Number(m[4]));
    else if (/ (ERROR|WARN) /.test(line) || line.startsWith("ERROR")) errors.push(line);
  }
  return { code, errors: errors.join("\n"), pts };
}
