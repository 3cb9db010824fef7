/**
 * One viewer's RTP straight onto its ICE connection: header, SRTP, UDP. werift's `sender.sendRtp`
 * clones every packet, rebuilds its header extensions, caches it, feeds a bandwidth estimator and
 * encrypts through a per-SSRC state looked up by string key, all for a viewer that needs none of it:
 * we number, cache and answer NACKs ourselves. That overhead was most of the per-viewer CPU.
 *
 * With AEAD_AES_128_GCM (what Chromium and werift pick) the packet is sealed here, from the session
 * key and salt werift derived after the DTLS handshake (RFC 7714 §8.1). Any other profile goes
 * through werift's SRTP session, which then keeps its own rollover counter for this SSRC.
 */
import { Buffer } from "node:buffer";
import { createCipheriv } from "node:crypto";
import { ProtectionProfileAeadAes128Gcm, type RTCRtpSender, RtpHeader } from "werift";
import { RTP_HEADER_BYTES } from "./nack.ts";

/** Bytes of the GCM authentication tag at the end of each SRTP packet (RFC 7714 §14.2). */
const GCM_TAG_BYTES = 16;
/** RTP version 2, no padding, no extension, no CSRCs. */
const RTP_V2 = 0x80;

const ignore = () => {};

/** The 48-bit packet index (RFC 3711 §3.3.1) of `seq`, taken as the one nearest to `lastIndex`. */
export function packetIndex(lastIndex: number, seq: number): number {
  const delta = ((seq - (lastIndex & 0xffff) + 0x8000) & 0xffff) - 0x8000;
  return Math.max(0, lastIndex + delta);
}

/** Writes the 12-byte RTP header of one packet into `into`. */
export function writeRtpHeader(
  into: Buffer,
  payloadType: number,
  sequenceNumber: number,
  timestamp: number,
  marker: boolean,
  ssrc: number,
): Buffer {
  into[0] = RTP_V2;
  into[1] = (marker ? 0x80 : 0) | (payloadType & 0x7f);
  into.writeUInt16BE(sequenceNumber & 0xffff, 2);
  into.writeUInt32BE(timestamp >>> 0, 4);
  into.writeUInt32BE(ssrc >>> 0, 8);
  return into;
}

/** Writes the GCM nonce of one SRTP packet into `into`: salt XOR (0, 0, SSRC, ROC, SEQ) (RFC 7714 §8.1). */
export function writeGcmNonce(into: Buffer, salt: Uint8Array, ssrc: number, index: number): Buffer {
  into.writeUInt16BE(0, 0);
  into.writeUInt32BE(ssrc >>> 0, 2);
  into.writeUInt32BE(Math.floor(index / 0x10000) >>> 0, 6);
  into.writeUInt16BE(index & 0xffff, 10);
  for (let i = 0; i < 12; i++) into[i] ^= salt[i];
  return into;
}

/** Seals one RTP packet with AEAD_AES_128_GCM: header in clear as AAD, payload encrypted, tag after. */
export function sealGcm(key: Uint8Array, nonce: Uint8Array, header: Buffer, payload: Uint8Array): Buffer {
  const cipher = createCipheriv("aes-128-gcm", key, nonce);
  cipher.setAAD(header);
  const out = Buffer.allocUnsafe(header.length + payload.byteLength + GCM_TAG_BYTES);
  header.copy(out, 0);
  let at = header.length;
  at += cipher.update(payload).copy(out, at);
  at += cipher.final().copy(out, at);
  cipher.getAuthTag().copy(out, at);
  return out;
}

/** Writes one viewer's RTP packets, dropping them (as werift does) until DTLS is connected. */
export class RtpWriter {
  /** Index of the highest sequence number sent, or -1 before the first packet. */
  #lastIndex = -1;
  // Reused for every packet: the cipher copies nonce and AAD when it takes them.
  readonly #header = Buffer.alloc(RTP_HEADER_BYTES);
  readonly #nonce = Buffer.alloc(12);

  constructor(private readonly sender: RTCRtpSender) {}

  /** Sends one packet with this viewer's SSRC and payload type; false when it was dropped. */
  write(sequenceNumber: number, timestamp: number, marker: boolean, payload: Uint8Array): boolean {
    const { dtlsTransport, codec } = this.sender;
    if (!codec || dtlsTransport?.state !== "connected" || !dtlsTransport.srtp) return false;
    const context = dtlsTransport.srtp.localContext;
    if (context.profile !== ProtectionProfileAeadAes128Gcm) {
      const header = new RtpHeader({
        ssrc: this.sender.ssrc,
        payloadType: codec.payloadType,
        sequenceNumber,
        timestamp,
        marker,
      });
      dtlsTransport.sendRtp(Buffer.from(payload.buffer, payload.byteOffset, payload.byteLength), header)
        .catch(ignore);
      return true;
    }
    const index = this.#lastIndex < 0 ? sequenceNumber : packetIndex(this.#lastIndex, sequenceNumber);
    if (index > this.#lastIndex) this.#lastIndex = index;
    const ssrc = this.sender.ssrc;
    const header = writeRtpHeader(this.#header, codec.payloadType, sequenceNumber, timestamp, marker, ssrc);
    const nonce = writeGcmNonce(this.#nonce, context.srtpSessionSalt, ssrc, index);
    const packet = sealGcm(context.srtpSessionKey, nonce, header, payload);
    dtlsTransport.bytesSent += packet.length;
    dtlsTransport.packetsSent++;
    dtlsTransport.iceTransport.connection.send(packet).catch(ignore);
    return true;
  }
}
