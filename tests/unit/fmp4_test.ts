import assert from "node:assert/strict";
import {
  annexBToAvcc,
  dropSamplesBefore,
  fragment,
  type FragmentInfo,
  fragmentInfo,
  initSegment,
  Mp4FormatError,
  type Mp4Sample,
  type Mp4Track,
  parseMp4,
  retimeFragment,
  type TrackRun,
} from "../../lib/media/fmp4.ts";
import { ivfFrame, ivfHeader } from "../../lib/media/ivf.ts";
import { hex, join } from "../helpers/bytes.ts";

// ---------------------------------------------------------------------------------------------------------
// Helpers

/** A box found by the test's own walker, which knows nothing of the module's reader. */
interface Box {
  type: string;
  start: number;
  end: number;
  children: Box[];
}

/** Boxes whose payload is only boxes, plus the sample entries (and stsd) with their fixed-size preambles. */
const CONTAINERS: Record<string, number> = {
  moov: 0,
  trak: 0,
  mdia: 0,
  minf: 0,
  dinf: 0,
  stbl: 0,
  mvex: 0,
  moof: 0,
  traf: 0,
  stsd: 8,
  dref: 8,
  avc1: 78,
  vp08: 78,
  Opus: 28,
};

function walk(bytes: Uint8Array, from = 0, to = bytes.length): Box[] {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const out: Box[] = [];
  for (let at = from; at < to;) {
    const size = view.getUint32(at);
    const type = String.fromCharCode(...bytes.subarray(at + 4, at + 8));
    const skip = CONTAINERS[type];
    out.push({
      type,
      start: at,
      end: at + size,
      children: skip === undefined ? [] : walk(bytes, at + 8 + skip, at + size),
    });
    at += size;
  }
  return out;
}

/** The box at a slash-separated path of types, e.g. "moov/trak/mdia/mdhd". */
function find(boxes: Box[], path: string): Box {
  let found: Box | undefined;
  for (const type of path.split("/")) {
    found = boxes.find((b) => b.type === type);
    assert.ok(found, `no ${type} in ${path}`);
    boxes = found.children;
  }
  return found!;
}

/** The shape of a box tree: "moof(mfhd traf(tfhd tfdt trun)) mdat". */
function shape(boxes: Box[]): string {
  return boxes.map((b) => b.children.length ? `${b.type}(${shape(b.children)})` : b.type).join(" ");
}

function payload(bytes: Uint8Array, box: Box): Uint8Array {
  return bytes.subarray(box.start + 8, box.end);
}

/**
 * The fragment fields this file specifies, so a field added to FragmentInfo later (and tested where it
 * is added) does not break these comparisons.
 */
function described(f: FragmentInfo) {
  return {
    offset: f.offset,
    size: f.size,
    sequence: f.sequence,
    runs: f.runs.map((r) => ({
      trackId: r.trackId,
      baseDecodeTime: r.baseDecodeTime,
      duration: r.duration,
      sampleCount: r.sampleCount,
      firstIsKeyframe: r.firstIsKeyframe,
      keyframeOffsets: r.keyframeOffsets,
      keyframeTimes: r.keyframeTimes,
    })),
  };
}

/** Deterministic bytes, different per seed, standing for a coded frame. */
function frame(size: number, seed: number): Uint8Array {
  return Uint8Array.from({ length: size }, (_, i) => (seed * 31 + i * 7) & 0xff);
}

// A real SPS/PPS pair (x264 Constrained Baseline 320x240, profile-level-id 42c00d).
const SPS = hex("6742c00dd9050fb011000003000100000300320f1429a0");
const PPS = hex("68ce3c80");

const H264: Mp4Track = {
  id: 1,
  kind: "video",
  codec: "avc1",
  timescale: 90000,
  width: 320,
  height: 240,
  sps: SPS,
  pps: PPS,
};
const VP8: Mp4Track = { id: 1, kind: "video", codec: "vp08", timescale: 90000, width: 640, height: 360 };
const OPUS: Mp4Track = { id: 2, kind: "audio", codec: "Opus", timescale: 48000, channels: 2, preSkip: 312 };

/** `count` video samples of 3000 ticks (30 fps at 90 kHz), keyframes at the given indexes. */
function videoSamples(count: number, keyframes: number[], seed = 0): Mp4Sample[] {
  return Array.from({ length: count }, (_, i) => ({
    data: frame(20 + i, seed + i),
    duration: 3000,
    keyframe: keyframes.includes(i),
  }));
}

