/**
 * A WHIP publisher's RTP back into access units: packets put in order and grouped into frames
 * (FrameReassembler), then each frame's payloads joined per codec (werift's H.264 depacketizer into
 * our H264Assembler, which caches SPS/PPS and finds keyframes; the VP8 payload descriptor of RFC 7741).
 * Pure: no sockets, no clocks. A lost packet costs its frame, and the caller waits for a keyframe.
 */
import { Buffer } from "node:buffer";
import { H264RtpPayload } from "werift";
import type { Codec, VideoFormat } from "../stream/access_unit.ts";
import { hasBSlice } from "../media/h264/annexb.ts";
import { H264Assembler } from "../media/h264/assembler.ts";
import { parseVp8Frame } from "../media/vp8.ts";

/** One received RTP packet, as far as reassembly needs it. */
export interface RtpIn {
  sequenceNumber: number;
  timestamp: number;
  marker: boolean;
  payload: Uint8Array;
}

/** The packets of one frame, in sequence order. */
export interface RtpFrame {
  timestamp: number;
  payloads: Uint8Array[];
}

/** `a - b` for 16-bit sequence numbers, in -32768..32767. */
export function seqDiff(a: number, b: number): number {
  return ((a - b + 0x8000) & 0xffff) - 0x8000;
}

/** A frame whose packet is missing is given up once this many later frames are complete behind it. */
const FRAMES_BEHIND_A_GAP = 3;
/**
 * A packet this far ahead of the next expected one means the publisher's sequence jumped: start over.
 * A power of two: the pending packets sit in a ring indexed by sequence number modulo this.
 */
const MAX_SPAN = 2048;

/**
 * Puts packets back in sequence order and cuts frames at the marker bit. A gap waits for the
 * retransmission the receiver's NACK asks for, until FRAMES_BEHIND_A_GAP later frames are complete:
 * then the broken frame is dropped and `lost` says so (the decoder needs a keyframe after it).
 *
 * Pending packets live in a ring indexed by sequence number, with a count of the markers among them, so
 * a packet costs O(1) while a gap is open: a publisher cannot burn the CPU by keeping one open (the
 * earlier sort of every pending packet on each arrival was O(n log n) per packet, n up to MAX_SPAN).
 */
export class FrameReassembler {
  readonly #ring: (RtpIn | undefined)[] = new Array(MAX_SPAN);
  /** Marker packets among the pending ones: the frames complete behind a gap, at most. */
  #markers = 0;
  /** Sequence number of the next frame's first packet; undefined before the first packet. */
  #next: number | undefined;
  /** Where #take's scan of the frame at #next stopped (its first missing packet); undefined: at #next. */
  #scanFrom: number | undefined;

  /**
   * Frames completed by this packet, whether a frame was given up since the last call, and how many
   * sequence numbers were given up without their packet ever arriving (a jump past the reorder window
   * is a publisher restarting its count, not loss, so it counts none).
   */
  push(packet: RtpIn): { frames: RtpFrame[]; lost: boolean; missing: number } {
    let lost = false;
    let missing = 0;
    if (this.#next === undefined) this.#next = packet.sequenceNumber;
    const ahead = seqDiff(packet.sequenceNumber, this.#next);
    if (ahead < 0) return { frames: [], lost, missing }; // late: its frame went out or was given up
    if (ahead >= MAX_SPAN) {
      this.#ring.fill(undefined);
      this.#markers = 0;
      this.#next = packet.sequenceNumber;
      this.#scanFrom = undefined;
      lost = true;
    }
    this.#delete(packet.sequenceNumber); // a duplicate replaces the copy already here
    this.#ring[packet.sequenceNumber & (MAX_SPAN - 1)] = packet;
    if (packet.marker) this.#markers++;
    const frames: RtpFrame[] = [];
    while (true) {
      const frame = this.#take();
      if (frame) {
        frames.push(frame);
        continue;
      }
      const given = this.#giveUpGap();
      if (given === undefined) break;
      missing += given;
      lost = true;
    }
    return { frames, lost, missing };
  }

  #get(seq: number): RtpIn | undefined {
    const packet = this.#ring[seq & (MAX_SPAN - 1)];
    return packet?.sequenceNumber === seq ? packet : undefined;
  }

  #delete(seq: number): void {
    const packet = this.#get(seq);
    if (!packet) return;
    this.#ring[seq & (MAX_SPAN - 1)] = undefined;
    if (packet.marker) this.#markers--;
  }

  /**
   * Deletes the pending packets from #next up to (not including) `end`, and moves #next there; returns
   * how many of those sequence numbers had no packet.
   */
  #advanceTo(end: number): number {
    let missing = 0;
    for (let seq = this.#next!; seq !== end; seq = (seq + 1) & 0xffff) {
      if (this.#get(seq)) this.#delete(seq);
      else missing++;
    }
    this.#next = end;
    this.#scanFrom = undefined;
    return missing;
  }

