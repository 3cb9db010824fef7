import assert from "node:assert/strict";
import { Buffer } from "node:buffer";
import { ProtectionProfileAeadAes128Gcm, RtpHeader, RtpPacket, SrtpSession } from "werift";
import { packetIndex, writeGcmNonce, writeRtpHeader } from "../../lib/webrtc/rtp/writer.ts";
import { type GcmSealer, gcmSealer, LibcryptoGcm, NodeGcm } from "../../lib/webrtc/rtp/srtp_gcm.ts";

Deno.test("the packet index of a sequence number is the one nearest to the last index", () => {
  const cases: [lastIndex: number, seq: number, index: number][] = [
    [5, 6, 6],
    [5, 3, 3],
    [0xfffe, 0xffff, 0xffff],
    [0xffff, 0, 0x10000],
    [0xfffe, 1, 0x10001],
    [0x10001, 0xffff, 0xffff],
    [0x2_0005, 0x8004, 0x2_8004],
    [0x2_0005, 0x8006, 0x1_8006],
    [0, 0xffff, 0],
  ];
  for (const [lastIndex, seq, index] of cases) {
    assert.equal(
      packetIndex(lastIndex, seq),
      index,
      `last ${lastIndex.toString(16)}, seq ${seq.toString(16)}`,
    );
  }
});

Deno.test("an RTP header carries version 2, marker, payload type, sequence number, timestamp and SSRC", () => {
  const header = writeRtpHeader(Buffer.alloc(12), 102, 0x1234, 0xdeadbeef, true, 0x01020304);
  const parsed = RtpHeader.deSerialize(header);
  assert.deepEqual(
    [parsed.version, parsed.marker, parsed.payloadType, parsed.sequenceNumber, parsed.timestamp, parsed.ssrc],
    [2, true, 102, 0x1234, 0xdeadbeef, 0x01020304],
  );
  assert.equal(writeRtpHeader(Buffer.alloc(12), 96, 0x10001, 2 ** 32 + 7, false, 1)[1], 96);
});

/** A werift SRTP session pair with fixed master keys: ours to compare, theirs to decrypt. */
function sessions() {
  const key = (fill: number) => Buffer.alloc(16, fill);
  const salt = (fill: number) => Buffer.alloc(12, fill);
  const ours = new SrtpSession({
    keys: {
      localMasterKey: key(1),
      localMasterSalt: salt(2),
      remoteMasterKey: key(3),
      remoteMasterSalt: salt(4),
    },
    profile: ProtectionProfileAeadAes128Gcm,
  });
  const theirs = new SrtpSession({
    keys: {
      localMasterKey: key(3),
      localMasterSalt: salt(4),
      remoteMasterKey: key(1),
      remoteMasterSalt: salt(2),
    },
    profile: ProtectionProfileAeadAes128Gcm,
  });
  return { ours, theirs };
}

const sealers: [name: string, make: (key: Uint8Array) => GcmSealer][] = [
  ["libcrypto", (key) => gcmSealer(key)],
  ["node:crypto", (key) => new NodeGcm(key)],
];

for (const [name, make] of sealers) {
  Deno.test(`${name}: sealed packets are byte-identical to werift's SRTP, across a rollover, and decrypt at the peer`, () => {
    const { ours, theirs } = sessions();
    const { srtpSessionKey, srtpSessionSalt } = ours.localContext;
    const sealer = make(srtpSessionKey);
    const out = new Uint8Array(4096);
    const ssrc = 0x11223344;
    let lastIndex = -1;
    for (const [i, seq] of [0xfffd, 0xfffe, 0xffff, 0, 1, 0xffff, 2].entries()) {
      const payload = Buffer.from(Array.from({ length: 50 + i * 300 }, (_, j) => (j * 7 + i) & 0xff));
      const marker = i % 2 === 0;
      const expected = ours.encrypt(
        payload,
        new RtpHeader({ ssrc, payloadType: 96, sequenceNumber: seq, timestamp: i * 3000, marker }),
      );
      const index = lastIndex < 0 ? seq : packetIndex(lastIndex, seq);
      lastIndex = Math.max(lastIndex, index);
      const header = writeRtpHeader(Buffer.alloc(12), 96, seq, i * 3000, marker, ssrc);
      const nonce = writeGcmNonce(Buffer.alloc(12), srtpSessionSalt, ssrc, index);
      const sealed = Buffer.from(out.subarray(0, sealer.seal(nonce, header, payload, out)));
      assert.deepEqual(sealed, expected, `packet ${i} (seq ${seq})`);
      const opened = RtpPacket.deSerialize(theirs.decrypt(sealed));
      assert.deepEqual([opened.header.sequenceNumber, opened.payload], [seq, payload]);
    }
    sealer.free();
  });
}

Deno.test("the service seals through libcrypto when it runs with --allow-ffi", () => {
  const sealer = gcmSealer(new Uint8Array(16));
  assert.ok(sealer instanceof LibcryptoGcm, "libcrypto.so.3 missing: apt-get install libssl3");
  sealer.free();
});

for (const [name, make] of sealers) {
  Deno.test(`${name}: a packet that would not fit the output buffer is refused, and nothing is written`, () => {
    const sealer = make(new Uint8Array(16));
    const out = new Uint8Array(64);
    const header = new Uint8Array(12);
    assert.throws(() => sealer.seal(new Uint8Array(12), header, new Uint8Array(37), out), RangeError);
    assert.deepEqual(out, new Uint8Array(64), "untouched");
    assert.equal(
      sealer.seal(new Uint8Array(12), header, new Uint8Array(36), out),
      64,
      "an exact fit is sealed",
    );
    sealer.free();
  });
}