/** `count` Opus packets of 20 ms at 48 kHz; every audio sample is a sync sample. */
function audioSamples(count: number, seed = 100): Mp4Sample[] {
  return Array.from(
    { length: count },
    (_, i) => ({ data: frame(8 + i, seed + i), duration: 960, keyframe: true }),
  );
}

/** A recording of H.264 + Opus: three fragments of 10 frames, the third after a one-second gap. */
function recording() {
  const init = initSegment([H264, OPUS]);
  const runs: TrackRun[][] = [
    [{ trackId: 1, baseDecodeTime: 0, samples: videoSamples(10, [0]) }, {
      trackId: 2,
      baseDecodeTime: 0,
      samples: audioSamples(16),
    }],
    [{ trackId: 1, baseDecodeTime: 30000, samples: videoSamples(10, [4], 10) }, {
      trackId: 2,
      baseDecodeTime: 16000,
      samples: audioSamples(17, 200),
    }],
    [{ trackId: 1, baseDecodeTime: 150000, samples: videoSamples(10, [], 20) }, {
      trackId: 2,
      baseDecodeTime: 80000,
      samples: audioSamples(17, 300),
    }],
  ];
  const fragments = runs.map((r, i) => fragment(i + 1, r));
  return { init, runs, fragments, file: join(init, ...fragments) };
}

// ---------------------------------------------------------------------------------------------------------
// initSegment

Deno.test("initSegment: ftyp, then a moov with one trak per track and a trex per track in mvex", () => {
  const init = initSegment([H264, OPUS]);
  const boxes = walk(init);
  assert.equal(
    shape(boxes),
    "ftyp moov(mvhd " +
      "trak(tkhd mdia(mdhd hdlr minf(vmhd dinf(dref(url )) stbl(stsd(avc1(avcC)) stts stsc stco stsz)))) " +
      "trak(tkhd mdia(mdhd hdlr minf(smhd dinf(dref(url )) stbl(stsd(Opus(dOps)) stts stsc stco stsz)))) " +
      "mvex(trex trex))",
  );
  const ftyp = payload(init, boxes[0]);
  assert.equal(new TextDecoder().decode(ftyp.subarray(0, 4)), "iso6");
  assert.equal(new TextDecoder().decode(ftyp.subarray(8)), "iso6iso5isommp41dash");
});

Deno.test("initSegment: the sample tables are empty and every duration is 0, as a fragmented file has them", () => {
  const init = initSegment([H264, OPUS]);
  const boxes = walk(init);
  const view = new DataView(init.buffer);
  const mvhd = find(boxes, "moov/mvhd");
  assert.equal(view.getUint32(mvhd.start + 8 + 4 + 8), 1000, "mvhd timescale");
  assert.equal(view.getUint32(mvhd.start + 8 + 4 + 12), 0, "mvhd duration");
  assert.equal(view.getUint32(mvhd.end - 4), 3, "next track id");
  for (const trak of boxes[1].children.filter((b) => b.type === "trak")) {
    const stbl = find(trak.children, "mdia/minf/stbl");
    for (const type of ["stts", "stsc", "stco"]) {
      const b = find(stbl.children, type);
      assert.equal(b.end - b.start, 16, `${type} has an entry count of 0 and nothing else`);
      assert.equal(view.getUint32(b.start + 12), 0);
    }
    const stsz = find(stbl.children, "stsz");
    assert.deepEqual([view.getUint32(stsz.start + 12), view.getUint32(stsz.start + 16)], [0, 0]);
    const tkhd = find(trak.children, "tkhd");
    assert.equal(view.getUint32(tkhd.start + 8 + 20), 0, "tkhd duration");
  }
});

