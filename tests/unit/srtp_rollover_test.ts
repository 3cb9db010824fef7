import assert from "node:assert/strict";
import { Buffer } from "node:buffer";
import { ProtectionProfileAeadAes128Gcm, RtpPacket, SrtpSession } from "werift";
import { packetIndex, writeGcmNonce, writeRtpHeader } from "../../lib/webrtc/rtp/writer.ts";
import { gcmSealer } from "../../lib/webrtc/rtp/srtp_gcm.ts";
import { estimateRolloverAsRfc3711 } from "../../lib/webrtc/werift_fixes/srtp_rollover.ts";

const KEY = Buffer.alloc(16, 1);
const SALT = Buffer.alloc(12, 2);
const SSRC = 0x11223344;

/** A werift viewer's SRTP session that receives what `seal` sends. */
function receiver(): SrtpSession {
  return new SrtpSession({
    keys: {
      localMasterKey: Buffer.alloc(16, 3),
      localMasterSalt: Buffer.alloc(12, 4),
      remoteMasterKey: KEY,
      remoteMasterSalt: SALT,
    },
    profile: ProtectionProfileAeadAes128Gcm,
  });
}

/** Our sending side, as RtpWriter does it: each sequence number sealed at its packet index. */
function sender() {
  const { srtpSessionKey, srtpSessionSalt } = receiver().remoteContext;
  const sealer = gcmSealer(srtpSessionKey);
  let lastIndex = -1;
  return (seq: number) => {
    const index = lastIndex < 0 ? seq : packetIndex(lastIndex, seq);
    lastIndex = Math.max(lastIndex, index);
    const header = writeRtpHeader(Buffer.alloc(12), 96, seq, seq * 3000, false, SSRC);
    const nonce = writeGcmNonce(Buffer.alloc(12), srtpSessionSalt, SSRC, index);
    const out = Buffer.alloc(64);
    return out.subarray(0, sealer.seal(nonce, header, Uint8Array.from([seq & 0xff, 1, 2, 3]), out));
  };
}

/** Sends `sent` in order and delivers `received` of them; the sequence numbers the receiver opened. */
function deliver(sent: number[], received: (seq: number) => boolean, fix: boolean): number[] {
  const seal = sender();
  const session = receiver();
  if (fix) estimateRolloverAsRfc3711(session.remoteContext);
  const opened: number[] = [];
  for (const seq of sent) {
    const packet = seal(seq);
    if (!received(seq)) continue;
    try {
      opened.push(RtpPacket.deSerialize(session.decrypt(packet)).header.sequenceNumber);
    } catch {
      // Authentication failed: werift drops the packet.
    }
  }
  return opened;
}

const range = (from: number, count: number) => Array.from({ length: count }, (_, i) => (from + i) & 0xffff);

// Each case fails with werift's own estimate, which only counts a wrap from above 65435 to below 100.
Deno.test("a werift receiver keeps up across a sequence wrap after a loss burst around it", () => {
  const sent = range(65_000, 1500);
  const lost = (seq: number) => seq >= 65_450 || seq < 150;
  const expected = sent.filter((seq) => !lost(seq));
  assert.deepEqual(deliver(sent, (seq) => !lost(seq), true), expected);
  assert.notDeepEqual(deliver(sent, (seq) => !lost(seq), false), expected, "werift alone loses the rest");
});

Deno.test("a werift receiver keeps up when a packet from before the wrap is resent after it", () => {
  // 65501 is lost and resent once the sequence has wrapped to 36; 37 to 149 are lost meanwhile.
  const sent = [...range(65_400, 102), ...range(0, 37), 65_501, ...range(37, 500)];
  const firstSend = sent.indexOf(65_501);
  const lost = (seq: number, i: number) => i === firstSend || (seq >= 37 && seq < 150);
  let at = 0;
  const received = (seq: number) => !lost(seq, at++);
  const expected = sent.filter((seq, i) => !lost(seq, i));
  assert.deepEqual(deliver(sent, received, true), expected);
  at = 0;
  assert.notDeepEqual(deliver(sent, received, false), expected, "werift alone loses the rest");
});
