/**
 * Fragmented MP4 (ISO/IEC 14496-12 with the avc1, vp08 and Opus bindings): an init segment, one moof+mdat
 * per fragment, and a reader that finds where a file cut by kill -9 stops being usable. Written by hand
 * rather than with a muxer library because recording must cut a fragment every part_ms whether or not a
 * keyframe arrived, and playback must re-time and trim fragments of several files into one stream.
 * Pure and synchronous over Uint8Array.
 */

import { NAL, nalType } from "./h264/sps.ts";
import { nalUnits } from "./h264/annexb.ts";

/** A track of a recording. */
export type Mp4Track =
  | {
    id: number;
    kind: "video";
    codec: "avc1";
    timescale: number;
    width: number;
    height: number;
    /** The sequence parameter set NAL unit, header byte first, no start code. */
    sps: Uint8Array;
    /** The picture parameter set NAL unit, header byte first, no start code. */
    pps: Uint8Array;
  }
  | { id: number; kind: "video"; codec: "vp08"; timescale: number; width: number; height: number }
  | { id: number; kind: "audio"; codec: "Opus"; timescale: 48000; channels: number; preSkip: number };

/** One sample in a fragment. */
export interface Mp4Sample {
  /** For avc1, length-prefixed NAL units (see {@link annexBToAvcc}); for vp08 and Opus, one frame/packet. */
  data: Uint8Array;
  /** In the track's timescale. */
  duration: number;
  keyframe: boolean;
}

/** One track's run in a fragment. */
export interface TrackRun {
  trackId: number;
  /** Decode time of the first sample, in the track's timescale. */
  baseDecodeTime: number;
  samples: Mp4Sample[];
}

/** What a file (or a prefix of one cut by kill -9) holds. */
export interface Mp4Layout {
  /** Everything up to the end of the moov; null when the file ends before the moov does. */
  init: {
    bytes: Uint8Array;
    tracks: { id: number; kind: "video" | "audio"; timescale: number; codec: string }[];
  } | null;
  /** Only complete moof+mdat pairs, in file order. */
  fragments: FragmentInfo[];
  /** Bytes up to the end of the last complete box pair: where a cut file's good part ends. */
  completeBytes: number;
}

/** Where one moof+mdat pair sits in a file, and what its runs hold. */
export interface FragmentInfo {
  /** Of the moof in the file. */
  offset: number;
  /** Moof plus mdat bytes. */
  size: number;
  sequence: number;
  runs: {
    trackId: number;
    baseDecodeTime: number;
    /** Sum of the sample durations, in the track's timescale. */
    duration: number;
    sampleCount: number;
    firstIsKeyframe: boolean;
    /** Index of each sync sample in the run. */
    keyframeOffsets: number[];
    /** Decode time of each sync sample, in the track's timescale (same order as keyframeOffsets). */
    keyframeTimes: number[];
  }[];
}

/** Bytes that are not an ISO BMFF file (as opposed to a truncated one, which the reader accepts). */
export class Mp4FormatError extends Error {
  /** @param message what was wrong, and where. */
  constructor(message: string) {
    super(message);
    this.name = "Mp4FormatError";
  }
}

// ---------------------------------------------------------------------------------------------------------
// Writing

/**
 * Big-endian writer into one buffer. Box sizes are patched in when a box ends, so nested boxes need no
 * size pass of their own; the fragment writer sizes the buffer exactly so it never grows there.
 */
class Writer {
  #buf: Uint8Array;
  #view: DataView;
  pos = 0;

  constructor(capacity: number) {
    this.#buf = new Uint8Array(capacity);
    this.#view = new DataView(this.#buf.buffer);
  }

