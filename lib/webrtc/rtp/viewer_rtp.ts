/**
 * One viewer's RTP and RTCP on top of werift's RTCRtpSender. werift keeps DTLS, SRTCP, receiver
 * report bookkeeping, PLI and REMB; three of its behaviours are replaced for our senders:
 *
 * - RTP: packets go out through RtpWriter (rtp_writer.ts), not `sender.sendRtp`, whose per-packet
 *   bookkeeping serves nothing here.
 * - NACKs: the router hands every RTCP packet to `sender.handleRtcpPacket`, looked up on the
 *   instance, so shadowing that method on our sender object catches the generic NACK before werift's
 *   unlimited resend and passes everything else to werift's own handler. No werift file is patched
 *   and no other peer connection is affected.
 * - Sender reports: werift starts its report loop on the first packet unless `rtcpRunning` (a public
 *   field) says it runs already; we set it and send our own reports, whose clocks match capture time
 *   (see sender_report.ts).
 */
import {
  GenericNack,
  PictureLossIndication,
  type RtcpPacket,
  RtcpPayloadSpecificFeedback,
  RtcpRrPacket,
  RtcpSenderInfo,
  RtcpSourceDescriptionPacket,
  RtcpSrPacket,
  RtcpTransportLayerFeedback,
  type RTCRtpSender,
  SourceDescriptionChunk,
  SourceDescriptionItem,
  useFIR,
  useNACK,
  usePLI,
  useREMB,
} from "werift";
import type { Logger } from "../../log.ts";
import { DEFAULT_RTT_MS, RetransmitHistory, type SentPacket } from "./nack.ts";
import { type SharedPayload, ViewerSequence } from "./packetizer.ts";
import { RtpWriter } from "./writer.ts";
import { ntpFromEpochMs, reportClock, roundTripMs } from "./sender_report.ts";

/** Mean interval between sender reports; each one is randomized by ±50 % (RFC 3550 §6.2). */
const REPORT_INTERVAL_MS = 1000;
/** SDES item type of the canonical name. */
const SDES_CNAME = 1;
/** Feedback message type of a full intra request (RFC 5104 §4.3.1); werift parses it, does not export it. */
const FIR_FMT = 4;
/** Weight of the previous RTT estimate when a new measurement arrives. */
const RTT_SMOOTHING = 0.85;

/**
 * The RTCP feedback a sent video track negotiates: ViewerRtp answers NACK, PLI and FIR. werift's default
 * leaves out FIR, which clients without PLI use to ask for a keyframe.
 */
export function senderFeedback() {
  return [useNACK(), usePLI(), useFIR(), useREMB()];
}

/** A full intra request as werift parses it: one entry per SSRC asked for a keyframe. */
interface FirFeedback {
  fir: { ssrc: number; sequenceNumber: number }[];
}

/** Feedback counters of one viewer, or of all viewers of a stream. */
export interface FeedbackCounts {
  /** RTP packets sent the first time (retransmits apart). */
  packetsSent: number;
  /** Sequence numbers the viewer asked for again, over all its NACKs. */
  nacks: number;
  /** Packets sent again. */
  retransmits: number;
  /** NACKed packets not sent again: resent less than an RTT ago, over the budget, or no longer cached. */
  retransmitsSuppressed: number;
  /** Picture loss indications received. */
  plis: number;
  /** Full intra requests received (RFC 5104), repeats of one request counted once. */
  firs: number;
}

/** Counters at zero. */
export function emptyFeedbackCounts(): FeedbackCounts {
  return { packetsSent: 0, nacks: 0, retransmits: 0, retransmitsSuppressed: 0, plis: 0, firs: 0 };
}

/** Sends one viewer's packets with its own sequence numbers, and answers its RTCP feedback. */
export class ViewerRtp {
  /** This viewer's counters; the same increments go to the stream's totals. */
  readonly counts = emptyFeedbackCounts();
  readonly #sequence = new ViewerSequence();
  readonly #history = new RetransmitHistory();
  readonly #writer: RtpWriter;
  #rttMs: number | undefined;
  #packetCount = 0;
  #octetCount = 0;
  #reportTimer: ReturnType<typeof setTimeout> | undefined;
  #closed = false;
  /** The last FIR's command sequence number: a repeat of it is a retransmission, not a new request. */
  #lastFirSequence: number | undefined;
  readonly #stopFirs: () => void;

