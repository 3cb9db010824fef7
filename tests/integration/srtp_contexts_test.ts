import assert from "node:assert/strict";
import {
  ProtectionProfileAeadAes128Gcm,
  ProtectionProfileAes128CmHmacSha1_80,
  RTCPeerConnection,
  RtcpRrPacket,
  RtpHeader,
  RtpPacket,
  useH264,
} from "werift";
import { Buffer } from "node:buffer";
import { correctTransports, gatheringComplete } from "../../lib/webrtc/peer_session.ts";
import { releaseSrtpContexts } from "../../lib/webrtc/werift_fixes/srtp_aes_cm.ts";
import { openCipherContexts } from "../helpers/cipher_contexts.ts";
import { waitFor } from "../helpers/edgecam.ts";

const PACKETS = 200;

const loopbackPeer = () =>
  new RTCPeerConnection({
    codecs: { video: [useH264()] },
    iceAdditionalHostAddresses: ["127.0.0.1"],
    iceUseIpv6: false,
  });

Deno.test("a session with a browser's SRTP profile gives back every cipher context it used, RTP and RTCP both ways", async () => {
  const before = openCipherContexts();
  const viewer = loopbackPeer();
  const service = loopbackPeer();
  try {
    let received = 0;
    viewer.addTransceiver("video", { direction: "recvonly" }).onTrack.subscribe((track) =>
      track.onReceiveRtp.subscribe(() => received++)
    );
    await viewer.setLocalDescription(await viewer.createOffer());
    await gatheringComplete(viewer);
    const sender = service.addTransceiver("video", { direction: "sendonly" }).sender;
    await service.setRemoteDescription(viewer.localDescription!);
    correctTransports(service);
    await service.setLocalDescription(await service.createAnswer());
    await gatheringComplete(service);
    // Chromium, the DTLS server here as with our answers, prefers AES-CM to the AEAD profile (werift
    // keeps its list private, and shares it between transports: replaced, not changed).
    for (const transport of viewer.dtlsTransports) {
      Object.assign(transport, {
        srtpProfiles: [ProtectionProfileAes128CmHmacSha1_80, ProtectionProfileAeadAes128Gcm],
      });
      releaseSrtpContexts(transport);
    }
    await viewer.setRemoteDescription(service.localDescription!);
    const connected = [sender.dtlsTransport, ...viewer.dtlsTransports];
    await waitFor("DTLS", () => connected.every((t) => t.state === "connected") || undefined);
    assert.equal(sender.dtlsTransport.srtp.localContext.profile, ProtectionProfileAes128CmHmacSha1_80);

    const payload = Buffer.alloc(1000, 7);
    for (let seq = 0; seq < PACKETS; seq++) {
      const header = new RtpHeader({ sequenceNumber: seq, timestamp: seq * 3000, marker: true });
      await sender.sendRtp(new RtpPacket(header, payload));
      // Paced, so the viewer's socket buffer never overflows: every packet must be opened.
      if (seq % 10 === 9) await new Promise((r) => setTimeout(r, 5));
    }
    await waitFor("every packet", () => received === PACKETS || undefined);
    let plis = 0;
    sender.onPictureLossIndication.subscribe(() => plis++);
    let reports = 0;
    viewer.dtlsTransports[0].onRtcp.subscribe(() => reports++);
    await viewer.getReceivers()[0].sendRtcpPLI(sender.ssrc);
    await sender.dtlsTransport.sendRtcp([
      new RtcpRrPacket({ ssrc: sender.ssrc, reports: [] }),
    ]);
    await waitFor("RTCP both ways", () => plis > 0 && reports > 0 || undefined);
  } finally {
    await viewer.close();
    await service.close();
  }
  assert.equal(openCipherContexts() - before, 0);
});
