import assert from "node:assert/strict";
import { Buffer } from "node:buffer";
import { H264Packetizer, Vp8Packetizer } from "werift";
import { nalUnits as nalUnitsOf } from "../../lib/media/h264/annexb.ts";
import { NAL, nalType, SLICE_TYPE, sliceType } from "../../lib/media/h264/sps.ts";
import {
  frameDecoder,
  FrameReassembler,
  type RtpIn,
  seqDiff,
  vp8DescriptorLength,
} from "../../lib/ingest/depacketize.ts";
import { fixtureFrames } from "../helpers/whip_client.ts";

/** Packets of one frame: `count` payloads [seq, i], the last one marked. */
function frame(firstSeq: number, timestamp: number, count: number): RtpIn[] {
  return Array.from({ length: count }, (_, i) => ({
    sequenceNumber: (firstSeq + i) & 0xffff,
    timestamp,
    marker: i === count - 1,
    payload: new Uint8Array([timestamp & 0xff, i]),
  }));
}

/**
 * Pushes packets in order and returns [timestamps of the frames out, whether a loss was reported, how
 * many sequence numbers were given up without their packet].
 */
function run(packets: RtpIn[]): [number[], boolean, number] {
  const reassembler = new FrameReassembler();
  const out: number[] = [];
  let lost = false;
  let missing = 0;
  for (const p of packets) {
    const r = reassembler.push(p);
    out.push(...r.frames.map((f) => f.timestamp));
    lost ||= r.lost;
    missing += r.missing;
  }
  return [out, lost, missing];
}

Deno.test("seqDiff is signed and wraps at 16 bits", () => {
  assert.equal(seqDiff(5, 3), 2);
  assert.equal(seqDiff(3, 5), -2);
  assert.equal(seqDiff(1, 0xffff), 2);
  assert.equal(seqDiff(0xffff, 1), -2);
});

Deno.test("FrameReassembler: frames in order, across the sequence wrap, out of order, lost", async (t) => {
  const a = frame(0xfffe, 1000, 3);
  const b = frame(1, 4000, 2);
  const c = frame(3, 7000, 1);
  const d = frame(4, 10000, 2);
  const e = frame(6, 13000, 1);
  const long = frame(1, 4000, 3);
  const [h, i, j] = [frame(4, 7000, 1), frame(5, 10000, 1), frame(6, 13000, 1)];
  const cases: [string, RtpIn[], number[], boolean, number?][] = [
    ["in order, across the wrap", [...a, ...b, ...c], [1000, 4000, 7000], false],
    ["a frame's packets swapped", [...a, b[1], b[0], ...c], [1000, 4000, 7000], false],
    ["a whole frame late", [...a, ...c, ...b], [1000, 4000, 7000], false],
    ["a packet retransmitted after two later frames", [...a, b[0], ...c, ...d, b[1]], [
      1000,
      4000,
      7000,
      10000,
    ], false],
    [
      "a packet never comes: its frame is dropped after three later frames",
      [...a, b[0], ...c, ...d, ...e],
      [
        1000,
        7000,
        10000,
        13000,
      ],
      true,
      1,
    ],
    [
      "two packets of a frame never come: both counted missing",
      [...a, long[0], ...h, ...i, ...j],
      [
        1000,
        7000,
        10000,
        13000,
      ],
      true,
      2,
    ],
    ["a duplicate is ignored", [...a, ...a, ...b], [1000, 4000], false],
  ];
  for (const [name, packets, expected, lost, missing = 0] of cases) {
    await t.step(name, () => assert.deepEqual(run(packets), [expected, lost, missing]));
  }
});

Deno.test("the H.264 decoder turns werift's packets of a real stream back into its access units", () => {
  const frames = fixtureFrames("testsrc_h264_320x240.h264");
  const packetizer = new H264Packetizer({ maxPayloadSize: 300, inputFormat: "annexb" });
  const reassembler = new FrameReassembler();
  const decoder = frameDecoder("h264");
  let seq = 100;
  const out = [];
  for (const [i, f] of frames.entries()) {
    for (const p of packetizer.packetize(Buffer.from(f.data), i * 3000)) {
      const { frames: done } = reassembler.push({
        sequenceNumber: seq++,
        timestamp: i * 3000,
        marker: p.header.marker,
        payload: p.payload,
      });
      for (const d of done) out.push(decoder.decode(d)!);
    }
  }
  assert.equal(out.length, frames.length);
  assert.deepEqual(out.map((u) => u.keyframe), frames.map((f) => f.keyframe));
  assert.deepEqual(out.map((u) => u.data), frames.map((f) => f.data));
  assert.deepEqual(decoder.format(), { width: 320, height: 240, profileLevelId: "42c00d", bFrames: false });
});

