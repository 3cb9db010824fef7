/** VP8 frame headers (RFC 6386 §9.1): what a stream needs without decoding a picture. */

/** The keyframe flag of a VP8 frame, and the picture size that only keyframes carry. */
export interface Vp8FrameInfo {
  /** Bit 0 of the frame tag is 0: the frame decodes on its own. */
  keyframe: boolean;
  /** Keyframes only: picture width in pixels, without the upscaling hint. */
  width?: number;
  /** Keyframes only: picture height in pixels, without the upscaling hint. */
  height?: number;
}

const TAG_BYTES = 3;
const KEYFRAME_HEADER_BYTES = 10;

/** Reads a VP8 frame's header; undefined when the bytes cannot be a VP8 frame. Never throws. */
export function parseVp8Frame(frame: Uint8Array): Vp8FrameInfo | undefined {
  if (frame.length < TAG_BYTES) return undefined;
  const tag = frame[0] | (frame[1] << 8) | (frame[2] << 16);
  const keyframe = (tag & 1) === 0;
  const version = (tag >> 1) & 7;
  const firstPartitionSize = tag >>> 5;
  // Versions above 3 are not defined, and the first partition must fit in the frame: both are cheap
  // tests that random bytes fail most of the time.
  const headerBytes = keyframe ? KEYFRAME_HEADER_BYTES : TAG_BYTES;
  if (version > 3 || frame.length < headerBytes || firstPartitionSize > frame.length - headerBytes) {
    return undefined;
  }
  if (!keyframe) return { keyframe };
  if (frame[3] !== 0x9d || frame[4] !== 0x01 || frame[5] !== 0x2a) return undefined;
  // The top two bits of each 16-bit field are an upscaling hint, not part of the size.
  const width = (frame[6] | (frame[7] << 8)) & 0x3fff;
  const height = (frame[8] | (frame[9] << 8)) & 0x3fff;
  if (width === 0 || height === 0) return undefined;
  return { keyframe, width, height };
}
