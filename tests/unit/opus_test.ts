import assert from "node:assert/strict";
import { opusPacketSamples } from "../../lib/media/opus.ts";

Deno.test("an Opus packet's length in 48 kHz samples comes from its TOC byte", async (t) => {
  const cases: [string, number[], number][] = [
    ["CELT 20 ms, one frame (what browsers send)", [(31 << 3) | 0, 0xaa], 960],
    ["CELT 10 ms, two equal frames", [(30 << 3) | 1, 0xaa], 960],
    ["CELT 2.5 ms, two frames of different size", [(16 << 3) | 2, 1, 0xaa], 240],
    ["SILK 60 ms, one frame", [(3 << 3) | 0], 2880],
    ["SILK 40 ms", [(2 << 3) | 0], 1920],
    ["Hybrid 20 ms", [(13 << 3) | 0], 960],
    ["code 3 with 3 frames of CELT 20 ms", [(31 << 3) | 3, 3], 2880],
    ["code 3 without its count byte", [(31 << 3) | 3], 0],
    ["empty packet", [], 0],
  ];
  for (const [name, bytes, samples] of cases) {
    await t.step(name, () => assert.equal(opusPacketSamples(new Uint8Array(bytes)), samples));
  }
});
