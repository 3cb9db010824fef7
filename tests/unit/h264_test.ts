import assert from "node:assert/strict";
import { AnnexBSplitter, isKeyframe, nalUnits } from "../../lib/media/h264/annexb.ts";
import { type H264AccessUnit, H264Assembler } from "../../lib/media/h264/assembler.ts";
import { NAL, nalType, parseSps, type SpsInfo } from "../../lib/media/h264/sps.ts";
import { hex, join } from "../helpers/bytes.ts";
import { sameBytes } from "../../lib/media/bytes.ts";

// ---------------------------------------------------------------------------------------------------------
// Helpers

const fixture = (name: string) => Deno.readFileSync(new URL(`../fixtures/${name}`, import.meta.url));
const BASELINE = fixture("testsrc_h264_320x240.h264");
const HIGH = fixture("testsrc_h264_high_1920x1080.h264");
const BASELINE_FRAMES = 60;
const BASELINE_KEYFRAMES = [0, 30];

function sameList(a: Uint8Array[], b: Uint8Array[]): boolean {
  return a.length === b.length && a.every((x, i) => sameBytes(x, b[i]));
}

/** Annex-B with a 4-byte start code before each NAL unit. */
function annexB(nals: Uint8Array[]): Uint8Array {
  return join(...nals.flatMap((n) => [hex("00000001"), n]));
}

function* chunks(bytes: Uint8Array, size: number): Generator<Uint8Array> {
  for (let at = 0; at < bytes.length; at += size) yield bytes.subarray(at, at + size);
}

function split(bytes: Uint8Array, chunkSize = bytes.length): { nals: Uint8Array[]; errors: number } {
  const splitter = new AnnexBSplitter();
  const nals: Uint8Array[] = [];
  for (const c of chunks(bytes, chunkSize)) nals.push(...splitter.push(c));
  nals.push(...splitter.end());
  return { nals, errors: splitter.errors };
}

/** Runs a byte stream through an assembler; the stream's end is a finished write, so it flushes. */
function assemble(bytes: Uint8Array, chunkSize = bytes.length) {
  const assembler = new H264Assembler();
  const aus: H264AccessUnit[] = [];
  for (const c of chunks(bytes, chunkSize)) aus.push(...assembler.push(c));
  const last = assembler.flush();
  if (last) aus.push(last);
  return { aus, errors: assembler.errors, sps: assembler.sps };
}

const types = (au: H264AccessUnit) => [...nalUnits(au.data)].map(nalType);
const keyframeIndexes = (aus: H264AccessUnit[]) => aus.flatMap((au, i) => au.keyframe ? [i] : []);

/** The writes gst-launch made: one per access unit, each starting with its AUD. */
function writes(bytes: Uint8Array): Uint8Array[] {
  const starts: number[] = [];
  for (let i = 0; i + 5 <= bytes.length; i++) {
    if (
      bytes[i] === 0 && bytes[i + 1] === 0 && bytes[i + 2] === 0 && bytes[i + 3] === 1 && bytes[i + 4] === 9
    ) {
      starts.push(i);
    }
  }
  return starts.map((s, k) => bytes.subarray(s, starts[k + 1] ?? bytes.length));
}

/** Deterministic noise with no zero bytes, so it can never contain a start code. */
function noise(length: number, seed: number): Uint8Array {
  let x = seed;
  return Uint8Array.from({ length }, () => {
    x = (Math.imul(x, 1103515245) + 12345) >>> 0;
    return 1 + ((x >>> 16) % 255);
  });
}

const REFERENCE = assemble(BASELINE);

// ---------------------------------------------------------------------------------------------------------
// parseSps

