import assert from "node:assert/strict";
import { parseVp8Frame, type Vp8FrameInfo } from "../../lib/media/vp8.ts";
import { WebmDemuxer } from "../../lib/media/webm.ts";
import { hex } from "../helpers/bytes.ts";

const FRAMES = new WebmDemuxer().push(
  Deno.readFileSync(new URL("../fixtures/testsrc_vp8_320x240.webm", import.meta.url)),
);

/** A frame whose first partition is `partition` bytes, followed by that many bytes. */
function frame(header: string, partition = 0): Uint8Array {
  const head = hex(header);
  const out = new Uint8Array(head.length + partition);
  out.set(head);
  return out;
}

Deno.test("parseVp8Frame: real frames from vp8enc", () => {
  assert.equal(FRAMES.length, 60);
  FRAMES.forEach((f, i) => {
    const expected: Vp8FrameInfo = f.keyframe
      ? { keyframe: true, width: 320, height: 240 }
      : { keyframe: false };
    assert.deepEqual(parseVp8Frame(f.data), expected, `frame ${i}`);
  });
  assert.deepEqual(FRAMES.flatMap((f, i) => f.keyframe ? [i] : []), [0, 30]);
});

Deno.test("parseVp8Frame: headers", () => {
  // Frame tag, little-endian: bit 0 = inter frame, bits 1-3 version, bit 4 show_frame, bits 5-23 the size
  // of the first partition. A keyframe follows it with 9d 01 2a and two 16-bit fields: 14 bits of size,
  // 2 bits of upscaling hint.
  const cases: [string, Uint8Array, Vp8FrameInfo | undefined][] = [
    ["keyframe 320x240", frame("100000 9d012a 4001 f000"), { keyframe: true, width: 320, height: 240 }],
    ["scaling bits are not part of the size", frame("100000 9d012a 40c1 f040"), {
      keyframe: true,
      width: 320,
      height: 240,
    }],
    ["largest size", frame("100000 9d012a ff3f ff3f"), { keyframe: true, width: 16383, height: 16383 }],
    ["interframe", frame("110000"), { keyframe: false }],
    ["interframe with a 1-byte partition", frame("310000", 1), { keyframe: false }],
  ];
  for (const [name, bytes, expected] of cases) assert.deepEqual(parseVp8Frame(bytes), expected, name);
});

Deno.test("parseVp8Frame: garbage gives undefined", () => {
  const cases: [string, Uint8Array][] = [
    ["empty", new Uint8Array()],
    ["shorter than the frame tag", hex("1000")],
    ["keyframe cut before its size", frame("100000 9d012a 4001")],
    ["keyframe without its start code", frame("100000 9d012b 4001 f000")],
    ["zero width", frame("100000 9d012a 0000 f000")],
    ["version 4 does not exist", frame("180000 9d012a 4001 f000")],
    ["first partition longer than the frame", frame("310000")],
    ["interframe partition past the end", frame("31ffff", 100)],
  ];
  for (const [name, bytes] of cases) assert.equal(parseVp8Frame(bytes), undefined, name);
});
