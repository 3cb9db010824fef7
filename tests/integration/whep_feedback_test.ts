import assert from "node:assert/strict";
import {
  GenericNack,
  type RtcpPacket,
  RtcpSrPacket,
  RtcpTransportLayerFeedback,
  type RTCRtpReceiver,
  type RtpPacket,
} from "werift";
import { DEFAULT_RETRANSMIT_LIMITS, RTP_HEADER_BYTES } from "../../lib/webrtc/rtp/nack.ts";
import { epochMsFromNtp } from "../../lib/webrtc/rtp/sender_report.ts";
import { getJson, startEdgecam, waitFor, waitHealthy } from "../helpers/edgecam.ts";
import { WhepViewer } from "../helpers/whep_client.ts";
import { WsPlayer } from "../helpers/ws_player.ts";

const CONFIG = `
[[cameras]]
name = "front"
width = 320
height = 240
bitrate = 1_000_000
`;

/** One RTP packet as the viewer got it. */
interface Arrival {
  seq: number;
  bytes: number;
  payload: Uint8Array;
  atMs: number;
  /** True when this sequence number had arrived before: a retransmission. */
  again: boolean;
}

/** A received sender report with its arrival time. */
interface Report {
  ntpMs: number;
  rtp: number;
  atMs: number;
}

/** What /api/streams/<name> shows under `webrtc`. */
interface WebrtcFigures {
  viewers: number;
  pending: number;
  nacks: number;
  retransmits: number;
  retransmits_suppressed: number;
  plis: number;
}

/** A werift viewer that records every RTP packet and sender report, and can send its own feedback. */
class FeedbackViewer extends WhepViewer {
  readonly arrivals: Arrival[] = [];
  readonly reports: Report[] = [];
  /** Marker packets' RTP timestamps with their arrival times. */
  readonly frameTimestamps: number[] = [];
  readonly receiver: RTCRtpReceiver;
  mediaSsrc = 0;
  readonly #seen = new Set<number>();

  constructor() {
    super();
    const transceiver = this.pc.getTransceivers()[0];
    this.receiver = transceiver.receiver;
    transceiver.onTrack.subscribe((track) => {
      track.onReceiveRtp.subscribe((rtp: RtpPacket) => {
        const seq = rtp.header.sequenceNumber;
        this.mediaSsrc = rtp.header.ssrc;
        this.arrivals.push({
          seq,
          bytes: RTP_HEADER_BYTES + rtp.payload.length,
          payload: new Uint8Array(rtp.payload),
          atMs: Date.now(),
          again: this.#seen.has(seq),
        });
        this.#seen.add(seq);
        if (rtp.header.marker) this.frameTimestamps.push(rtp.header.timestamp);
      });
    });
    this.receiver.onRtcp.subscribe((packet: RtcpPacket) => {
      if (packet.type !== RtcpSrPacket.type) return;
      const { ntpTimestamp, rtpTimestamp } = packet.senderInfo;
      this.reports.push({ ntpMs: epochMsFromNtp(ntpTimestamp), rtp: rtpTimestamp, atMs: Date.now() });
    });
  }

  /** Sends these NACKs (each a list of sequence numbers) in one compound RTCP packet. */
  async nack(...lists: number[][]): Promise<void> {
    await this.receiver.dtlsTransport.sendRtcp(lists.map((lost) =>
      new RtcpTransportLayerFeedback({
        feedback: new GenericNack({
          senderSsrc: this.receiver.rtcpSsrc,
          mediaSourceSsrc: this.mediaSsrc,
          lost,
        }),
      })
    ));
  }

  /** Arrivals of one sequence number. */
  arrivalsOf(seq: number): Arrival[] {
    return this.arrivals.filter((a) => a.seq === seq);
  }
}

