import { Buffer } from "node:buffer";
import { RTCPeerConnection, type RTCRtpSender, RtpHeader, RtpPacket, useOPUS, useVP8 } from "werift";
import type { Codec } from "../../lib/stream/access_unit.ts";
import { H264Assembler } from "../../lib/media/h264/assembler.ts";
import { WebmDemuxer } from "../../lib/media/webm.ts";
import { StreamPacketizer } from "../../lib/webrtc/rtp/packetizer.ts";
import { ClientPeer, h264Codec } from "./client_peer.ts";

const FIXTURES = new URL("../fixtures/", import.meta.url);

/** An encoded frame of a fixture. */
export interface FixtureFrame {
  data: Uint8Array;
  keyframe: boolean;
}

/** The frames of a real encoder's output in tests/fixtures (H.264 Annex-B or VP8 WebM). */
export function fixtureFrames(name: string): FixtureFrame[] {
  const bytes = Deno.readFileSync(new URL(name, FIXTURES));
  if (name.endsWith(".webm")) return new WebmDemuxer().push(bytes);
  const assembler = new H264Assembler();
  const frames: FixtureFrame[] = assembler.push(bytes);
  const last = assembler.flush();
  if (last) frames.push(last);
  return frames;
}

/** A silent 20 ms Opus frame (TOC 0xf8: CELT fullband 20 ms, mono), what a muted microphone sends. */
const OPUS_SILENCE = new Uint8Array([0xf8, 0xff, 0xfe]);

/**
 * A werift WHIP publisher in the test process: sendonly H.264 or VP8 (a fixture, looped at 30 fps,
 * starting over at its first keyframe when asked by a PLI) and, if asked, Opus audio every 20 ms.
 */
export class WhipPublisher extends ClientPeer {
  /** PLIs received from the server. */
  plis = 0;
  readonly #video: RTCRtpSender;
  readonly #audio: RTCRtpSender | undefined;
  readonly #frames: FixtureFrame[];
  readonly #packetizer: StreamPacketizer;
  #timers: ReturnType<typeof setInterval>[] = [];

  /**
   * `audio`: Opus too, its m-line after the video one or, with "first", before it as OBS orders them;
   * `profileLevelId`: the H.264 profile and level offered (werift's default 42e01f otherwise).
   */
  constructor(
    readonly codec: Codec,
    options: { audio?: boolean | "first"; fixture?: string; profileLevelId?: string } = {},
  ) {
    super(
      new RTCPeerConnection({
        codecs: {
          video: [codec === "h264" ? h264Codec(options.profileLevelId) : useVP8()],
          ...(options.audio ? { audio: [useOPUS()] } : {}),
        },
        iceAdditionalHostAddresses: ["127.0.0.1"],
        iceUseIpv6: false,
      }),
    );
    this.#frames = fixtureFrames(
      options.fixture ?? (codec === "h264" ? "testsrc_h264_320x240.h264" : "testsrc_vp8_320x240.webm"),
    );
    this.#packetizer = new StreamPacketizer(codec);
    const addAudio = () => this.pc.addTransceiver("audio", { direction: "sendonly" }).sender;
    const audioFirst = options.audio === "first" ? addAudio() : undefined;
    this.#video = this.pc.addTransceiver("video", { direction: "sendonly" }).sender;
    this.#video.onPictureLossIndication.subscribe(() => this.plis++);
    this.#audio = audioFirst ?? (options.audio ? addAudio() : undefined);
  }

  /** Starts sending once connected: video at 30 fps, audio (if any) every 20 ms. */
  async start(): Promise<void> {
    if (this.pc.connectionState !== "connected") {
      await new Promise<void>((resolve) =>
        this.pc.connectionStateChange.subscribe((state) => state === "connected" && resolve())
      );
    }
    let index = 0;
    let sequenceNumber = 0;
    let timestamp = 0;
    let plisSeen = 0;
    this.#timers.push(setInterval(() => {
      // A PLI asks for a keyframe: the fixture's first frame is one.
      if (this.plis > plisSeen) {
        plisSeen = this.plis;
        index = 0;
      }
      const frame = this.#frames[index++ % this.#frames.length];
      const au = { codec: this.codec, ...frame, pts90k: 0, captureMs: 0 };
      for (const { payload, marker } of this.#packetizer.payloads(au)) {
        const header = new RtpHeader({ sequenceNumber: sequenceNumber++ & 0xffff, timestamp, marker });
        this.#video.sendRtp(new RtpPacket(header, payload)).catch(() => {});
      }
      timestamp = (timestamp + 3000) >>> 0;
    }, 33));
    const audio = this.#audio;
    if (audio) {
      let audioSequence = 0;
      let audioTimestamp = 0;
      this.#timers.push(setInterval(() => {
        const header = new RtpHeader({ sequenceNumber: audioSequence++ & 0xffff, timestamp: audioTimestamp });
        audio.sendRtp(new RtpPacket(header, Buffer.from(OPUS_SILENCE))).catch(() => {});
        audioTimestamp = (audioTimestamp + 960) >>> 0;
      }, 20));
    }
  }

  /** Stops sending and closes the peer connection. */
  override async close(): Promise<void> {
    for (const timer of this.#timers) clearInterval(timer);
    await super.close();
  }

  /**
   * Publishes over WHIP: POSTs the offer (with `token` as Bearer if given), applies the answer and
   * starts sending. Returns the POST's response (its body already read as `answer`).
   */
  async publish(
    endpoint: string,
    token?: string,
  ): Promise<{ res: Response; answer: string; session: string }> {
    const { res, answer } = await this.post(endpoint, {
      headers: token ? { Authorization: `Bearer ${token}` } : {},
    });
    if (res.status !== 201) return { res, answer, session: "" };
    await this.answer(answer);
    void this.start();
    return { res, answer, session: new URL(res.headers.get("location")!, endpoint).href };
  }
}
