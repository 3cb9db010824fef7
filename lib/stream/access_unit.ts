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
