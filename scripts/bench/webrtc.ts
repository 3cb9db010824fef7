// The WebRTC part of `deno task bench`: edgecam's WHEP path against werift's stock path (the
// baseline), 1280x720@30 H.264 at ~4 Mbit/s, N werift viewers in one separate process.
import { RTCDtlsTransport, type RtpHeader } from "werift";
import { RtpWriter } from "../../lib/webrtc/rtp/writer.ts";
import { parseConfig } from "../../lib/config/load.ts";
import { startService } from "../../lib/service.ts";
import { httpHandlers } from "../../routes/app.ts";
import type { Reader } from "../../lib/stream/reader.ts";
import type { Stream } from "../../lib/stream/stream.ts";
import { rtpTimestamp } from "../../lib/webrtc/rtp/packetizer.ts";
import { benchCamera, benchService } from "./config.ts";
import { lines } from "./lines.ts";
import { CpuMeter, rssBytes, spawnBenchScript } from "./proc.ts";
import { median, percentile, slope } from "./stats.ts";
import { startStockServer } from "./stock_path.ts";
import type { WindowReport } from "./webrtc_viewers.ts";

/** Viewer counts measured when none are given. */
export const DEFAULT_VIEWER_COUNTS = [1, 10, 20, 30];
const WARM_UP_MS = 3000;
const WINDOW_MS = 10_000;
/**
 * The service under a fan-out bench: loopback on an ephemeral port. The memory guard's default 512 MB
 * would put every reader on keyframes only (1 fps) once werift's peers pass it, near 20 viewers
 * today: lifted, so the figures are the send path's own.
 */
/** An access unit captured this close to the window's end may not have reached everyone yet. */
const LAG_TAIL_MS = 500;

const wallMs = () => performance.timeOrigin + performance.now();

/**
 * Times each access unit from its pipe read (`captureMs`) to its last packet handed to the socket
 * for the last viewer, by wrapping in this process what encrypts and sends one packet: edgecam's
 * `RtpWriter.write` and werift's `RTCDtlsTransport.sendRtp` (the stock path). Only the first send of
 * each frame's marker packet per viewer counts, so NACK retransmissions do not stretch it.
 */
export class SendProbe {
  /** RTP timestamp → capture time, from a reader of the stream. */
  readonly #captured = new Map<number, number>();
  /** RTP timestamp → the viewers (writers or transports) that sent its marker, and when the last one did. */
  #sent = new Map<number, { viewers: Set<object>; lastMs: number }>();
  #packets = 0;
  #fromMs = 0;
  readonly #restore: () => void;
  readonly #reader: Reader;

  constructor(stream: Stream) {
    const reader = this.#reader = stream.subscribe(10_000);
    void (async () => {
      for await (const au of reader) this.#captured.set(rtpTimestamp(au.pts90k), au.captureMs);
    })();
    const sent = (viewer: object, timestamp: number, marker: boolean) => {
      this.#packets++;
      if (!marker) return;
      let entry = this.#sent.get(timestamp);
      if (!entry) this.#sent.set(timestamp, entry = { viewers: new Set(), lastMs: 0 });
      if (entry.viewers.has(viewer)) return;
      entry.viewers.add(viewer);
      entry.lastMs = wallMs();
    };
    // Not async: an extra promise per packet would add to the very cost being measured. The
    // synchronous part of each encrypts and hands the packet to the socket.
    const transport = RTCDtlsTransport.prototype;
    const sendRtp = transport.sendRtp;
    transport.sendRtp = function (this: RTCDtlsTransport, payload, header: RtpHeader) {
      const size = sendRtp.call(this, payload, header);
      sent(this, header.timestamp, header.marker);
      return size;
    };
    const writer = RtpWriter.prototype;
    const write = writer.write;
    writer.write = function (this: RtpWriter, sequenceNumber, timestamp, marker, payload) {
      const written = write.call(this, sequenceNumber, timestamp, marker, payload);
      if (written) sent(this, timestamp, marker);
      return written;
    };
    this.#restore = () => {
      transport.sendRtp = sendRtp;
      writer.write = write;
    };
  }

  /** Starts a window now. */
  start(): void {
    this.#sent = new Map();
    this.#captured.clear();
    this.#packets = 0;
    this.#fromMs = wallMs();
  }

  /** Lags (ms, sorted) of the window's frames that reached all `viewers`, and the share that did. */
  take(viewers: number): { lags: number[]; reachedAll: number; packets: number } {
    const untilMs = wallMs() - LAG_TAIL_MS;
    const lags: number[] = [];
    let frames = 0;
    for (const [timestamp, entry] of this.#sent) {
      const capturedMs = this.#captured.get(timestamp);
      if (capturedMs === undefined || capturedMs < this.#fromMs || capturedMs > untilMs) continue;
      frames++;
      if (entry.viewers.size >= viewers) lags.push(entry.lastMs - capturedMs);
    }
    return {
      lags: lags.sort((a, b) => a - b),
      reachedAll: frames ? lags.length / frames : 0,
      packets: this.#packets,
    };
  }

  /** Unwraps werift and stops reading the stream. */
  close(): void {
    this.#restore();
    this.#reader.close();
  }
}

