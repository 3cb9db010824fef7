/**
 * WHEP output: one werift peer connection per viewer, sendonly video (and Opus on WHIP paths), fed from
 * the stream through a reader; each access unit is packetized once for all of a stream's viewers.
 */
import { RTCPeerConnection, type RTCRtpSender, useH264, useOPUS, useVP8 } from "werift";
import { ConflictError, UnavailableError } from "../errors.ts";
import type { Log, Logger } from "../log.ts";
import type { Reader } from "../stream/reader.ts";
import type { Stream } from "../stream/stream.ts";
import type { IceOptions } from "../webrtc/ice.ts";
import {
  chooseCodec,
  chooseOpus,
  parseVideoOffer,
  type VideoOffer,
  withProfileLevelId,
} from "../webrtc/offer.ts";
import {
  type IceRestartAnswer,
  PeerSession,
  PeerSessions,
  type SessionAnswer,
  type SessionLimits,
} from "../webrtc/peer_session.ts";
import type { RemoteCandidates } from "../webrtc/candidates.ts";
import { forwardAudio, sendAccessUnits, StreamPacketizer } from "../webrtc/rtp/packetizer.ts";
import {
  emptyFeedbackCounts,
  type FeedbackCounts,
  senderFeedback,
  ViewerRtp,
} from "../webrtc/rtp/viewer_rtp.ts";

/** The WebRTC figures of one stream: viewers now, and feedback totals since the service started. */
export interface WebrtcStreamStats extends FeedbackCounts {
  /** Viewers connected now. */
  viewers: number;
  /** Viewers answered but not connected yet. */
  pending: number;
}

/** The bounds on WHEP viewers (from `[webrtc]`). */
export interface WhepLimits extends SessionLimits {
  /** Connected viewers per stream. */
  maxClients: number;
}

/** One viewer: its peer connection and, once connected, its reader and send loop. */
class WhepSession extends PeerSession {
  readonly rtp: ViewerRtp;
  #reader: Reader | null = null;
  #stopAudio: (() => void) | undefined;
  /** Whether viewer_joined went out, so viewer_left goes out once, for viewers that joined only. */
  #joined = false;

  constructor(
    readonly stream: Stream,
    pc: RTCPeerConnection,
    sender: RTCRtpSender,
    private readonly audioSender: RTCRtpSender | undefined,
    private readonly packetizer: StreamPacketizer,
    totals: FeedbackCounts,
    /** Whether one more connected viewer fits the stream's limit. */
    private readonly roomForOneMore: () => boolean,
    log: Logger,
  ) {
    super(stream.name, pc, log, "viewer");
    // A viewer that lost packets asks for a keyframe: a WHIP publisher can send one at once.
    this.rtp = new ViewerRtp(sender, pc.cname, totals, () => stream.requestKeyframe(), log);
  }

  protected connected(): void {
    // Only connected viewers count toward max_clients, so two that were answered for the last seat race
    // for it here.
    if (!this.roomForOneMore()) {
      this.close("the stream's viewer limit (max_clients) was reached while connecting");
      return;
    }
    this.#joined = true;
    this.stream.announce("viewer_joined", { protocol: "webrtc", session: this.id });
    if (this.audioSender) this.#stopAudio = forwardAudio(this.stream, this.audioSender);
    void this.#send();
  }

  /**
   * Subscribes only once connected: werift drops RTP written before DTLS is up, and the stream's
   * GOP cache makes the first frame sent a keyframe.
   */
  async #send(): Promise<void> {
    if (this.closed || this.#reader) return;
    const reader = this.stream.subscribe();
    this.#reader = reader;
    try {
      await sendAccessUnits(reader, this.packetizer, this.rtp, this.stream.sendDelay);
    } finally {
      // The reader ends when the stream closes (shutdown): the session ends with it.
      this.close();
    }
  }

  protected closing(why: string): void {
    if (this.#joined) {
      this.stream.announce("viewer_left", { protocol: "webrtc", session: this.id, reason: why });
    }
    this.#reader?.close();
    this.#stopAudio?.();
    this.rtp.close();
    const { nacks, retransmits, retransmitsSuppressed, plis, firs } = this.rtp.counts;
    const rtt = this.rtp.rttMs === undefined ? "unknown" : `${this.rtp.rttMs.toFixed(1)} ms`;
    this.log.info(
      `${this.stream.name}/${this.id}: closed (${why}); NACKed ${nacks}, resent ${retransmits}, ` +
        `suppressed ${retransmitsSuppressed}, PLIs ${plis}, FIRs ${firs}, RTT ${rtt}`,
    );
  }
}

/**
 * The WHEP sessions of this service: one werift peer connection per viewer, a sendonly video track
 * fed from the stream, packetized once per access unit for all viewers of a stream.
 */
export class WhepSessions {
  readonly #sessions: PeerSessions<WhepSession>;
  readonly #log: Logger;
  readonly #packetizers = new Map<Stream, StreamPacketizer>();
  readonly #totals = new Map<string, FeedbackCounts>();

  /**
   * @param iceOptions werift ICE options for a new peer (read per viewer: addresses may change).
   * @param limits viewers per stream, and the bounds on those still connecting.
   * @param log the service's log.
   */
  constructor(
    private readonly iceOptions: () => IceOptions,
    private readonly limits: WhepLimits,
    log: Log,
  ) {
    this.#log = log.logger("whep");
    this.#sessions = new PeerSessions("WHEP", this.#log, limits);
  }

  /** Sessions alive now. */
  get size(): number {
    return this.#sessions.size;
  }

