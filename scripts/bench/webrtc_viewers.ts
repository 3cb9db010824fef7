// Benchmark helper, run as its own process so the viewers never share the service's event loop:
// werift WHEP viewers (NACK and PLI feedback on, werift's defaults) against one POST URL.
//
// With "light" as the fourth argument each viewer stops decrypting once its first keyframe is complete:
// SRTP leaves the RTP header in the clear, so sequence numbers, timestamps and markers (what loss and
// frames are counted from) need no decryption, and werift's receiver still sends its reports and NACKs.
// That takes the receivers' biggest per-packet cost off the two cores, so that the sender's figures at
// 50 and 100 viewers are the sender's, not the receivers'.
//
// Protocol: each line on stdin is a viewer count N. The process adds viewers up to N (one POST at a
// time), waits until each has its first complete keyframe (or FIRST_FRAME_TIMEOUT_MS), lets `warmUpMs` pass, prints
// {"event":"start"}, counts for `windowMs` and prints {"event":"window", ...}. At the end of stdin
// it DELETEs every session and exits.
import type { Buffer } from "node:buffer";
import { RTCPeerConnection, useH264 } from "werift";
import { handleClientHandshakesOnce } from "../../lib/webrtc/werift_fixes/dtls_server.ts";
import { receiveAcrossRollovers } from "../../lib/webrtc/werift_fixes/srtp_rollover.ts";
import { lines } from "./lines.ts";
import { CpuMeter } from "./proc.ts";
import { RtpCounter, type WindowCounts } from "./rtp_count.ts";
import { enlargeUdpReceiveBuffers } from "./udp_buffers.ts";

/** Receive buffer asked per UDP socket (the kernel doubles it). */
const RECEIVE_BUFFER_BYTES = 4 * 1024 * 1024;
/** Past this the window starts anyway: a viewer still without a picture is part of the result. */
const FIRST_FRAME_TIMEOUT_MS = 15_000;

const [postUrl, warmUpText, windowText, mode = "full"] = Deno.args;
const warmUpMs = Number(warmUpText);
const windowMs = Number(windowText);

/** What the bench reads back for one viewer and one window. */
export interface ViewerWindow extends WindowCounts {
  /** Ms from the POST to the first complete keyframe, once per viewer (in the window it came by). */
  firstFrameMs: number | null;
  /** The steps to it, from the POST, reported with firstFrameMs: the 201 with the answer, ICE and DTLS up. */
  answerMs: number | null;
  connectedMs: number | null;
  /** True while this viewer has had no complete keyframe at all. */
  noPicture: boolean;
}

/** The {"event":"window"} line. */
export interface WindowReport {
  event: "window";
  viewers: ViewerWindow[];
  /** This process's CPU over the window, % of one core: a receiver near 100 % loses packets itself. */
  receiverCpu: number;
  /** Receive buffer sizes the kernel granted to the viewers' UDP sockets (min and max, bytes). */
  receiveBuffers: [number, number];
}

interface Viewer {
  pc: RTCPeerConnection;
  counter: RtpCounter;
  postMs: number;
  answeredMs: number;
  connectedAtMs: number | null;
  location: string | null;
  reported: boolean;
}

const viewers: Viewer[] = [];
const buffers: number[] = [];

