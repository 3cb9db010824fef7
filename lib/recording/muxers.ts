/**
 * How a segment's container turns access units into bytes: fragmented MP4 (an init section, then one
 * moof+mdat per part), raw Annex-B H.264, or VP8 in IVF. Pure: the recorder does the writing.
 */
import {
  annexBToAvcc,
  fragment,
  initSegment,
  type Mp4Sample,
  type Mp4Track,
  type TrackRun,
} from "../media/fmp4.ts";
import { concat } from "../media/bytes.ts";
import { nalUnits } from "../media/h264/annexb.ts";
import { NAL, nalType, parseSps } from "../media/h264/sps.ts";
import { ivfFrame, ivfHeader } from "../media/ivf.ts";
import { parseVp8Frame } from "../media/vp8.ts";
import type { RecordingConfig } from "../config/schema.ts";
import type { AccessUnit, Codec } from "../stream/access_unit.ts";
import { type SegmentExtension, segmentExtension } from "./names.ts";

/** Video time scale of every recording: the 90 kHz of the access units' timestamps. */
export const VIDEO_TIMESCALE = 90_000;
const VIDEO_TRACK = 1;
const AUDIO_TRACK = 2;

/** What a decoder must be told before a keyframe: a change of it starts a new segment. */
export interface CodecParameters {
  /** Equal for keyframes a decoder can take without being told again. */
  key: string;
  width: number;
  height: number;
  /** H.264 only: the sequence and picture parameter sets, without start codes. */
  sps?: Uint8Array;
  pps?: Uint8Array;
}

/** The parameters a keyframe carries, or undefined when it carries none a decoder could start from. */
export function codecParameters(codec: Codec, keyframe: Uint8Array): CodecParameters | undefined {
  if (codec === "vp8") {
    const info = parseVp8Frame(keyframe);
    if (!info?.width || !info.height) return undefined;
    return { key: `${info.width}x${info.height}`, width: info.width, height: info.height };
  }
  let sps: Uint8Array | undefined;
  let pps: Uint8Array | undefined;
  for (const nal of nalUnits(keyframe)) {
    if (nalType(nal) === NAL.SPS) sps ??= nal;
    else if (nalType(nal) === NAL.PPS) pps ??= nal;
  }
  const info = sps && parseSps(sps);
  if (!sps || !pps || !info) return undefined;
  return { key: hex(sps) + "/" + hex(pps), width: info.width, height: info.height, sps, pps };
}

function hex(bytes: Uint8Array): string {
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

/** One video access unit of a part with how long it shows, in 90 kHz ticks. */
export interface VideoSample {
  au: AccessUnit;
  duration: number;
}

/** The audio of a part: Opus packets with their durations in 48 kHz samples, the first at `baseDecodeTime`. */
export interface AudioRun {
  baseDecodeTime: number;
  samples: { data: Uint8Array; duration: number }[];
}

/** Turns a segment's parts into bytes; `header` goes in front of the first part. */
export interface SegmentMuxer {
  readonly extension: SegmentExtension;
  readonly header: Uint8Array;
  /** Whether the segment carries an audio track (only fMP4 can). */
  readonly audio: boolean;
  /** The bytes of one part; `videoBase` is the first sample's time from the segment's start (90 kHz). */
  part(video: VideoSample[], videoBase: number, audio: AudioRun | null): Uint8Array;
}

/** The muxer of a new segment in `format`, for a stream of `codec` starting with `params`. */
export function segmentMuxer(
  format: RecordingConfig["format"],
  codec: Codec,
  params: CodecParameters,
  audio: boolean,
): SegmentMuxer {
  const extension = segmentExtension(format, codec);
  if (extension === "mp4") return new Fmp4Muxer(codec, params, audio);
  if (extension === "ivf") {
    return {
      extension,
      header: ivfHeader(params.width, params.height),
      audio: false,
      part: (video, videoBase) => {
        let pts = videoBase;
        return concat(video.map((s) => {
          const frame = ivfFrame(s.au.data, pts);
          pts += s.duration;
          return frame;
        }));
      },
    };
  }
  // The access units already carry SPS and PPS in front of every IDR: the file is their concatenation.
  return {
    extension,
    header: new Uint8Array(0),
    audio: false,
    part: (video) => concat(video.map((s) => s.au.data)),
  };
}

class Fmp4Muxer implements SegmentMuxer {
  readonly extension = "mp4";
  readonly header: Uint8Array;
  #sequence = 1;

  constructor(readonly codec: Codec, params: CodecParameters, readonly audio: boolean) {
    const { width, height } = params;
    const video: Mp4Track = codec === "h264"
      ? {
        id: VIDEO_TRACK,
        kind: "video",
        codec: "avc1",
        timescale: VIDEO_TIMESCALE,
        width,
        height,
        sps: params.sps!,
        pps: params.pps!,
      }
      : { id: VIDEO_TRACK, kind: "video", codec: "vp08", timescale: VIDEO_TIMESCALE, width, height };
    const tracks: Mp4Track[] = [video];
    // WebRTC's Opus is always announced as two channels; decoders upmix a mono packet.
    if (audio) {
      tracks.push({
        id: AUDIO_TRACK,
        kind: "audio",
        codec: "Opus",
        timescale: 48000,
        channels: 2,
        preSkip: 0,
      });
    }
    this.header = initSegment(tracks);
  }

  part(video: VideoSample[], videoBase: number, audio: AudioRun | null): Uint8Array {
    const runs: TrackRun[] = [];
    if (video.length > 0) {
      const samples: Mp4Sample[] = video.map(({ au, duration }) => ({
        data: this.codec === "h264" ? annexBToAvcc(au.data) : au.data,
        duration,
        keyframe: au.keyframe,
      }));
      runs.push({ trackId: VIDEO_TRACK, baseDecodeTime: videoBase, samples });
    }
    if (this.audio && audio && audio.samples.length > 0) {
      runs.push({
        trackId: AUDIO_TRACK,
        baseDecodeTime: audio.baseDecodeTime,
        samples: audio.samples.map((s) => ({ ...s, keyframe: true })),
      });
    }
    return runs.length === 0 ? new Uint8Array(0) : fragment(this.#sequence++, runs);
  }
}
