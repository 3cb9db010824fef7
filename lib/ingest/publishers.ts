/**
 * WHIP ingest (RFC 9725): one werift peer per publisher, receiving one video track (H.264 or VP8)
 * and an optional Opus track. Video RTP is put back in order, cut into frames and depacketized into
 * access units for the path's stream (depacketize.ts); audio is forwarded packet by packet. The path
 * (lib/ingest/path.ts) decides who publishes and keeps the stream going between publishers.
 */
import {
  type MediaStreamTrack,
  RTCPeerConnection,
  type RTCRtpTransceiver,
  type RtpPacket,
  useH264,
  useOPUS,
  useVP8,
} from "werift";
import { BadRequestError, ConflictError, NotFoundError, UnavailableError } from "../errors.ts";
import { NAME, NAME_REASON } from "../config/rules.ts";
import type { Log, Logger } from "../log.ts";
import { IngestPath, type PathRules, type Publisher } from "./path.ts";
import { Stream, type StreamRegistry } from "../stream/stream.ts";
import { frameDecoder, FrameReassembler } from "./depacketize.ts";
import type { IceOptions } from "../webrtc/ice.ts";
import type { RemoteCandidates } from "../webrtc/candidates.ts";
import { chooseIngest, type IngestChoice, parseVideoOffer } from "../webrtc/offer.ts";
import {
  type IceRestartAnswer,
  PeerSession,
  PeerSessions,
  type SessionAnswer,
  type SessionLimits,
} from "../webrtc/peer_session.ts";

/**
 * Receive buffer asked of each publisher socket. Deno's node:dgram otherwise allocates 64 KiB per
 * datagram read; with a size set, the read buffer is twice it, still above any RTP packet (MTU-sized).
 */
const SOCKET_RECEIVE_BUFFER_BYTES = 4096;

/** What WHIP ingest takes from the config. */
export interface IngestSettings {
  /** Configured paths: their rules, by name. */
  paths: Map<string, PathRules>;
  /** Whether a publisher may use a path that is not configured. */
  unconfiguredPaths: boolean;
  /** The rules of an unconfigured path. */
  defaultRules: PathRules;
  /** Reader queue of a path's stream, in access units. */
  readerQueueFrames: number;
  /** Unconfigured paths that may exist at once. */
  maxPaths: number;
  /** An unconfigured path with no publisher and no reader for this long is removed. */
  pathIdleTimeoutMs: number;
  /** The bounds on publishers still connecting. */
  sessionLimits: SessionLimits;
}

/** One publisher: its peer connection, receiving into its path. */
class WhipSession extends PeerSession implements Publisher {
  readonly #reassembler = new FrameReassembler();
  readonly #decoder;
  /** True until a keyframe arrives (at the start, and after a lost frame). */
  #awaitKeyframe = true;
  #videoSsrc: number | undefined;

  constructor(
    readonly ingest: IngestPath,
    pc: RTCPeerConnection,
    private readonly video: RTCRtpTransceiver,
    audio: RTCRtpTransceiver | undefined,
    log: Logger,
  ) {
    super(ingest.stream.name, pc, log, "publisher");
    this.#decoder = frameDecoder(ingest.stream.codec);
    onRtp(video, (rtp) => this.#onVideo(rtp));
    if (audio) onRtp(audio, (rtp) => this.#onAudio(rtp));
  }

  protected connected(): void {
    this.log.info(`${this.path}/${this.id}: publisher connected`);
    shrinkReadBuffers(this.pc);
    this.ingest.stream.announce("publisher_joined", { protocol: "webrtc", session: this.id });
  }

  protected closing(why: string): void {
    this.ingest.release(this, why);
    if (this.isConnected) {
      this.ingest.stream.announce("publisher_left", { protocol: "webrtc", session: this.id, reason: why });
    }
  }

  /** Sends the publisher a PLI for its video (the path rate-limits the calls). */
  requestKeyframe(): void {
    if (this.#videoSsrc === undefined) return;
    this.video.receiver.sendRtcpPLI(this.#videoSsrc).catch(() => {});
  }

  #onVideo(rtp: RtpPacket): void {
    this.#videoSsrc = rtp.header.ssrc;
    const { frames, lost, missing } = this.#reassembler.push({
      sequenceNumber: rtp.header.sequenceNumber,
      timestamp: rtp.header.timestamp,
      marker: rtp.header.marker,
      payload: rtp.payload,
    });
    if (missing > 0) {
      const source = this.ingest.stream.source;
      this.ingest.stream.source = { ...source, packetsLost: source.packetsLost + missing };
    }
    if (lost) this.#needKeyframe();
    if (frames.length === 0) return;
    const arrivedMs = performance.timeOrigin + performance.now();
    for (const frame of frames) {
      const unit = this.#decoder.decode(frame);
      if (!unit) {
        this.#needKeyframe();
        continue;
      }
      if (this.#awaitKeyframe) {
        if (!unit.keyframe) continue;
        this.#awaitKeyframe = false;
      }
      this.ingest.publishVideo(this, unit, this.#decoder.format(), arrivedMs);
    }
  }

  /** A frame was lost: nothing more is passed on until a keyframe, which is asked for. */
  #needKeyframe(): void {
    this.#awaitKeyframe = true;
    this.ingest.requestKeyframe();
  }

  #onAudio(rtp: RtpPacket): void {
    const { sequenceNumber, timestamp, marker } = rtp.header;
    this.ingest.publishAudio(
      this,
      { payload: rtp.payload, sequenceNumber, timestamp, marker },
      performance.timeOrigin + performance.now(),
    );
  }
}

