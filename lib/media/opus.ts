/** Opus packet headers (RFC 6716 §3.1): how long a packet plays, read from its TOC byte. */

/** Samples at 48 kHz of one frame, by the TOC's config number (bits 3-7). */
function frameSamples(config: number): number {
  if (config < 12) return [480, 960, 1920, 2880][config & 3]; // SILK: 10, 20, 40, 60 ms
  if (config < 16) return [480, 960][config & 1]; // Hybrid: 10, 20 ms
  return [120, 240, 480, 960][config & 3]; // CELT: 2.5, 5, 10, 20 ms
}

/**
 * How many 48 kHz samples an Opus packet plays, or 0 when its header is not a valid one (an empty packet,
 * a code-3 packet without its frame count).
 */
export function opusPacketSamples(packet: Uint8Array): number {
  if (packet.length === 0) return 0;
  const toc = packet[0];
  const code = toc & 3;
  const frames = code === 0 ? 1 : code < 3 ? 2 : packet.length > 1 ? packet[1] & 0x3f : 0;
  return frames * frameSamples(toc >> 3);
}