/** Writes RBSP bits the way an encoder would, to build SPS cases no x264 setting produces. */
class BitWriter {
  #bits: number[] = [];
  u(n: number, v: number): this {
    for (let i = n - 1; i >= 0; i--) this.#bits.push(Math.floor(v / 2 ** i) % 2);
    return this;
  }
  ue(v: number): this {
    const len = Math.floor(Math.log2(v + 1));
    return this.u(len, 0).u(len + 1, v + 1);
  }
  se(v: number): this {
    return this.ue(v > 0 ? 2 * v - 1 : -2 * v);
  }
  /** rbsp_trailing_bits, then the bytes. */
  bytes(): Uint8Array {
    const bits = [...this.#bits, 1];
    while (bits.length % 8) bits.push(0);
    return Uint8Array.from(
      { length: bits.length / 8 },
      (_, i) => parseInt(bits.slice(i * 8, i * 8 + 8).join(""), 2),
    );
  }
}

/** Inserts emulation-prevention bytes, as every encoder must (7.4.1). */
function escape(rbsp: Uint8Array): Uint8Array {
  const out: number[] = [];
  let zeros = 0;
  for (const b of rbsp) {
    if (zeros === 2 && b <= 3) {
      out.push(3);
      zeros = 0;
    }
    out.push(b);
    zeros = b === 0 ? zeros + 1 : 0;
  }
  return Uint8Array.from(out);
}

/** An SPS NAL unit: header 0x67, then `fields` written from profile_idc on, escaped. */
function craftSps(fields: (w: BitWriter) => BitWriter): Uint8Array {
  return join(hex("67"), escape(fields(new BitWriter()).bytes()));
}

/** The fields after pic_order_cnt: one reference frame, then size, frame coding and cropping. */
function picture(w: BitWriter, mbsWide: number, mapUnitsHigh: number, frameMbsOnly = 1, crop?: number[]) {
  w.ue(1).u(1, 0).ue(mbsWide - 1).ue(mapUnitsHigh - 1).u(1, frameMbsOnly);
  if (!frameMbsOnly) w.u(1, 0);
  w.u(1, 1).u(1, crop ? 1 : 0);
  for (const c of crop ?? []) w.ue(c);
  return w.u(1, 0); // no VUI
}

/** seq_scaling_list_present_flag set, with explicit deltas; a delta to 0 means "use the default list". */
function scalingList(w: BitWriter, size: number, useDefault: boolean) {
  w.u(1, 1);
  if (useDefault) return w.se(-8);
  for (let j = 0; j < size; j++) w.se(j % 3 - 1);
  return w;
}

const SCALING_LISTS_720P = craftSps((w) => {
  w.u(8, 100).u(8, 0).u(8, 31).ue(0).ue(1).ue(0).ue(0).u(1, 0).u(1, 1);
  for (const list of ["explicit", "absent", "default", "absent", "absent", "explicit"]) {
    if (list === "absent") w.u(1, 0);
    else scalingList(w, 16, list === "default");
  }
  scalingList(w, 64, false).u(1, 0);
  return picture(w.ue(0).ue(2), 80, 45);
});

const SCALING_LISTS_444 = craftSps((w) => {
  w.u(8, 244).u(8, 0).u(8, 40).ue(0).ue(3).u(1, 0).ue(0).ue(0).u(1, 0).u(1, 1);
  for (let i = 0; i < 12; i++) {
    if (i % 4 === 3) scalingList(w, i < 6 ? 16 : 64, false);
    else w.u(1, 0);
  }
  return picture(w.ue(0).ue(2), 120, 68, 1, [0, 0, 0, 8]);
});

const MONOCHROME = craftSps((w) =>
  picture(w.u(8, 100).u(8, 0).u(8, 30).ue(0).ue(0).ue(0).ue(0).u(1, 0).u(1, 0).ue(0).ue(2), 11, 9, 0, [
    1,
    2,
    3,
    4,
  ])
);

// pic_order_cnt_type 1 offsets of 2^15 are coded as 16 zeros, a one, 16 zeros: with two in a row the RBSP
// holds 00 00 00, so the escaped SPS has an emulation-prevention byte inside the fields parseSps reads.
const POC_TYPE_1_FIELDS = (w: BitWriter) =>
  picture(w.u(8, 66).u(8, 0xc0).u(8, 30).ue(0).ue(0).ue(1).u(1, 0).se(32768).se(32768).ue(1).se(1), 40, 30);
const ESCAPED_IN_FIELDS = craftSps(POC_TYPE_1_FIELDS);

const SPS_CASES: { name: string; nal: Uint8Array; expected: SpsInfo }[] = [
  {
    name: "x264 Constrained Baseline 320x240",
    nal: hex("6742c015da0507ec05a830303528000003000800000301e478b175"),
    expected: {
      profileIdc: 66,
      constraintFlags: 0xc0,
      levelIdc: 21,
      width: 320,
      height: 240,
      profileLevelId: "42c015",
    },
  },
  {
    name: "x264 Baseline 322x242: odd sizes are cropped from whole macroblocks",
    nal: hex("6742c015da05421e2223016a0c0c0d4a000003000200000300791e2c5d40"),
    expected: {
      profileIdc: 66,
      constraintFlags: 0xc0,
      levelIdc: 21,
      width: 322,
      height: 242,
      profileLevelId: "42c015",
    },
  },
  {
    name: "x264 High 1920x1080: 1088 coded lines cropped to 1080",
    nal: hex("67640028acb403c0113f2e02d40404050000030001000003003c8f1832a0"),
    expected: {
      profileIdc: 100,
      constraintFlags: 0,
      levelIdc: 40,
      width: 1920,
      height: 1080,
      profileLevelId: "640028",
    },
  },
  {
    name: "x264 High 10 1280x720: bit depths in the SPS",
    nal: hex("676e001fa6cb402802dd80b501010140000003004000000f23c60ca8"),
    expected: {
      profileIdc: 110,
      constraintFlags: 0,
      levelIdc: 31,
      width: 1280,
      height: 720,
      profileLevelId: "6e001f",
    },
  },
  {
    name: "x264 High 4:2:2 642x362: crop unit is 2 columns but 1 row",
    nal: hex("677a001ebcb405217f113e02d41818190000030001000003003c8f162ea0"),
    expected: {
      profileIdc: 122,
      constraintFlags: 0,
      levelIdc: 30,
      width: 642,
      height: 362,
      profileLevelId: "7a001e",
    },
  },
  {
    name: "x264 High 4:4:4 Predictive 1920x1080: crop unit is 1 row",
    nal: hex("67f40028919680780227e27016a0202028000003000800000301e478c195"),
    expected: {
      profileIdc: 244,
      constraintFlags: 0,
      levelIdc: 40,
      width: 1920,
      height: 1080,
      profileLevelId: "f40028",
    },
  },
  {
    name: "x264 interlaced 720x576: without frame_mbs_only a map unit is two macroblocks high",
    nal: hex("6764001face80b424d80b5060606a50000030001000003003c9f162ea0"),
    expected: {
      profileIdc: 100,
      constraintFlags: 0,
      levelIdc: 31,
      width: 720,
      height: 576,
      profileLevelId: "64001f",
    },
  },
  {
    name: "High with 4x4 and 8x8 scaling lists, one falling back to the default",
    nal: SCALING_LISTS_720P,
    expected: {
      profileIdc: 100,
      constraintFlags: 0,
      levelIdc: 31,
      width: 1280,
      height: 720,
      profileLevelId: "64001f",
    },
  },
  {
    name: "4:4:4 with twelve scaling lists and cropping",
    nal: SCALING_LISTS_444,
    expected: {
      profileIdc: 244,
      constraintFlags: 0,
      levelIdc: 40,
      width: 1920,
      height: 1080,
      profileLevelId: "f40028",
    },
  },
  {
    name: "monochrome field-coded: crop units are luma samples, doubled vertically",
    nal: MONOCHROME,
    expected: {
      profileIdc: 100,
      constraintFlags: 0,
      levelIdc: 30,
      width: 173,
      height: 274,
      profileLevelId: "64001e",
    },
  },
  {
    name: "emulation-prevention byte inside the parsed fields (pic_order_cnt_type 1)",
    nal: ESCAPED_IN_FIELDS,
    expected: {
      profileIdc: 66,
      constraintFlags: 0xc0,
      levelIdc: 30,
      width: 640,
      height: 480,
      profileLevelId: "42c01e",
    },
  },
];

for (const { name, nal, expected } of SPS_CASES) {
  Deno.test(`parseSps: ${name}`, () => {
    assert.deepEqual(parseSps(nal), expected);
  });
}

Deno.test("parseSps: the crafted case really has an emulation-prevention byte before the picture size", () => {
  const rbsp = POC_TYPE_1_FIELDS(new BitWriter()).bytes();
  assert.equal(ESCAPED_IN_FIELDS.length, 1 + rbsp.length + 1);
  assert.deepEqual(ESCAPED_IN_FIELDS.subarray(7, 11), hex("00000300"));
});

Deno.test("parseSps: a truncated SPS gives undefined, or the same answer when only the VUI is cut", () => {
  for (const { nal, expected } of SPS_CASES) {
    for (let len = 0; len < nal.length; len++) {
      const got = parseSps(nal.subarray(0, len));
      if (got !== undefined) assert.deepEqual(got, expected, `prefix of ${len} bytes`);
    }
    assert.equal(parseSps(nal.subarray(0, 5)), undefined);
  }
});

Deno.test("parseSps: what is not an SPS gives undefined", () => {
  const sps = SPS_CASES[0].nal;
  const cases: [string, Uint8Array][] = [
    ["empty", new Uint8Array()],
    ["a PPS", hex("68ce3c80")],
    ["forbidden_zero_bit set", join(hex("e7"), sps.subarray(1))],
    ["seq_parameter_set_id above 31", craftSps((w) => w.u(8, 66).u(8, 0).u(8, 30).ue(32))],
    ["pic_order_cnt_type 3", craftSps((w) => w.u(8, 66).u(8, 0).u(8, 30).ue(0).ue(0).ue(3))],
    ["chroma_format_idc 4", craftSps((w) => w.u(8, 100).u(8, 0).u(8, 30).ue(0).ue(4))],
    ["an Exp-Golomb code of 32 zeros", join(hex("6742c01e"), new Uint8Array(8), hex("80"))],
    [
      "zero-sized picture after cropping",
      craftSps((w) => picture(w.u(8, 66).u(8, 0).u(8, 30).ue(0).ue(0).ue(2), 1, 1, 1, [8, 0, 0, 0])),
    ],
  ];
  for (const [name, nal] of cases) assert.equal(parseSps(nal), undefined, name);
});

Deno.test("parseSps: random bytes behind an SPS header never throw", () => {
  for (let seed = 1; seed <= 2000; seed++) {
    const nal = noise(4 + (seed % 40), seed);
    nal[0] = 0x67;
    const got = parseSps(nal);
    if (got) assert.ok(got.width > 0 && got.height > 0);
  }
});

// ---------------------------------------------------------------------------------------------------------
// nalUnits, isKeyframe

Deno.test("nalUnits: 3- and 4-byte start codes, leading bytes ignored, trailing zeros and empty units dropped", () => {
  const stream = hex("ff ee 000001 0910 00000001 6742 000000 000001 000001 65888 0 00");
  assert.deepEqual([...nalUnits(stream)], [hex("0910"), hex("6742"), hex("658880")]);
  assert.deepEqual([...nalUnits(hex("aabbcc"))], []);
});

Deno.test("isKeyframe: true exactly when an IDR slice is present", () => {
  assert.equal(isKeyframe(hex("00000001 0910 00000001 6742c0 00000001 68ce 00000001 6588")), true);
  assert.equal(isKeyframe(hex("00000001 0910 00000001 419a")), false);
  assert.equal(isKeyframe(new Uint8Array()), false);
});

// ---------------------------------------------------------------------------------------------------------
// AnnexBSplitter

Deno.test("AnnexBSplitter: small streams", () => {
  const cases: { name: string; stream: string; nals: string[]; errors: number }[] = [
    {
      name: "3- and 4-byte start codes",
      stream: "000001 0910 00000001 6742",
      nals: ["0910", "6742"],
      errors: 0,
    },
    {
      name: "leading zeros are padding, not garbage",
      stream: "0000000000 000001 6588",
      nals: ["6588"],
      errors: 0,
    },
    {
      name: "trailing zeros belong to no NAL unit",
      stream: "000001 6588 000000 000001 41",
      nals: ["6588", "41"],
      errors: 0,
    },
    {
      name: "bytes before the first start code are one garbage run",
      stream: "ffeedd 000001 6588",
      nals: ["6588"],
      errors: 1,
    },
    { name: "an empty NAL unit is dropped", stream: "000001 000001 6588", nals: ["6588"], errors: 1 },
    {
      name: "a NAL unit with forbidden_zero_bit is dropped",
      stream: "000001 e511 000001 6588",
      nals: ["6588"],
      errors: 1,
    },
    { name: "no start code at all", stream: "0102030405", nals: [], errors: 1 },
  ];
  for (const { name, stream, nals, errors } of cases) {
    for (const size of [1, 2, 3, 100]) {
      const got = split(hex(stream), size);
      assert.deepEqual(got, { nals: nals.map(hex), errors }, `${name}, chunks of ${size}`);
    }
  }
});

Deno.test("AnnexBSplitter: every chunk size from 1 to 4096 gives the same NAL units", () => {
  for (const stream of [BASELINE, HIGH]) {
    const reference = split(stream);
    assert.equal(reference.errors, 0);
    const differing: number[] = [];
    const sizes = stream === BASELINE
      ? Array.from({ length: 4096 }, (_, i) => i + 1)
      : [1, 2, 3, 5, 188, 1500];
    for (const size of [...sizes, 65536, 1 << 20]) {
      const got = split(stream, size);
      if (got.errors !== 0 || !sameList(got.nals, reference.nals)) differing.push(size);
    }
    assert.deepEqual(differing, []);
  }
});

Deno.test("AnnexBSplitter: a NAL unit past maxNalBytes is dropped and the next one still comes out", () => {
  const splitter = new AnnexBSplitter({ maxNalBytes: 64 });
  const big = join(hex("000001 41"), noise(200, 7));
  const nals = [...splitter.push(big), ...splitter.push(hex("000001 6588")), ...splitter.end()];
  assert.deepEqual(nals, [hex("6588")]);
  assert.equal(splitter.errors, 1);
});

Deno.test("AnnexBSplitter: peek shows the NAL unit still arriving", () => {
  const splitter = new AnnexBSplitter();
  assert.deepEqual(splitter.push(hex("00000001 0910 00000001 65")), [hex("0910")]);
  assert.deepEqual(splitter.peek(), hex("65"));
  assert.deepEqual(splitter.end(), [hex("65")]);
  assert.deepEqual(splitter.peek(), new Uint8Array());
});

// ---------------------------------------------------------------------------------------------------------
// H264Assembler on the fixtures

Deno.test("H264Assembler: one access unit per frame, keyframes where the encoder put IDRs", () => {
  assert.equal(REFERENCE.aus.length, BASELINE_FRAMES);
  assert.deepEqual(keyframeIndexes(REFERENCE.aus), BASELINE_KEYFRAMES);
  assert.equal(REFERENCE.errors, 0);
  assert.deepEqual(REFERENCE.sps, {
    profileIdc: 66,
    constraintFlags: 0xc0,
    levelIdc: 13,
    width: 320,
    height: 240,
    profileLevelId: "42c00d",
  });
  const high = assemble(HIGH);
  assert.equal(high.aus.length, 10);
  assert.deepEqual(keyframeIndexes(high.aus), [0, 5]);
  assert.equal(high.sps?.height, 1080);
});

Deno.test("H264Assembler: keyframes start with SPS and PPS; AUDs are gone; every NAL unit has a 4-byte start code", () => {
  for (const au of REFERENCE.aus) {
    const nals = [...nalUnits(au.data)];
    assert.ok(!nals.some((n) => nalType(n) === NAL.AUD));
    assert.deepEqual(au.data, annexB(nals));
    assert.equal(isKeyframe(au.data), au.keyframe);
    if (au.keyframe) assert.deepEqual(types(au).slice(0, 2), [NAL.SPS, NAL.PPS]);
  }
  assert.deepEqual(types(REFERENCE.aus[0]), [NAL.SPS, NAL.PPS, NAL.SEI, NAL.IDR]);
  assert.deepEqual(types(REFERENCE.aus[1]), [NAL.SLICE]);
});

Deno.test("H264Assembler: every chunk size from 1 to 4096 gives the same access units", () => {
  const differing: number[] = [];
  for (let size = 1; size <= 4096; size++) {
    const got = assemble(BASELINE, size);
    if (got.errors !== 0 || !sameList(got.aus.map((a) => a.data), REFERENCE.aus.map((a) => a.data))) {
      differing.push(size);
    }
  }
  assert.deepEqual(differing, []);
});

// ---------------------------------------------------------------------------------------------------------
// H264Assembler: when access units come out

Deno.test("H264Assembler: flush() after each write gives that write's access unit at once", () => {
  const assembler = new H264Assembler();
  const parts = writes(BASELINE);
  assert.equal(parts.length, BASELINE_FRAMES);
  parts.forEach((write, i) => {
    assert.deepEqual(assembler.push(write), [], `write ${i}`);
    assert.deepEqual(assembler.flush(), REFERENCE.aus[i], `write ${i}`);
  });
  assert.equal(assembler.flush(), undefined);
});

Deno.test("H264Assembler: without flush(), a picture is out as soon as the next one's first NAL header arrives", () => {
  const assembler = new H264Assembler();
  const [first, second] = writes(BASELINE);
  assert.deepEqual(assembler.push(first), []);
  assert.deepEqual(assembler.push(second.subarray(0, 5)), [REFERENCE.aus[0]]);
});

Deno.test("H264Assembler: without AUDs, a slice with first_mb_in_slice 0 still starts the next picture", () => {
  const noAud = annexB(REFERENCE.aus.flatMap((au) => [...nalUnits(au.data)]));
  assert.deepEqual(assemble(noAud, 1000).aus, REFERENCE.aus);
  // Both pictures' NAL units in one write: flush() still finds only one waiting.
  const assembler = new H264Assembler();
  assert.deepEqual(assembler.push(join(REFERENCE.aus[0].data, REFERENCE.aus[1].data)), [REFERENCE.aus[0]]);
  assert.deepEqual(assembler.flush(), REFERENCE.aus[1]);
});

Deno.test("H264Assembler: flush() keeps parameter sets pending until a picture arrives", () => {
  const assembler = new H264Assembler();
  const [sps, pps, sei, idr] = nalUnits(REFERENCE.aus[0].data);
  assert.equal(assembler.flush(), undefined);
  assembler.push(annexB([hex("0910"), sps, pps, sei]));
  assert.equal(assembler.flush(), undefined);
  assembler.push(annexB([idr]));
  assert.deepEqual(assembler.flush(), REFERENCE.aus[0]);
});

// ---------------------------------------------------------------------------------------------------------
// H264Assembler: parameter sets

/** The fixture with NAL units of the given types removed from access unit `index`. */
function withoutInAu(index: number, drop: number[]): Uint8Array {
  return join(
    ...REFERENCE.aus.map((au, i) =>
      i !== index ? au.data : annexB([...nalUnits(au.data)].filter((n) => !drop.includes(nalType(n))))
    ),
  );
}

Deno.test("H264Assembler: a keyframe without SPS and PPS gets the cached ones in front", () => {
  for (const drop of [[NAL.SPS, NAL.PPS], [NAL.SPS], [NAL.PPS]]) {
    const got = assemble(withoutInAu(30, drop));
    assert.deepEqual(got.aus, REFERENCE.aus, `without ${drop}`);
    assert.equal(got.errors, 0);
  }
});

Deno.test("H264Assembler: an IDR before any SPS is dropped and counted; the next keyframe plays", () => {
  const got = assemble(withoutInAu(0, [NAL.SPS, NAL.PPS]));
  assert.equal(got.errors, 1);
  assert.deepEqual(got.aus, REFERENCE.aus.slice(1));
});

Deno.test("H264Assembler: an SPS that does not parse is dropped and counted", () => {
  const broken = join(annexB([hex("6742c0")]), REFERENCE.aus[0].data);
  const got = assemble(broken);
  assert.equal(got.errors, 1);
  assert.deepEqual(got.aus[0], REFERENCE.aus[0]);
});

// ---------------------------------------------------------------------------------------------------------
// H264Assembler: garbage

Deno.test("H264Assembler: garbage before the stream is counted once and skipped", () => {
  for (const size of [1, 7, 4096, 1 << 20]) {
    const got = assemble(join(noise(5000, 1), BASELINE), size);
    assert.equal(got.errors, 1);
    assert.deepEqual(got.aus, REFERENCE.aus);
  }
});

Deno.test("H264Assembler: damaged NAL units between pictures are counted and dropped; the pictures stay intact", () => {
  const damage = [
    join(hex("000001 e5"), noise(300, 2)), // forbidden_zero_bit
    join(hex("000001 18"), noise(300, 3)), // type 24: STAP-A only exists in RTP
    hex("000001"), // empty: the next access unit's start code follows at once
  ];
  const stream = join(...REFERENCE.aus.flatMap((au, i) => i % 10 === 5 ? [au.data, ...damage] : [au.data]));
  for (const size of [1, 3, 188, 1 << 20]) {
    const got = assemble(stream, size);
    assert.equal(got.errors, 6 * damage.length);
    assert.deepEqual(got.aus, REFERENCE.aus);
  }
});

Deno.test("H264Assembler: bytes glued to a slice or a truncated slice only change that picture", () => {
  const glued = join(REFERENCE.aus[3].data, noise(500, 4));
  const truncated = REFERENCE.aus[7].data.subarray(0, 300);
  const stream = join(...REFERENCE.aus.map((au, i) => i === 3 ? glued : i === 7 ? truncated : au.data));
  const got = assemble(stream, 1000);
  assert.equal(got.aus.length, BASELINE_FRAMES);
  assert.deepEqual(got.aus[3].data, glued);
  assert.deepEqual(got.aus[7].data, truncated);
  assert.deepEqual(
    got.aus.filter((_, i) => i !== 3 && i !== 7),
    REFERENCE.aus.filter((_, i) => i !== 3 && i !== 7),
  );
});

Deno.test("H264Assembler: random bytes with start codes never throw, and a clean stream after them is intact", () => {
  const junk = noise(200_000, 5);
  for (let i = 0; i < junk.length; i += 997) junk.set(hex("000001"), i);
  for (const size of [1, 13, 4096]) {
    const assembler = new H264Assembler();
    for (const c of chunks(junk, size)) assembler.push(c);
    assembler.flush();
    const aus: H264AccessUnit[] = [];
    for (const c of chunks(BASELINE, size)) aus.push(...assembler.push(c));
    const last = assembler.flush();
    if (last) aus.push(last);
    assert.ok(assembler.errors > 0);
    assert.deepEqual(aus.slice(-BASELINE_FRAMES + 1), REFERENCE.aus.slice(1));
  }
});