const SAMPLE_ENTRY_CASES: {
  name: string;
  track: Mp4Track;
  box: string;
  payload: string;
  tkhdSize: string;
}[] = [
  {
    name: "avc1: avcC copies profile, compatibility and level from the SPS, 4-byte lengths, one SPS, one PPS",
    track: H264,
    box: "moov/trak/mdia/minf/stbl/stsd/avc1/avcC",
    payload: `01 42c00d ff e1 0017 ${"6742c00dd9050fb011000003000100000300320f1429a0"} 01 0004 68ce3c80`,
    tkhdSize: "01400000 00f00000",
  },
  {
    name: "vp08: vpcC version 1, profile 0, level 10, 8 bits 4:2:0, BT.709, no init data",
    track: VP8,
    box: "moov/trak/mdia/minf/stbl/stsd/vp08/vpcC",
    payload: "01000000 00 0a 82 01 01 01 0000",
    tkhdSize: "02800000 01680000",
  },
  {
    name: "Opus: dOps version 0, channels, pre-skip, 48 kHz input, no gain, mapping family 0",
    track: OPUS,
    box: "moov/trak/mdia/minf/stbl/stsd/Opus/dOps",
    payload: "00 02 0138 0000bb80 0000 00",
    tkhdSize: "00000000 00000000",
  },
];

for (const c of SAMPLE_ENTRY_CASES) {
  Deno.test(`initSegment: ${c.name}`, () => {
    const init = initSegment([c.track]);
    const boxes = walk(init);
    assert.deepEqual(payload(init, find(boxes, c.box)), hex(c.payload));
    const tkhd = find(boxes, "moov/trak/tkhd");
    assert.deepEqual(init.subarray(tkhd.end - 8, tkhd.end), hex(c.tkhdSize), "tkhd width and height, 16.16");
  });
}

Deno.test("initSegment: the visual sample entry has the picture size, an empty compressor name, depth 24", () => {
  const init = initSegment([VP8]);
  const entry = find(walk(init), "moov/trak/mdia/minf/stbl/stsd/vp08");
  const body = init.subarray(entry.start + 8, entry.start + 8 + 78);
  assert.deepEqual(body.subarray(0, 8), hex("000000000000 0001"), "reserved, data reference index 1");
  assert.deepEqual(body.subarray(24, 28), hex("0280 0168"), "640x360");
  assert.deepEqual(body.subarray(40, 42), hex("0001"), "frame count");
  assert.deepEqual(body.subarray(42, 74), new Uint8Array(32), "compressor name");
  assert.deepEqual(body.subarray(74, 78), hex("0018 ffff"), "depth, pre_defined -1");
});

Deno.test("initSegment: the audio sample entry has channels, 16-bit samples and 48000 in 16.16", () => {
  const init = initSegment([OPUS]);
  const entry = find(walk(init), "moov/trak/mdia/minf/stbl/stsd/Opus");
  assert.deepEqual(
    init.subarray(entry.start + 8, entry.start + 8 + 28),
    hex("000000000000 0001 0000000000000000 0002 0010 0000 0000 bb800000"),
  );
});

Deno.test("initSegment: mdhd carries each track's timescale, hdlr its kind", () => {
  const init = initSegment([VP8, OPUS]);
  const traks = walk(init)[1].children.filter((b) => b.type === "trak");
  const view = new DataView(init.buffer);
  const got = traks.map((t) => ({
    timescale: view.getUint32(find(t.children, "mdia/mdhd").start + 20),
    handler: new TextDecoder().decode(
      init.subarray(find(t.children, "mdia/hdlr").start + 16, find(t.children, "mdia/hdlr").start + 20),
    ),
  }));
  assert.deepEqual(got, [{ timescale: 90000, handler: "vide" }, { timescale: 48000, handler: "soun" }]);
});

Deno.test("initSegment: no tracks is a caller error", () => {
  assert.throws(() => initSegment([]), RangeError);
});

// ---------------------------------------------------------------------------------------------------------
// fragment

Deno.test("fragment: one moof (mfhd, a traf per run: tfhd, tfdt, trun) and one mdat", () => {
  const { fragments } = recording();
  assert.equal(shape(walk(fragments[0])), "moof(mfhd traf(tfhd tfdt trun) traf(tfhd tfdt trun)) mdat");
});