async function addViewer(): Promise<Viewer> {
  const pc = new RTCPeerConnection({
    codecs: { video: [useH264()] },
    iceAdditionalHostAddresses: ["127.0.0.1"],
    iceUseIpv6: false,
  });
  const counter = new RtpCounter();
  let decrypting = true;
  pc.addTransceiver("video", { direction: "recvonly" }).onTrack.subscribe((track) => {
    track.onReceiveRtp.subscribe((rtp) => {
      const { sequenceNumber, timestamp, marker } = rtp.header;
      counter.push(sequenceNumber, timestamp, marker, rtp.payload, performance.now());
      if (mode === "light" && decrypting && counter.firstKeyframeMs !== null) {
        decrypting = false;
        // The packet as it came: a clear header, then the encrypted payload and its tag.
        for (const transport of pc.dtlsTransports) transport.srtp.decrypt = (packet: Buffer) => packet;
      }
    });
  });
  await pc.setLocalDescription(await pc.createOffer());
  if (pc.iceGatheringState !== "complete") {
    await new Promise<void>((resolve) =>
      pc.iceGatheringStateChange.subscribe((state) => state === "complete" && resolve())
    );
  }
  buffers.push(...enlargeUdpReceiveBuffers(RECEIVE_BUFFER_BYTES));
  const postMs = performance.now();
  const res = await fetch(postUrl, {
    method: "POST",
    body: pc.localDescription!.sdp,
    headers: { "Content-Type": "application/sdp" },
  });
  const answer = await res.text();
  const answeredMs = performance.now();
  if (res.status !== 201) throw new Error(`POST ${postUrl}: ${res.status} ${answer}`);
  // werift's DTLS server (these viewers offer actpass) and SRTP receiver need per-instance fixes to
  // keep getting media on a loaded machine: see dtls_server.ts and srtp_rollover.ts.
  for (const transport of pc.dtlsTransports) {
    handleClientHandshakesOnce(transport);
    receiveAcrossRollovers(transport);
  }
  await pc.setRemoteDescription({ type: "answer", sdp: answer });
  const location = res.headers.get("location");
  const viewer: Viewer = {
    pc,
    counter,
    postMs,
    answeredMs,
    connectedAtMs: null,
    location: location && new URL(location, postUrl).href,
    reported: false,
  };
  pc.connectionStateChange.subscribe((state) => {
    if (state === "connected") viewer.connectedAtMs ??= performance.now();
  });
  return viewer;
}

/** Waits until `done()` or FIRST_FRAME_TIMEOUT_MS, and says on stderr what it gave up on. */
async function until(what: string, done: () => boolean, state: () => string): Promise<void> {
  const deadline = performance.now() + FIRST_FRAME_TIMEOUT_MS;
  while (!done()) {
    if (performance.now() > deadline) {
      console.error(`webrtc_viewers: no ${what} after ${FIRST_FRAME_TIMEOUT_MS} ms: ${state()}`);
      return;
    }
    await new Promise((r) => setTimeout(r, 50));
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const print = (line: unknown) => console.log(JSON.stringify(line));

for await (const line of Deno.stdin.readable.pipeThrough(new TextDecoderStream()).pipeThrough(lines())) {
  const target = Number(line);
  while (viewers.length < target) viewers.push(await addViewer());
  const waiting = () => viewers.filter((v) => v.counter.firstKeyframeMs === null);
  await until(
    "first keyframe for every viewer",
    () => waiting().length === 0,
    () => waiting().map((v) => `${v.pc.connectionState}, ${v.counter.packets} packets`).join("; "),
  );
  await sleep(warmUpMs);
  for (const viewer of viewers) viewer.counter.take();
  const cpu = new CpuMeter();
  print({ event: "start" });
  await sleep(windowMs);
  const report: WindowReport = {
    event: "window",
    viewers: viewers.map((viewer) => {
      const first = viewer.counter.firstKeyframeMs;
      const report = !viewer.reported && first !== null;
      viewer.reported ||= report;
      return {
        ...viewer.counter.take(),
        firstFrameMs: report ? first - viewer.postMs : null,
        answerMs: report ? viewer.answeredMs - viewer.postMs : null,
        connectedMs: report && viewer.connectedAtMs !== null ? viewer.connectedAtMs - viewer.postMs : null,
        noPicture: first === null,
      };
    }),
    receiverCpu: cpu.percent(),
    receiveBuffers: [Math.min(...buffers), Math.max(...buffers)],
  };
  print(report);
}
await Promise.all(viewers.map(async (viewer) => {
  if (viewer.location) await fetch(viewer.location, { method: "DELETE" }).then((r) => r.body?.cancel());
  await viewer.pc.close();
}));
Deno.exit(0);
