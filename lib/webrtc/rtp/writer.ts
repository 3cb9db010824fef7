/**
 * One viewer's RTP straight onto its ICE connection: header, SRTP, UDP. werift's `sender.sendRtp`
 * clones every packet, rebuilds its header extensions, caches it, feeds a bandwidth estimator and
 * encrypts through a per-SSRC state looked up by string key, all for a viewer that needs none of it:
 * we number, cache and answer NACKs ourselves. That overhead was most of the per-viewer CPU.
 *
 * With AEAD_AES_128_GCM (what werift peers pick) the packet is sealed here, from the session key and
 * salt werift derived after the DTLS handshake (RFC 7714 §8.1). Any other profile goes through werift's
 * SRTP session, which then keeps its own rollover counter for this SSRC. Chromium, the DTLS server for
 * our answers, picks AES_CM_128_HMAC_SHA1_80: browser viewers take that slower path (see srtp_aes_cm.ts).
 */
import { Buffer } from "node:buffer";
import type { Logger } from "../../log.ts";
import { type Connection, ProtectionProfileAeadAes128Gcm, type RTCRtpSender, RtpHeader } from "werift";
import { RTP_HEADER_BYTES } from "./nack.ts";
import { type GcmSealer, gcmSealer } from "./srtp_gcm.ts";
import { UdpRoute, type UdpTransportLike } from "./udp_send.ts";
/** RTP version 2, no padding, no extension, no CSRCs. */
const RTP_V2 = 0x80;

const ignore = () => {};

/**
 * Every write seals into this buffer and has sent it before returning, so one serves every viewer.
 * Sized for any datagram, far above the 1,200-byte payloads the packetizer makes.
 */
const packetBuffer = new Uint8Array(0x10000);

type CandidatePair = NonNullable<Connection["nominated"]>;

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

/** Writes one viewer's RTP packets, dropping them (as werift does) until DTLS is connected. */
export class RtpWriter {
  /** Index of the highest sequence number sent, or -1 before the first packet. */
  #lastIndex = -1;
  // Reused for every packet: the sealer reads nonce and AAD before it returns.
  readonly #header = Buffer.alloc(RTP_HEADER_BYTES);
  readonly #nonce = Buffer.alloc(12);
  #sealer: GcmSealer | undefined;
  #sealerKey: Uint8Array | undefined;
  #routePair: CandidatePair | undefined;
  #route: UdpRoute | undefined;
  #peerReady = false;
  #closed = false;

  /** @param log the log of the session this writer sends for. */
  constructor(private readonly sender: RTCRtpSender, private readonly log: Logger) {}

  /** Sends one packet with this viewer's SSRC and payload type; false when it was dropped. */
  write(sequenceNumber: number, timestamp: number, marker: boolean, payload: Uint8Array): boolean {
    const { dtlsTransport, codec } = this.sender;
    if (this.#closed || !codec || dtlsTransport?.state !== "connected" || !dtlsTransport.srtp) return false;
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
    const length = this.#sealerFor(context.srtpSessionKey).seal(nonce, header, payload, packetBuffer);
    dtlsTransport.bytesSent += length;
    dtlsTransport.packetsSent++;
    const connection = dtlsTransport.iceTransport.connection;
    const route = this.#peerReady ? this.#routeOf(connection.nominated) : undefined;
    if (route) return route.send(packetBuffer, length);
    connection.send(Buffer.from(packetBuffer.subarray(0, length))).catch(ignore);
    return true;
  }

  /**
   * Lets packets bypass werift's send queue, once the peer has sent us SRTCP. Until then they queue
   * behind our last DTLS flight: when we are the DTLS server, werift calls the handshake done while its
   * Finished still waits in Deno's send queue, and a packet written straight to the socket would reach
   * the peer before it, be dropped, and with it the cached GOP a new peer starts from.
   */
  peerReady(): void {
    this.#peerReady = true;
  }

  /** Frees the sealer; later writes are dropped. */
  close(): void {
    this.#closed = true;
    this.#sealer?.free();
    this.#sealer = undefined;
  }

  #sealerFor(key: Uint8Array): GcmSealer {
    if (this.#sealer && this.#sealerKey === key) return this.#sealer;
    this.#sealer?.free();
    this.#sealerKey = key;
    return this.#sealer = gcmSealer(key);
  }

  /**
   * The sendto route of the pair ICE nominated, looked up again when ICE (re)nominates. Only a
   * direct UDP pair has one: a TURN pair's transport is the socket to the TURN server, where each
   * packet must go wrapped for the relay, so werift's own send keeps those.
   */
  #routeOf(pair: CandidatePair | undefined): UdpRoute | undefined {
    if (pair !== this.#routePair) {
      this.#routePair = pair;
      const protocol = pair?.protocol as { type?: string; transport?: { type?: string } } | undefined;
      this.#route = pair && protocol?.type === "stun" && protocol.transport?.type === "udp"
        ? UdpRoute.open(protocol.transport as unknown as UdpTransportLike, pair.remoteAddr, this.log)
        : undefined;
    }
    return this.#route;
  }
}