Deno.test("fragment: tfhd says default-base-is-moof, tfdt is version 1, trun has offset, duration, size, flags", () => {
  const frag = fragment(7, [{ trackId: 3, baseDecodeTime: 2 ** 40, samples: videoSamples(2, [0]) }]);
  const boxes = walk(frag);
  assert.deepEqual(payload(frag, find(boxes, "moof/mfhd")), hex("00000000 00000007"));
  assert.deepEqual(payload(frag, find(boxes, "moof/traf/tfhd")), hex("00020000 00000003"));
  assert.deepEqual(payload(frag, find(boxes, "moof/traf/tfdt")), hex("01000000 0000010000000000"));
  const moofSize = boxes[0].end;
  assert.deepEqual(
    payload(frag, find(boxes, "moof/traf/trun")),
    join(
      hex("00000701 00000002"),
      hex((moofSize + 8).toString(16).padStart(8, "0")),
      hex("00000bb8 00000014 02000000"),
      hex("00000bb8 00000015 01010000"),
    ),
  );
});

Deno.test("fragment: the mdat holds every run's samples in order, where each trun's data offset points", () => {
  const { runs, fragments } = recording();
  const frag = fragments[1];
  const boxes = walk(frag);
  const view = new DataView(frag.buffer);
  const mdat = boxes[1];
  assert.deepEqual(
    payload(frag, mdat),
    join(...runs[1].flatMap((r) => r.samples.map((s) => s.data))),
  );
  const trafs = boxes[0].children.filter((b) => b.type === "traf");
  trafs.forEach((traf, i) => {
    const trun = find(traf.children, "trun");
    const offset = view.getInt32(trun.start + 16);
    assert.deepEqual(
      frag.subarray(offset, offset + runs[1][i].samples[0].data.length),
      runs[1][i].samples[0].data,
    );
  });
});

Deno.test("fragment: a run may be empty and a fragment may hold no run", () => {
  assert.equal(shape(walk(fragment(1, []))), "moof(mfhd) mdat");
  const layout = parseMp4(fragment(1, [{ trackId: 1, baseDecodeTime: 5, samples: [] }]));
  assert.deepEqual(described(layout.fragments[0]).runs, [{
    trackId: 1,
    baseDecodeTime: 5,
    duration: 0,
    sampleCount: 0,
    firstIsKeyframe: false,
    keyframeOffsets: [],
    keyframeTimes: [],
  }]);
});

// ---------------------------------------------------------------------------------------------------------
// parseMp4

Deno.test("parseMp4: round trip of init and fragments gives tracks, sequences, times, durations, keyframes", () => {
  const { init, fragments, file } = recording();
  const layout = parseMp4(file);
  assert.deepEqual(layout.init?.bytes, init);
  assert.deepEqual(layout.init?.tracks, [
    { id: 1, kind: "video", timescale: 90000, codec: "avc1" },
    { id: 2, kind: "audio", timescale: 48000, codec: "Opus" },
  ]);
  assert.equal(layout.completeBytes, file.length);
  let offset = init.length;
  const expected = [
    { sequence: 1, video: [0, [0]], audio: [0, 16] },
    { sequence: 2, video: [30000, [4]], audio: [16000, 17] },
    { sequence: 3, video: [150000, []], audio: [80000, 17] },
  ] as const;
  assert.deepEqual(
    layout.fragments.map(described),
    expected.map((e, i) => {
      const f = {
        offset,
        size: fragments[i].length,
        sequence: e.sequence,
        runs: [
          {
            trackId: 1,
            baseDecodeTime: e.video[0],
            duration: 30000,
            sampleCount: 10,
            firstIsKeyframe: e.video[1][0] === 0,
            keyframeOffsets: [...e.video[1]],
            // 10 samples of 3000 ticks each: a keyframe's time is its index's share of the run.
            keyframeTimes: e.video[1].map((k) => e.video[0] + k * 3000),
          },
          {
            trackId: 2,
            baseDecodeTime: e.audio[0],
            duration: e.audio[1] * 960,
            sampleCount: e.audio[1],
            firstIsKeyframe: true,
            keyframeOffsets: Array.from({ length: e.audio[1] }, (_, k) => k),
            keyframeTimes: Array.from({ length: e.audio[1] }, (_, k) => e.audio[0] + k * 960),
          },
        ],
      };
      offset += fragments[i].length;
      return f;
    }),
  );
});

Deno.test("parseMp4: vp08 tracks and base decode times past 2^32 survive the round trip", () => {
  const file = join(
    initSegment([VP8]),
    fragment(9, [{ trackId: 1, baseDecodeTime: 2 ** 33 + 3, samples: videoSamples(3, [0, 2]) }]),
  );
  const layout = parseMp4(file);
  assert.equal(layout.init?.tracks[0].codec, "vp08");
  assert.equal(layout.fragments[0].runs[0].baseDecodeTime, 2 ** 33 + 3);
  assert.deepEqual(layout.fragments[0].runs[0].keyframeOffsets, [0, 2]);
});