/** One path at one viewer count. */
interface Row {
  viewers: number;
  cpu: number;
  rssMb: number;
  fps: number[];
  lossPercent: number[];
  duplicatesPerS: number[];
  packetsPerViewerS: number;
  lags: number[];
  reachedAll: number;
  firstFrameMs: number[];
  /** Of the same viewers: POST → 201 with the answer, and POST → ICE and DTLS connected. */
  answerMs: number[];
  connectedMs: number[];
  /** Viewers that never got a complete keyframe. */
  noPicture: number;
  receiverCpu: number;
  receiveBuffers: [number, number];
}

/** Runs the viewer process against `postUrl` for each viewer count, sampling this process. */
async function measurePath(
  postUrl: string,
  counts: number[],
  probe: SendProbe,
  receivers: Receivers = "full",
): Promise<Row[]> {
  const child = spawnBenchScript("webrtc_viewers.ts", [
    postUrl,
    String(WARM_UP_MS),
    String(WINDOW_MS),
    receivers,
  ]);
  const stdin = child.stdin.getWriter();
  const out = child.stdout.pipeThrough(new TextDecoderStream()).pipeThrough(lines())[Symbol.asyncIterator]();
  const rows: Row[] = [];
  const cpu = new CpuMeter();
  for (const viewers of counts) {
    await stdin.write(new TextEncoder().encode(`${viewers}\n`));
    const start = await out.next();
    if (start.done) throw new Error(`the viewer process ended before the ${viewers}-viewer window`);
    cpu.start();
    probe.start();
    const end = await out.next();
    if (end.done) throw new Error(`the viewer process ended during the ${viewers}-viewer window`);
    const percent = cpu.percent();
    const sends = probe.take(viewers);
    const report: WindowReport = JSON.parse(end.value);
    const seconds = WINDOW_MS / 1000;
    rows.push({
      viewers,
      cpu: percent,
      rssMb: rssBytes() / 1048576,
      fps: report.viewers.map((v) => v.frames / seconds),
      lossPercent: report.viewers.map((v) => v.expected ? v.lost / v.expected * 100 : 100),
      duplicatesPerS: report.viewers.map((v) => v.duplicates / seconds),
      packetsPerViewerS: sends.packets / viewers / seconds,
      lags: sends.lags,
      reachedAll: sends.reachedAll,
      firstFrameMs: report.viewers.flatMap((v) => v.firstFrameMs === null ? [] : [v.firstFrameMs]),
      answerMs: report.viewers.flatMap((v) => v.answerMs === null ? [] : [v.answerMs]),
      connectedMs: report.viewers.flatMap((v) => v.connectedMs === null ? [] : [v.connectedMs]),
      noPicture: report.viewers.filter((v) => v.noPicture).length,
      receiverCpu: report.receiverCpu,
      receiveBuffers: report.receiveBuffers,
    });
  }
  await stdin.close();
  const status = await child.status;
  if (!status.success) throw new Error(`the viewer process exited with ${status.code}`);
  return rows;
}

