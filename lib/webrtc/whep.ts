import { RTCPeerConnection, type RTCRtpSender, useH264, useVP8 } from "werift";
import {
  BadRequestError,
  ConflictError,
  NotFoundError,
  PreconditionFailedError,
  UnavailableError,
} from "../errors.ts";
import { logger } from "../log.ts";
import type { Reader } from "../reader.ts";
import type { Stream } from "../stream.ts";
import { onPeerClose } from "./dtls_alert.ts";
import { handleServerHandshakesOnce } from "./dtls_client.ts";
import { handleClientHandshakesOnce } from "./dtls_server.ts";
import type { IceOptions } from "./ice.ts";
import { addRemoteCandidates, remoteCredentials, RESTART_TIMEOUT_MS, restartIce } from "./ice_restart.ts";
import { chooseCodec, parseVideoOffer, type VideoOffer, withProfileLevelId } from "./offer.ts";
import { rtpTimestamp, StreamPacketizer } from "./rtp.ts";
import { isIceRestart, parseSdpFragment, restartAnswerFragment } from "./sdpfrag.ts";
import { emptyFeedbackCounts, type FeedbackCounts, ViewerRtp } from "./viewer_rtp.ts";

const log = logger("whep");

/** A viewer that never completes ICE and DTLS within this time is dropped. */
const CONNECT_TIMEOUT_MS = 30_000;

/** What a new WHEP session hands back to the viewer. */
export interface WhepAnswer {
  id: string;
  /** Strong entity tag of the session's ICE state, without quotes. */
  etag: string;
  /** The SDP answer, with every server candidate in it. */
  sdp: string;
  /**
   * Resolves when the session ends, however it ends (DELETE, the viewer's DTLS close_notify, ICE failure,
   * consent expiry, shutdown).
   */
  ended: Promise<void>;
}

/** The answer to an ICE restart PATCH. */
export interface IceRestartAnswer {
  /** The session's new strong entity tag, without quotes; the old one no longer matches. */
  etag: string;
  /** The server's new ICE credentials and candidates, as an RFC 8840 sdpfrag. */
  fragment: string;
}

/** The WebRTC figures of one stream: viewers now, and feedback totals since the service started. */
export interface WebrtcStreamStats extends FeedbackCounts {
  viewers: number;
}

/** One viewer: its peer connection and, once connected, its reader and send loop. */
class WhepSession {
  readonly id = crypto.randomUUID();
  /** Strong entity tag of the session's ICE state, without quotes: a new one per ICE restart. */
  etag = newEtag();
  readonly rtp: ViewerRtp;
  #reader: Reader | null = null;
  #closed = false;
  readonly #ended = Promise.withResolvers<void>();
  readonly #connectTimer: ReturnType<typeof setTimeout>;

  /** Resolves when the session has ended. */
  get ended(): Promise<void> {
    return this.#ended.promise;
  }

  constructor(
    readonly stream: Stream,
    readonly pc: RTCPeerConnection,
    sender: RTCRtpSender,
    private readonly packetizer: StreamPacketizer,
    totals: FeedbackCounts,
    private readonly onClose: (session: WhepSession) => void,
  ) {
    this.rtp = new ViewerRtp(sender, pc.cname, totals);
    this.#connectTimer = setTimeout(() => {
      log.info(`${stream.name}/${this.id}: not connected after ${CONNECT_TIMEOUT_MS} ms, closing`);
      this.close();
    }, CONNECT_TIMEOUT_MS);
    pc.connectionStateChange.subscribe((state) => {
      if (state === "connected") {
        clearTimeout(this.#connectTimer);
        void this.#send();
      } else if (state === "failed" || state === "closed") {
        this.close();
      }
    });
  }

  /**
   * Subscribes only once connected: werift drops RTP written before DTLS is up, and the stream's
   * GOP cache makes the first frame sent a keyframe.
   */
  async #send(): Promise<void> {
    if (this.#closed || this.#reader) return;
    const reader = this.stream.subscribe();
    this.#reader = reader;
    try {
      for await (const au of reader) {
        const timestamp = rtpTimestamp(au.pts90k);
        for (const shared of this.packetizer.payloads(au)) this.rtp.send(shared, timestamp);
      }
    } finally {
      // The reader ends when the stream closes (shutdown): the session ends with it.
      this.close();
    }
  }

  /** Stops sending and frees the reader and the peer connection; safe to call twice. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    clearTimeout(this.#connectTimer);
    this.#reader?.close();
    this.rtp.close();
    const { nacks, retransmits, retransmitsSuppressed, plis } = this.rtp.counts;
    const rtt = this.rtp.rttMs === undefined ? "unknown" : `${this.rtp.rttMs.toFixed(1)} ms`;
    log.info(
      `${this.stream.name}/${this.id}: closed; NACKed ${nacks}, resent ${retransmits}, ` +
        `suppressed ${retransmitsSuppressed}, PLIs ${plis}, RTT ${rtt}`,
    );
    this.onClose(this);
    this.#ended.resolve();
    this.pc.close().catch((err: Error) => log.warn(`${this.stream.name}/${this.id}: close: ${err.message}`));
  }
}

/** A fresh strong entity tag value (unquoted). */
function newEtag(): string {
  return crypto.randomUUID().replaceAll("-", "");
}

