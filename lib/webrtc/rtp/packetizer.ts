/**
 * The shared part of the RTP send path: a stream's access units packetized once for all its viewers,
 * the per-viewer sequence numbers, the send loop from a reader, and Opus forwarding.
 */
import { Buffer } from "node:buffer";
import { H264Packetizer, type RTCRtpSender, RtpHeader, RtpPacket, Vp8Packetizer } from "werift";
import type { AccessUnit, Codec } from "../../stream/access_unit.ts";
import type { Stream } from "../../stream/stream.ts";
import type { Histogram } from "../../metrics/histogram.ts";

/** RTP payload size that fits a 1280-byte path MTU with the SRTP, UDP and IP overhead on top. */
const MAX_PAYLOAD_BYTES = 1200;

/** One RTP payload of an access unit: the bytes every viewer sends, and the frame's last-packet flag. */
export interface SharedPayload {
  payload: Buffer;
  marker: boolean;
}

/**
 * Packetizes each access unit of one stream once, whatever the number of viewers. Payloads
 * depend only on the frame (and VP8's picture id, which advances per frame of the stream), so
 * every viewer sends the same bytes; only SSRC and sequence numbers are the viewer's own.
 */
export class StreamPacketizer {
  readonly #packetizer: H264Packetizer | Vp8Packetizer;
  readonly #cache = new WeakMap<AccessUnit, SharedPayload[]>();

  constructor(codec: Codec) {
    this.#packetizer = codec === "h264"
      ? new H264Packetizer({ maxPayloadSize: MAX_PAYLOAD_BYTES, inputFormat: "annexb" })
      : new Vp8Packetizer({ maxPayloadSize: MAX_PAYLOAD_BYTES });
  }

  /** The RTP payloads of this access unit, made on the first call and shared after. */
  payloads(au: AccessUnit): SharedPayload[] {
    let payloads = this.#cache.get(au);
    if (!payloads) {
      const data = Buffer.from(au.data.buffer, au.data.byteOffset, au.data.byteLength);
      payloads = this.#packetizer.packetize(data, 0).map((p) => ({
        payload: p.payload,
        marker: p.header.marker,
      }));
      this.#cache.set(au, payloads);
    }
    return payloads;
  }
}

/** 90 kHz media time as an RTP timestamp (wraps at 2^32). */
export function rtpTimestamp(pts90k: number): number {
  return Math.round(pts90k) >>> 0;
}

/**
 * One viewer's RTP numbering: its own gap-free sequence numbers, so frames its reader skipped
 * never look like network loss (which would draw NACKs for packets that were never sent).
 */
export class ViewerSequence {
  #next = Math.floor(Math.random() * 0x10000);

  /** The sequence number of this viewer's next packet. */
  next(): number {
    const sequenceNumber = this.#next;
    this.#next = (this.#next + 1) & 0xffff;
    return sequenceNumber;
  }
}

/**
 * Sends every access unit a reader hands out through `rtp` (a viewer's or a push target's numbering),
 * packetized once per stream by `packetizer`; resolves when the reader is closed.
 */
export async function sendAccessUnits(
  reader: AsyncIterable<AccessUnit>,
  packetizer: StreamPacketizer,
  rtp: { send(shared: SharedPayload, timestamp: number): void },
  sendDelay: Histogram,
): Promise<void> {
  // Frames captured before the peer joined (the cached GOP it starts on) are a catch-up burst, not the
  // fan-out's delay: only live ones are observed.
  const joinedMs = performance.timeOrigin + performance.now();
  for await (const au of reader) {
    const timestamp = rtpTimestamp(au.pts90k);
    for (const shared of packetizer.payloads(au)) rtp.send(shared, timestamp);
    // The frame's last packet is in the socket now: the sends above are synchronous.
    if (au.captureMs >= joinedMs) {
      sendDelay.observe((performance.timeOrigin + performance.now() - au.captureMs) / 1000);
    }
  }
}

/**
 * Sends every Opus packet of `stream` from now on through `sender`, which puts the peer's SSRC and
 * payload type on it; returns the function that stops. Audio is a few small packets a second:
 * werift's per-packet bookkeeping costs nothing worth avoiding.
 */
export function forwardAudio(stream: Stream, sender: RTCRtpSender): () => void {
  return stream.onAudio((packet) => {
    const header = new RtpHeader({
      sequenceNumber: packet.sequenceNumber,
      timestamp: packet.timestamp,
      marker: packet.marker,
    });
    const payload = Buffer.from(packet.payload.buffer, packet.payload.byteOffset, packet.payload.byteLength);
    sender.sendRtp(new RtpPacket(header, payload)).catch(() => {});
  });
}
