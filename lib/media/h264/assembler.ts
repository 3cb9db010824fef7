/**
 * H.264 access-unit assembly: groups an Annex-B stream's NAL units into pictures that a decoder can start
 * from, re-inserting cached parameter sets where a keyframe lacks them. Pure and synchronous; garbage in
 * is counted, never thrown.
 */

import { AnnexBSplitter, type NalSink, nalUnits } from "./annexb.ts";
import { NAL, nalType, parseSps, type SpsInfo } from "./sps.ts";

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
