import assert from "node:assert/strict";
import { IceCandidate, RTCIceParameters, type RTCPeerConnection, useH264 } from "werift";
import { handleClientHandshakesOnce } from "../../lib/webrtc/werift_fixes/dtls_server.ts";
import { receiveAcrossRollovers } from "../../lib/webrtc/werift_fixes/srtp_rollover.ts";

/** werift's H.264 codec, offering `profileLevelId` if given. */
export function h264Codec(profileLevelId?: string) {
  return profileLevelId
    ? useH264({
      parameters: `level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=${profileLevelId}`,
    })
    : useH264();
}

/**
 * A werift peer in the test process acting as a WHEP or WHIP client: it offers, applies the answer
 * and can restart its ICE over PATCH as WHIP §4.3.2 says.
 */
export class ClientPeer {
  constructor(readonly pc: RTCPeerConnection) {}

  /** The offer with every candidate in it (WHEP/WHIP clients may trickle; this one does not need to). */
  async offer(): Promise<string> {
    await this.pc.setLocalDescription(await this.pc.createOffer());
    if (this.pc.iceGatheringState !== "complete") {
      await new Promise<void>((resolve) =>
        this.pc.iceGatheringStateChange.subscribe((state) => state === "complete" && resolve())
      );
    }
    return this.pc.localDescription!.sdp;
  }

  /**
   * The offer split as a trickling client sends it (the Pion-based Pi camera streamer's browser page): the SDP without its
   * candidates, and each candidate line as the browser's RTCIceCandidate.candidate gives it.
   */
  async trickledOffer(): Promise<{ sdp: string; candidates: string[] }> {
    const lines = (await this.offer()).split("\r\n");
    return {
      sdp: lines.filter((l) => !l.startsWith("a=candidate:") && l !== "a=end-of-candidates").join("\r\n"),
      candidates: lines.filter((l) => l.startsWith("a=candidate:")).map((l) => l.slice(2)),
    };
  }

  /** POSTs `offer` (by default this peer's own) as `application/sdp`; the response and its body. */
  async post(
    endpoint: string,
    options: { offer?: string; headers?: Record<string, string> } = {},
  ): Promise<{ res: Response; answer: string }> {
    const res = await fetch(endpoint, {
      method: "POST",
      headers: { "Content-Type": "application/sdp", ...options.headers },
      body: options.offer ?? await this.offer(),
    });
    return { res, answer: await res.text() };
  }

  /** POSTs this peer's offer, asserts a 201 and applies the answer; the response. */
  async connect(endpoint: string): Promise<Response> {
    const { res, answer } = await this.post(endpoint);
    assert.equal(res.status, 201, answer);
    await this.answer(answer);
    return res;
  }

  /** Applies the server's answer. */
  async answer(sdp: string): Promise<void> {
    // This client is the DTLS server (it offers actpass, werift answers active) and may receive SRTP: see dtls_server.ts and srtp_rollover.ts.
    for (const transport of this.pc.dtlsTransports) {
      handleClientHandshakesOnce(transport);
      receiveAcrossRollovers(transport);
    }
    await this.pc.setRemoteDescription({ type: "answer", sdp });
  }

  /**
   * Restarts this viewer's ICE as a WHEP client does (WHIP §4.3.2): new credentials and freshly gathered
   * candidates, as the sdpfrag to PATCH. The DTLS association is kept.
   */
  async iceRestartFragment(): Promise<string> {
    const ice = this.pc.iceTransports[0];
    ice.restart();
    await ice.gather();
    const { usernameFragment, password } = ice.localParameters;
    return [
      "a=ice-options:trickle",
      "m=video 9 UDP/TLS/RTP/SAVPF 96",
      "a=mid:0",
      `a=ice-ufrag:${usernameFragment}`,
      `a=ice-pwd:${password}`,
      ...ice.localCandidates.map((c) => `a=candidate:${c.toJSON().candidate}`),
      "a=end-of-candidates",
      "",
    ].join("\r\n");
  }

  /** Applies the server's sdpfrag answering an ICE restart and runs the new checks (resolves when connected). */
  async applyIceRestart(fragment: string): Promise<void> {
    const ice = this.pc.iceTransports[0];
    const value = (name: string) => fragment.match(new RegExp(`^a=${name}:(.+?)\r?$`, "m"))?.[1];
    ice.setRemoteParams(
      new RTCIceParameters({
        usernameFragment: value("ice-ufrag"),
        password: value("ice-pwd"),
        iceLite: false,
      }),
    );
    for (const line of fragment.split(/\r?\n/)) {
      if (line.startsWith("a=candidate:")) {
        await ice.addRemoteCandidate(IceCandidate.fromJSON({ candidate: line.slice(2) }));
      }
    }
    if (/^a=end-of-candidates\r?$/m.test(fragment)) await ice.addRemoteCandidate(undefined);
    await ice.start();
  }

  /** Closes the peer connection. */
  async close(): Promise<void> {
    await this.pc.close();
  }
}
