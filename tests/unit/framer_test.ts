import assert from "node:assert/strict";
import { type Codec } from "../../lib/stream/access_unit.ts";
import { createFramer, type FramedUnit, framesFromPipe } from "../../lib/cameras/framer.ts";

const FIXTURES = new URL("../fixtures/", import.meta.url);

/** Frames of the whole file parsed in one piece: what any way of reading it must give. */
function framesAtOnce(bytes: Uint8Array, codec: Codec): FramedUnit[] {
  const framer = createFramer(codec);
  return [...framer.push(bytes), ...framer.flush()];
}

/** A byte stream that hands out `bytes` in reads of `size` into the reader's own buffer, as a pipe's does. */
function pieces(bytes: Uint8Array, size: number): ReadableStream<Uint8Array> {
  let at = 0;
  return new ReadableStream({
    type: "bytes",
    pull(controller) {
      const request = controller.byobRequest!;
      const view = request.view as Uint8Array;
      const n = Math.min(size, view.byteLength, bytes.length - at);
      if (n === 0) {
        controller.close();
        request.respond(0);
        return;
      }
      view.set(bytes.subarray(at, at + n));
      at += n;
      request.respond(n);
    },
  });
}

for (
  const [fixture, codec] of [
    ["testsrc_h264_320x240.h264", "h264"],
    ["testsrc_h264_high_1920x1080.h264", "h264"],
    ["testsrc_vp8_320x240.webm", "vp8"],
  ] as const
) {
  Deno.test(`reading ${fixture} from a pipe in full reads into one reused buffer gives every frame intact`, async () => {
    const bytes = await Deno.readFile(new URL(fixture, FIXTURES));
    const expected = framesAtOnce(bytes, codec);
    // NAL units, start codes and frames run across the reads. (A shorter read means the writer's write
    // ended there, which flushes the frame: see framesFromPipe.)
    const frames: FramedUnit[] = [];
    for await (const batch of framesFromPipe(pieces(bytes, 65536), createFramer(codec))) {
      frames.push(...batch.units);
    }
    assert.equal(frames.length, expected.length);
    frames.forEach((frame, i) => {
      assert.equal(frame.keyframe, expected[i].keyframe, `frame ${i} keyframe flag`);
      assert.deepEqual(frame.data, expected[i].data, `frame ${i} bytes`);
    });
  });
}
