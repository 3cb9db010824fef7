/**
 * H.264 byte-level work: Annex-B splitting, SPS parsing and access-unit assembly.
 * Pure and synchronous; garbage in is counted, never thrown.
 */

/** NAL unit types (ITU-T H.264 table 7-1) that this module and its callers act on. */
export const NAL = {
  SLICE: 1,
  IDR: 5,
  SEI: 6,
  SPS: 7,
  PPS: 8,
  AUD: 9,
} as const;

/** The 5-bit type in a NAL unit's header byte. */
export function nalType(nal: Uint8Array): number {
  return nal[0] & 0x1f;
}

/** What a decoder and an SDP offer need from a sequence parameter set. */
export interface SpsInfo {
  profileIdc: number;
  constraintFlags: number;
  levelIdc: number;
  /** Displayed width in pixels, after frame cropping. */
  width: number;
  /** Displayed height in pixels, after frame cropping. */
  height: number;
  /** SDP `profile-level-id`: 6 lowercase hex chars, e.g. "42c01e". */
  profileLevelId: string;
}

/** Removes emulation-prevention bytes (the 03 in 00 00 03), giving the RBSP; no copy when there are none. */
export function unescapeRbsp(nal: Uint8Array): Uint8Array {
  let zeros = 0;
  let i = 0;
  for (; i < nal.length; i++) {
    if (zeros >= 2 && nal[i] === 3) break;
    zeros = nal[i] === 0 ? zeros + 1 : 0;
  }
  if (i === nal.length) return nal;
  const out = new Uint8Array(nal.length);
  let n = 0;
  zeros = 0;
  for (const b of nal) {
    if (zeros >= 2 && b === 3) {
      zeros = 0;
      continue;
    }
    out[n++] = b;
    zeros = b === 0 ? zeros + 1 : 0;
  }
  return out.subarray(0, n);
}

/** Thrown while reading an SPS that runs past its data or breaks a syntax rule; caught by parseSps. */
class Malformed extends Error {}

/** Big-endian bit reader with Exp-Golomb codes, over an RBSP. */
class BitReader {
  readonly #bytes: Uint8Array;
  #pos = 0;

  constructor(bytes: Uint8Array) {
    this.#bytes = bytes;
  }