  /**
   * The frame starting at #next if all its packets are here. The scan resumes where the last one
   * stopped (#scanFrom), so a frame that never ends costs O(1) per packet, not a walk over all of it.
   */
  #take(): RtpFrame | undefined {
    const first = this.#get(this.#next!);
    if (!first) return undefined;
    for (let seq = this.#scanFrom ?? this.#next!;; seq = (seq + 1) & 0xffff) {
      const packet = this.#get(seq);
      if (!packet) {
        this.#scanFrom = seq;
        return undefined;
      }
      // A new timestamp without a marker before it: the previous frame's marker was never set.
      if (packet.timestamp !== first.timestamp) return this.#cut(first.timestamp, seq);
      if (packet.marker) return this.#cut(first.timestamp, (seq + 1) & 0xffff);
    }
  }

  /** The frame from #next up to (not including) `end`, taken out of the ring. */
  #cut(timestamp: number, end: number): RtpFrame {
    const payloads: Uint8Array[] = [];
    for (let seq = this.#next!; seq !== end; seq = (seq + 1) & 0xffff) payloads.push(this.#get(seq)!.payload);
    this.#advanceTo(end);
    return { timestamp, payloads };
  }

  /**
   * When enough later frames are complete behind the gap at #next, drops the frame that has the gap
   * and returns how many of its packets never came (undefined: not yet). The next frame starts at the first packet after the gap that follows a marker,
   * or whose timestamp is not the broken frame's (its marker may be the packet that was lost).
   */
  #giveUpGap(): number | undefined {
    if (this.#markers < FRAMES_BEHIND_A_GAP) return undefined;
    const next = this.#next!;
    const broken = this.#get(next)?.timestamp;
    let start: RtpIn | undefined;
    let firstMarker: RtpIn | undefined;
    for (let d = 0; d < MAX_SPAN && !start; d++) {
      const seq = (next + d) & 0xffff;
      const packet = this.#get(seq);
      if (!packet) continue;
      firstMarker ??= packet.marker ? packet : undefined;
      const before = this.#get((seq - 1) & 0xffff);
      if (seq !== next && (before ? before.marker : packet.timestamp !== broken)) start = packet;
    }
    start ??= firstMarker!;
    const end = start.marker && start.timestamp === broken
      ? (start.sequenceNumber + 1) & 0xffff
      : start.sequenceNumber;
    return this.#advanceTo(end);
  }
}

/** A frame's bytes as an access unit needs them. */
export interface DepacketizedFrame {
  data: Uint8Array;
  keyframe: boolean;
  /** RTP timestamp of the frame. */
  timestamp: number;
}

/** Turns complete frames of one codec into access units; keeps what spans frames (SPS/PPS, picture size). */
export interface FrameDecoder {
  /** The frame's access unit, or undefined when its bytes do not make one. */
  decode(frame: RtpFrame): DepacketizedFrame | undefined;
  /** Picture format seen so far (H.264: with `bFrames` once a B slice was seen). */
  format(): VideoFormat | null;
}

/** The decoder for a codec's RTP payload format. */
export function frameDecoder(codec: Codec): FrameDecoder {
  return codec === "h264" ? h264Decoder() : vp8Decoder();
}

/** RTP payload type of an H.264 fragmentation unit (RFC 6184 §5.8). */
const FU_A = 28;

function h264Decoder(): FrameDecoder {
  const assembler = new H264Assembler();
  let bFrames = false;
  return {
    decode(frame) {
      let fragment: Buffer | undefined;
      const chunks: Buffer[] = [];
      try {
        for (const payload of frame.payloads) {
          const bytes = Buffer.from(payload.buffer, payload.byteOffset, payload.byteLength);
          // A FU-A continuing a NAL unit whose start is not in this frame: the frame's head was lost.
          if ((bytes[0] & 0x1f) === FU_A && !(bytes[1] & 0x80) && !fragment) return undefined;
          const rtp = H264RtpPayload.deSerialize(bytes, fragment);
          fragment = rtp.fragment;
          if (rtp.payload) chunks.push(rtp.payload);
        }
      } catch {
        return undefined; // a payload werift cannot read: the frame is broken
      }
      if (chunks.length === 0) return undefined;
      assembler.push(Buffer.concat(chunks));
      const au = assembler.flush();
      if (!au) return undefined;
      // Cheap (a few bits of the first slices) and it only has to be seen once.
      if (!bFrames && hasBSlice(au.data)) bFrames = true;
      return { data: au.data, keyframe: au.keyframe, timestamp: frame.timestamp };
    },
    format() {
      const sps = assembler.sps;
      if (!sps) return null;
      return { width: sps.width, height: sps.height, profileLevelId: sps.profileLevelId, bFrames };
    },
  };
}

/**
 * Bytes of a VP8 payload descriptor (RFC 7741 §4.2), or undefined when it runs past the payload.
 * werift 0.25.2's Vp8RtpPayload skips the TID/KEYIDX byte when L is set instead of when T or K is,
 * which misreads temporal-layer streams (Chromium's screen share), so the descriptor is read here.
 */
export function vp8DescriptorLength(payload: Uint8Array): number | undefined {
  if (payload.length < 1) return undefined;
  let at = 1;
  if (payload[0] & 0x80) {
    const x = payload[at++];
    if (x === undefined) return undefined;
    if (x & 0x80) at += (payload[at] ?? 0) & 0x80 ? 2 : 1; // I: PictureID, 7 or 15 bits
    if (x & 0x40) at++; // L: TL0PICIDX
    if (x & 0x30) at++; // T or K: TID/Y/KEYIDX
  }
  return at <= payload.length ? at : undefined;
}

function vp8Decoder(): FrameDecoder {
  let format: VideoFormat | null = null;
  return {
    decode(frame) {
      const parts: Uint8Array[] = [];
      for (const [i, payload] of frame.payloads.entries()) {
        const at = vp8DescriptorLength(payload);
        if (at === undefined) return undefined;
        // The first packet of a frame starts its first partition (S = 1, PID = 0).
        if (i === 0 && (payload[0] & 0x17) !== 0x10) return undefined;
        parts.push(payload.subarray(at));
      }
      const data = Buffer.concat(parts);
      const info = parseVp8Frame(data);
      if (!info) return undefined;
      if (info.width && info.height) format = { width: info.width, height: info.height };
      return {
        data: new Uint8Array(data.buffer, data.byteOffset, data.byteLength),
        keyframe: info.keyframe,
        timestamp: frame.timestamp,
      };
    },
    format: () => format,
  };
}