const f = (value: number, digits = 1) => Number.isFinite(value) ? value.toFixed(digits) : "-";

/** Table lines for one path, plus its per-viewer fits relative to its first row. */
function describe(name: string, rows: Row[]): string[] {
  const [first] = rows;
  const out = [
    `  ${name}:`,
    "     N  cpu %  +cpu %/viewer  rss MB  +rss MB/viewer  fps med/worst  loss % med/worst  dup/s med/worst" +
    "  pkts/s/viewer  lag p50/p99 ms (AUs to all)  first frame p50/p99 ms  receivers cpu %",
  ];
  for (const row of rows) {
    const added = row.viewers - first.viewers;
    const worstFps = Math.min(...row.fps);
    const worstLoss = Math.max(...row.lossPercent);
    const worstDup = Math.max(...row.duplicatesPerS);
    const firstFrames = [...row.firstFrameMs].sort((a, b) => a - b);
    const noPicture = row.noPicture ? ` (${row.noPicture} none)` : "";
    out.push(
      `  ${String(row.viewers).padStart(4)}  ${f(row.cpu).padStart(5)}  ${
        (added ? f((row.cpu - first.cpu) / added, 2) : "").padStart(13)
      }  ${f(row.rssMb, 0).padStart(6)}  ${
        (added ? f((row.rssMb - first.rssMb) / added, 2) : "").padStart(14)
      }  ${`${f(median(row.fps))}/${f(worstFps)}`.padStart(13)}  ${
        `${f(median(row.lossPercent), 2)}/${f(worstLoss, 2)}`.padStart(16)
      }  ${`${f(median(row.duplicatesPerS))}/${f(worstDup)}`.padStart(15)}  ${
        f(row.packetsPerViewerS, 0).padStart(13)
      }  ${
        `${f(percentile(row.lags, 50), 2)}/${f(percentile(row.lags, 99), 2)} (${
          f(row.reachedAll * 100, 0)
        } %)`
          .padStart(27)
      }  ${
        `${f(percentile(firstFrames, 50), 0)}/${f(percentile(firstFrames, 99), 0)}${noPicture}`.padStart(22)
      }  ${f(row.receiverCpu).padStart(15)}`,
    );
  }
  if (rows.length > 1) {
    out.push(
      `     fit over N: ${f(slope(rows.map((r) => [r.viewers, r.cpu])), 2)} % of a core and ${
        f(slope(rows.map((r) => [r.viewers, r.rssMb])), 2)
      } MB RSS per viewer`,
    );
  }
  // Where the first frame's time goes, over every viewer that joined in the run.
  const all = (key: "answerMs" | "connectedMs" | "firstFrameMs") =>
    rows.flatMap((r) => r[key]).sort((a, b) => a - b);
  const step = (values: number[]) => `${f(percentile(values, 50), 0)}/${f(percentile(values, 99), 0)}`;
  out.push(
    `     first frame, p50/p99 ms from the POST over all ${
      all("firstFrameMs").length
    } viewers: answer (201) ${step(all("answerMs"))}, ICE and DTLS connected ${
      step(all("connectedMs"))
    }, first complete keyframe ${step(all("firstFrameMs"))}`,
  );
  return out;
}

