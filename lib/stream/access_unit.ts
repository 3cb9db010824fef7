/**
 * What flows through a stream: the access unit every reader shares, and the picture format learned
 * from its bitstream.
 */
/** The codecs a stream can carry. */
export type Codec = "h264" | "vp8";

/**
 * One encoded video frame: the unit that flows from a source through a stream to every reader.
 * Readers share the same object and never mutate it, so nobody copies or re-parses.
 */
export interface AccessUnit {
  /** Codec of `data`. */
  readonly codec: Codec;
  /** H.264: Annex-B with 4-byte start codes, SPS and PPS in front of every keyframe. VP8: one frame. */
  readonly data: Uint8Array;
  /** True when a decoder can start here. */
  readonly keyframe: boolean;
  /** Media timestamp on a 90 kHz clock. */
  readonly pts90k: number;
  /** Wall-clock capture time, milliseconds since the Unix epoch. */
  readonly captureMs: number;
}

/** Picture facts learned from the bitstream (SPS or VP8 keyframe header). */
export interface VideoFormat {
  width: number;
  height: number;
  /** H.264 only: profile_idc, constraint flags and level_idc as 6 hex digits. */
  profileLevelId?: string;
  /** H.264 only: B slices were seen, which WebRTC viewers cannot reorder (the encoder must not send them). */
  bFrames?: boolean;
}
