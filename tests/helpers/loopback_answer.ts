import { RTCPeerConnection, useH264 } from "werift";
import { Log } from "../../lib/log.ts";
import { RemoteCandidates } from "../../lib/webrtc/candidates.ts";
import type { IceOptions } from "../../lib/webrtc/ice.ts";
import type { DtlsRole } from "../../lib/webrtc/offer.ts";
import { gatheringComplete, type PeerSession, PeerSessions } from "../../lib/webrtc/peer_session.ts";

/** ICE options of both peers: host candidates on loopback only. */
export const LOOPBACK_ICE: IceOptions = {
  iceServers: [],
  icePortRange: undefined,
  iceAdditionalHostAddresses: ["127.0.0.1"],
  iceUseIpv4: false,
  iceUseIpv6: false,
};

/** A werift viewer's offer answered on a service-side werift peer the way WHEP answers it. */
export interface LoopbackAnswer {
  /** The viewer (offerer, ICE controlling); its remote description is not set yet. */
  client: RTCPeerConnection;
  /** The service's peer, answered through PeerSessions.answer (every werift correction applied). */
  service: RTCPeerConnection;
  answer: string;
  close(): Promise<void>;
}

/** Makes a recvonly H.264 offer and answers it with a sendonly peer taking DTLS `role`. */
export async function answerOnLoopback(role: DtlsRole): Promise<LoopbackAnswer> {
  const client = new RTCPeerConnection({ codecs: { video: [useH264()] }, ...LOOPBACK_ICE });
  const service = new RTCPeerConnection({ codecs: { video: [useH264()] }, ...LOOPBACK_ICE });
  const close = async () => {
    await client.close();
    await service.close();
  };
  try {
    client.addTransceiver("video", { direction: "recvonly" });
    await client.setLocalDescription(await client.createOffer());
    await gatheringComplete(client);
    service.addTransceiver("video", { direction: "sendonly" });
    const sessions = new PeerSessions<PeerSession>("WHEP", new Log("error").logger("test"), {
      maxPending: 8,
      maxPendingPerAddress: 8,
      handshakeTimeoutMs: 5000,
      mdnsCandidates: false,
    });
    const answer = await sessions.answer(
      service,
      client.localDescription!.sdp,
      role,
      LOOPBACK_ICE,
      new RemoteCandidates("127.0.0.1", false),
    );
    return { client, service, answer, close };
  } catch (err) {
    await close();
    throw err;
  }
}