Deno.test("fragmentInfo reads a fragment from its moof alone, as parseMp4 reads it in a whole file", () => {
  const { init, fragments, file } = recording();
  const whole = parseMp4(file).fragments;
  let offset = init.length;
  fragments.forEach((f, i) => {
    const moofOnly = f.subarray(0, new DataView(f.buffer, f.byteOffset).getUint32(0));
    assert.deepEqual(fragmentInfo(moofOnly, offset, f.length), whole[i]);
    offset += f.length;
  });
  assert.throws(() => fragmentInfo(fragments[0].subarray(0, 20), 0, 20), Mp4FormatError);
});

Deno.test("parseMp4: a file cut at any byte never throws; completeBytes ends the last whole fragment", () => {
  const { init, fragments, file } = recording();
  const ends = fragments.map((_, i) =>
    init.length + fragments.slice(0, i + 1).reduce((n, f) => n + f.length, 0)
  );
  const ftypEnd = walk(init)[0].end;
  for (let cut = 0; cut <= file.length; cut++) {
    const layout = parseMp4(file.subarray(0, cut));
    const whole = ends.filter((end) => end <= cut).length;
    const expectedComplete = whole > 0
      ? ends[whole - 1]
      : cut >= init.length
      ? init.length
      : cut >= ftypEnd
      ? ftypEnd
      : 0;
    assert.equal(layout.completeBytes, expectedComplete, `cut at ${cut}`);
    assert.equal(layout.fragments.length, whole, `cut at ${cut}`);
    assert.equal(layout.init === null, cut < init.length, `cut at ${cut}`);
  }
});

Deno.test("parseMp4: skips boxes it has no use for (free, styp, sidx) and takes a last mdat of size 0", () => {
  const free = hex("0000000c 66726565 00000000");
  const frag = fragment(1, [{ trackId: 1, baseDecodeTime: 0, samples: videoSamples(2, [0]) }]);
  const sizeZero = frag.slice();
  const mdatAt = walk(frag)[0].end;
  new DataView(sizeZero.buffer).setUint32(mdatAt, 0);
  const file = join(initSegment([H264]), free, sizeZero);
  const layout = parseMp4(file);
  assert.equal(layout.fragments.length, 1);
  assert.equal(layout.completeBytes, file.length);
});

const GARBAGE: { name: string; bytes: () => Uint8Array }[] = [
  {
    name: "text that is not boxes",
    bytes: () => new TextEncoder().encode("hello, this is not an mp4 file at all"),
  },
  { name: "a box type that is not text", bytes: () => hex("00000010 00ff0102 0000000000000000") },
  { name: "a box size below 8", bytes: () => hex("00000004 66747970 00000000") },
  { name: "a file starting with an unknown box", bytes: () => hex("00000008 61626364") },
  {
    name: "a moof followed by something other than an mdat",
    bytes: () => {
      const frag = fragment(1, [{ trackId: 1, baseDecodeTime: 0, samples: videoSamples(1, [0]) }]);
      const moofEnd = walk(frag)[0].end;
      return join(initSegment([H264]), frag.subarray(0, moofEnd), hex("00000008 66726565"));
    },
  },
  {
    name: "a trun whose sample count runs past its box",
    bytes: () => {
      const frag = fragment(1, [{ trackId: 1, baseDecodeTime: 0, samples: videoSamples(1, [0]) }]);
      const trun = find(walk(frag), "moof/traf/trun");
      new DataView(frag.buffer).setUint32(trun.start + 12, 0x7fffffff);
      return join(initSegment([H264]), frag);
    },
  },
  {
    name: "a child box running past its parent",
    bytes: () => {
      const init = initSegment([H264]);
      const mvhd = find(walk(init), "moov/mvhd");
      new DataView(init.buffer).setUint32(mvhd.start, 0x1000);
      return init;
    },
  },
];

for (const g of GARBAGE) {
  Deno.test(`parseMp4: throws Mp4FormatError for ${g.name}`, () => {
    assert.throws(() => parseMp4(g.bytes()), Mp4FormatError);
  });
}

