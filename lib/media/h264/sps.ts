/**
 * H.264 syntax inside one NAL unit: the unit types, emulation-prevention removal, the bit reader, and the
 * sequence parameter set parser. The slice-header reader lives here too, so the bit reader stays private.
 * Pure and synchronous; malformed input yields undefined, never a throw.
 */

/** NAL unit types (ITU-T H.264 table 7-1) that the H.264 modules and their callers act on. */
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

/** Thrown when a header runs past its data or breaks a syntax rule; the exported parsers catch it. */
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