  #room(n: number): void {
    if (this.pos + n <= this.#buf.length) return;
    const grown = new Uint8Array(Math.max(this.pos + n, this.#buf.length * 2));
    grown.set(this.#buf.subarray(0, this.pos));
    this.#buf = grown;
    this.#view = new DataView(grown.buffer);
  }

  u8(v: number): void {
    this.#room(1);
    this.#view.setUint8(this.pos++, v);
  }

  u16(v: number): void {
    this.#room(2);
    this.#view.setUint16(this.pos, v);
    this.pos += 2;
  }

  u32(v: number): void {
    this.#room(4);
    this.#view.setUint32(this.pos, v);
    this.pos += 4;
  }

  i32(v: number): void {
    this.#room(4);
    this.#view.setInt32(this.pos, v);
    this.pos += 4;
  }

  u64(v: number): void {
    this.#room(8);
    this.#view.setBigUint64(this.pos, BigInt(v));
    this.pos += 8;
  }

  fourcc(s: string): void {
    this.#room(4);
    for (let i = 0; i < 4; i++) this.#buf[this.pos++] = s.charCodeAt(i);
  }

  bytes(b: Uint8Array): void {
    this.#room(b.length);
    this.#buf.set(b, this.pos);
    this.pos += b.length;
  }

  zeros(n: number): void {
    this.#room(n);
    this.#buf.fill(0, this.pos, this.pos + n);
    this.pos += n;
  }

  /** Opens a box; pass the returned start to {@link end}. */
  box(type: string): number {
    const start = this.pos;
    this.u32(0);
    this.fourcc(type);
    return start;
  }

  fullBox(type: string, version: number, flags: number): number {
    const start = this.box(type);
    this.u32((version << 24 | flags) >>> 0);
    return start;
  }

  end(start: number): void {
    this.#view.setUint32(start, this.pos - start);
  }

  done(): Uint8Array {
    return this.#buf.length === this.pos ? this.#buf : this.#buf.slice(0, this.pos);
  }
}

/** The identity transform, as mvhd and tkhd spell it (16.16 and 2.30 fixed point). */
const MATRIX = [0x00010000, 0, 0, 0, 0x00010000, 0, 0, 0, 0x40000000];
/** "und" packed as three 5-bit letters, the language of a track that does not say. */
const LANGUAGE_UND = 0x55c4;
const TKHD_ENABLED_IN_MOVIE = 0x3;
const TFHD_DEFAULT_BASE_IS_MOOF = 0x020000;
const TFHD_BASE_DATA_OFFSET = 0x1;
const TFHD_DESCRIPTION_INDEX = 0x2;
const TFHD_DEFAULT_DURATION = 0x8;
const TFHD_DEFAULT_SIZE = 0x10;
const TFHD_DEFAULT_FLAGS = 0x20;
const TRUN_DATA_OFFSET = 0x1;
const TRUN_FIRST_SAMPLE_FLAGS = 0x4;
const TRUN_DURATION = 0x100;
const TRUN_SIZE = 0x200;
const TRUN_FLAGS = 0x400;
const TRUN_CTS = 0x800;
/** sample_depends_on = 2: decodes without other samples. */
const SYNC_SAMPLE_FLAGS = 0x02000000;
/** sample_depends_on = 1 and sample_is_non_sync_sample. */
const NON_SYNC_SAMPLE_FLAGS = 0x01010000;
const NON_SYNC_BIT = 0x00010000;

/**
 * An init segment: ftyp, and a moov whose sample tables are empty because every sample lives in
 * fragments. Brands are those ffmpeg's DASH muxer writes, which Chromium's MSE and <video> take.
 */
export function initSegment(tracks: Mp4Track[]): Uint8Array {
  if (tracks.length === 0) throw new RangeError("initSegment: no tracks");
  const w = new Writer(1024 + tracks.length * 512);
  const ftyp = w.box("ftyp");
  w.fourcc("iso6");
  w.u32(0);
  for (const brand of ["iso6", "iso5", "isom", "mp41", "dash"]) w.fourcc(brand);
  w.end(ftyp);

  const moov = w.box("moov");
  const mvhd = w.fullBox("mvhd", 0, 0);
  w.zeros(8); // creation and modification time: unknown, and no player shows them
  w.u32(1000);
  w.u32(0); // duration: a fragmented file does not know it up front
  w.u32(0x00010000); // rate 1.0
  w.u16(0x0100); // volume 1.0
  w.zeros(10);
  for (const m of MATRIX) w.u32(m);
  w.zeros(24);
  w.u32(Math.max(...tracks.map((t) => t.id)) + 1);
  w.end(mvhd);
  for (const track of tracks) writeTrak(w, track);
  const mvex = w.box("mvex");
  for (const track of tracks) {
    const trex = w.fullBox("trex", 0, 0);
    w.u32(track.id);
    w.u32(1); // sample description index
    w.zeros(12); // default duration, size, flags: every trun says its own
    w.end(trex);
  }
  w.end(mvex);
  w.end(moov);
  return w.done();
}

function writeTrak(w: Writer, track: Mp4Track): void {
  const video = track.kind === "video";
  const trak = w.box("trak");
  const tkhd = w.fullBox("tkhd", 0, TKHD_ENABLED_IN_MOVIE);
  w.zeros(8);
  w.u32(track.id);
  w.zeros(4);
  w.u32(0); // duration
  w.zeros(8);
  w.u16(0); // layer
  w.u16(0); // alternate group
  w.u16(video ? 0 : 0x0100);
  w.zeros(2);
  for (const m of MATRIX) w.u32(m);
  w.u32(video ? track.width * 0x10000 : 0);
  w.u32(video ? track.height * 0x10000 : 0);
  w.end(tkhd);

  const mdia = w.box("mdia");
  const mdhd = w.fullBox("mdhd", 0, 0);
  w.zeros(8);
  w.u32(track.timescale);
  w.u32(0);
  w.u16(LANGUAGE_UND);
  w.u16(0);
  w.end(mdhd);
  const hdlr = w.fullBox("hdlr", 0, 0);
  w.u32(0);
  w.fourcc(video ? "vide" : "soun");
  w.zeros(12);
  w.bytes(new TextEncoder().encode(video ? "VideoHandler\0" : "SoundHandler\0"));
  w.end(hdlr);

  const minf = w.box("minf");
  if (video) {
    const vmhd = w.fullBox("vmhd", 0, 1); // flags 1 is required by the spec
    w.zeros(8);
    w.end(vmhd);
  } else {
    const smhd = w.fullBox("smhd", 0, 0);
    w.zeros(4);
    w.end(smhd);
  }
  const dinf = w.box("dinf");
  const dref = w.fullBox("dref", 0, 0);
  w.u32(1);
  w.end(w.fullBox("url ", 0, 1)); // flag 1: the media is in this file
  w.end(dref);
  w.end(dinf);

  const stbl = w.box("stbl");
  const stsd = w.fullBox("stsd", 0, 0);
  w.u32(1);
  writeSampleEntry(w, track);
  w.end(stsd);
  for (const type of ["stts", "stsc", "stco"]) {
    const b = w.fullBox(type, 0, 0);
    w.u32(0);
    w.end(b);
  }
  const stsz = w.fullBox("stsz", 0, 0);
  w.u32(0);
  w.u32(0);
  w.end(stsz);
  w.end(stbl);
  w.end(minf);
  w.end(mdia);
  w.end(trak);
}

function writeSampleEntry(w: Writer, track: Mp4Track): void {
  const entry = w.box(track.codec);
  w.zeros(6);
  w.u16(1); // data reference index
  if (track.kind === "audio") {
    w.zeros(8);
    w.u16(track.channels);
    w.u16(16);
    w.zeros(4);
    w.u32(48000 * 0x10000);
    // Opus in ISOBMFF (opus-codec.org/docs/opus_in_isobmff.html) §4.3.2; a plain box, not a full box.
    const dOps = w.box("dOps");
    w.u8(0);
    w.u8(track.channels);
    w.u16(track.preSkip);
    w.u32(48000);
    w.u16(0); // output gain
    w.u8(0); // channel mapping family 0: mono or stereo, no table
    w.end(dOps);
    w.end(entry);
    return;
  }
  w.zeros(16);
  w.u16(track.width);
  w.u16(track.height);
  w.u32(0x00480000); // 72 dpi
  w.u32(0x00480000);
  w.u32(0);
  w.u16(1); // frame count
  w.zeros(32); // compressorname: empty Pascal string
  w.u16(0x0018);
  w.u16(0xffff); // pre_defined = -1
  if (track.codec === "avc1") {
    if (track.sps.length < 4) throw new RangeError("initSegment: SPS shorter than 4 bytes");
    // The High-profile trailer (chroma format, bit depths) is optional for readers; leaving it out is
    // safer than writing it from a guess.
    const avcC = w.box("avcC");
    w.u8(1);
    w.u8(track.sps[1]);
    w.u8(track.sps[2]);
    w.u8(track.sps[3]);
    w.u8(0xfc | 3); // 4-byte NAL lengths
    w.u8(0xe0 | 1);
    w.u16(track.sps.length);
    w.bytes(track.sps);
    w.u8(1);
    w.u16(track.pps.length);
    w.bytes(track.pps);
    w.end(avcC);
  } else {
    // VP Codec ISO Media File Format Binding §2.2; level 10 is what the common "vp08.00.10.08" names.
    const vpcC = w.fullBox("vpcC", 1, 0);
    w.u8(0); // profile
    w.u8(10); // level
    w.u8(8 << 4 | 1 << 1 | 0); // bit depth 8, 4:2:0 colocated, limited range
    w.u8(1); // BT.709 primaries, transfer, matrix
    w.u8(1);
    w.u8(1);
    w.u16(0); // no codec initialization data
    w.end(vpcC);
  }
  w.end(entry);
}

/** A sample as the fragment writer takes it: flags and composition offset as they go on the wire. */
interface RawSample {
  data: Uint8Array;
  duration: number;
  flags: number;
  compositionOffset: number;
}

interface RawRun {
  trackId: number;
  baseDecodeTime: number;
  samples: RawSample[];
}

const MFHD_BYTES = 16;
const TFHD_BYTES = 16;
const TFDT_BYTES = 20;
const TRUN_HEADER_BYTES = 20;

function writeFragment(sequence: number, runs: RawRun[]): Uint8Array {
  let moofSize = 8 + MFHD_BYTES;
  let dataSize = 0;
  const withCts = runs.map((run) => run.samples.some((s) => s.compositionOffset !== 0));
  for (let i = 0; i < runs.length; i++) {
    moofSize += 8 + TFHD_BYTES + TFDT_BYTES + TRUN_HEADER_BYTES +
      runs[i].samples.length * (withCts[i] ? 16 : 12);
    for (const s of runs[i].samples) dataSize += s.data.length;
  }
  if (8 + dataSize > 0xffffffff) throw new RangeError("fragment: mdat over 4 GiB");
  const w = new Writer(moofSize + 8 + dataSize);
  const moof = w.box("moof");
  const mfhd = w.fullBox("mfhd", 0, 0);
  w.u32(sequence);
  w.end(mfhd);
  // Offsets count from the moof (default-base-is-moof), so a fragment can be copied anywhere unchanged.
  let dataOffset = moofSize + 8;
  for (let i = 0; i < runs.length; i++) {
    const run = runs[i];
    const traf = w.box("traf");
    const tfhd = w.fullBox("tfhd", 0, TFHD_DEFAULT_BASE_IS_MOOF);
    w.u32(run.trackId);
    w.end(tfhd);
    const tfdt = w.fullBox("tfdt", 1, 0); // 64-bit: 90 kHz passes 2^32 after 13 hours
    w.u64(run.baseDecodeTime);
    w.end(tfdt);
    const cts = withCts[i];
    // Version 1 makes the composition offsets signed, which B-frames without an edit list need.
    const trun = w.fullBox(
      "trun",
      cts ? 1 : 0,
      TRUN_DATA_OFFSET | TRUN_DURATION | TRUN_SIZE | TRUN_FLAGS | (cts ? TRUN_CTS : 0),
    );
    w.u32(run.samples.length);
    w.i32(dataOffset);
    for (const s of run.samples) {
      w.u32(s.duration);
      w.u32(s.data.length);
      w.u32(s.flags);
      if (cts) w.i32(s.compositionOffset);
      dataOffset += s.data.length;
    }
    w.end(trun);
    w.end(traf);
  }
  w.end(moof);
  const mdat = w.box("mdat");
  for (const run of runs) for (const s of run.samples) w.bytes(s.data);
  w.end(mdat);
  return w.done();
}

/**
 * One fragment: a moof with a traf per run and one mdat holding every run's samples in order. A run may
 * start without a keyframe; the sample flags tell demuxers where they can start.
 */
export function fragment(sequence: number, runs: TrackRun[]): Uint8Array {
  return writeFragment(
    sequence,
    runs.map((run) => ({
      trackId: run.trackId,
      baseDecodeTime: run.baseDecodeTime,
      samples: run.samples.map((s) => ({
        data: s.data,
        duration: s.duration,
        flags: s.keyframe ? SYNC_SAMPLE_FLAGS : NON_SYNC_SAMPLE_FLAGS,
        compositionOffset: 0,
      })),
    })),
  );
}

/**
 * An Annex-B access unit as an avc1 sample: 4-byte length before each NAL unit. SPS, PPS and AUD are
 * left out: the parameter sets live in avcC, and in-band copies that differ from it confuse decoders.
 */
export function annexBToAvcc(annexB: Uint8Array): Uint8Array {
  const nals: Uint8Array[] = [];
  let size = 0;
  for (const nal of nalUnits(annexB)) {
    const type = nalType(nal);
    if (type === NAL.SPS || type === NAL.PPS || type === NAL.AUD) continue;
    nals.push(nal);
    size += 4 + nal.length;
  }
  const out = new Uint8Array(size);
  const view = new DataView(out.buffer);
  let at = 0;
  for (const nal of nals) {
    view.setUint32(at, nal.length);
    out.set(nal, at + 4);
    at += 4 + nal.length;
  }
  return out;
}

// ---------------------------------------------------------------------------------------------------------
// Reading

/** A box header: where its payload starts and where the box ends (end may lie past the bytes at hand). */
interface BoxHeader {
  type: string;
  start: number;
  payload: number;
  end: number;
}

function isPrintable(b: number): boolean {
  return b >= 0x20 && b <= 0x7e;
}

/**
 * The box at `at`, or "more" when its header is not all there. Throws for a header no writer makes, so
 * random bytes fail near where they start rather than being skipped as unknown boxes.
 */
function readBoxHeader(bytes: Uint8Array, view: DataView, at: number, limit: number): BoxHeader | "more" {
  if (at + 8 > limit) return "more";
  for (let i = at + 4; i < at + 8; i++) {
    if (!isPrintable(bytes[i])) throw new Mp4FormatError(`box type at ${at} is not text`);
  }
  const type = String.fromCharCode(bytes[at + 4], bytes[at + 5], bytes[at + 6], bytes[at + 7]);
  let size = view.getUint32(at);
  let payload = at + 8;
  if (size === 1) {
    if (at + 16 > limit) return "more";
    size = Number(view.getBigUint64(at + 8));
    payload = at + 16;
    if (size < 16) throw new Mp4FormatError(`${type} box at ${at} has a 64-bit size below 16`);
  } else if (size === 0) {
    // "Extends to the end of the file": only meaningful for a last mdat, which is then complete as it is.
    size = limit - at;
  } else if (size < 8) {
    throw new Mp4FormatError(`${type} box at ${at} has size ${size}`);
  }
  return { type, start: at, payload, end: at + size };
}

/** Reads inside one box, throwing Mp4FormatError (never RangeError) when a field runs past its end. */
class Cursor {
  constructor(readonly view: DataView, public pos: number, readonly end: number, readonly what: string) {}

  #need(n: number): number {
    if (this.pos + n > this.end) throw new Mp4FormatError(`${this.what} box is too short`);
    const at = this.pos;
    this.pos += n;
    return at;
  }

  u8(): number {
    return this.view.getUint8(this.#need(1));
  }

  u32(): number {
    return this.view.getUint32(this.#need(4));
  }

  i32(): number {
    return this.view.getInt32(this.#need(4));
  }

  u64(): number {
    const v = this.view.getBigUint64(this.#need(8));
    if (v > BigInt(Number.MAX_SAFE_INTEGER)) throw new Mp4FormatError(`${this.what}: 64-bit value too large`);
    return Number(v);
  }

  skip(n: number): void {
    this.#need(n);
  }
}

/** The child boxes of a complete box's payload; a child that runs past its parent is garbage. */
function children(bytes: Uint8Array, view: DataView, from: number, end: number): BoxHeader[] {
  const out: BoxHeader[] = [];
  for (let at = from; at < end;) {
    const h = readBoxHeader(bytes, view, at, end);
    if (h === "more" || h.end > end) throw new Mp4FormatError(`box at ${at} runs past its parent`);
    out.push(h);
    at = h.end;
  }
  return out;
}

function child(bytes: Uint8Array, view: DataView, parent: BoxHeader, type: string): BoxHeader {
  const found = children(bytes, view, parent.payload, parent.end).find((h) => h.type === type);
  if (!found) throw new Mp4FormatError(`${parent.type} box at ${parent.start} has no ${type}`);
  return found;
}

type InitTrack = NonNullable<Mp4Layout["init"]>["tracks"][number];

/** Per-track defaults from trex, which a traf falls back on when neither tfhd nor trun gives a value. */
interface TrackDefaults {
  duration: number;
  size: number;
  flags: number;
}

function readMoov(bytes: Uint8Array, view: DataView, moov: BoxHeader) {
  const tracks: InitTrack[] = [];
  const defaults = new Map<number, TrackDefaults>();
  for (const box of children(bytes, view, moov.payload, moov.end)) {
    if (box.type === "trak") {
      const tkhd = child(bytes, view, box, "tkhd");
      const c = new Cursor(view, tkhd.payload, tkhd.end, "tkhd");
      const version = c.u8();
      c.skip(3 + (version === 1 ? 16 : 8));
      const id = c.u32();
      const mdia = child(bytes, view, box, "mdia");
      const mdhd = child(bytes, view, mdia, "mdhd");
      const m = new Cursor(view, mdhd.payload, mdhd.end, "mdhd");
      const mdhdVersion = m.u8();
      m.skip(3 + (mdhdVersion === 1 ? 16 : 8));
      const timescale = m.u32();
      const hdlr = child(bytes, view, mdia, "hdlr");
      if (hdlr.payload + 12 > hdlr.end) throw new Mp4FormatError("hdlr box is too short");
      const handler = String.fromCharCode(...bytes.subarray(hdlr.payload + 8, hdlr.payload + 12));
      // Subtitle, hint and metadata tracks are not ours to play; a recording has none.
      if (handler !== "vide" && handler !== "soun") continue;
      const stsd = child(bytes, view, child(bytes, view, child(bytes, view, mdia, "minf"), "stbl"), "stsd");
      const entries = children(bytes, view, stsd.payload + 8, stsd.end);
      if (entries.length === 0) throw new Mp4FormatError("stsd has no sample entry");
      tracks.push({ id, kind: handler === "vide" ? "video" : "audio", timescale, codec: entries[0].type });
    } else if (box.type === "mvex") {
      for (const trex of children(bytes, view, box.payload, box.end)) {
        if (trex.type !== "trex") continue;
        const c = new Cursor(view, trex.payload + 4, trex.end, "trex");
        const id = c.u32();
        c.skip(4);
        defaults.set(id, { duration: c.u32(), size: c.u32(), flags: c.u32() });
      }
    }
  }
  return { tracks, defaults };
}

/** One traf as read: where its fields sit, so they can be patched, and its samples' data ranges. */
interface TrafRead {
  trackId: number;
  baseDecodeTime: number;
  /** Absolute offset of the tfdt's version byte, or -1 when the traf has none. */
  tfdtAt: number;
  samples: { offset: number; size: number; duration: number; flags: number; compositionOffset: number }[];
}

interface MoofRead {
  sequence: number;
  /** Absolute offset of the mfhd sequence number. */
  sequenceAt: number;
  trafs: TrafRead[];
}

function readMoof(
  bytes: Uint8Array,
  view: DataView,
  moof: BoxHeader,
  trackDefaults: ReadonlyMap<number, TrackDefaults>,
): MoofRead {
  let sequence = -1;
  let sequenceAt = -1;
  const trafs: TrafRead[] = [];
  // Without default-base-is-moof, a traf's data follows the previous traf's (ISO 14496-12 §8.8.7.1).
  let previousDataEnd = moof.start;
  for (const box of children(bytes, view, moof.payload, moof.end)) {
    if (box.type === "mfhd") {
      sequenceAt = box.payload + 4;
      sequence = new Cursor(view, sequenceAt, box.end, "mfhd").u32();
      continue;
    }
    if (box.type !== "traf") continue;
    const parts = children(bytes, view, box.payload, box.end);
    const tfhd = parts.find((h) => h.type === "tfhd");
    if (!tfhd) throw new Mp4FormatError(`traf at ${box.start} has no tfhd`);
    const t = new Cursor(view, tfhd.payload, tfhd.end, "tfhd");
    const tfhdFlags = t.u32() & 0xffffff;
    const trackId = t.u32();
    const fallback = trackDefaults.get(trackId) ?? { duration: 0, size: 0, flags: 0 };
    let base = tfhdFlags & TFHD_DEFAULT_BASE_IS_MOOF ? moof.start : previousDataEnd;
    if (tfhdFlags & TFHD_BASE_DATA_OFFSET) base = t.u64();
    if (tfhdFlags & TFHD_DESCRIPTION_INDEX) t.skip(4);
    const defaultDuration = tfhdFlags & TFHD_DEFAULT_DURATION ? t.u32() : fallback.duration;
    const defaultSize = tfhdFlags & TFHD_DEFAULT_SIZE ? t.u32() : fallback.size;
    const defaultFlags = tfhdFlags & TFHD_DEFAULT_FLAGS ? t.u32() : fallback.flags;

    let baseDecodeTime = 0;
    let tfdtAt = -1;
    const tfdt = parts.find((h) => h.type === "tfdt");
    if (tfdt) {
      tfdtAt = tfdt.payload;
      const c = new Cursor(view, tfdt.payload, tfdt.end, "tfdt");
      baseDecodeTime = c.u32() >>> 24 === 1 ? c.u64() : c.u32();
    }
    const samples: TrafRead["samples"] = [];
    let dataAt = base;
    for (const trun of parts) {
      if (trun.type !== "trun") continue;
      const c = new Cursor(view, trun.payload, trun.end, "trun");
      const flags = c.u32() & 0xffffff;
      const count = c.u32();
      if (flags & TRUN_DATA_OFFSET) dataAt = base + c.i32();
      const firstFlags = flags & TRUN_FIRST_SAMPLE_FLAGS ? c.u32() : undefined;
      const entryBytes = 4 * [TRUN_DURATION, TRUN_SIZE, TRUN_FLAGS, TRUN_CTS].filter((f) => flags & f).length;
      // Checked before the loop so a garbage count cannot make us allocate millions of entries.
      if (count * entryBytes > trun.end - c.pos) {
        throw new Mp4FormatError(`trun at ${trun.start} is too short`);
      }
      for (let i = 0; i < count; i++) {
        const duration = flags & TRUN_DURATION ? c.u32() : defaultDuration;
        const size = flags & TRUN_SIZE ? c.u32() : defaultSize;
        let sampleFlags = flags & TRUN_FLAGS ? c.u32() : defaultFlags;
        if (i === 0 && firstFlags !== undefined) sampleFlags = firstFlags;
        const compositionOffset = flags & TRUN_CTS ? c.i32() : 0;
        samples.push({ offset: dataAt, size, duration, flags: sampleFlags, compositionOffset });
        dataAt += size;
      }
    }
    previousDataEnd = dataAt;
    trafs.push({ trackId, baseDecodeTime, tfdtAt, samples });
  }
  if (sequenceAt < 0) throw new Mp4FormatError(`moof at ${moof.start} has no mfhd`);
  return { sequence, sequenceAt, trafs };
}

/** Boxes a file, a segment or a bare fragment can begin with. */
const FIRST_BOXES = new Set(["ftyp", "styp", "moov", "moof", "sidx", "free", "skip"]);

function isSync(flags: number): boolean {
  return (flags & NON_SYNC_BIT) === 0;
}

function describeFragment(moof: MoofRead, offset: number, size: number): FragmentInfo {
  return {
    offset,
    size,
    sequence: moof.sequence,
    runs: moof.trafs.map((traf) => {
      const keyframeOffsets: number[] = [];
      const keyframeTimes: number[] = [];
      let duration = 0;
      traf.samples.forEach((s, i) => {
        if (isSync(s.flags)) {
          keyframeOffsets.push(i);
          keyframeTimes.push(traf.baseDecodeTime + duration);
        }
        duration += s.duration;
      });
      return {
        trackId: traf.trackId,
        baseDecodeTime: traf.baseDecodeTime,
        duration,
        sampleCount: traf.samples.length,
        firstIsKeyframe: keyframeOffsets[0] === 0,
        keyframeOffsets,
        keyframeTimes,
      };
    }),
  };
}

/**
 * What one fragment holds, read from its moof alone (`bytes` starts with the moof; the mdat may follow
 * or not): how a file's fragments are listed without reading their media. `offset` and `size` are the
 * fragment's place in its file, as {@link FragmentInfo} records them. Sample flags and durations must be
 * in the trun or tfhd (trex defaults are in the init section, not here), as this module writes them.
 */
export function fragmentInfo(bytes: Uint8Array, offset: number, size: number): FragmentInfo {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const moof = readBoxHeader(bytes, view, 0, bytes.length);
  if (moof === "more" || moof.type !== "moof" || moof.end > bytes.length) {
    throw new Mp4FormatError("bytes do not start with a complete moof");
  }
  return describeFragment(readMoof(bytes, view, moof, new Map()), offset, size);
}

/**
 * Where the init segment and each complete fragment sit. A truncated tail is expected (the writer may
 * have been killed mid-write): reading stops at the first incomplete box and never throws for it.
 * Throws {@link Mp4FormatError} for bytes that cannot be an MP4 file.
 */
export function parseMp4(bytes: Uint8Array): Mp4Layout {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let init: Mp4Layout["init"] = null;
  let defaults: ReadonlyMap<number, TrackDefaults> = new Map();
  const fragments: FragmentInfo[] = [];
  let completeBytes = 0;
  let at = 0;
  while (at < bytes.length) {
    const h = readBoxHeader(bytes, view, at, bytes.length);
    if (h === "more") break;
    // Every file and segment starts with one of these; anything else means we are not looking at boxes.
    if (at === 0 && !FIRST_BOXES.has(h.type)) {
      throw new Mp4FormatError(`file starts with a ${JSON.stringify(h.type)} box`);
    }
    if (h.end > bytes.length) break;
    if (h.type === "moov") {
      if (init === null) {
        const moov = readMoov(bytes, view, h);
        init = { bytes: bytes.slice(0, h.end), tracks: moov.tracks };
        defaults = moov.defaults;
      }
    } else if (h.type === "moof") {
      const moof = readMoof(bytes, view, h, defaults);
      const mdat = readBoxHeader(bytes, view, h.end, bytes.length);
      if (mdat === "more" || mdat.end > bytes.length) break;
      if (mdat.type !== "mdat") throw new Mp4FormatError(`moof at ${h.start} is followed by ${mdat.type}`);
      fragments.push(describeFragment(moof, h.start, mdat.end - h.start));
      at = completeBytes = mdat.end;
      continue;
    }
    // ftyp, styp, sidx, free, emsg and the like: nothing to read, but complete.
    at = completeBytes = h.end;
  }
  return { init, fragments, completeBytes };
}

/** The moof and mdat of a buffer holding exactly one fragment, read. */
function readOneFragment(frag: Uint8Array) {
  const view = new DataView(frag.buffer, frag.byteOffset, frag.byteLength);
  const moof = readBoxHeader(frag, view, 0, frag.length);
  if (moof === "more" || moof.type !== "moof" || moof.end > frag.length) {
    throw new Mp4FormatError("fragment does not start with a complete moof");
  }
  const mdat = readBoxHeader(frag, view, moof.end, frag.length);
  if (mdat === "more" || mdat.type !== "mdat" || mdat.end > frag.length) {
    throw new Mp4FormatError("fragment has no complete mdat after its moof");
  }
  return { view, moof, mdat, read: readMoof(frag, view, moof, new Map()) };
}

/**
 * A copy of one fragment (moof+mdat) with a new sequence number and new base decode times, so fragments
 * of several recordings splice into one continuous stream. Sizes and data offsets stay as they are.
 * Throws RangeError for a traf whose track is not in the map: a silently kept old time would put the
 * track out of step with the others.
 */
export function retimeFragment(
  fragment: Uint8Array,
  sequence: number,
  baseDecodeTimes: Map<number, number>,
): Uint8Array {
  const { read } = readOneFragment(fragment);
  const out = fragment.slice();
  const view = new DataView(out.buffer);
  view.setUint32(read.sequenceAt, sequence);
  for (const traf of read.trafs) {
    const time = baseDecodeTimes.get(traf.trackId);
    if (time === undefined) {
      throw new RangeError(`retimeFragment: no base decode time for track ${traf.trackId}`);
    }
    if (traf.tfdtAt < 0) throw new Mp4FormatError(`traf of track ${traf.trackId} has no tfdt`);
    if (view.getUint8(traf.tfdtAt) === 1) {
      view.setBigUint64(traf.tfdtAt + 4, BigInt(time));
    } else if (time <= 0xffffffff) {
      view.setUint32(traf.tfdtAt + 4, time);
    } else {
      // Widening the box would move every data offset; our writer always writes version 1 anyway.
      throw new RangeError(`retimeFragment: ${time} does not fit track ${traf.trackId}'s 32-bit tfdt`);
    }
  }
  return out;
}

/**
 * A copy of one fragment that starts the given video track at `sampleIndex` (a keyframe, to cut a
 * recording inside a fragment), its tfdt advanced by the dropped durations. Other tracks lose their
 * samples that decode before the new start, compared in seconds, so `timescales` (track id → timescale,
 * e.g. from {@link parseMp4}'s init) is needed when the fragment has tracks of another timescale; it
 * may be left out for a fragment whose tracks share one. The moof is rewritten, so boxes this module
 * does not write (sample groups, encryption info) are not kept; a traf left with no samples is dropped.
 */
export function dropSamplesBefore(
  fragment: Uint8Array,
  trackId: number,
  sampleIndex: number,
  timescales?: ReadonlyMap<number, number>,
): Uint8Array {
  const { mdat, read } = readOneFragment(fragment);
  const video = read.trafs.find((t) => t.trackId === trackId);
  if (!video) throw new RangeError(`dropSamplesBefore: no track ${trackId} in the fragment`);
  if (!Number.isInteger(sampleIndex) || sampleIndex < 0 || sampleIndex >= video.samples.length) {
    throw new RangeError(`dropSamplesBefore: sample ${sampleIndex} of ${video.samples.length}`);
  }
  const dataStart = mdat.payload;
  const toRaw = (s: TrafRead["samples"][number]): RawSample => {
    if (s.offset < dataStart || s.offset + s.size > mdat.end) {
      throw new Mp4FormatError(`sample data at ${s.offset} lies outside the mdat`);
    }
    return {
      data: fragment.subarray(s.offset, s.offset + s.size),
      duration: s.duration,
      flags: s.flags,
      compositionOffset: s.compositionOffset,
    };
  };
  let start = video.baseDecodeTime;
  for (let i = 0; i < sampleIndex; i++) start += video.samples[i].duration;
  const videoScale = timescales?.get(trackId);
  const runs: RawRun[] = [];
  for (const traf of read.trafs) {
    let kept = traf.samples;
    let base = traf.baseDecodeTime;
    if (traf === video) {
      kept = traf.samples.slice(sampleIndex);
      base = start;
    } else {
      const scale = timescales?.get(traf.trackId);
      if (timescales !== undefined && (scale === undefined || videoScale === undefined)) {
        throw new RangeError(`dropSamplesBefore: no timescale for track ${traf.trackId} or ${trackId}`);
      }
      // t / scale < start / videoScale, in integers: BigInt because 90 kHz times 48 kHz passes 2^53 in days.
      const before = (t: number) =>
        scale === undefined || videoScale === undefined
          ? t < start
          : BigInt(t) * BigInt(videoScale) < BigInt(start) * BigInt(scale);
      let i = 0;
      while (i < traf.samples.length && before(base)) base += traf.samples[i++].duration;
      kept = traf.samples.slice(i);
    }
    if (kept.length > 0) runs.push({ trackId: traf.trackId, baseDecodeTime: base, samples: kept.map(toRaw) });
  }
  return writeFragment(read.sequence, runs);
}