Deno.test("parseMp4: random bytes either parse or throw Mp4FormatError, nothing else", () => {
  const { file } = recording();
  let x = 12345;
  const rand = () => (x = (Math.imul(x, 1103515245) + 12345) >>> 0) >>> 8;
  for (let n = 0; n < 2000; n++) {
    const bytes = file.slice();
    for (let k = 0; k < 4; k++) bytes[rand() % bytes.length] = rand() & 0xff;
    try {
      parseMp4(bytes.subarray(0, rand() % (bytes.length + 1)));
    } catch (e) {
      assert.ok(e instanceof Mp4FormatError, `mutation ${n}: ${e}`);
    }
  }
});

Deno.test("parseMp4: empty input is an empty layout", () => {
  assert.deepEqual(parseMp4(new Uint8Array()), { init: null, fragments: [], completeBytes: 0 });
});

// ---------------------------------------------------------------------------------------------------------
// retimeFragment

Deno.test("retimeFragment: changes the mfhd sequence and each tfdt, and no other byte", () => {
  const { fragments } = recording();
  const original = fragments[2];
  const before = original.slice();
  const retimed = retimeFragment(original, 41, new Map([[1, 2 ** 35], [2, 777]]));
  assert.deepEqual(original, before, "the input is not modified");
  assert.equal(retimed.length, original.length);
  const boxes = walk(original);
  const patched = new Set<number>();
  const mark = (from: number, n: number) => {
    for (let i = from; i < from + n; i++) patched.add(i);
  };
  mark(find(boxes, "moof/mfhd").start + 12, 4);
  for (const traf of boxes[0].children.filter((b) => b.type === "traf")) {
    mark(find(traf.children, "tfdt").start + 12, 8);
  }
  for (let i = 0; i < original.length; i++) {
    if (!patched.has(i)) assert.equal(retimed[i], original[i], `byte ${i} changed`);
  }
  const layout = parseMp4(retimed);
  assert.equal(layout.fragments[0].sequence, 41);
  assert.deepEqual(layout.fragments[0].runs.map((r) => r.baseDecodeTime), [2 ** 35, 777]);
});

Deno.test("retimeFragment: fragments of two recordings splice into one continuous stream", () => {
  const a = recording();
  const b = recording();
  const spliced = join(
    a.init,
    ...a.fragments,
    ...b.fragments.map((f, i) =>
      retimeFragment(
        f,
        4 + i,
        new Map([[1, 180000 + parseMp4(f).fragments[0].runs[0].baseDecodeTime], [2, 96000]]),
      )
    ),
  );
  const layout = parseMp4(spliced);
  assert.deepEqual(layout.fragments.map((f) => f.sequence), [1, 2, 3, 4, 5, 6]);
  assert.deepEqual(layout.fragments.map((f) => f.runs[0].baseDecodeTime), [
    0,
    30000,
    150000,
    180000,
    210000,
    330000,
  ]);
});

Deno.test("retimeFragment: a track missing from the map is a caller error, bytes that are no fragment garbage", () => {
  const { fragments } = recording();
  assert.throws(() => retimeFragment(fragments[0], 1, new Map([[1, 0]])), RangeError);
  assert.throws(() => retimeFragment(hex("00000008 6d646174"), 1, new Map()), Mp4FormatError);
});

// ---------------------------------------------------------------------------------------------------------
// dropSamplesBefore

Deno.test("dropSamplesBefore: at sample 0, with the tracks starting together, the fragment comes back byte for byte", () => {
  const { fragments } = recording();
  assert.deepEqual(dropSamplesBefore(fragments[1], 1, 0, new Map([[1, 90000], [2, 48000]])), fragments[1]);
});

Deno.test("dropSamplesBefore: cuts the video at a keyframe and the audio at the same instant", () => {
  const { runs, fragments } = recording();
  // Fragment 2: video from 30000 (1/3 s), keyframe at index 4 → new start 42000 = 0.4666 s = 22400 at 48 kHz.
  // Audio from 16000 in steps of 960: the first packet at or after 22400 is index 7, at 22720.
  const cut = dropSamplesBefore(fragments[1], 1, 4, new Map([[1, 90000], [2, 48000]]));
  const expected = fragment(2, [
    { trackId: 1, baseDecodeTime: 42000, samples: runs[1][0].samples.slice(4) },
    { trackId: 2, baseDecodeTime: 22720, samples: runs[1][1].samples.slice(7) },
  ]);
  assert.deepEqual(cut, expected);
  const run = parseMp4(cut).fragments[0].runs[0];
  assert.equal(run.firstIsKeyframe, true);
});

