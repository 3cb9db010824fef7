import assert from "node:assert/strict";
import { extendSequence, RtpCounter, startsH264Keyframe } from "../../scripts/bench/rtp_count.ts";
import { percentile, slope } from "../../scripts/bench/stats.ts";

Deno.test("bench: a sequence number extends to the one nearest the last, across the 16-bit wrap", () => {
  const cases: [near: number, seq: number, extended: number][] = [
    [0x10005, 6, 0x10006],
    [0x10005, 3, 0x10003],
    [0x1fffe, 1, 0x20001],
    [0x20001, 0xfffe, 0x1fffe],
    [0x10000, 0x8000, 0x08000],
  ];
  for (const [near, seq, extended] of cases) {
    assert.equal(extendSequence(near, seq), extended, `${near} ${seq}`);
  }
});

Deno.test("bench: the first packet of an H.264 keyframe is an SPS, an IDR, a STAP-A of one, or an IDR's FU-A start", () => {
  const cases: [payload: number[], keyframe: boolean][] = [
    [[0x67, 0x42], true],
    [[0x65, 0x88], true],
    [[0x41, 0x9a], false],
    [[0x78, 0x00, 0x10, 0x67], true],
    [[0x78, 0x00, 0x10, 0x68], false],
    [[0x7c, 0x85], true],
    [[0x7c, 0x05], false],
    [[0x7c, 0x81], false],
  ];
  for (const [payload, keyframe] of cases) {
    assert.equal(startsH264Keyframe(new Uint8Array(payload)), keyframe, JSON.stringify(payload));
  }
});

const SPS = new Uint8Array([0x67]);
const FU_MIDDLE = new Uint8Array([0x7c, 0x05]);
const P_SLICE = new Uint8Array([0x41]);

Deno.test("bench: RtpCounter counts loss, duplicates and frames per window", () => {
  const counter = new RtpCounter();
  counter.push(65534, 0, false, SPS, 1);
  counter.push(65535, 0, true, FU_MIDDLE, 2);
  counter.push(1, 3000, true, P_SLICE, 3); // 0 lost
  counter.push(1, 3000, true, P_SLICE, 4); // duplicate
  assert.deepEqual(counter.take(), { expected: 4, lost: 1, duplicates: 1, frames: 2 });
  counter.push(0, 3000, false, P_SLICE, 5); // late retransmission from the last window: not this one's
  counter.push(2, 6000, true, P_SLICE, 6);
  assert.deepEqual(counter.take(), { expected: 1, lost: 0, duplicates: 0, frames: 1 });
});

Deno.test("bench: the first keyframe counts once its packets arrived without a gap up to the marker", () => {
  const broken = new RtpCounter();
  broken.push(10, 0, false, SPS, 1);
  broken.push(12, 0, true, FU_MIDDLE, 2);
  assert.equal(broken.firstKeyframeMs, null, "a gap inside the keyframe");
  broken.push(13, 3000, true, P_SLICE, 3);
  assert.equal(broken.firstKeyframeMs, null, "a delta frame is no keyframe");
  broken.push(14, 6000, false, SPS, 4);
  broken.push(15, 6000, true, FU_MIDDLE, 5);
  assert.equal(broken.firstKeyframeMs, 5);
});

Deno.test("bench: percentile by nearest rank and a least-squares slope", () => {
  assert.equal(percentile([1, 2, 3, 4], 50), 2);
  assert.equal(percentile([1, 2, 3, 4], 99), 4);
  assert.ok(Number.isNaN(percentile([], 50)));
  assert.equal(slope([[1, 5], [10, 23], [20, 43]]), 2);
  assert.ok(Number.isNaN(slope([[1, 5]])));
});
