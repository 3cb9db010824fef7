import { Buffer } from "node:buffer";
import {
  type PeerConfig,
  RTCPeerConnection,
  RtcpPayloadSpecificFeedback,
  type RTCRtpTransceiver,
  useOPUS,
  useVP8,
} from "werift";
import { NAL } from "../../lib/media/h264/sps.ts";
import { ClientPeer, h264Codec } from "./client_peer.ts";

/** True when an H.264 RTP payload starts a keyframe: SPS alone or first in a STAP-A. */
export function h264StartsKeyframe(payload: Uint8Array): boolean {
  const type = payload[0] & 0x1f;
  if (type === 24) return (payload[3] & 0x1f) === NAL.SPS;
  return type === NAL.SPS || type === NAL.IDR;
}

/** One received frame: its RTP timestamp and arrival time. */
export interface ReceivedFrame {
  timestamp: number;
  receivedMs: number;
}

/** Feedback message type of a full intra request (RFC 5104). */
const FIR_FMT = 4;

/**
 * A werift viewer in the test process: offers recvonly video (and, if asked, Opus audio), counts frames
 * by the marker bit and audio packets.
 */
export class WhepViewer extends ClientPeer {
  /** Frames completed (RTP marker bit), in arrival order. */
  readonly frames: ReceivedFrame[] = [];
  /** Payload of the first RTP packet received, to check what the first frame starts with. */
  firstPayload: Uint8Array | undefined;
  /** The negotiated codec's MIME type, once the track arrived. */
  mimeType: string | undefined;
  /** Audio RTP packets received (with `audio: true`). */
  audioPackets = 0;
  /** The video track's SSRC, once its first packet arrived (for PLIs). */
  videoSsrc: number | undefined;
  readonly #video: RTCRtpTransceiver;

  /**
   * `ice` adds to the loopback-only ICE setup, e.g. a TURN server and a relay-only policy;
   * `profileLevelId` is the H.264 profile offered (werift's default 42e01f otherwise).
   */
  constructor(options: { audio?: boolean; ice?: Partial<PeerConfig>; profileLevelId?: string } = {}) {
    super(
      new RTCPeerConnection({
        codecs: {
          video: [h264Codec(options.profileLevelId), useVP8()],
          ...(options.audio ? { audio: [useOPUS()] } : {}),
        },
        iceAdditionalHostAddresses: ["127.0.0.1"],
        iceUseIpv6: false,
        ...options.ice,
      }),
    );
    const transceiver = this.pc.addTransceiver("video", { direction: "recvonly" });
    transceiver.onTrack.subscribe((track) => {
      track.onReceiveRtp.subscribe((rtp) => {
        this.videoSsrc = rtp.header.ssrc;
        this.mimeType ??= track.codec?.mimeType;
        this.firstPayload ??= new Uint8Array(rtp.payload);
        if (rtp.header.marker) this.frames.push({ timestamp: rtp.header.timestamp, receivedMs: Date.now() });
      });
    });
    this.#video = transceiver;
    if (options.audio) {
      const audio = this.pc.addTransceiver("audio", { direction: "recvonly" });
      audio.onTrack.subscribe((track) => track.onReceiveRtp.subscribe(() => this.audioPackets++));
    }
  }

  /** Sends the server a picture loss indication for the video track. */
  async sendPli(): Promise<void> {
    await this.#video.receiver.sendRtcpPLI(this.videoSsrc!);
  }

  /**
   * Sends the server a full intra request (RFC 5104 §4.3.1) for the video track. werift has no sender
   * for it, so its FCI is written here: the media's SSRC and a request sequence number.
   */
  async sendFir(sequenceNumber: number): Promise<void> {
    const { receiver } = this.#video;
    const body = new Uint8Array(16);
    const view = new DataView(body.buffer);
    view.setUint32(0, receiver.rtcpSsrc);
    view.setUint32(4, 0); // media source: unused in a FIR (§4.3.1.2)
    view.setUint32(8, this.videoSsrc!);
    body[12] = sequenceNumber & 0xff;
    // RTCP length: the packet in 32-bit words minus one, the 4-byte header included.
    const feedback = { count: FIR_FMT, length: body.length / 4, serialize: () => Buffer.from(body) };
    await receiver.dtlsTransport.sendRtcp([
      new RtcpPayloadSpecificFeedback({
        feedback: feedback as unknown as RtcpPayloadSpecificFeedback["feedback"],
      }),
    ]);
  }

  /** Frames that arrived since `ms`. */
  since(ms: number): ReceivedFrame[] {
    return this.frames.filter((f) => f.receivedMs >= ms);
  }
}

/** A signaling message the server sent (the WebSocket JSON signaling). */
export interface SignalReply {
  type: string;
  sdp?: string;
  /** The WHEP session URL of an answer. */
  session?: string;
  message?: string;
}

/** A WebSocket JSON signaling channel, with every message the server sent kept in order. */
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
   * Plays `viewer` over this channel as the Pion-based Pi camera streamer's page does: the offer without candidates, then each
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
