// What one benchmark viewer counts from the RTP it receives: loss by sequence gaps, duplicates
// (retransmissions of packets it already had), frames by marker bit, and the first complete keyframe.
import { NAL } from "../../lib/media/h264/sps.ts";

/** RTP packet types of RFC 6184 that the counter looks into. */
const STAP_A = 24;
const FU_A = 28;

/** The extended (never wrapping) sequence number of `seq`, taken as the one nearest to `near`. */
export function extendSequence(near: number, seq: number): number {
  const delta = ((seq - near + 0x8000) & 0xffff) - 0x8000;
  return near + delta;
}

/** True when an H.264 RTP payload is the first packet of a keyframe (SPS, or an IDR slice's start). */
export function startsH264Keyframe(payload: Uint8Array): boolean {
  const type = payload[0] & 0x1f;
  if (type === STAP_A) return payload.length > 3 && isKeyframeStartNal(payload[3] & 0x1f);
  if (type === FU_A) {
    return payload.length > 1 && (payload[1] & 0x80) !== 0 && (payload[1] & 0x1f) === NAL.IDR;
  }
  return isKeyframeStartNal(type);
}

function isKeyframeStartNal(type: number): boolean {
  return type === NAL.SPS || type === NAL.IDR;
}

/** One viewer's figures over a counting window. */
export interface WindowCounts {
  /** Packets the sequence numbers say were sent in the window. */
  expected: number;
  /** Of those, never received (retransmissions that arrived count as received). */
  lost: number;
  /** Packets received a second time. */
  duplicates: number;
  /** Frames completed (marker bit), once each. */
  frames: number;
}

/** Counts one viewer's RTP. Feed it every packet; read and restart the window with `take()`. */
export class RtpCounter {
  #last: number | null = null;
  /** Packets below this belong to an earlier window: a late retransmission must not widen this one. */
  #floor = -Infinity;
  #seen = new Set<number>();
  #low = Infinity;
  #high = -Infinity;
  #duplicates = 0;
  #frames = 0;
  /** Keyframe being received: its first packet's extended sequence number and its RTP timestamp. */
  #keyframe: { next: number; timestamp: number } | null = null;
  /** When the first keyframe was complete (the clock is the caller's), or null before. */
  firstKeyframeMs: number | null = null;
  /** Packets received in all, duplicates included. */
  packets = 0;

  /** Counts one packet that arrived at `nowMs`. */
  push(seq: number, timestamp: number, marker: boolean, payload: Uint8Array, nowMs: number): void {
    this.packets++;
    const ext = this.#last === null ? seq + 0x10000 : extendSequence(this.#last, seq);
    this.#last = Math.max(this.#last ?? ext, ext);
    if (ext < this.#floor) return;
    if (this.#seen.has(ext)) {
      this.#duplicates++;
      return;
    }
    this.#seen.add(ext);
    this.#low = Math.min(this.#low, ext);
    this.#high = Math.max(this.#high, ext);
    if (marker) this.#frames++;
    if (this.firstKeyframeMs === null) this.#followKeyframe(ext, timestamp, marker, payload, nowMs);
  }

  /** The figures since the last `take()`, and a fresh window. */
  take(): WindowCounts {
    const expected = this.#seen.size === 0 ? 0 : this.#high - this.#low + 1;
    const counts = {
      expected,
      lost: expected - this.#seen.size,
      duplicates: this.#duplicates,
      frames: this.#frames,
    };
    if (this.#seen.size > 0) this.#floor = this.#high + 1;
    this.#seen = new Set();
    this.#low = Infinity;
    this.#high = -Infinity;
    this.#duplicates = 0;
    this.#frames = 0;
    return counts;
  }

  /** A keyframe is complete when its packets arrived in order up to the marker, without a gap. */
  #followKeyframe(ext: number, timestamp: number, marker: boolean, payload: Uint8Array, nowMs: number): void {
    if (startsH264Keyframe(payload)) {
      this.#keyframe = { next: ext + 1, timestamp };
    } else if (this.#keyframe?.timestamp === timestamp && this.#keyframe.next === ext) {
      this.#keyframe.next++;
    } else {
      // A gap or a packet of another frame: wait for the next keyframe.
      this.#keyframe = null;
      return;
    }
    if (marker) this.firstKeyframeMs = nowMs;
  }
}