/**
 * Calls `handler` with every RTP packet the transceiver receives. werift announces a remote track
 * during setRemoteDescription, before the session exists, so tracks already there are taken too.
 */
function onRtp(transceiver: RTCRtpTransceiver, handler: (rtp: RtpPacket) => void): void {
  const take = (track: MediaStreamTrack) => track.onReceiveRtp.subscribe(handler);
  transceiver.receiver.tracks.forEach(take);
  transceiver.onTrack.subscribe(take);
}

/** The part of werift's ICE protocol object that reaches its UDP socket. */
interface UdpProtocol {
  transport?: { socket?: { setRecvBufferSize?(bytes: number): void } };
}

/**
 * Asks a smaller receive buffer of the peer's UDP sockets (see SOCKET_RECEIVE_BUFFER_BYTES). The
 * sockets sit inside werift's ICE connection; a socket that refuses is left as it was.
 */
function shrinkReadBuffers(pc: RTCPeerConnection): void {
  for (const ice of pc.iceTransports) {
    // werift declares the list private; it holds one protocol (and socket) per host candidate.
    const { protocols } = ice.connection as unknown as { protocols: UdpProtocol[] };
    for (const protocol of protocols) {
      try {
        protocol.transport?.socket?.setRecvBufferSize?.(SOCKET_RECEIVE_BUFFER_BYTES);
      } catch {
        // Not bound (a TCP or relayed protocol): nothing to change.
      }
    }
  }
}

/**
 * The WHIP paths of this service and their publishers' sessions. A path nobody configured exists while
 * it is used: it is made by its first publisher's answer, bounded in number (max_paths), and removed
 * with its stream and ring once it has had no publisher and no reader for the idle timeout.
 */
export class WhipSessions {
  readonly #sessions: PeerSessions<WhipSession>;
  readonly #paths = new Map<string, IngestPath>();
  /** Unconfigured names whose first offer is being answered: they count toward max_paths already. */
  readonly #answering = new Set<string>();
  /** When each unconfigured path was first seen unused (performance.now()). */
  readonly #idleSince = new Map<string, number>();
  readonly #sweep: ReturnType<typeof setInterval>;
  readonly #log: Logger;

  /**
   * Creates the stream of every configured path (state `waiting` until a publisher comes).
   * @param iceOptions werift ICE options for a new peer (read per publisher: addresses may change).
   */
  constructor(
    private readonly streams: StreamRegistry,
    private readonly settings: IngestSettings,
    private readonly iceOptions: () => IceOptions,
    private readonly log: Log,
  ) {
    this.#log = log.logger("whip");
    this.#sessions = new PeerSessions("WHIP", this.#log, settings.sessionLimits);
    for (const [name, rules] of settings.paths) {
      this.#addPath(name, rules.codec ?? "h264", rules);
    }
    this.#sweep = setInterval(() => this.removeIdlePaths(), Math.ceil(settings.pathIdleTimeoutMs / 4));
  }