/** Resolves once ICE gathering is complete, so the answer carries every server candidate. */
function gatheringComplete(pc: RTCPeerConnection): Promise<void> {
  if (pc.iceGatheringState === "complete") return Promise.resolve();
  return new Promise((resolve) => {
    const { unSubscribe } = pc.iceGatheringStateChange.subscribe((state) => {
      if (state !== "complete") return;
      unSubscribe();
      resolve();
    });
  });
}

/**
 * The WHEP sessions of this service: one werift peer connection per viewer, a sendonly video track
 * fed from the stream, packetized once per access unit for all viewers of a stream.
 */
export class WhepSessions {
  readonly #sessions = new Map<string, WhepSession>();
  readonly #packetizers = new Map<Stream, StreamPacketizer>();
  readonly #totals = new Map<string, FeedbackCounts>();
  /** Offers being answered per stream, so concurrent POSTs cannot overshoot the viewer limit. */
  readonly #pending = new Map<Stream, number>();
  /** Tail of the gathering queue: see #gatherInTurn. */
  #gathering: Promise<unknown> = Promise.resolve();

  /**
   * @param iceOptions werift ICE options for a new peer (read per viewer: addresses may change).
   * @param maxClients viewers allowed per stream.
   */
  constructor(private readonly iceOptions: () => IceOptions, private readonly maxClients: number) {}

  /** Sessions alive now. */
  get size(): number {
    return this.#sessions.size;
  }