Deno.test("dropSamplesBefore: without timescales all tracks are compared in the same units", () => {
  const frag = fragment(5, [
    { trackId: 1, baseDecodeTime: 0, samples: videoSamples(4, [0, 2]) },
    { trackId: 3, baseDecodeTime: 0, samples: videoSamples(4, [0, 1, 2, 3], 50) },
  ]);
  const layout = parseMp4(dropSamplesBefore(frag, 1, 2));
  assert.deepEqual(
    layout.fragments[0].runs.map((r) => [r.trackId, r.baseDecodeTime, r.sampleCount]),
    [[1, 6000, 2], [3, 6000, 2]],
  );
});

Deno.test("dropSamplesBefore: a track left with no samples loses its traf", () => {
  const frag = fragment(5, [
    { trackId: 1, baseDecodeTime: 0, samples: videoSamples(4, [0, 3]) },
    { trackId: 2, baseDecodeTime: 0, samples: audioSamples(3) },
  ]);
  const cut = dropSamplesBefore(frag, 1, 3, new Map([[1, 90000], [2, 48000]]));
  assert.deepEqual(parseMp4(cut).fragments[0].runs.map((r) => r.trackId), [1]);
});

Deno.test("dropSamplesBefore: an index outside the run, or a track not in the fragment, is a caller error", () => {
  const { fragments } = recording();
  const scales = new Map([[1, 90000], [2, 48000]]);
  for (const index of [-1, 10, 1.5]) {
    assert.throws(() => dropSamplesBefore(fragments[0], 1, index, scales), RangeError);
  }
  assert.throws(() => dropSamplesBefore(fragments[0], 9, 0, scales), RangeError);
  assert.throws(() => dropSamplesBefore(fragments[0], 1, 1, new Map([[1, 90000]])), RangeError);
});

// ---------------------------------------------------------------------------------------------------------
// annexBToAvcc

const ANNEXB_CASES: { name: string; annexB: string; avcc: string }[] = [
  { name: "4-byte start codes", annexB: "00000001 6588 00000001 4101", avcc: "00000002 6588 00000002 4101" },
  { name: "3-byte start codes", annexB: "000001 6588aa 000001 0601", avcc: "00000003 6588aa 00000002 0601" },
  { name: "mixed start codes", annexB: "00000001 6588 000001 41", avcc: "00000002 6588 00000001 41" },
  {
    name: "AUD, SPS and PPS are left out (they live in avcC), SEI stays",
    annexB: "00000001 0910 00000001 6742c00d 00000001 68ce3c80 00000001 0605ff 00000001 6588",
    avcc: "00000003 0605ff 00000002 6588",
  },
  { name: "trailing zeros belong to no NAL unit", annexB: "00000001 658801 0000", avcc: "00000003 658801" },
  { name: "an empty buffer", annexB: "", avcc: "" },
  { name: "only parameter sets", annexB: "00000001 6742c00d 00000001 68ce3c80", avcc: "" },
];

for (const c of ANNEXB_CASES) {
  Deno.test(`annexBToAvcc: ${c.name}`, () => {
    assert.deepEqual(annexBToAvcc(hex(c.annexB)), hex(c.avcc));
  });
}

// ---------------------------------------------------------------------------------------------------------
// IVF

Deno.test("ivfHeader: DKIF, version 0, 32-byte header, VP80, size, 90000/1 time base, frame count 0", () => {
  assert.deepEqual(
    ivfHeader(320, 240),
    hex("444b4946 0000 2000 56503830 4001 f000 905f0100 01000000 00000000 00000000"),
  );
  assert.deepEqual(
    ivfHeader(640, 360, 30, 1, 60).subarray(12, 28),
    hex("8002 6801 1e000000 01000000 3c000000"),
  );
});

Deno.test("ivfFrame: little-endian size and 64-bit timestamp, then the frame", () => {
  assert.deepEqual(ivfFrame(hex("aabbcc"), 2 ** 32 + 5), hex("03000000 0500000001000000 aabbcc"));
});