async function figures(base: string): Promise<WebrtcFigures> {
  return (await getJson<{ webrtc: WebrtcFigures }>(`${base}/api/streams/front`)).body.webrtc;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

Deno.test("WebRTC feedback: bounded NACK retransmission, capture-time sender reports, PLIs counted", async (t) => {
  const edgecam = await startEdgecam({ toml: CONFIG });
  const base = edgecam.url;
  const viewer = new FeedbackViewer();
  try {
    await waitHealthy(base);
    assert.deepEqual(await figures(base), {
      viewers: 0,
      pending: 0,
      nacks: 0,
      retransmits: 0,
      retransmits_suppressed: 0,
      plis: 0,
      firs: 0,
    });
    await viewer.connect(`${base}/whep/front`);
    await waitFor("the first packets", () => viewer.arrivals.length >= 50 || undefined);
    assert.equal((await figures(base)).viewers, 1);

    await t.step(
      "five NACKs for one packet within a round trip: it is sent once more, identical",
      async () => {
        const before = await figures(base);
        const seq = viewer.arrivals.at(-1)!.seq;
        await viewer.nack([seq], [seq], [seq], [seq], [seq]);
        await waitFor("the retransmission", () => viewer.arrivalsOf(seq).length >= 2 || undefined);
        await waitFor(
          "the counters",
          async () => (await figures(base)).nacks >= before.nacks + 5 || undefined,
        );
        const [first, again] = viewer.arrivalsOf(seq);
        assert.deepEqual(again.payload, first.payload);
        // Past the round trip (loopback: well under the 100 ms default) one more NACK is answered again.
        await sleep(300);
        await viewer.nack([seq]);
        await waitFor("the second retransmission", () => viewer.arrivalsOf(seq).length >= 3 || undefined);
        await sleep(200);
        assert.equal(viewer.arrivalsOf(seq).length, 3, "original, one resend per round trip, no more");
        const after = await figures(base);
        assert.ok(after.retransmits - before.retransmits >= 2);
        assert.ok(after.retransmits_suppressed - before.retransmits_suppressed >= 4);
        assert.equal(
          after.nacks - after.retransmits,
          after.retransmits_suppressed,
          "every NACKed packet counted",
        );
      },
    );

    await t.step(
      "a flood of NACKs: retransmitted bytes stay within the share of the bytes sent",
      async () => {
        const before = await figures(base);
        const start = Date.now();
        let requested = 0;
        while (Date.now() - start < 1500) {
          // The last 300 packets, every 20 ms: what a broken receiver's NACK loop looks like.
          const recent = viewer.arrivals.filter((a) => !a.again).slice(-300).map((a) => a.seq);
          await viewer.nack(recent);
          requested += recent.length;
          await sleep(20);
        }
        const end = Date.now();
        await sleep(200);
        const window = viewer.arrivals.filter((a) => a.atMs >= start && a.atMs <= end + 200);
        const sent = window.filter((a) => !a.again).reduce((n, a) => n + a.bytes, 0);
        const resent = window.filter((a) => a.again).reduce((n, a) => n + a.bytes, 0);
        const { bitrateShare, burstBytes } = DEFAULT_RETRANSMIT_LIMITS;
        assert.ok(resent > 0, "the flood was answered, within limits");
        assert.ok(
          resent <= sent * bitrateShare + burstBytes,
          `${resent} bytes resent for ${sent} sent (share ${bitrateShare}, burst ${burstBytes})`,
        );
        const after = await figures(base);
        assert.ok(
          after.nacks - before.nacks >= requested,
          `${after.nacks - before.nacks} of ${requested} counted`,
        );

        assert.ok(
          after.retransmits_suppressed - before.retransmits_suppressed >
            10 * (after.retransmits - before.retransmits),
        );
      },
    );

    await t.step(
      "sender reports: NTP is the send time, and RTP maps to the frames' capture times",
      async () => {
        const player = new WsPlayer(`${base.replace("http", "ws")}/ws/front`);
        await player.opened;
        const reportsBefore = viewer.reports.length;
        const framesBefore = viewer.frameTimestamps.length;
        await waitFor(
          "two more sender reports",
          () => viewer.reports.length >= reportsBefore + 2 || undefined,
        );
        await player.close();
        assert.ok(viewer.reports.length >= 2);
        for (const report of viewer.reports) {
          assert.ok(
            Math.abs(report.atMs - report.ntpMs) < 25,
            `SR NTP ${report.ntpMs} arrived at ${report.atMs}`,
          );
        }
        const report = viewer.reports.at(-1)!;
        const captureTimes = player.messages.map((m) => m.captureMs);
        const lo = Math.min(...captureTimes);
        const hi = Math.max(...captureTimes);
        let matched = 0;
        for (const timestamp of viewer.frameTimestamps.slice(framesBefore)) {
          // Signed 32-bit difference: RTP timestamps wrap.
          const impliedMs = report.ntpMs + ((timestamp - report.rtp) | 0) / 90;
          if (impliedMs < lo - 1 || impliedMs > hi + 1) continue;
          const nearest = Math.min(...captureTimes.map((c) => Math.abs(c - impliedMs)));
          assert.ok(nearest <= 2, `frame at ${impliedMs} is ${nearest} ms from any captured frame`);
          matched++;
        }
        assert.ok(matched >= 20, `${matched} frames matched`);
      },
    );

    await t.step("a PLI from the viewer is counted", async () => {
      const before = (await figures(base)).plis;
      await viewer.receiver.sendRtcpPLI(viewer.mediaSsrc);
      await waitFor("the PLI counted", async () => (await figures(base)).plis === before + 1 || undefined);
    });
  } finally {
    await viewer.close();
    await edgecam.stop();
  }
});
