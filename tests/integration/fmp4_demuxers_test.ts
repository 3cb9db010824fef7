/**
 * Files written by lib/media/fmp4.ts (and lib/media/ivf.ts) from real encoder output, read back by the
 * demuxers our viewers and tools use: ffmpeg's (ffprobe) and GStreamer's qtdemux, decoding every frame.
 * A missing tool fails the test with the package to install: a skipped demuxer test proves nothing.
 */

import assert from "node:assert/strict";
import {
  annexBToAvcc,
  dropSamplesBefore,
  fragment,
  initSegment,
  type Mp4Sample,
  type Mp4Track,
  parseMp4,
  retimeFragment,
  type TrackRun,
} from "../../lib/media/fmp4.ts";
import { ivfFrame, ivfHeader } from "../../lib/media/ivf.ts";
import { H264Assembler } from "../../lib/media/h264/assembler.ts";
import { nalUnits } from "../../lib/media/h264/annexb.ts";
import { NAL, nalType, parseSps } from "../../lib/media/h264/sps.ts";
import { WebmDemuxer } from "../../lib/media/webm.ts";
import {
  gstDecode,
  INSTALL,
  probePackets,
  probeStreams,
  requireElements,
  run,
} from "../helpers/media_probe.ts";
import { concat } from "../../lib/media/bytes.ts";

// ---------------------------------------------------------------------------------------------------------
// Tools

const sink = (name: string) => `fakesink name=${name} sync=false`;

// ---------------------------------------------------------------------------------------------------------
// Real encoder output

const fixture = (name: string) => Deno.readFileSync(new URL(`../fixtures/${name}`, import.meta.url));
const FRAME_TICKS = 3000; // 30 fps at 90 kHz
const SECOND = 90000;

/** The H.264 fixture cut into access units, as avc1 samples, and the track that describes them. */
function h264Source(): { track: Mp4Track & { codec: "avc1" }; samples: Mp4Sample[] } {
  const assembler = new H264Assembler();
  const aus = assembler.push(fixture("testsrc_h264_320x240.h264"));
  const last = assembler.flush();
  if (last) aus.push(last);
  const first = [...nalUnits(aus[0].data)];
  const sps = first.find((n) => nalType(n) === NAL.SPS)!;
  const pps = first.find((n) => nalType(n) === NAL.PPS)!;
  const info = parseSps(sps)!;
  return {
    track: {
      id: 1,
      kind: "video",
      codec: "avc1",
      timescale: SECOND,
      width: info.width,
      height: info.height,
      sps,
      pps,
    },
    samples: aus.map((au) => ({ data: annexBToAvcc(au.data), duration: FRAME_TICKS, keyframe: au.keyframe })),
  };
}

/** The VP8 fixture's frames, as vp08 samples. */
function vp8Source(): { track: Mp4Track; samples: Mp4Sample[] } {
  const demuxer = new WebmDemuxer();
  const frames = demuxer.push(fixture("testsrc_vp8_320x240.webm"));
  return {
    track: {
      id: 1,
      kind: "video",
      codec: "vp08",
      timescale: SECOND,
      width: demuxer.width!,
      height: demuxer.height!,
    },
    samples: frames.map((f) => ({ data: f.data, duration: FRAME_TICKS, keyframe: f.keyframe })),
  };
}

const OPUS_PACKET_TICKS = 960; // 20 ms at 48 kHz
/** opusenc's lookahead at 48 kHz, which it writes as the OpusHead pre-skip. */
const OPUSENC_PRE_SKIP = 312;

/** Two seconds of Opus packets from opusenc (20 ms frames, stereo), taken out of the WebM it is muxed in. */
async function opusSource(dir: string): Promise<{ track: Mp4Track; samples: Mp4Sample[] }> {
  await requireElements("audiotestsrc", "opusenc", "webmmux");
  const file = `${dir}/opus.webm`;
  const { code, stderr } = await run("gst-launch-1.0", [
    "-q",
    ..."audiotestsrc num-buffers=100 samplesperbuffer=960 ! audio/x-raw,rate=48000,channels=2 ! opusenc frame-size=20 ! webmmux !"
      .split(" "),
    "filesink",
    `location=${file}`,
  ]);
  assert.equal(code, 0, stderr);
  const packets = new WebmDemuxer().push(Deno.readFileSync(file));
  // The durations below assume 20 ms packets; the WebM timestamps check that.
  packets.forEach((p, i) => assert.equal(p.timestampMs, i * 20));
  return {
    track: { id: 2, kind: "audio", codec: "Opus", timescale: 48000, channels: 2, preSkip: OPUSENC_PRE_SKIP },
    samples: packets.map((p) => ({ data: p.data, duration: OPUS_PACKET_TICKS, keyframe: true })),
  };
}