/** Waits until `stream` has produced a keyframe with its format, so viewers can be answered. */
async function running(stream: Stream): Promise<void> {
  const deadline = Date.now() + 20_000;
  while (stream.source.state !== "running" || !stream.format) {
    if (Date.now() > deadline) throw new Error(`camera ${stream.name} is ${stream.source.state}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** Waits until only `readers` readers are left on `stream` (the previous path's sessions are gone). */
async function settled(stream: Stream, readers: number): Promise<void> {
  const deadline = Date.now() + 10_000;
  while (stream.readers.size > readers && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
}

/** How the viewers receive: decrypting every packet, or only until their first keyframe (webrtc_viewers.ts). */
export type Receivers = "full" | "light";

/** The send paths the WebRTC bench can measure, in the order they run. */
export const WEBRTC_PATHS = ["edgecam", "stock"] as const;
/** One of WEBRTC_PATHS. */
export type WebrtcPath = typeof WEBRTC_PATHS[number];

const PATH_TITLES: Record<WebrtcPath, string> = {
  edgecam: "edgecam WHEP (packetized once, RtpWriter per viewer)",
  stock: "werift stock path (track + H264Packetizer per viewer, writeRtp)",
};

/**
 * Runs each path for each viewer count; returns the report lines. The second path runs in a process
 * that keeps the heap the first one grew: name one path to measure it alone.
 */
export async function webrtcBench(
  counts: number[],
  paths: readonly WebrtcPath[] = WEBRTC_PATHS,
  receivers: Receivers = "full",
): Promise<string[]> {
  const config = parseConfig(`${benchService()}${benchCamera("720p")}`);
  const service = await startService(config, httpHandlers);
  const stream = service.streams.get("bench")!;
  const stock = startStockServer(stream);
  let probe: SendProbe | null = null;
  try {
    await running(stream);
    probe = new SendProbe(stream);
    const urls: Record<WebrtcPath, string> = {
      edgecam: `http://127.0.0.1:${service.addr.port}/whep/bench`,
      stock: stock.url,
    };
    const results: [WebrtcPath, Row[]][] = [];
    for (const path of paths) {
      await settled(stream, 1);
      results.push([path, await measurePath(urls[path], counts, probe, receivers)]);
    }
    return [
      `WebRTC fan-out, ${config.cameras[0].width}x${config.cameras[0].height}@30 x264 ~4 Mbit/s ` +
      `(keyframe every ${config.cameras[0].keyframeInterval} frames), werift viewers with NACK/PLI ` +
      `in one other process${
        receivers === "light" ? " (light: no decryption after the first keyframe)" : ""
      }; per N: ${WARM_UP_MS / 1000} s warm-up, ${WINDOW_MS / 1000} s window. ` +
      `CPU and RSS are the service process's; +x/viewer is relative to N=${counts[0]}; ` +
      `lag is pipe read → last packet of the frame sent to the last viewer; receive buffers ${
        results[0][1][0].receiveBuffers.map((b) => `${Math.round(b / 1024)} KB`).join("-")
      }:`,
      ...results.flatMap(([path, rows]) => describe(PATH_TITLES[path], rows)),
    ];
  } finally {
    probe?.close();
    await stock.close();
    await service.stop();
  }
}

/**
 * One 720p30 WHIP publisher (its own process, x264 ~4 Mbit/s) ingested by a WHIP path and fanned out
 * to `viewers` werift WHEP viewers: the service's CPU and RSS, and the delay an access unit spends
 * inside edgecam, from its last RTP packet in (the publisher session's receive time) to its last packet
 * sent to the last viewer.
 */
export async function whipBench(counts: number[]): Promise<string[]> {
  const config = parseConfig(`${benchService()}
[[paths]]
name = "bench"
`);
  const service = await startService(config, httpHandlers);
  const stream = service.streams.get("bench")!;
  const base = `http://127.0.0.1:${service.addr.port}`;
  const publisher = spawnBenchScript("whip_publisher.ts", [`${base}/whip/bench`]);
  const stdin = publisher.stdin.getWriter();
  let probe: SendProbe | null = null;
  try {
    const out = publisher.stdout.pipeThrough(new TextDecoderStream()).pipeThrough(lines());
    for await (const line of out) if (line === "publishing") break;
    await running(stream);
    probe = new SendProbe(stream);
    const rows = await measurePath(`${base}/whep/bench`, counts, probe);
    return [
      `WHIP ingest, one werift publisher in another process (1280x720@30 x264 ~4 Mbit/s), fanned out to ` +
      `werift WHEP viewers in a third; per N: ${WARM_UP_MS / 1000} s warm-up, ${
        WINDOW_MS / 1000
      } s window. ` +
      `CPU and RSS are the service process's (depacketize + fan-out); lag is the access unit's last RTP ` +
      `packet in → its last packet sent to the last viewer:`,
      ...describe("edgecam WHIP → WHEP", rows),
    ];
  } finally {
    probe?.close();
    await stdin.close().catch(() => {});
    await publisher.status;
    await service.stop();
  }
}
