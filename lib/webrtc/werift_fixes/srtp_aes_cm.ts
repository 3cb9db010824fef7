/**
 * Makes werift's AES-CM SRTP cipher (SRTP_AES128_CM_HMAC_SHA1_80) give back the native AES context of
 * each packet it seals or opens. werift 0.25.2 makes a node:crypto cipher per RTP and RTCP packet and,
 * counter mode having nothing left to flush, never calls its `final()`. Deno 2.9.6 keeps every
 * node:crypto cipher's context in its resource table until `final()` takes it out; garbage collection
 * never does. So each such packet left about 0.9 KB of native memory behind for the life of the
 * process, invisible to V8's heap and its GC.
 *
 * Chromium negotiates this profile with us: it is the DTLS server for the answers we make to its
 * `a=setup:actpass` offers, and picks AES-CM over the AEAD profile werift lists first (its transport
 * stats say SRTP_AES128_CM_HMAC_SHA1_80). RtpWriter seals only AEAD itself, so every packet to a browser
 * viewer went through this cipher: 150 Chromium sessions of 4 s, one after another, took the service
 * from 115 to 349 MB, rising all the way and 294 MB with no viewer left (with this fix: a plateau near
 * 210 MB, 153 MB after). A browser publishing over WHIP leaked as much for every packet it sent.
 *
 * The four methods that make a cipher are replaced on the instance by the same steps, in the same
 * order, with the cipher finalized. No werift file is patched and no other peer connection is affected.
 */
import { Buffer } from "node:buffer";
import { createCipheriv, timingSafeEqual } from "node:crypto";
import {
  ProtectionProfileAes128CmHmacSha1_80,
  type RTCDtlsTransport,
  RTCP_HEADER_SIZE,
  RtcpHeader,
  type RtpHeader,
  SrtpAuthenticationError,
} from "werift";

/** Bytes of the SRTCP index (E flag included) after an SRTCP packet's payload (RFC 3711 §3.4). */
const SRTCP_INDEX_BYTES = 4;
/** The smallest RTCP packet: its header and sender SSRC. */
const MIN_RTCP_BYTES = 8;
const SRTP_REFUSED = "Failed to authenticate SRTP packet";
const SRTCP_REFUSED = "Failed to authenticate SRTCP packet";

/** werift's SRTP or SRTCP context of one direction (their classes are not exported). */
type SrtpContext = RTCDtlsTransport["srtp"]["localContext"] | RTCDtlsTransport["srtcp"]["localContext"];

/** What werift's CipherAesCtr has (the class is not exported): its keys and helpers, kept as they are. */
export interface AesCmCipher {
  authTagLength: number;
  srtpSessionKey: Buffer;
  srtpSessionSalt: Buffer;
  srtcpSessionKey: Buffer;
  srtcpSessionSalt: Buffer;
  generateCounter(sequenceNumber: number, rolloverCounter: number, ssrc: number, salt: Buffer): Buffer;
  generateSrtpAuthTag(rolloverCounter: number, ...buffers: Buffer[]): Buffer;
  generateSrtcpAuthTag(buffer: Buffer): Buffer;
  encryptRtp(header: RtpHeader, payload: Buffer, rolloverCounter: number): Buffer;
  decryptRtp(cipherText: Buffer, rolloverCounter: number, header: RtpHeader): [Buffer, RtpHeader];
  encryptRTCP(rtcp: Buffer, srtcpIndex: number): Buffer;
  decryptRTCP(encrypted: Buffer): [Buffer, RtcpHeader];
}

/** AES-128 in counter mode over `data` from `counter`; encrypting and decrypting are the same. */
function aesCtr(key: Buffer, counter: Buffer, data: Buffer): Buffer {
  const cipher = createCipheriv("aes-128-ctr", key, counter);
  const out = cipher.update(data);
  // Outputs nothing in counter mode: called for the native context it frees.
  cipher.final();
  return out;
}

function refuseUnless(condition: boolean, message: string): void {
  if (!condition) throw new SrtpAuthenticationError(message);
}

function checkTag(actual: Buffer, expected: Buffer, message: string): void {
  refuseUnless(actual.length === expected.length && timingSafeEqual(actual, expected), message);
}

