import assert from "node:assert/strict";
import { parseVp8Frame } from "../../lib/media/vp8.ts";
import { EBML_ID, WebmDemuxer, type WebmFrame } from "../../lib/media/webm.ts";

// ---------------------------------------------------------------------------------------------------------
// Helpers

const FIXTURE = Deno.readFileSync(new URL("../fixtures/testsrc_vp8_320x240.webm", import.meta.url));
const FIXTURE_FRAMES = 60;
const FIXTURE_KEYFRAMES = [0, 30];

function concat(...parts: (Uint8Array | number[])[]): Uint8Array {
  const arrays = parts.map((p) => p instanceof Uint8Array ? p : Uint8Array.from(p));
  const out = new Uint8Array(arrays.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of arrays) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

function* chunks(bytes: Uint8Array, size: number): Generator<Uint8Array> {
  for (let at = 0; at < bytes.length; at += size) yield bytes.subarray(at, at + size);
}

function demux(bytes: Uint8Array, chunkSize = bytes.length) {
  const demuxer = new WebmDemuxer();
  const frames: WebmFrame[] = [];
  for (const c of chunks(bytes, chunkSize)) frames.push(...demuxer.push(c));
  return { frames, errors: demuxer.errors, width: demuxer.width, height: demuxer.height };
}

function sameFrame(a: WebmFrame, b: WebmFrame): boolean {
  if (a.keyframe !== b.keyframe || a.timestampMs !== b.timestampMs || a.track !== b.track) return false;
  if (a.data.length !== b.data.length) return false;
  for (let i = 0; i < a.data.length; i++) if (a.data[i] !== b.data[i]) return false;
  return true;
}

/** Deterministic noise; starting it with ff (a reserved ID) makes sure no parser state can accept it. */
function garbage(length: number, seed: number): Uint8Array {
  let x = seed;
  const out = Uint8Array.from({ length }, () => {
    x = (Math.imul(x, 1103515245) + 12345) >>> 0;
    return x >>> 24;
  });
  out[0] = 0xff;
  return out;
}

/** Where frame `index` of the fixture ends: the next element starts there. */
function endOfFrame(index: number): number {
  const data = REFERENCE.frames[index].data;
  for (let at = 0; at + data.length <= FIXTURE.length; at++) {
    if (FIXTURE[at] === data[0] && data.every((b, i) => FIXTURE[at + i] === b)) return at + data.length;
  }
  throw new Error(`frame ${index} not found`);
}

function spliceAt(bytes: Uint8Array, at: number, insert: Uint8Array): Uint8Array {
  return concat(bytes.subarray(0, at), insert, bytes.subarray(at));
}

const REFERENCE = demux(FIXTURE);

// Building EBML by hand, for the cases webmmux does not write.

const ID = EBML_ID;

function bigEndian(value: number, bytes: number): number[] {
  return Array.from({ length: bytes }, (_, i) => Math.floor(value / 2 ** (8 * (bytes - 1 - i))) % 256);
}

function idBytes(id: number): number[] {
  return bigEndian(id, Math.ceil(Math.log2(id + 1) / 8));
}

/** An element with a size of `sizeBytes` bytes (webmmux uses 8 for masters). */
function el(id: number, payload: Uint8Array | number[], sizeBytes = 8): Uint8Array {
  const size = bigEndian(payload.length, sizeBytes);
  size[0] |= 0x80 >> (sizeBytes - 1);
  return concat(idBytes(id), size, payload);
}

/** An element header with the all-ones "unknown" size, as a streaming muxer writes it. */
function unsized(id: number): Uint8Array {
  return concat(idBytes(id), [0x01, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff]);
}

function uint(id: number, value: number): Uint8Array {
  return el(id, bigEndian(value, 4), 1);
}

/** Block body: track number, relative timecode, flags (0x80 keyframe, 0x06 lacing), frame bytes. */
function block(relative: number, flags: number, frame: number[], track = 1): Uint8Array {
  return concat([0x80 | track], bigEndian(relative & 0xffff, 2), [flags], frame);
}

const simpleBlock = (relative: number, flags: number, frame: number[]) =>
  el(ID.SIMPLE_BLOCK, block(relative, flags, frame), 2);

const EBML_HEADER = el(ID.EBML, el(ID.DOC_TYPE, [...new TextEncoder().encode("webm")], 1));

/** Info and Tracks: one video track, number 1. */
function segmentHead(timecodeScaleNs: number, width: number, height: number): Uint8Array {
  const video = el(ID.VIDEO, concat(uint(ID.PIXEL_WIDTH, width), uint(ID.PIXEL_HEIGHT, height)));
  return concat(
    el(ID.INFO, uint(ID.TIMECODE_SCALE, timecodeScaleNs)),
    el(ID.TRACKS, el(ID.TRACK_ENTRY, concat(uint(ID.TRACK_NUMBER, 1), video))),
  );
}

/** The start of a stream as webmmux writes it: EBML header, unknown-size Segment, Info, Tracks. */
function header(timecodeScaleNs = 1_000_000, width = 640, height = 360): Uint8Array {
  return concat(EBML_HEADER, unsized(ID.SEGMENT), segmentHead(timecodeScaleNs, width, height));
}

function cluster(timecode: number, ...children: Uint8Array[]): Uint8Array {
  return concat(unsized(ID.CLUSTER), uint(ID.TIMECODE, timecode), ...children);
}

const summary = (frames: WebmFrame[]) =>
  frames.map((f) => ({ ts: f.timestampMs, key: f.keyframe, data: [...f.data] }));

// ---------------------------------------------------------------------------------------------------------
// The fixture

Deno.test("WebmDemuxer: webmmux output gives one frame per SimpleBlock with keyframes, times and size", () => {
  const { frames, errors, width, height } = REFERENCE;
  assert.equal(errors, 0);
  assert.equal(frames.length, FIXTURE_FRAMES);
  assert.deepEqual(frames.flatMap((f, i) => f.keyframe ? [i] : []), FIXTURE_KEYFRAMES);
  assert.deepEqual(frames.map((f) => f.timestampMs), frames.map((_, i) => Math.round(i * 1000 / 30)));
  assert.ok(frames.every((f) => f.track === 1));
  assert.deepEqual({ width, height }, { width: 320, height: 240 });
  assert.deepEqual(parseVp8Frame(frames[0].data), { keyframe: true, width: 320, height: 240 });
});

Deno.test("WebmDemuxer: every chunk size from 1 to 2048 gives the same frames", () => {
  const differing: number[] = [];
  for (const size of [...Array.from({ length: 2048 }, (_, i) => i + 1), 4096, 65536]) {
    const got = demux(FIXTURE, size);
    const same = got.errors === 0 && got.frames.length === FIXTURE_FRAMES &&
      got.frames.every((f, i) => sameFrame(f, REFERENCE.frames[i]));
    if (!same) differing.push(size);
  }
  assert.deepEqual(differing, []);
});

Deno.test("WebmDemuxer: a second EBML header (the source restarted) starts over", () => {
  for (const size of [1, 7, 4096, FIXTURE.length * 2]) {
    const got = demux(concat(FIXTURE, FIXTURE), size);
    assert.equal(got.errors, 0);
    assert.equal(got.frames.length, 2 * FIXTURE_FRAMES);
    assert.ok(got.frames.every((f, i) => sameFrame(f, REFERENCE.frames[i % FIXTURE_FRAMES])));
  }
});

Deno.test("WebmDemuxer: a new stream's header replaces the old stream's picture size and timecode scale", () => {
  const first = concat(header(100_000, 640, 360), cluster(1000, simpleBlock(0, 0x80, [1])));
  const demuxer = new WebmDemuxer();
  assert.deepEqual(demuxer.push(first).map((f) => f.timestampMs), [100]);
  assert.deepEqual([demuxer.width, demuxer.height], [640, 360]);
  assert.equal(demuxer.push(FIXTURE).length, FIXTURE_FRAMES);
  assert.deepEqual([demuxer.width, demuxer.height], [320, 240]);
});

// ---------------------------------------------------------------------------------------------------------
// Garbage

Deno.test("WebmDemuxer: garbage before the stream is counted and skipped", () => {
  for (const size of [1, 100, 1 << 20]) {
    const got = demux(concat(garbage(3000, 1), FIXTURE), size);
    assert.equal(got.errors, 1);
    assert.ok(got.frames.every((f, i) => sameFrame(f, REFERENCE.frames[i])));
    assert.equal(got.frames.length, FIXTURE_FRAMES);
  }
});

Deno.test("WebmDemuxer: garbage between clusters is counted; no frame is lost", () => {
  const stream = spliceAt(FIXTURE, endOfFrame(FIXTURE_KEYFRAMES[1] - 1), garbage(500, 2));
  for (const size of [1, 100, 1 << 20]) {
    const got = demux(stream, size);
    assert.equal(got.errors, 1);
    assert.equal(got.frames.length, FIXTURE_FRAMES);
    assert.ok(got.frames.every((f, i) => sameFrame(f, REFERENCE.frames[i])));
  }
});

Deno.test("WebmDemuxer: garbage inside a cluster loses the rest of that cluster only", () => {
  const stream = spliceAt(FIXTURE, endOfFrame(10), garbage(500, 3));
  const expected = [...REFERENCE.frames.slice(0, 11), ...REFERENCE.frames.slice(FIXTURE_KEYFRAMES[1])];
  for (const size of [1, 100, 1 << 20]) {
    const got = demux(stream, size);
    assert.equal(got.errors, 1);
    assert.equal(got.frames.length, expected.length);
    assert.ok(got.frames.every((f, i) => sameFrame(f, expected[i])));
  }
});

Deno.test("WebmDemuxer: bytes cut out anywhere never throw; the damage is counted", () => {
  let x = 4;
  const random = (n: number) => (x = (Math.imul(x, 1103515245) + 12345) >>> 0) % n;
  let errors = 0;
  for (let run = 0; run < 20; run++) {
    let damaged: Uint8Array = FIXTURE;
    for (let cut = 0; cut < 5; cut++) {
      const at = random(damaged.length);
      damaged = concat(damaged.subarray(0, at), damaged.subarray(at + 1 + random(200)));
    }
    const got = demux(damaged, 1 + random(5000));
    assert.ok(got.frames.length <= FIXTURE_FRAMES);
    for (const f of got.frames) parseVp8Frame(f.data);
    errors += got.errors;
  }
  assert.ok(errors > 0);
});

Deno.test("WebmDemuxer: elements that cannot be valid where they are count as garbage", () => {
  const frame = cluster(0, simpleBlock(0, 0x80, [1]));
  const cases: [string, Uint8Array][] = [
    ["unknown size on anything but Segment or Cluster", concat(header(), unsized(ID.VOID), [0, 0], frame)],
    [
      "a child larger than its parent",
      concat(header(), idBytes(ID.INFO), [0x82], uint(ID.TIMECODE_SCALE, 1), frame),
    ],
    ["an ID no Segment holds", concat(header(), el(0x2f1234, [1]), frame)],
    [
      "a SimpleBlock for a track the header did not declare",
      concat(header(), cluster(0, el(ID.SIMPLE_BLOCK, block(0, 0x80, [2], 2))), frame),
    ],
  ];
  for (const [name, stream] of cases) {
    const got = demux(stream);
    assert.equal(got.errors, 1, name);
    assert.deepEqual(summary(got.frames), [{ ts: 0, key: true, data: [1] }], name);
  }
});

// ---------------------------------------------------------------------------------------------------------
// What webmmux does not write, but Matroska allows

Deno.test("WebmDemuxer: TimecodeScale and negative block timecodes", () => {
  const stream = concat(header(100_000), cluster(1000, simpleBlock(5, 0x80, [1]), simpleBlock(-3, 0, [2])));
  assert.deepEqual(summary(demux(stream).frames), [{ ts: 100.5, key: true, data: [1] }, {
    ts: 99.7,
    key: false,
    data: [2],
  }]);
});

Deno.test("WebmDemuxer: a BlockGroup's Block is a keyframe unless it has a ReferenceBlock", () => {
  const stream = concat(
    header(),
    cluster(
      0,
      el(ID.BLOCK_GROUP, el(ID.BLOCK, block(0, 0, [1]), 1), 1),
      el(ID.BLOCK_GROUP, concat(el(ID.BLOCK, block(33, 0, [2]), 1), el(ID.REFERENCE_BLOCK, [0xdf], 1)), 1),
      el(ID.BLOCK_GROUP, el(ID.REFERENCE_BLOCK, [0xdf], 1), 1),
    ),
  );
  const got = demux(stream, 3);
  assert.deepEqual(summary(got.frames), [{ ts: 0, key: true, data: [1] }, { ts: 33, key: false, data: [2] }]);
  assert.equal(got.errors, 1, "the group without a Block");
});

Deno.test("WebmDemuxer: a laced block is counted and skipped", () => {
  const stream = concat(
    header(),
    cluster(0, simpleBlock(0, 0x80, [1]), simpleBlock(33, 0x02, [0, 5, 1, 2, 3]), simpleBlock(67, 0, [3])),
  );
  const got = demux(stream);
  assert.equal(got.errors, 1);
  assert.deepEqual(summary(got.frames), [{ ts: 0, key: true, data: [1] }, { ts: 67, key: false, data: [3] }]);
});

Deno.test("WebmDemuxer: known-size Segment and Clusters read the same as unknown-size ones", () => {
  const clusterBody = (tc: number, ...blocks: Uint8Array[]) => concat(uint(ID.TIMECODE, tc), ...blocks);
  const body = concat(
    segmentHead(1_000_000, 640, 360),
    el(ID.CLUSTER, clusterBody(0, simpleBlock(0, 0x80, [1]), simpleBlock(33, 0, [2]))),
    el(ID.CLUSTER, clusterBody(1000, simpleBlock(0, 0x80, [3]))),
  );
  const stream = concat(EBML_HEADER, el(ID.SEGMENT, body));
  const got = demux(stream, 5);
  assert.equal(got.errors, 0);
  assert.deepEqual(summary(got.frames).map((f) => f.ts), [0, 33, 1000]);
});

Deno.test("WebmDemuxer: a large element to skip streams past without stopping the frames after it", () => {
  const stream = concat(
    header(),
    el(ID.VOID, new Uint8Array(8 << 20)),
    cluster(0, simpleBlock(0, 0x80, [1])),
  );
  const got = demux(stream, 65536);
  assert.equal(got.errors, 0);
  assert.deepEqual(summary(got.frames), [{ ts: 0, key: true, data: [1] }]);
});