  /**
   * @param onKeyframeRequest called for each PLI or FIR: the viewer cannot decode until a keyframe.
   * @param log the log of the session this viewer's RTP belongs to.
   */
  constructor(
    private readonly sender: RTCRtpSender,
    private readonly cname: string,
    private readonly totals: FeedbackCounts,
    onKeyframeRequest: () => void,
    private readonly log: Logger,
  ) {
    this.#writer = new RtpWriter(sender, log);
    sender.rtcpRunning = true;
    const stock = sender.handleRtcpPacket.bind(sender);
    sender.handleRtcpPacket = (packet: RtcpPacket) => {
      // Only an SRTCP packet the session's keys opened gets here: the peer has its keys.
      this.#writer.peerReady();
      if (packet.type === RtcpTransportLayerFeedback.type && packet.feedback.count === GenericNack.count) {
        this.#onNack((packet.feedback as GenericNack).lost);
        sender.onRtcp.execute(packet);
        return;
      }
      if (packet.type === RtcpRrPacket.type || packet.type === RtcpSrPacket.type) this.#onReports(packet);
      if (
        packet.type === RtcpPayloadSpecificFeedback.type &&
        packet.feedback.count === PictureLossIndication.count
      ) {
        this.#count("plis", 1);
        onKeyframeRequest();
      }
      stock(packet);
    };
    // werift routes a FIR by its media source SSRC, which RFC 5104 §4.3.1.2 sets to 0, so no sender ever
    // gets one: FIRs are taken from the transport, by the SSRC in their FCI.
    this.#stopFirs = sender.dtlsTransport.onRtcp.subscribe((packet: RtcpPacket) => {
      if (packet.type !== RtcpPayloadSpecificFeedback.type || packet.feedback.count !== FIR_FMT) return;
      const entry = (packet.feedback as unknown as FirFeedback).fir.find((e) => e.ssrc === sender.ssrc);
      if (!entry || entry.sequenceNumber === this.#lastFirSequence) return;
      this.#lastFirSequence = entry.sequenceNumber;
      this.#count("firs", 1);
      onKeyframeRequest();
    }).unSubscribe;
  }

  /** Smoothed round-trip time from the viewer's receiver reports, once one answered our report. */
  get rttMs(): number | undefined {
    return this.#rttMs;
  }

  /**
   * Sends one shared payload as this viewer's next packet and remembers it for retransmission.
   * Synchronous: UDP has no backpressure to wait for, and an await per packet per viewer costs.
   */
  send(shared: SharedPayload, timestamp: number): void {
    const sequenceNumber = this.#sequence.next();
    this.#history.sent(sequenceNumber, timestamp, shared.marker, shared.payload);
    this.#writer.write(sequenceNumber, timestamp, shared.marker, shared.payload);
    this.#packetCount = (this.#packetCount + 1) >>> 0;
    this.#octetCount = (this.#octetCount + shared.payload.byteLength) >>> 0;
    this.counts.packetsSent++;
    this.totals.packetsSent++;
    if (this.#reportTimer === undefined && !this.#closed) this.#scheduleReport();
  }

  /** Stops the sender reports and frees the packet sealer; the peer connection's close stops the rest. */
  close(): void {
    this.#closed = true;
    this.#stopFirs();
    clearTimeout(this.#reportTimer);
    this.#writer.close();
  }

  #onNack(lost: number[]): void {
    const outcome = this.#history.nack(lost, performance.now(), this.#rttMs ?? DEFAULT_RTT_MS);
    this.#count("nacks", lost.length);
    this.#count("retransmits", outcome.resend.length);
    this.#count("retransmitsSuppressed", lost.length - outcome.resend.length);
    for (const packet of outcome.resend) this.#resend(packet);
  }

  /** The packet as first sent: same SSRC and sequence number (no RTX is negotiated). */
  #resend(packet: SentPacket): void {
    this.#writer.write(packet.sequenceNumber, packet.timestamp, packet.marker, packet.payload);
  }

  #onReports(packet: RtcpRrPacket | RtcpSrPacket): void {
    for (const report of packet.reports) {
      if (report.ssrc !== this.sender.ssrc) continue;
      const arrival = ntpFromEpochMs(performance.timeOrigin + performance.now());
      const rtt = roundTripMs(arrival, report.lsr, report.dlsr);
      if (rtt === undefined) continue;
      this.#rttMs = this.#rttMs === undefined ? rtt : RTT_SMOOTHING * this.#rttMs + (1 - RTT_SMOOTHING) * rtt;
    }
  }

  #scheduleReport(): void {
    this.#reportTimer = setTimeout(() => {
      this.#sendReport();
      this.#scheduleReport();
    }, REPORT_INTERVAL_MS * (0.5 + Math.random()));
  }

  #sendReport(): void {
    const report = new RtcpSrPacket({
      ssrc: this.sender.ssrc,
      senderInfo: new RtcpSenderInfo({
        ...reportClock(performance.timeOrigin, performance.now()),
        packetCount: this.#packetCount,
        octetCount: this.#octetCount,
      }),
    });
    const sdes = new RtcpSourceDescriptionPacket({
      chunks: [
        new SourceDescriptionChunk({
          source: this.sender.ssrc,
          items: [new SourceDescriptionItem({ type: SDES_CNAME, text: this.cname })],
        }),
      ],
    });
    this.sender.dtlsTransport.sendRtcp([report, sdes]).catch((err: Error) =>
      this.log.debug(`sender report failed: ${err.message}`)
    );
  }

  #count(key: keyof FeedbackCounts, n: number): void {
    this.counts[key] += n;
    this.totals[key] += n;
  }
}