  bit(): number {
    const byte = this.#pos >> 3;
    if (byte >= this.#bytes.length) throw new Malformed();
    return (this.#bytes[byte] >> (7 - (this.#pos++ & 7))) & 1;
  }

  /** n ≤ 32 bits; multiplication instead of shifts so 32-bit values stay unsigned. */
  bits(n: number): number {
    let v = 0;
    for (let i = 0; i < n; i++) v = v * 2 + this.bit();
    return v;
  }

  ue(): number {
    let zeros = 0;
    while (this.bit() === 0) {
      // 32 leading zeros would encode a value beyond 2^32 - 2, which no syntax element allows.
      if (++zeros > 31) throw new Malformed();
    }
    return 2 ** zeros - 1 + this.bits(zeros);
  }

  se(): number {
    const k = this.ue();
    return k & 1 ? (k + 1) / 2 : -k / 2;
  }
}

/** Profiles whose SPS carries chroma format, bit depths and scaling lists (7.3.2.1.1). */
const HIGH_PROFILES = new Set([100, 110, 122, 244, 44, 83, 86, 118, 128, 138, 139, 134, 135]);

/**
 * Parses a sequence parameter set NAL unit (header byte first, no start code).
 * Returns undefined for anything that is not a well-formed SPS; never throws.
 */
export function parseSps(nal: Uint8Array): SpsInfo | undefined {
  if (nal.length < 4 || (nal[0] & 0x80) !== 0 || nalType(nal) !== NAL.SPS) return undefined;
  try {
    return readSps(new BitReader(unescapeRbsp(nal.subarray(1))));
  } catch (e) {
    if (e instanceof Malformed) return undefined;
    throw e;
  }
}

function readSps(r: BitReader): SpsInfo | undefined {
  const profileIdc = r.bits(8);
  const constraintFlags = r.bits(8);
  const levelIdc = r.bits(8);
  if (r.ue() > 31) return undefined; // seq_parameter_set_id
  let chromaFormatIdc = 1; // 4:2:0 is implied for profiles without the field
  let separateColourPlane = 0;
  if (HIGH_PROFILES.has(profileIdc)) {
    chromaFormatIdc = r.ue();
    if (chromaFormatIdc > 3) return undefined;
    if (chromaFormatIdc === 3) separateColourPlane = r.bit();
    if (r.ue() > 6 || r.ue() > 6) return undefined; // bit_depth_luma/chroma_minus8
    r.bit(); // qpprime_y_zero_transform_bypass_flag
    if (r.bit()) skipScalingLists(r, chromaFormatIdc === 3 ? 12 : 8);
  }
  if (r.ue() > 12) return undefined; // log2_max_frame_num_minus4
  const pocType = r.ue();
  if (pocType === 0) {
    if (r.ue() > 12) return undefined; // log2_max_pic_order_cnt_lsb_minus4
  } else if (pocType === 1) {
    r.bit(); // delta_pic_order_always_zero_flag
    r.se(); // offset_for_non_ref_pic
    r.se(); // offset_for_top_to_bottom_field
    const cycle = r.ue();
    if (cycle > 255) return undefined;
    for (let i = 0; i < cycle; i++) r.se();
  } else if (pocType !== 2) {
    return undefined;
  }
  r.ue(); // max_num_ref_frames
  r.bit(); // gaps_in_frame_num_value_allowed_flag
  const widthMbs = r.ue() + 1;
  const heightMapUnits = r.ue() + 1;
  const frameMbsOnly = r.bit();
  if (!frameMbsOnly) r.bit(); // mb_adaptive_frame_field_flag
  r.bit(); // direct_8x8_inference_flag
  let cropLeft = 0, cropRight = 0, cropTop = 0, cropBottom = 0;
  if (r.bit()) {
    cropLeft = r.ue();
    cropRight = r.ue();
    cropTop = r.ue();
    cropBottom = r.ue();
  }
  // Crop offsets count chroma samples, so their unit depends on subsampling (equations 7-19..7-22).
  const chromaArrayType = separateColourPlane ? 0 : chromaFormatIdc;
  const subWidthC = chromaArrayType === 1 || chromaArrayType === 2 ? 2 : 1;
  const subHeightC = chromaArrayType === 1 ? 2 : 1;
  const cropUnitX = subWidthC;
  const cropUnitY = subHeightC * (2 - frameMbsOnly);
  const width = widthMbs * 16 - cropUnitX * (cropLeft + cropRight);
  // Without frame_mbs_only a map unit is a pair of macroblocks, one per field.
  const height = (2 - frameMbsOnly) * heightMapUnits * 16 - cropUnitY * (cropTop + cropBottom);
  if (width <= 0 || height <= 0) return undefined;
  const profileLevelId = [profileIdc, constraintFlags, levelIdc].map((b) => b.toString(16).padStart(2, "0"))
    .join("");
  return { profileIdc, constraintFlags, levelIdc, width, height, profileLevelId };
}

/** Reads past scaling_list() syntax (7.3.2.1.1.1); the values do not matter here, only their length. */
function skipScalingLists(r: BitReader, count: number): void {
  for (let i = 0; i < count; i++) {
    if (!r.bit()) continue; // seq_scaling_list_present_flag
    const size = i < 6 ? 16 : 64;
    let last = 8;
    let next = 8;
    for (let j = 0; j < size && next !== 0; j++) {
      const delta = r.se();
      if (delta < -128 || delta > 127) throw new Malformed();
      next = (last + delta + 256) % 256;
      if (next !== 0) last = next;
    }
  }
}

/**
 * Index of the first byte of the next 3-byte start code (00 00 01) in buf[from, end), or -1.
 * Looks at every third byte where it can: a byte above 1 cannot sit in the last two places of a start
 * code, so the search jumps past it, which keeps the scan well under one comparison per byte.
 */
function findStartCode(buf: Uint8Array, from: number, end: number): number {
  let i = from + 2;
  while (i < end) {
    const b = buf[i];
    if (b > 1) i += 3;
    else if (b === 0) i += 1;
    else if (buf[i - 1] === 0 && buf[i - 2] === 0) return i - 2;
    else i += 3;
  }
  return -1;
}

/** End of a NAL unit ending before `end`, less the trailing zeros (they belong to the next start code). */
function trimZeros(buf: Uint8Array, start: number, end: number): number {
  while (end > start && buf[end - 1] === 0) end--;
  return end;
}

/** Iterates the NAL units (without start codes) of a complete Annex-B buffer; views, not copies. */
export function* nalUnits(annexB: Uint8Array): Generator<Uint8Array> {
  let sc = findStartCode(annexB, 0, annexB.length);
  while (sc >= 0) {
    const start = sc + 3;
    sc = findStartCode(annexB, start, annexB.length);
    const end = trimZeros(annexB, start, sc < 0 ? annexB.length : sc);
    if (end > start) yield annexB.subarray(start, end);
  }
}

/** True when a complete Annex-B buffer holds an IDR slice. */
export function isKeyframe(annexB: Uint8Array): boolean {
  for (const nal of nalUnits(annexB)) if (nalType(nal) === NAL.IDR) return true;
  return false;
}

/** Slice types of a slice header (table 7-6), modulo 5. */
export const SLICE_TYPE = { P: 0, B: 1, I: 2, SP: 3, SI: 4 } as const;

/**
 * The slice_type (modulo 5) of a slice NAL unit (types 1 and 5), read from its header (7.3.3):
 * first_mb_in_slice, then slice_type, both ue(v). Undefined for anything else or too short.
 */
export function sliceType(nal: Uint8Array): number | undefined {
  const type = nalType(nal);
  if (nal.length < 2 || (type !== NAL.SLICE && type !== NAL.IDR)) return undefined;
  try {
    const bits = new BitReader(unescapeRbsp(nal.subarray(1, Math.min(nal.length, 16))));
    bits.ue();
    return bits.ue() % 5;
  } catch (e) {
    if (e instanceof Malformed) return undefined;
    throw e;
  }
}

/** True when an Annex-B access unit holds a B slice (which a WebRTC receiver cannot reorder). */
export function hasBSlice(annexB: Uint8Array): boolean {
  for (const nal of nalUnits(annexB)) if (sliceType(nal) === SLICE_TYPE.B) return true;
  return false;
}

/** Options of {@link AnnexBSplitter}. */
export interface SplitterOptions {
  /** A NAL unit growing past this (default 16 MiB) without a next start code is dropped as garbage. */
  maxNalBytes?: number;
}

/** Receives a view of one NAL unit, valid only during the call: the buffer behind it is reused. */
export type NalSink = (nal: Uint8Array) => void;

/**
 * Splits an Annex-B byte stream into NAL units (without start codes) across arbitrary chunk boundaries.
 * Bytes accumulate in one growable buffer that is compacted only when full, so tiny chunks cost no
 * repeated copies.
 */
export class AnnexBSplitter {
  #buf = new Uint8Array(1 << 16);
  /** First byte not yet handed out: the pending NAL unit's body, or unexamined garbage. */
  #start = 0;
  #len = 0;
  /** The start-code search resumes here; earlier bytes are known to hold none. */
  #scan = 0;
  #inNal = false;
  #inGarbage = false;
  #errors = 0;
  readonly #maxNalBytes: number;

  /** @param options limits that keep garbage from growing memory without bound. */
  constructor(options: SplitterOptions = {}) {
    this.#maxNalBytes = options.maxNalBytes ?? 16 << 20;
  }

  /** Incidents so far: garbage runs, empty NAL units, NAL units with the forbidden bit, oversized ones. */
  get errors(): number {
    return this.#errors;
  }

  /** Appends a chunk; returns copies of the NAL units it completed (each ends where the next start code begins). */
  push(chunk: Uint8Array): Uint8Array[] {
    const out: Uint8Array[] = [];
    this.pushEach(chunk, (nal) => out.push(nal.slice()));
    return out;
  }

  /** Ends the stream (or one complete write of it): returns a copy of the trailing NAL unit, if any. */
  end(): Uint8Array[] {
    const out: Uint8Array[] = [];
    this.endEach((nal) => out.push(nal.slice()));
    return out;
  }

  /**
   * Like push, but hands each NAL unit to `sink` as a view instead of copying it: a caller that consumes
   * it at once saves an allocation per NAL unit, which dominates the cost of small ones.
   */
  pushEach(chunk: Uint8Array, sink: NalSink): void {
    this.#append(chunk);
    const buf = this.#buf;
    for (let sc; (sc = findStartCode(buf, this.#scan, this.#len)) >= 0;) {
      this.#finish(sc, sink);
      this.#start = this.#scan = sc + 3;
      this.#inNal = true;
    }
    // The last two bytes may be the 00 00 of a start code completed by the next chunk.
    this.#scan = Math.max(this.#start, this.#len - 2);
    if (!this.#inNal) {
      this.#noteGarbage(this.#start, this.#scan);
      this.#start = this.#scan;
    } else if (this.#len - this.#start > this.#maxNalBytes) {
      this.#errors++;
      this.#inNal = false;
      this.#inGarbage = true;
      this.#start = this.#scan;
    }
  }

  /** Like end, handing the trailing NAL unit to `sink` as a view. */
  endEach(sink: NalSink): void {
    this.#finish(this.#len, sink);
    this.#start = this.#len = this.#scan = 0;
    this.#inNal = false;
    this.#inGarbage = false;
  }

  /**
   * The NAL unit still being received, as far as it has arrived (no start code). A view into the
   * internal buffer, valid until the next push or end; lets a caller decide on its header early.
   */
  peek(): Uint8Array {
    return this.#inNal ? this.#buf.subarray(this.#start, this.#len) : this.#buf.subarray(0, 0);
  }

  #finish(end: number, sink: NalSink): void {
    const start = this.#start;
    if (!this.#inNal) {
      this.#noteGarbage(start, end);
      this.#inGarbage = false;
      return;
    }
    const stop = trimZeros(this.#buf, start, end);
    if (stop === start || (this.#buf[start] & 0x80) !== 0) this.#errors++;
    else sink(this.#buf.subarray(start, stop));
  }

  /** Counts bytes outside any NAL unit, once per run; zeros are legal padding (leading_zero_8bits). */
  #noteGarbage(start: number, end: number): void {
    if (this.#inGarbage) return;
    for (let i = start; i < end; i++) {
      if (this.#buf[i] !== 0) {
        this.#errors++;
        this.#inGarbage = true;
        return;
      }
    }
  }

  #append(chunk: Uint8Array): void {
    if (this.#start === this.#len) this.#start = this.#len = this.#scan = 0;
    if (this.#len + chunk.length > this.#buf.length) {
      const keep = this.#len - this.#start;
      const target = keep + chunk.length > this.#buf.length
        ? new Uint8Array(Math.max(this.#buf.length * 2, keep + chunk.length))
        : this.#buf;
      target.set(this.#buf.subarray(this.#start, this.#len));
      this.#buf = target;
      this.#scan -= this.#start;
      this.#len = keep;
      this.#start = 0;
    }
    this.#buf.set(chunk, this.#len);
    this.#len += chunk.length;
  }
}

/** One H.264 picture ready for every reader. */
export interface H264AccessUnit {
  /** Annex-B, 4-byte start codes, no AUD; a keyframe carries SPS and PPS in front. */
  data: Uint8Array;
  /** True when the access unit holds an IDR slice. */
  keyframe: boolean;
}

const START_CODE = new Uint8Array([0, 0, 0, 1]);

function isVcl(type: number): boolean {
  return type === NAL.SLICE || type === NAL.IDR;
}

/**
 * Whether a NAL unit, known from its first bytes, opens a new access unit (7.4.1.2.3) given that the
 * current one already holds a VCL NAL unit. A slice with first_mb_in_slice == 0 starts a picture:
 * that ue(v) is 0 exactly when its first bit is 1, so one byte after the header decides.
 */
function opensAccessUnit(head: Uint8Array): boolean {
  if (head.length === 0 || (head[0] & 0x80) !== 0) return false;
  const type = nalType(head);
  if (isVcl(type)) return head.length >= 2 && (head[1] & 0x80) !== 0;
  return type === NAL.AUD || type === NAL.SPS || type === NAL.PPS || type === NAL.SEI ||
    (type >= 14 && type <= 18);
}

/**
 * Groups an Annex-B byte stream into access units: AUDs dropped, SPS and PPS cached and put in front
 * of any keyframe that lacks them, IDR pictures that no decoder could start from dropped.
 * NAL units are written straight into one reused buffer as they complete, so an access unit costs a
 * single allocation when it goes out.
 */
export class H264Assembler {
  readonly #splitter = new AnnexBSplitter();
  readonly #sink: NalSink = (nal) => this.#add(nal);
  /** The pending access unit as Annex-B. */
  #au = new Uint8Array(1 << 16);
  #auLen = 0;
  #hasVcl = false;
  #hasIdr = false;
  #hasSps = false;
  #hasPps = false;
  #sps: Uint8Array | undefined;
  #pps: Uint8Array | undefined;
  #spsInfo: SpsInfo | undefined;
  /** Where completed access units go during one push or flush. */
  #out: H264AccessUnit[] = [];
  #errors = 0;

  /** The latest SPS seen, parsed. */
  get sps(): SpsInfo | undefined {
    return this.#spsInfo;
  }

  /** Incidents so far, the splitter's included. */
  get errors(): number {
    return this.#errors + this.#splitter.errors;
  }

  /** Appends a chunk of the byte stream; returns the access units it completed. */
  push(chunk: Uint8Array): H264AccessUnit[] {
    const out: H264AccessUnit[] = this.#out = [];
    this.#splitter.pushEach(chunk, this.#sink);
    // Closing the current picture as soon as the next one's first NAL header arrives saves a frame of
    // latency and means flush() never finds two pictures waiting.
    if (this.#hasVcl && opensAccessUnit(this.#splitter.peek())) this.#emit();
    return out;
  }

  /**
   * Called when the writer is known to have finished an access unit: ends the pending NAL unit and
   * returns the pending access unit if it holds a picture (non-VCL NAL units stay pending otherwise).
   */
  flush(): H264AccessUnit | undefined {
    // push() already closed the previous picture if the trailing NAL unit opens a new one (its header
    // was visible then), so this completes at most one access unit.
    const out: H264AccessUnit[] = this.#out = [];
    this.#splitter.endEach(this.#sink);
    if (this.#hasVcl) this.#emit();
    return out[0];
  }

  #add(nal: Uint8Array): void {
    if (this.#hasVcl && opensAccessUnit(nal)) this.#emit();
    const type = nalType(nal);
    switch (type) {
      case NAL.AUD:
        return; // carries no picture, and WebRTC receivers do not want it
      case NAL.SPS: {
        const info = parseSps(nal);
        if (!info) {
          this.#errors++;
          return;
        }
        this.#sps = nal.slice();
        this.#spsInfo = info;
        this.#hasSps = true;
        break;
      }
      case NAL.PPS:
        this.#pps = nal.slice();
        this.#hasPps = true;
        break;
      case NAL.SLICE:
      case NAL.IDR:
        this.#hasVcl = true;
        if (type === NAL.IDR) this.#hasIdr = true;
        break;
      default:
        // Types 0 and 24-31 are unspecified: no encoder puts them in a byte stream, and in RTP they
        // mean aggregation/fragmentation packets, so passing one on would confuse every depacketizer.
        if (type === 0 || type >= 24) {
          this.#errors++;
          return;
        }
    }
    this.#write(nal);
  }

  #write(nal: Uint8Array): void {
    const needed = this.#auLen + START_CODE.length + nal.length;
    if (needed > this.#au.length) {
      const grown = new Uint8Array(Math.max(needed, this.#au.length * 2));
      grown.set(this.#au.subarray(0, this.#auLen));
      this.#au = grown;
    }
    this.#au.set(START_CODE, this.#auLen);
    this.#au.set(nal, this.#auLen + START_CODE.length);
    this.#auLen = needed;
  }

  #emit(): void {
    const pending = this.#au.subarray(0, this.#auLen);
    const keyframe = this.#hasIdr;
    const complete = this.#hasSps && this.#hasPps;
    this.#auLen = 0;
    this.#hasVcl = false;
    this.#hasIdr = false;
    this.#hasSps = false;
    this.#hasPps = false;
    if (!keyframe || complete) {
      this.#out.push({ data: pending.slice(), keyframe });
    } else if (this.#sps && this.#pps) {
      // The cache already holds this AU's own copy if it had one, so putting both cached sets first and
      // dropping the AU's copies keeps the order SPS, PPS, slices whichever one was missing.
      const rest = [...nalUnits(pending)].filter((n) => nalType(n) !== NAL.SPS && nalType(n) !== NAL.PPS);
      this.#out.push({ data: toAnnexB([this.#sps, this.#pps, ...rest]), keyframe });
    } else {
      this.#errors++;
    }
  }
}

/** Joins NAL units into Annex-B with 4-byte start codes. */
function toAnnexB(nals: Uint8Array[]): Uint8Array {
  let size = 0;
  for (const n of nals) size += START_CODE.length + n.length;
  const data = new Uint8Array(size);
  let at = 0;
  for (const n of nals) {
    data.set(START_CODE, at);
    data.set(n, at + START_CODE.length);
    at += START_CODE.length + n.length;
  }
  return data;
}