// ---------------------------------------------------------------------------------------------------------
// Building files

/** Video samples cut into fragments of `perFragment`, with `gap` ticks added before fragment `gapAt` on. */
function videoFragments(samples: Mp4Sample[], perFragment: number, gapAt = Infinity, gap = 0): TrackRun[][] {
  const out: TrackRun[][] = [];
  for (let i = 0, f = 0; i < samples.length; i += perFragment, f++) {
    out.push([{
      trackId: 1,
      baseDecodeTime: i * FRAME_TICKS + (f >= gapAt ? gap : 0),
      samples: samples.slice(i, i + perFragment),
    }]);
  }
  return out;
}

/** Presentation times in seconds of `count` frames at 30 fps, `gap` ticks later from frame `gapFrom` on. */
function expectedTimes(count: number, gapFrom = Infinity, gap = 0): number[] {
  return Array.from({ length: count }, (_, i) => (i * FRAME_TICKS + (i >= gapFrom ? gap : 0)) / SECOND);
}

function mp4(tracks: Mp4Track[], fragments: TrackRun[][]): Uint8Array {
  return concat([initSegment(tracks), ...fragments.map((runs, i) => fragment(i + 1, runs))]);
}

function assertTimes(actual: number[], expected: number[], what: string): void {
  assert.equal(actual.length, expected.length, `${what}: ${actual.length} frames, not ${expected.length}`);
  actual.forEach((t, i) =>
    assert.ok(Math.abs(t - expected[i]) < 1e-5, `${what}: frame ${i} at ${t}, not ${expected[i]}`)
  );
}