  /** Answers a viewer's SDP offer for this stream and starts sending once the viewer connects. */
  async create(stream: Stream, offerSdp: string): Promise<WhepAnswer> {
    const offer = parseVideoOffer(offerSdp);
    if (stream.source.state !== "running") {
      throw new ConflictError(`stream "${stream.name}" is ${stream.source.state}; try again shortly`);
    }
    const viewers = [...this.#sessions.values()].filter((s) => s.stream === stream).length;
    const pending = this.#pending.get(stream) ?? 0;
    if (viewers + pending >= this.maxClients) {
      throw new UnavailableError(
        `stream "${stream.name}" has its ${this.maxClients} viewers (max_clients)`,
        5,
      );
    }
    this.#pending.set(stream, pending + 1);
    try {
      return await this.#answer(stream, offer, offerSdp);
    } finally {
      this.#pending.set(stream, this.#pending.get(stream)! - 1);
    }
  }

  async #answer(stream: Stream, offer: VideoOffer, offerSdp: string): Promise<WhepAnswer> {
    const offered = chooseCodec(offer, stream.codec, stream.format?.profileLevelId);
    // The offer's own payload type and fmtp, so werift's exact fmtp match negotiates it.
    const codec = (stream.codec === "h264" ? useH264 : useVP8)({
      payloadType: offered.payloadType,
      ...(stream.codec === "h264" ? { parameters: offered.fmtp } : {}),
    });
    const ice = this.iceOptions();
    const pc = new RTCPeerConnection({ codecs: { video: [codec] }, ...ice });
    try {
      const transceiver = pc.addTransceiver("video", { direction: "sendonly" });
      await pc.setRemoteDescription({ type: "offer", sdp: offerSdp });
      for (const transport of pc.dtlsTransports) {
        // werift's answerer leaves the role "auto", which answers a=setup:active and makes it the DTLS
        // client whatever the offer said; an offer of a=setup:active needs us to be the server
        // (RFC 8842 §5.3). createAnswer writes a=setup from this role and start() obeys it.
        transport.role = offer.dtlsRole;
        // Before ICE can connect (it starts with the answer): see dtls_client.ts and dtls_server.ts;
        // each applies only to the DTLS side the role made.
        handleServerHandshakesOnce(transport);
        handleClientHandshakesOnce(transport);
      }
      await this.#gatherInTurn(ice, async () => {
        await pc.setLocalDescription(await pc.createAnswer());
        await gatheringComplete(pc);
      });
      if (!/^a=candidate:/m.test(pc.localDescription!.sdp)) {
        throw new UnavailableError("no ICE candidate could be gathered (is the UDP port range full?)", 5);
      }
      const session = new WhepSession(
        stream,
        pc,
        transceiver.sender,
        this.#packetizerFor(stream),
        this.#totalsFor(stream.name),
        (s) => this.#sessions.delete(s.id),
      );
      this.#sessions.set(session.id, session);
      // A viewer that closes its peer connection without DELETE says so in DTLS: see dtls_alert.ts.
      for (const transport of pc.dtlsTransports) {
        onPeerClose(transport, ({ level, description }) => {
          log.info(`${stream.name}/${session.id}: viewer closed (DTLS alert ${level}/${description})`);
          session.close();
        });
      }
      log.info(`${stream.name}/${session.id}: new viewer (${offered.name} pt ${offered.payloadType})`);
      const profileLevelId = stream.codec === "h264" ? stream.format?.profileLevelId : undefined;
      const sdp = profileLevelId
        ? withProfileLevelId(pc.localDescription!.sdp, offered.payloadType, profileLevelId)
        : pc.localDescription!.sdp;
      return { id: session.id, etag: session.etag, sdp, ended: session.ended };
    } catch (err) {
      await pc.close();
      throw err;
    }
  }

  /**
   * With a port range, werift probes for a free port, closes the probe and binds later: two peers
   * gathering at once pick the same port and the second bind throws EADDRINUSE out of an event
   * handler, which ends the process. So peers with a port range gather one at a time.
   */
  #gatherInTurn(ice: IceOptions, gather: () => Promise<void>): Promise<void> {
    if (!ice.icePortRange) return gather();
    const turn = this.#gathering.then(gather);
    this.#gathering = turn.catch(() => {});
    return turn;
  }

  /**
   * Applies a PATCH's RFC 8840 sdpfrag to a session after checking its ETag: trickled candidates are
   * added (undefined is returned: 204); new ICE credentials restart ICE (WHIP §4.3.2) and the result is
   * the session's new ETag and the sdpfrag that answers the restart (200).
   */
  async addCandidates(
    streamName: string,
    id: string,
    ifMatch: string,
    text: string,
  ): Promise<IceRestartAnswer | undefined> {
    const session = this.#session(streamName, id);
    if (ifMatch !== "*" && ifMatch !== `"${session.etag}"`) {
      throw new PreconditionFailedError(`If-Match ${ifMatch} is not the session's ETag`);
    }
    const fragment = parseSdpFragment(text);
    // BUNDLE: the session has one ICE transport whatever the offer's m-lines.
    const [dtls] = session.pc.dtlsTransports;
    if (!dtls) throw new BadRequestError("the session has no transport");
    const ice = dtls.iceTransport;
    if (!isIceRestart(fragment, remoteCredentials(ice))) {
      addRemoteCandidates(ice, fragment.candidates);
      return undefined;
    }
    const restarted = await restartIce(
      ice,
      dtls.state === "connected",
      { ufrag: fragment.ufrag!, pwd: fragment.pwd!, candidates: fragment.candidates },
      () => {
        log.info(`${streamName}/${id}: ICE restart not connected after ${RESTART_TIMEOUT_MS} ms, closing`);
        session.close();
      },
    );
    session.etag = newEtag();
    log.info(`${streamName}/${id}: ICE restart (remote ufrag ${fragment.ufrag})`);
    return {
      etag: session.etag,
      fragment: restartAnswerFragment(session.pc.localDescription!.sdp, restarted, restarted.candidates),
    };
  }

  /** Ends a session and frees everything it holds. */
  delete(streamName: string, id: string): void {
    this.#session(streamName, id).close();
  }

  /** Ends every session (service shutdown). */
  closeAll(): void {
    for (const session of [...this.#sessions.values()]) session.close();
  }

  /** Throws NotFoundError unless this session exists on this stream. */
  require(streamName: string, id: string): void {
    this.#session(streamName, id);
  }

  /** This stream's viewers now and its feedback totals (zero before its first viewer). */
  stats(streamName: string): WebrtcStreamStats {
    let viewers = 0;
    for (const session of this.#sessions.values()) if (session.stream.name === streamName) viewers++;
    return { viewers, ...(this.#totals.get(streamName) ?? emptyFeedbackCounts()) };
  }

  #totalsFor(streamName: string): FeedbackCounts {
    let totals = this.#totals.get(streamName);
    if (!totals) {
      totals = emptyFeedbackCounts();
      this.#totals.set(streamName, totals);
    }
    return totals;
  }

  #session(streamName: string, id: string): WhepSession {
    const session = this.#sessions.get(id);
    if (!session || session.stream.name !== streamName) {
      throw new NotFoundError(`no WHEP session ${id} on stream "${streamName}"`);
    }
    return session;
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
