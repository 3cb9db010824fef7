/**
 * IVF, the bare VP8 container that libvpx's tools and GStreamer's ivfmux/ivfparse speak: a 32-byte file
 * header, then a 12-byte header before each frame. Little-endian throughout.
 */

const FILE_HEADER_BYTES = 32;
const FRAME_HEADER_BYTES = 12;

/**
 * The 32-byte IVF file header. Timestamps count in units of scale/rate seconds; 90000/1 matches RTP and
 * MP4 video clocks, so frames keep their times unchanged. The frame count may stay 0: readers ignore
 * it, and a stream written as it goes cannot know it.
 */
export function ivfHeader(
  width: number,
  height: number,
  rate = 90000,
  scale = 1,
  frameCount = 0,
): Uint8Array {
  const out = new Uint8Array(FILE_HEADER_BYTES);
  const view = new DataView(out.buffer);
  out.set([0x44, 0x4b, 0x49, 0x46]); // "DKIF"
  view.setUint16(4, 0, true); // version
  view.setUint16(6, FILE_HEADER_BYTES, true);
  out.set([0x56, 0x50, 0x38, 0x30], 8); // "VP80"
  view.setUint16(12, width, true);
  view.setUint16(14, height, true);
  view.setUint32(16, rate, true); // time base denominator
  view.setUint32(20, scale, true); // time base numerator
  view.setUint32(24, frameCount, true);
  return out;
}

/** One frame: its 12-byte header (size, 64-bit timestamp in the header's time base) followed by the data. */
export function ivfFrame(data: Uint8Array, pts: number): Uint8Array {
  const out = new Uint8Array(FRAME_HEADER_BYTES + data.length);
  const view = new DataView(out.buffer);
  view.setUint32(0, data.length, true);
  view.setBigUint64(4, BigInt(pts), true);
  out.set(data, FRAME_HEADER_BYTES);
  return out;
}