async function withTempDir(fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "edgecam-fmp4-" });
  try {
    await fn(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

const H264_PIPELINE = (file: string) =>
  `filesrc location=${file} ! qtdemux ! h264parse ! avdec_h264 ! ${sink("v")}`;
const VP8_PIPELINE = (file: string) => `filesrc location=${file} ! qtdemux ! vp8dec ! ${sink("v")}`;

// ---------------------------------------------------------------------------------------------------------
// Tests

Deno.test("fmp4 H.264: ffprobe and qtdemux decode every frame at its time, keyframes inside fragments, a gap", async () => {
  await requireElements("qtdemux", "h264parse", "avdec_h264");
  const { track, samples } = h264Source();
  assert.equal(samples.length, 60);
  // 8 frames a fragment puts the second keyframe (frame 30) in the middle of fragment 3, as part_ms
  // cutting does with long GOPs; from fragment 4 (frame 32) on, the clock jumps one second.
  const file = mp4([track], videoFragments(samples, 8, 4, SECOND));
  const times = expectedTimes(60, 32, SECOND);
  await withTempDir(async (dir) => {
    const path = `${dir}/h264.mp4`;
    await Deno.writeFile(path, file);
    assert.deepEqual(await probeStreams(path), [
      { codec_name: "h264", codec_type: "video", width: 320, height: 240, nb_read_frames: "60" },
    ]);
    const packets = await probePackets(path);
    assertTimes(packets.map((p) => p.pts), times, "ffprobe");
    assert.deepEqual(packets.flatMap((p, i) => p.keyframe ? [i] : []), [0, 30]);
    const gst = await gstDecode(H264_PIPELINE(path));
    assert.equal(gst.code, 0, gst.errors);
    assertTimes(gst.pts.v ?? [], times, "qtdemux");
  });
});

Deno.test("fmp4 VP8: ffprobe and qtdemux decode every frame at its time, with a one-second gap", async () => {
  await requireElements("qtdemux", "vp8dec");
  const { track, samples } = vp8Source();
  assert.equal(samples.length, 60);
  const file = mp4([track], videoFragments(samples, 10, 3, SECOND));
  const times = expectedTimes(60, 30, SECOND);
  await withTempDir(async (dir) => {
    const path = `${dir}/vp8.mp4`;
    await Deno.writeFile(path, file);
    assert.deepEqual(await probeStreams(path), [
      { codec_name: "vp8", codec_type: "video", width: 320, height: 240, nb_read_frames: "60" },
    ]);
    const packets = await probePackets(path);
    assertTimes(packets.map((p) => p.pts), times, "ffprobe");
    assert.deepEqual(packets.flatMap((p, i) => p.keyframe ? [i] : []), [0, 30]);
    const gst = await gstDecode(VP8_PIPELINE(path));
    assert.equal(gst.code, 0, gst.errors);
    assertTimes(gst.pts.v ?? [], times, "qtdemux");
  });
});

Deno.test("IVF: ffprobe and ivfparse decode every VP8 frame at its 90 kHz time", async () => {
  await requireElements("ivfparse", "vp8dec");
  const { samples } = vp8Source();
  const times = expectedTimes(60, 30, SECOND);
  const file = concat([
    ivfHeader(320, 240),
    ...samples.map((s, i) => ivfFrame(s.data, Math.round(times[i] * SECOND))),
  ]);
  await withTempDir(async (dir) => {
    const path = `${dir}/vp8.ivf`;
    await Deno.writeFile(path, file);
    assert.deepEqual(await probeStreams(path), [
      { codec_name: "vp8", codec_type: "video", width: 320, height: 240, nb_read_frames: "60" },
    ]);
    assertTimes((await probePackets(path)).map((p) => p.pts), times, "ffprobe");
    const gst = await gstDecode(`filesrc location=${path} ! ivfparse ! vp8dec ! ${sink("v")}`);
    assert.equal(gst.code, 0, gst.errors);
    assertTimes(gst.pts.v ?? [], times, "ivfparse");
  });
});

/** H.264 and Opus fragments of 10 video frames, each with the audio packets that start in its span. */
function avFragments(video: Mp4Sample[], audio: Mp4Sample[]): TrackRun[][] {
  const out: TrackRun[][] = [];
  let a = 0;
  for (let v = 0; v < video.length; v += 10) {
    const endSeconds = v + 10 >= video.length ? Infinity : (v + 10) * FRAME_TICKS / SECOND;
    const first = a;
    while (a < audio.length && a * OPUS_PACKET_TICKS / 48000 < endSeconds) a++;
    out.push([
      { trackId: 1, baseDecodeTime: v * FRAME_TICKS, samples: video.slice(v, v + 10) },
      { trackId: 2, baseDecodeTime: first * OPUS_PACKET_TICKS, samples: audio.slice(first, a) },
    ]);
  }
  return out;
}

const AV_PIPELINE = (file: string) =>
  `filesrc location=${file} ! qtdemux name=d ` +
  `d.video_0 ! queue ! h264parse ! avdec_h264 ! ${sink("v")} ` +
  `d.audio_0 ! queue ! opusdec ! ${sink("a")}`;

Deno.test("fmp4 H.264 + Opus: both streams decode; a file cut mid-fragment decodes up to its last whole fragment", async () => {
  await requireElements("qtdemux", "h264parse", "avdec_h264", "opusdec");
  await withTempDir(async (dir) => {
    const video = h264Source();
    const audio = await opusSource(dir);
    const runs = avFragments(video.samples, audio.samples);
    const file = mp4([video.track, audio.track], runs);
    const path = `${dir}/av.mp4`;
    await Deno.writeFile(path, file);

    const streams = await probeStreams(path);
    assert.deepEqual(streams.map((s) => [s.codec_name, s.codec_type]), [["h264", "video"], [
      "opus",
      "audio",
    ]]);
    assert.equal(streams[0].nb_read_frames, "60");
    assert.equal(streams[1].nb_read_frames, String(audio.samples.length));
    assertTimes(
      (await probePackets(path, "a")).map((p) => p.pts),
      audio.samples.map((_, i) => i * 0.02),
      "ffprobe audio",
    );
    const gst = await gstDecode(AV_PIPELINE(path));
    assert.equal(gst.code, 0, gst.errors);
    assertTimes(gst.pts.v ?? [], expectedTimes(60), "qtdemux video");
    assert.ok(
      (gst.pts.a?.length ?? 0) >= audio.samples.length - 1,
      `qtdemux audio: ${gst.pts.a?.length} buffers`,
    );

    // As kill -9 leaves it: the writer stopped in the middle of fragment 4's mdat.
    const layout = parseMp4(file);
    const fourth = layout.fragments[3];
    const cut = file.subarray(0, fourth.offset + fourth.size - 1000);
    const cutLayout = parseMp4(cut);
    assert.equal(cutLayout.fragments.length, 3);
    assert.equal(cutLayout.completeBytes, fourth.offset);
    const cutPath = `${dir}/cut.mp4`;
    await Deno.writeFile(cutPath, cut);
    // Demuxers may still get frames out of the cut fragment's first bytes; the whole ones must all be there.
    const cutStreams = await probeStreams(cutPath, true);
    assert.ok(
      Number(cutStreams[0]?.nb_read_frames) >= 30,
      `ffprobe of the cut file: ${JSON.stringify(cutStreams)}`,
    );
    const cutGst = await gstDecode(AV_PIPELINE(cutPath));
    assert.ok((cutGst.pts.v?.length ?? 0) >= 30, `qtdemux of the cut file: ${cutGst.pts.v?.length} frames`);

    // Trimmed at completeBytes, the file is clean: exactly the three whole fragments.
    const trimmedPath = `${dir}/trimmed.mp4`;
    await Deno.writeFile(trimmedPath, cut.subarray(0, cutLayout.completeBytes));
    const trimmed = await probeStreams(trimmedPath);
    assert.equal(trimmed[0].nb_read_frames, "30");
    const audioKept = runs.slice(0, 3).reduce((n, r) => n + r[1].samples.length, 0);
    assert.equal(trimmed[1].nb_read_frames, String(audioKept));
    const trimmedGst = await gstDecode(AV_PIPELINE(trimmedPath));
    assert.equal(trimmedGst.code, 0, trimmedGst.errors);
    assertTimes(trimmedGst.pts.v ?? [], expectedTimes(30), "qtdemux video of the trimmed file");
  });
});

Deno.test("fmp4 H.264: a recording cut at a keyframe inside a fragment, then another spliced on, plays as one stream", async () => {
  await requireElements("qtdemux", "h264parse", "avdec_h264");
  const { track, samples } = h264Source();
  const recording = mp4([track], videoFragments(samples, 8));
  const layout = parseMp4(recording);
  const bytesOf = (i: number) => {
    const f = layout.fragments[i];
    return recording.subarray(f.offset, f.offset + f.size);
  };
  // Frame 30, the second keyframe, is sample 6 of fragment 3: the cut starts there and the clock at 0.
  assert.deepEqual(layout.fragments[3].runs[0].keyframeOffsets, [6]);
  const parts = [layout.init!.bytes];
  let sequence = 1;
  let next = 0;
  const append = (frag: Uint8Array) => {
    const run = parseMp4(frag).fragments[0].runs[0];
    parts.push(retimeFragment(frag, sequence++, new Map([[1, next]])));
    next += run.duration;
  };
  append(dropSamplesBefore(bytesOf(3), 1, 6));
  for (let i = 4; i < layout.fragments.length; i++) append(bytesOf(i));
  // The second recording (the same frames again) follows straight on.
  for (let i = 0; i < layout.fragments.length; i++) append(bytesOf(i));
  const spliced = concat(parts);
  const times = expectedTimes(30 + 60);
  await withTempDir(async (dir) => {
    const path = `${dir}/spliced.mp4`;
    await Deno.writeFile(path, spliced);
    assert.deepEqual((await probeStreams(path)).map((s) => s.nb_read_frames), ["90"]);
    const packets = await probePackets(path);
    assertTimes(packets.map((p) => p.pts), times, "ffprobe");
    assert.deepEqual(packets.flatMap((p, i) => p.keyframe ? [i] : []), [0, 30, 60]);
    const gst = await gstDecode(H264_PIPELINE(path));
    assert.equal(gst.code, 0, gst.errors);
    assertTimes(gst.pts.v ?? [], times, "qtdemux");
  });
});

Deno.test("a missing tool fails with the package to install", async () => {
  INSTALL["edgecam-no-such-tool"] = "edgecam-example-package";
  await assert.rejects(() => run("edgecam-no-such-tool", []), /apt install edgecam-example-package/);
  delete INSTALL["edgecam-no-such-tool"];
});