Deno.test("the VP8 decoder strips the payload descriptor and reads keyframes and size", () => {
  const frames = fixtureFrames("testsrc_vp8_320x240.webm").slice(0, 35);
  const packetizer = new Vp8Packetizer({ maxPayloadSize: 300 });
  const decoder = frameDecoder("vp8");
  for (const [i, f] of frames.entries()) {
    const payloads = packetizer.packetize(Buffer.from(f.data), i * 3000).map((p) => p.payload);
    const unit = decoder.decode({ timestamp: i * 3000, payloads })!;
    assert.deepEqual(unit.data, f.data);
    assert.equal(unit.keyframe, f.keyframe);
  }
  assert.deepEqual(decoder.format(), { width: 320, height: 240 });
  // A frame whose first packet does not start a partition is broken.
  assert.equal(
    decoder.decode({ timestamp: 0, payloads: [new Uint8Array([0x80, 0x80, 0x01, 0x9d])] }),
    undefined,
  );
});

Deno.test("vp8DescriptorLength: every optional field of RFC 7741 §4.2", () => {
  const cases: [number[], number | undefined][] = [
    [[0x10], 1],
    [[0x90, 0x80, 0x05], 3], // X, I with a 7-bit PictureID
    [[0x90, 0x80, 0x85, 0x01], 4], // 15-bit PictureID
    [[0x90, 0xe0, 0x85, 0x01, 0x07, 0x40], 6], // I, L, T: PictureID, TL0PICIDX, TID
    [[0x90, 0x20, 0x40], 3], // T alone: one byte (werift 0.25.2 skips it only with L)
    [[0x90, 0x80], undefined],
    [[], undefined],
  ];
  for (const [bytes, expected] of cases) {
    assert.equal(vp8DescriptorLength(new Uint8Array(bytes)), expected, `${bytes}`);
  }
});

Deno.test("sliceType and B-frame detection on real encoder output", () => {
  const types = (name: string) =>
    fixtureFrames(name).flatMap((f) =>
      [...nalUnitsOf(f.data)].filter((n) => nalType(n) === NAL.SLICE || nalType(n) === NAL.IDR).map(sliceType)
    );
  const baseline = types("testsrc_h264_320x240.h264");
  assert.ok(!baseline.includes(SLICE_TYPE.B));
  assert.equal(baseline[0], SLICE_TYPE.I);
  assert.ok(types("testsrc_h264_bframes_320x240.h264").includes(SLICE_TYPE.B));
  assert.equal(sliceType(new Uint8Array([0x67, 0x42])), undefined, "an SPS is no slice");
});

Deno.test("under reordering, duplicates and loss across the 16-bit wrap, frames come out in order and without a hole", () => {
  // A fixed pseudo-random sequence, so a failure repeats.
  let state = 12345;
  const random = () => (state = (state * 1103515245 + 12345) & 0x7fffffff) / 0x7fffffff;
  const frames = Array.from({ length: 400 }, (_, n) => frame((65000 + n * 4) & 0xffff, n + 1, 1 + (n % 4)));
  const sent = frames.flat().filter(() => random() > 0.03);
  const duplicated = sent.flatMap((p) => random() < 0.05 ? [p, p] : [p]);
  // Swap neighbours within a window of 8: what a network reorders.
  for (let i = 0; i < duplicated.length - 8; i++) {
    if (random() < 0.2) {
      const j = i + 1 + Math.floor(random() * 7);
      [duplicated[i], duplicated[j]] = [duplicated[j], duplicated[i]];
    }
  }
  const reassembler = new FrameReassembler();
  const out: { timestamp: number; payloads: Uint8Array[] }[] = [];
  for (const p of duplicated) out.push(...reassembler.push(p).frames);
  const arrived = new Set(sent.map((p) => `${p.sequenceNumber}`));
  const complete = frames.filter((f) => f.every((p) => arrived.has(`${p.sequenceNumber}`)));
  assert.ok(out.length >= complete.length * 0.9, `${out.length} of ${complete.length} whole frames came out`);
  let last = 0;
  for (const f of out) {
    assert.ok(f.timestamp > last, "in order, each once");
    last = f.timestamp;
    // Its own packets in order, without a hole: whole, or cut where a lost first or last packet was.
    const original = frames[f.timestamp - 1].map((p) => p.payload);
    const from = original.indexOf(f.payloads[0]);
    assert.ok(from >= 0, `frame ${f.timestamp} holds its own packets`);
    assert.deepEqual(
      f.payloads,
      original.slice(from, from + f.payloads.length),
      `frame ${f.timestamp} has no hole`,
    );
  }
});
