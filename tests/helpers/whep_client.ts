import { RTCPeerConnection, useH264, useVP8 } from "werift";

/** One received frame: its RTP timestamp and arrival time. */
export interface ReceivedFrame {
  timestamp: number;
  receivedMs: number;
}

/** A werift viewer in the test process: offers recvonly video and counts frames by the marker bit. */
export class WhepViewer {
  readonly pc = new RTCPeerConnection({
    codecs: { video: [useH264(), useVP8()] },
    iceAdditionalHostAddresses: ["127.0.0.1"],
    iceUseIpv6: false,
  });
  /** Frames completed (RTP marker bit), in arrival order. */
  readonly frames: ReceivedFrame[] = [];
  /** Payload of the first RTP packet received, to check what the first frame starts with. */
  firstPayload: Uint8Array | undefined;
  /** The negotiated codec's MIME type, once the track arrived. */
  mimeType: string | undefined;

  constructor() {
    const transceiver = this.pc.addTransceiver("video", { direction: "recvonly" });
    transceiver.onTrack.subscribe((track) => {
      track.onReceiveRtp.subscribe((rtp) => {
        this.mimeType ??= track.codec?.mimeType;
        this.firstPayload ??= new Uint8Array(rtp.payload);
        if (rtp.header.marker) this.frames.push({ timestamp: rtp.header.timestamp, receivedMs: Date.now() });
      });
    });
  }

  /** The offer with every candidate in it (WHEP clients may trickle; this one does not need to). */
  async offer(): Promise<string> {
    await this.pc.setLocalDescription(await this.pc.createOffer());
    if (this.pc.iceGatheringState !== "complete") {
      await new Promise<void>((resolve) =>
        this.pc.iceGatheringStateChange.subscribe((state) => state === "complete" && resolve())
      );
    }
    return this.pc.localDescription!.sdp;
  }

  /** Applies the server's answer. */
  async answer(sdp: string): Promise<void> {
    await this.pc.setRemoteDescription({ type: "answer", sdp });
  }

  /** Frames that arrived since `ms`. */
  since(ms: number): ReceivedFrame[] {
    return this.frames.filter((f) => f.receivedMs >= ms);
  }

  /** Closes the peer connection. */
  async close(): Promise<void> {
    await this.pc.close();
  }
}
