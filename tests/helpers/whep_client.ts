import { IceCandidate, type PeerConfig, RTCIceParameters, RTCPeerConnection, useH264, useVP8 } from "werift";
import { handleClientHandshakesOnce } from "../../lib/webrtc/dtls_server.ts";
import { receiveAcrossRollovers } from "../../lib/webrtc/srtp_rollover.ts";

/** One received frame: its RTP timestamp and arrival time. */
export interface ReceivedFrame {
  timestamp: number;
  receivedMs: number;
}

/** A werift viewer in the test process: offers recvonly video and counts frames by the marker bit. */
export class WhepViewer {
  readonly pc: RTCPeerConnection;
  /** Frames completed (RTP marker bit), in arrival order. */
  readonly frames: ReceivedFrame[] = [];
  /** Payload of the first RTP packet received, to check what the first frame starts with. */
  firstPayload: Uint8Array | undefined;
  /** The negotiated codec's MIME type, once the track arrived. */
  mimeType: string | undefined;

  /** `ice` adds to the loopback-only ICE setup, e.g. a TURN server and a relay-only policy. */
  constructor(ice: Partial<PeerConfig> = {}) {
    this.pc = new RTCPeerConnection({
      codecs: { video: [useH264(), useVP8()] },
      iceAdditionalHostAddresses: ["127.0.0.1"],
      iceUseIpv6: false,
      ...ice,
    });
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

  /**
   * The offer split as a trickling client sends it (seed 000's browser page): the SDP without its
   * candidates, and each candidate line as the browser's RTCIceCandidate.candidate gives it.
   */
  async trickledOffer(): Promise<{ sdp: string; candidates: string[] }> {
    const lines = (await this.offer()).split("\r\n");
    return {
      sdp: lines.filter((l) => !l.startsWith("a=candidate:") && l !== "a=end-of-candidates").join("\r\n"),
      candidates: lines.filter((l) => l.startsWith("a=candidate:")).map((l) => l.slice(2)),
    };
  }

  /** Applies the server's answer. */
  async answer(sdp: string): Promise<void> {
    // This viewer is the DTLS server and an SRTP receiver: see dtls_server.ts and srtp_rollover.ts.
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

  /** Frames that arrived since `ms`. */
  since(ms: number): ReceivedFrame[] {
    return this.frames.filter((f) => f.receivedMs >= ms);
  }

  /** Closes the peer connection. */
  async close(): Promise<void> {
    await this.pc.close();
  }
}

/** A signaling message the server sent (seed 000's JSON). */
export interface SignalReply {
  type: string;
  sdp?: string;
  /** The WHEP session URL of an answer. */
  session?: string;
  message?: string;
}

/** A seed 000 WebSocket signaling channel, with every message the server sent kept in order. */
export class SignalChannel {
  readonly replies: SignalReply[] = [];
  readonly closed: Promise<void>;

  private constructor(readonly socket: WebSocket) {
    socket.addEventListener("message", (e) => this.replies.push(JSON.parse(e.data)));
    this.closed = new Promise((resolve) => socket.addEventListener("close", () => resolve()));
  }

  /** Opens the channel at a `ws://` URL. */
  static async open(url: string): Promise<SignalChannel> {
    const socket = new WebSocket(url);
    await new Promise((resolve, reject) => {
      socket.addEventListener("open", resolve);
      socket.addEventListener("error", () => reject(new Error(`cannot open ${url}`)));
    });
    return new SignalChannel(socket);
  }

  /** Sends one JSON message (or raw text, to test refusals). */
  send(message: unknown): void {
    this.socket.send(typeof message === "string" ? message : JSON.stringify(message));
  }

  /** The next reply after the `seen` first ones, waiting up to `timeoutMs`. */
  async reply(seen: number, timeoutMs = 20_000): Promise<SignalReply> {
    const deadline = Date.now() + timeoutMs;
    while (this.replies.length <= seen) {
      if (Date.now() > deadline) throw new Error(`no signaling reply after ${timeoutMs} ms`);
      await new Promise((r) => setTimeout(r, 20));
    }
    return this.replies[seen];
  }

  /**
   * Plays `viewer` over this channel as seed 000's page does: the offer without candidates, then each
   * candidate as its own message; applies the answer.
   */
  async watch(viewer: WhepViewer): Promise<void> {
    const { sdp, candidates } = await viewer.trickledOffer();
    const seen = this.replies.length;
    this.send({ type: "offer", sdp });
    for (const candidate of candidates) {
      this.send({ type: "candidate", candidate: { candidate, sdpMid: "0", sdpMLineIndex: 0 } });
    }
    const answer = await this.reply(seen);
    if (answer.type !== "answer") throw new Error(`expected an answer, got ${JSON.stringify(answer)}`);
    await viewer.answer(answer.sdp!);
  }

  /** Closes the socket and waits for the close to complete. */
  async close(): Promise<void> {
    this.socket.close();
    await this.closed;
  }
}
