import assert from "node:assert/strict";
import { Buffer } from "node:buffer";
import {
  ProtectionProfileAes128CmHmacSha1_80,
  RtcpRrPacket,
  RtpHeader,
  SrtcpSession,
  SrtpAuthenticationError,
  SrtpSession,
} from "werift";
import { releaseAesCmContexts } from "../../lib/webrtc/werift_fixes/srtp_aes_cm.ts";
import { openCipherContexts } from "../helpers/cipher_contexts.ts";

const KEY = Buffer.alloc(16, 1);
const SALT = Buffer.alloc(14, 2);
const SSRC = 0x11223344;

/** An AES-CM SRTP and SRTCP pair that opens what it seals, finalized (as the service's) or werift's own. */
function loopback(finalized: boolean) {
  const config = {
    keys: { localMasterKey: KEY, localMasterSalt: SALT, remoteMasterKey: KEY, remoteMasterSalt: SALT },
    profile: ProtectionProfileAes128CmHmacSha1_80,
  };
  const srtp = new SrtpSession(config);
  const srtcp = new SrtcpSession(config);
  if (finalized) {
    for (const session of [srtp, srtcp]) {
      releaseAesCmContexts(session.localContext);
      releaseAesCmContexts(session.remoteContext);
    }
  }
  return {
    sealRtp: (seq: number, payload: Buffer, padding = false) =>
      srtp.encrypt(payload, new RtpHeader({ ssrc: SSRC, payloadType: 96, sequenceNumber: seq, padding })),
    openRtp: (packet: Buffer) => srtp.remoteContext.decryptRtp(packet),
    sealRtcp: (rtcp: Buffer) => srtcp.encrypt(rtcp),
    openRtcp: (packet: Buffer) => srtcp.remoteContext.decryptRTCP(packet),
  };
}

const rr = () => new RtcpRrPacket({ ssrc: SSRC, reports: [] }).serialize();
/** Sequence numbers across a wrap, so the rollover counter takes part in the keystream and the tag. */
const sequence = Array.from({ length: 20 }, (_, i) => (65_526 + i) & 0xffff);
const payloadOf = (seq: number) =>
  Buffer.from(Array.from({ length: 40 + (seq % 7) }, (_, i) => (seq + i) & 0xff));

Deno.test("finalized AES-CM seals RTP and RTCP byte for byte as werift does, and opens what werift seals", () => {
  const ours = loopback(true);
  const werift = loopback(false);
  for (const seq of sequence) {
    const sealed = werift.sealRtp(seq, payloadOf(seq));
    assert.deepEqual(ours.sealRtp(seq, payloadOf(seq)), sealed);
    const [plain, header] = ours.openRtp(sealed);
    assert.deepEqual(plain, werift.openRtp(sealed)[0]);
    assert.equal(header.sequenceNumber, seq);
  }
  for (let i = 0; i < 5; i++) {
    const sealed = werift.sealRtcp(rr());
    assert.deepEqual(ours.sealRtcp(rr()), sealed);
    assert.deepEqual(ours.openRtcp(sealed)[0], rr());
  }
});

Deno.test("finalized AES-CM reads RTP padding as werift does", () => {
  const ours = loopback(true);
  const werift = loopback(false);
  // Three bytes of padding: the last byte says how many.
  const padded = Buffer.concat([payloadOf(1), Buffer.from([0, 0, 3])]);
  const sealed = werift.sealRtp(1, padded, true);
  assert.equal(ours.openRtp(sealed)[1].paddingSize, 3);
  assert.equal(werift.openRtp(sealed)[1].paddingSize, 3);
  const overlong = werift.sealRtp(2, Buffer.concat([payloadOf(2), Buffer.from([200])]), true);
  assert.throws(() => ours.openRtp(overlong), SrtpAuthenticationError);
  assert.throws(() => werift.openRtp(overlong), SrtpAuthenticationError);
});

Deno.test("finalized AES-CM refuses what fails authentication, as werift does", () => {
  const ours = loopback(true);
  const rtp = ours.sealRtp(7, payloadOf(7));
  rtp[20] ^= 1;
  assert.throws(() => ours.openRtp(rtp), SrtpAuthenticationError);
  const rtcp = ours.sealRtcp(rr());
  rtcp[10] ^= 1;
  assert.throws(() => ours.openRtcp(rtcp), SrtpAuthenticationError);
  assert.throws(() => ours.openRtcp(rtcp.subarray(0, 21)), SrtpAuthenticationError);
});

Deno.test("finalized AES-CM leaves no cipher context open; werift's own leaves one per packet sealed or opened", () => {
  const roundTrips = (finalized: boolean) => {
    const pair = loopback(finalized);
    const before = openCipherContexts();
    for (const seq of sequence) {
      pair.openRtp(pair.sealRtp(seq, payloadOf(seq)));
      pair.openRtcp(pair.sealRtcp(rr()));
    }
    return openCipherContexts() - before;
  };
  assert.equal(roundTrips(true), 0);
  assert.equal(roundTrips(false), 4 * sequence.length, "werift alone leaves one per packet, each way");
});