  /** Unconfigured paths now, with those being made. */
  get unconfiguredPaths(): number {
    let count = this.#answering.size;
    for (const name of this.#paths.keys()) {
      if (!this.settings.paths.has(name) && !this.#answering.has(name)) count++;
    }
    return count;
  }

  /** The path's ingest, if it is a WHIP path (configured, or published to before). */
  path(name: string): IngestPath | undefined {
    return this.#paths.get(name);
  }

  /** Throws NotFoundError unless a publisher may POST to this path. */
  requireEndpoint(name: string): void {
    if (this.#paths.has(name)) return;
    // The name comes from the URL and becomes a stream, a ring name, log lines and a Location header:
    // it must follow the rule configured names follow (no CR/LF, no '/', nothing a header refuses).
    if (!NAME.test(name)) throw new BadRequestError(`WHIP path name ${JSON.stringify(name)} ${NAME_REASON}`);
    if (this.streams.get(name)) throw new NotFoundError(`"${name}" is a camera, not a WHIP path`);
    if (!this.settings.unconfiguredPaths) {
      throw new NotFoundError(`no WHIP path named "${name}" (unconfigured paths are refused)`);
    }
  }

  /**
   * Answers the SDP offer of a publisher at `address` for a path; media flows into the path's stream once
   * connected. A new unconfigured path beyond max_paths is refused with UnavailableError.
   */
  async create(name: string, offerSdp: string, address: string): Promise<SessionAnswer> {
    const offer = parseVideoOffer(offerSdp);
    this.requireEndpoint(name);
    const existing = this.#paths.get(name);
    const choice = chooseIngest(offer, existing?.stream.codec ?? this.settings.defaultRules.codec);
    existing?.checkFree();
    const claimed = !existing && !this.#answering.has(name);
    if (claimed) {
      if (this.unconfiguredPaths >= this.settings.maxPaths) {
        throw new UnavailableError(
          `${this.settings.maxPaths} unconfigured WHIP paths exist (ingest.max_paths); configure this one ` +
            `in [[paths]] or wait for an unused one to be removed`,
          10,
        );
      }
      this.#answering.add(name);
    }
    try {
      const { session, sdp } = await this.#sessions.open(
        address,
        (candidates) => this.#answer(name, offer, offerSdp, choice, candidates),
      );
      return { id: session.id, etag: session.etag, sdp, ended: session.ended };
    } finally {
      if (claimed) this.#answering.delete(name);
    }
  }

  async #answer(
    name: string,
    offer: ReturnType<typeof parseVideoOffer>,
    offerSdp: string,
    choice: IngestChoice,
    candidates: RemoteCandidates,
  ): Promise<{ session: WhipSession; sdp: string }> {
    const ice = this.iceOptions();
    const pc = new RTCPeerConnection({ codecs: codecsFor(choice), ...ice });
    try {
      const video = pc.addTransceiver("video", { direction: "recvonly" });
      const audio = choice.audio ? pc.addTransceiver("audio", { direction: "recvonly" }) : undefined;
      const sdp = await this.#sessions.answer(pc, offerSdp, offer.dtlsRole, ice, candidates);
      // Made only now: a path nobody managed to publish to does not linger in status.
      const ingest = this.#paths.get(name) ??
        this.#addPath(name, choice.codec, this.settings.defaultRules);
      if (ingest.stream.codec !== choice.codec) {
        throw new ConflictError(`path "${name}" carries ${ingest.stream.codec}; offer that codec`);
      }
      const session = new WhipSession(ingest, pc, video, audio, this.#log);
      ingest.take(session);
      this.#log.info(
        `${name}/${session.id}: new publisher (${choice.video.name} pt ${choice.video.payloadType}` +
          `${choice.audio ? `, opus pt ${choice.audio.payloadType}` : ""})`,
      );
      return { session, sdp };
    } catch (err) {
      await pc.close();
      throw err;
    }
  }

  #addPath(name: string, codec: IngestChoice["codec"], rules: PathRules): IngestPath {
    if (this.streams.get(name)) throw new ConflictError(`"${name}" is already a stream`);
    const stream = this.streams.add(new Stream(name, codec, this.settings.readerQueueFrames, true));
    const ingest = new IngestPath(stream, rules, this.log);
    this.#paths.set(name, ingest);
    return ingest;
  }

  /** Applies a PATCH's sdpfrag to a publisher's session: trickle or ICE restart (PeerSessions.patch). */
  patch(name: string, id: string, ifMatch: string, fragment: string): Promise<IceRestartAnswer | undefined> {
    return this.#sessions.patch(name, id, ifMatch, fragment);
  }

  /** Ends a publisher's session (DELETE): the path's stream waits for the next publisher. */
  delete(name: string, id: string): void {
    this.#sessions.delete(name, id);
  }

  /** Throws NotFoundError unless this session exists on this path. */
  require(name: string, id: string): void {
    this.#sessions.get(name, id);
  }

  /**
   * Removes the unconfigured paths that have had no publisher and no reader for the idle timeout, with
   * their streams (and so their rings); runs on a timer, and is public for the figures that check it.
   */
  removeIdlePaths(now = performance.now()): void {
    for (const [name, ingest] of this.#paths) {
      if (this.settings.paths.has(name)) continue;
      if (ingest.publisher || ingest.stream.readers.size > 0 || this.#answering.has(name)) {
        this.#idleSince.delete(name);
        continue;
      }
      const since = this.#idleSince.get(name) ?? now;
      this.#idleSince.set(name, since);
      if (now - since < this.settings.pathIdleTimeoutMs) continue;
      this.#idleSince.delete(name);
      this.#paths.delete(name);
      ingest.close();
      this.streams.remove(name);
      this.#log.info(
        `${name}: no publisher or reader for ${this.settings.pathIdleTimeoutMs} ms; path removed`,
      );
    }
  }

  /** Ends every publisher's session and stops removing idle paths (service shutdown). */
  closeAll(): void {
    clearInterval(this.#sweep);
    this.#sessions.closeAll();
  }
}

/** The werift codecs of a publisher's peer: exactly the offered payload types chosen, so werift matches them. */
function codecsFor(choice: IngestChoice) {
  const { video, audio } = choice;
  return {
    video: [
      choice.codec === "h264"
        ? useH264({ payloadType: video.payloadType, parameters: video.fmtp })
        : useVP8({ payloadType: video.payloadType }),
    ],
    ...(audio ? { audio: [useOPUS({ payloadType: audio.payloadType, parameters: audio.fmtp })] } : {}),
  };
}