  /**
   * Answers the SDP offer of a viewer at `address` for this stream and starts sending once the viewer
   * connects. Only connected viewers count toward max_clients; those still connecting are bounded apart
   * (see PeerSessions.open).
   */
  async create(stream: Stream, offerSdp: string, address: string): Promise<SessionAnswer> {
    const offer = parseVideoOffer(offerSdp);
    if (stream.source.state !== "running") {
      throw new ConflictError(`stream "${stream.name}" is ${stream.source.state}; try again shortly`);
    }
    if (!this.#roomForOneMore(stream)) {
      throw new UnavailableError(
        `stream "${stream.name}" has its ${this.limits.maxClients} viewers (max_clients)`,
        5,
      );
    }
    const { session, sdp } = await this.#sessions.open(
      address,
      (candidates) => this.#answer(stream, offer, offerSdp, candidates),
    );
    return { id: session.id, etag: session.etag, sdp, ended: session.ended };
  }

  /** Whether one more viewer (`asking`, or a new one) fits: fewer than max_clients others are connected. */
  #roomForOneMore(stream: Stream, asking?: WhepSession): boolean {
    let connected = 0;
    for (const session of this.#sessions.values()) {
      if (session !== asking && session.stream === stream && session.isConnected && !session.closed) {
        connected++;
      }
    }
    return connected < this.limits.maxClients;
  }

  async #answer(
    stream: Stream,
    offer: VideoOffer,
    offerSdp: string,
    candidates: RemoteCandidates,
  ): Promise<{ session: WhepSession; sdp: string }> {
    const offered = chooseCodec(offer, stream.codec, stream.format?.profileLevelId);
    // The offer's own payload type and fmtp, so werift's exact fmtp match negotiates it.
    const codec = (stream.codec === "h264" ? useH264 : useVP8)({
      payloadType: offered.payloadType,
      rtcpFeedback: senderFeedback(),
      ...(stream.codec === "h264" ? { parameters: offered.fmtp } : {}),
    });
    // Audio only where the stream has some (a WHIP path) and the viewer offers Opus; else werift
    // rejects the viewer's audio m-line (port 0) and the video plays alone.
    const opus = stream.hasAudio ? chooseOpus(offer.audio) : undefined;
    const audio = opus ? { audio: [useOPUS({ payloadType: opus.payloadType, parameters: opus.fmtp })] } : {};
    const ice = this.iceOptions();
    const pc = new RTCPeerConnection({ codecs: { video: [codec], ...audio }, ...ice });
    try {
      const transceiver = pc.addTransceiver("video", { direction: "sendonly" });
      const audioSender = opus ? pc.addTransceiver("audio", { direction: "sendonly" }).sender : undefined;
      const answer = await this.#sessions.answer(pc, offerSdp, offer.dtlsRole, ice, candidates);
      const session: WhepSession = new WhepSession(
        stream,
        pc,
        transceiver.sender,
        audioSender,
        this.#packetizerFor(stream),
        this.#totalsFor(stream.name),
        () => this.#roomForOneMore(stream, session),
        this.#log,
      );
      this.#log.info(
        `${stream.name}/${session.id}: new viewer (${offered.name} pt ${offered.payloadType}` +
          `${opus ? `, opus pt ${opus.payloadType}` : ""})`,
      );
      const profileLevelId = stream.codec === "h264" ? stream.format?.profileLevelId : undefined;
      const sdp = profileLevelId ? withProfileLevelId(answer, offered.payloadType, profileLevelId) : answer;
      return { session, sdp };
    } catch (err) {
      await pc.close();
      throw err;
    }
  }

  /**
   * Applies a PATCH's RFC 8840 sdpfrag to a session after checking its ETag: trickled candidates are
   * added (undefined: 204), new ICE credentials restart ICE (see PeerSessions.patch).
   */
  addCandidates(
    streamName: string,
    id: string,
    ifMatch: string,
    text: string,
  ): Promise<IceRestartAnswer | undefined> {
    return this.#sessions.patch(streamName, id, ifMatch, text);
  }

  /** Ends a session and frees everything it holds. */
  delete(streamName: string, id: string): void {
    this.#sessions.delete(streamName, id);
  }

  /** Ends every session (service shutdown). */
  closeAll(): void {
    this.#sessions.closeAll();
  }

  /** Ends the sessions of a stream that is gone and drops what was kept for it. */
  forget(stream: Stream): void {
    for (const session of [...this.#sessions.values()]) {
      if (session.stream === stream) session.close("stream removed");
    }
    this.#packetizers.delete(stream);
    this.#totals.delete(stream.name);
  }

  /** Throws NotFoundError unless this session exists on this stream. */
  require(streamName: string, id: string): void {
    this.#sessions.get(streamName, id);
  }

  /** This stream's viewers now, connected and connecting, and its feedback totals (zero before its first viewer). */
  stats(streamName: string): WebrtcStreamStats {
    let viewers = 0;
    let pending = 0;
    for (const session of this.#sessions.values()) {
      if (session.stream.name !== streamName || session.closed) continue;
      if (session.isConnected) viewers++;
      else pending++;
    }
    return { viewers, pending, ...(this.#totals.get(streamName) ?? emptyFeedbackCounts()) };
  }

  #totalsFor(streamName: string): FeedbackCounts {
    let totals = this.#totals.get(streamName);
    if (!totals) {
      totals = emptyFeedbackCounts();
      this.#totals.set(streamName, totals);
    }
    return totals;
  }

  #packetizerFor(stream: Stream): StreamPacketizer {
    let packetizer = this.#packetizers.get(stream);
    if (!packetizer) {
      packetizer = new StreamPacketizer(stream.codec);
      this.#packetizers.set(stream, packetizer);
    }
    return packetizer;
  }
}