/** Replaces the cipher-making methods of one werift CipherAesCtr with ones that finalize the cipher. */
export function finalizeAesCmCiphers(c: AesCmCipher): void {
  c.encryptRtp = (header, payload, roc) => {
    const headerBytes = header.serialize(header.serializeSize);
    const counter = c.generateCounter(header.sequenceNumber, roc, header.ssrc, c.srtpSessionSalt);
    const encrypted = aesCtr(c.srtpSessionKey, counter, payload);
    return Buffer.concat([headerBytes, encrypted, c.generateSrtpAuthTag(roc, headerBytes, encrypted)]);
  };
  c.decryptRtp = (cipherText, roc, header) => {
    const tagAt = cipherText.length - c.authTagLength;
    const packet = cipherText.subarray(0, tagAt);
    const head = packet.subarray(0, header.payloadOffset);
    const body = packet.subarray(header.payloadOffset);
    checkTag(cipherText.subarray(tagAt), c.generateSrtpAuthTag(roc, head, body), SRTP_REFUSED);
    const counter = c.generateCounter(header.sequenceNumber, roc, header.ssrc, c.srtpSessionSalt);
    const plain = Buffer.concat([head, aesCtr(c.srtpSessionKey, counter, body)]);
    header.paddingSize = 0;
    if (header.padding) {
      refuseUnless(plain.length > header.payloadOffset, SRTP_REFUSED);
      // The last byte counts the padding, itself included (RFC 3550 §5.1).
      const padding = plain[plain.length - 1];
      refuseUnless(padding > 0 && padding <= plain.length - header.payloadOffset, SRTP_REFUSED);
      header.paddingSize = padding;
    }
    return [plain, header];
  };
  c.encryptRTCP = (rtcp, srtcpIndex) => {
    const ssrc = rtcp.readUInt32BE(4);
    const counter = c.generateCounter(srtcpIndex & 0xffff, srtcpIndex >> 16, ssrc, c.srtcpSessionSalt);
    const index = Buffer.alloc(SRTCP_INDEX_BYTES);
    index.writeUInt32BE(srtcpIndex);
    // The E flag: the payload is encrypted.
    index[0] |= 0x80;
    const sealed = Buffer.concat([
      rtcp.subarray(0, MIN_RTCP_BYTES),
      aesCtr(c.srtcpSessionKey, counter, rtcp.subarray(MIN_RTCP_BYTES)),
      index,
    ]);
    return Buffer.concat([sealed, c.generateSrtcpAuthTag(sealed)]);
  };
  c.decryptRTCP = (encrypted) => {
    refuseUnless(encrypted.length >= MIN_RTCP_BYTES + c.authTagLength + SRTCP_INDEX_BYTES, SRTCP_REFUSED);
    const header = RtcpHeader.deSerialize(encrypted.subarray(0, RTCP_HEADER_SIZE));
    const tagAt = encrypted.length - c.authTagLength;
    checkTag(encrypted.subarray(tagAt), c.generateSrtcpAuthTag(encrypted.subarray(0, tagAt)), SRTCP_REFUSED);
    const indexAt = tagAt - SRTCP_INDEX_BYTES;
    const plain = Buffer.from(encrypted.subarray(0, indexAt));
    if (encrypted[indexAt] >>> 7 === 0) return [plain, header];
    const srtcpIndex = encrypted.readUInt32BE(indexAt) & 0x7fffffff;
    const ssrc = encrypted.readUInt32BE(4);
    const counter = c.generateCounter(srtcpIndex & 0xffff, srtcpIndex >> 16, ssrc, c.srtcpSessionSalt);
    aesCtr(c.srtcpSessionKey, counter, plain.subarray(MIN_RTCP_BYTES)).copy(plain, MIN_RTCP_BYTES);
    return [plain, header];
  };
}

/** Makes this SRTP context's cipher finalize what it makes, if it is AES-CM (AEAD ciphers already do). */
export function releaseAesCmContexts(context: SrtpContext): void {
  if (context.profile !== ProtectionProfileAes128CmHmacSha1_80) return;
  finalizeAesCmCiphers(context.cipher as unknown as AesCmCipher);
}

/**
 * Makes this transport's SRTP and SRTCP sessions (created when DTLS connects) give back every cipher
 * context, both ways. Call it before the transport starts, e.g. right after setRemoteDescription.
 */
export function releaseSrtpContexts(transport: RTCDtlsTransport): void {
  const startSrtp = transport.startSrtp.bind(transport);
  transport.startSrtp = () => {
    startSrtp();
    for (const session of [transport.srtp, transport.srtcp]) {
      releaseAesCmContexts(session.localContext);
      releaseAesCmContexts(session.remoteContext);
    }
  };
}
