/**
 * The service's Prometheus metrics: every family read from counters the streams and outputs already
 * keep (nothing is computed from per-packet data at scrape time), in base units, `_total` on counters.
 */
import type { ServiceContext } from "../service.ts";
import type { PressureLevel } from "../stream/memory_guard.ts";
import type { Stream } from "../stream/stream.ts";
import { VERSION } from "../version.ts";
import type { HistogramSample, MetricFamily, Sample } from "./exposition.ts";
import { processFigures } from "./process.ts";

/** What the metrics read: the parts of the running service that keep figures. */
export type MetricsSource = Pick<
  ServiceContext,
  "streams" | "whep" | "players" | "pushes" | "recordings" | "memory" | "shm"
>;

const PRESSURE: Record<PressureLevel, number> = { normal: 0, high: 1, critical: 2 };

/** Every metric family, read now. */
export function serviceMetrics(source: MetricsSource): MetricFamily[] {
  const streams = source.streams.all();
  const perStream = (value: (stream: Stream) => number): Sample[] =>
    streams.map((stream) => ({ labels: { stream: stream.name }, value: value(stream) }));
  const stats = new Map(streams.map((s) => [s, s.stats()]));
  const webrtc = new Map(streams.map((s) => [s, source.whep.stats(s.name)]));
  const counter = (name: string, help: string, samples: Sample[]): MetricFamily => ({
    name,
    help,
    type: "counter",
    samples,
  });
  const gauge = (name: string, help: string, samples: Sample[]): MetricFamily => ({
    name,
    help,
    type: "gauge",
    samples,
  });
  const sendDelay: HistogramSample[] = streams.map((s) => ({
    labels: { stream: s.name },
    histogram: s.sendDelay.snapshot(),
  }));
  const proc = processFigures();
  const memory = source.memory.status;
  return [
    gauge("edgecam_build_info", "The running build: version of edgecam and of Deno.", [
      { labels: { version: VERSION, deno: Deno.version.deno }, value: 1 },
    ]),
    gauge(
      "edgecam_stream_up",
      "1 while the stream's source delivers (camera running, WHIP publisher sending), else 0.",
      perStream((s) => s.source.state === "running" ? 1 : 0),
    ),
    counter(
      "edgecam_stream_frames_total",
      "Access units (video frames) the stream received from its source.",
      perStream((s) => stats.get(s)!.frames),
    ),
    counter(
      "edgecam_stream_keyframes_total",
      "Keyframes the stream received.",
      perStream((s) => stats.get(s)!.keyframes),
    ),
    counter(
      "edgecam_stream_bytes_total",
      "Bytes of video the stream received.",
      perStream((s) => stats.get(s)!.bytes),
    ),
    counter(
      "edgecam_stream_dropped_frames_total",
      "Frames readers of the stream skipped because they fell behind, past and present readers.",
      perStream((s) => stats.get(s)!.drops),
    ),
    counter(
      "edgecam_camera_restarts_total",
      "Times the stream's camera process was restarted after it died or stalled.",
      perStream((s) => s.source.restarts),
    ),
    gauge(
      "edgecam_viewers",
      "Viewers connected now by protocol: webrtc (WHEP, /offer, signaling), ws (WebSocket player), " +
        "push (WHIP push targets connected). Shared-memory readers map the ring without telling the " +
        "writer, so they are not counted.",
      streams.flatMap((s) => [
        { labels: { stream: s.name, protocol: "webrtc" }, value: webrtc.get(s)!.viewers },
        { labels: { stream: s.name, protocol: "ws" }, value: source.players.count(s.name) },
        {
          labels: { stream: s.name, protocol: "push" },
          value: source.pushes(s.name).filter((p) => p.state === "connected").length,
        },
      ]),
    ),
    gauge(
      "edgecam_webrtc_pending_sessions",
      "WebRTC viewers answered and still connecting (ICE and DTLS not up yet).",
      perStream((s) => webrtc.get(s)!.pending),
    ),
    counter(
      "edgecam_webrtc_packets_sent_total",
      "RTP video packets sent to the stream's WebRTC viewers, retransmissions apart.",
      perStream((s) => webrtc.get(s)!.packetsSent),
    ),
    counter(
      "edgecam_webrtc_retransmits_total",
      "RTP packets sent again in answer to NACKs.",
      perStream((s) => webrtc.get(s)!.retransmits),
    ),
    counter(
      "edgecam_webrtc_nacks_total",
      "Sequence numbers WebRTC viewers asked for again (RTCP generic NACK).",
      perStream((s) => webrtc.get(s)!.nacks),
    ),
    counter(
      "edgecam_webrtc_plis_total",
      "Picture loss indications from WebRTC viewers.",
      perStream((s) => webrtc.get(s)!.plis),
    ),
    counter(
      "edgecam_webrtc_firs_total",
      "Full intra requests from WebRTC viewers.",
      perStream((s) => webrtc.get(s)!.firs),
    ),
    gauge(
      "edgecam_reader_queue_fill_ratio",
      "Fill of the fullest reader queue of the stream (queued frames over capacity, 0 to 1).",
      perStream((s) => {
        let fullest = 0;
        for (const reader of s.readers) fullest = Math.max(fullest, reader.queued / reader.capacity);
        return fullest;
      }),
    ),
    {
      name: "edgecam_frame_send_delay_seconds",
      help: "Time from reading a frame off the camera pipe (or receiving its last WHIP packet) to " +
        "handing a WebRTC peer's last packet of it to the socket, per peer and frame.",
      type: "histogram",
      samples: sendDelay,
    },
    gauge(
      "edgecam_recording_active",
      "1 while the stream is being recorded, else 0.",
      perStream((s) => source.recordings.status(s.name).recording ? 1 : 0),
    ),
    counter(
      "edgecam_recording_bytes_total",
      "Bytes of the stream written to recording segments.",
      perStream((s) => source.recordings.bytesTotal(s.name)),
    ),
    counter(
      "edgecam_ingest_packets_lost_total",
      "RTP packets of a WHIP publisher that never arrived, given up after the NACK wait (0 for cameras).",
      perStream((s) => s.source.packetsLost),
    ),
    counter(
      "edgecam_shm_frames_written_total",
      "Access units written to the stream's shared-memory ring.",
      streams.filter((s) => source.shm.has(s.name)).map((s) => ({
        labels: { stream: s.name },
        value: source.shm.get(s.name)!.status().frames_written,
      })),
    ),
    gauge(
      "edgecam_push_up",
      "1 while the WHIP push of the stream to this URL is connected, else 0.",
      streams.flatMap((s) =>
        source.pushes(s.name).map((p) => ({
          labels: { stream: s.name, url: p.url },
          value: p.state === "connected" ? 1 : 0,
        }))
      ),
    ),
    gauge(
      "edgecam_memory_pressure",
      "Memory pressure against limits.max_memory_usage_mb: 0 normal, 1 high (readers cut to keyframes), " +
        "2 critical (keyframes only).",
      [{ labels: {}, value: PRESSURE[memory.level] }],
    ),
    gauge(
      "edgecam_memory_limit_bytes",
      "The memory limit the guard works to (limits.max_memory_usage_mb).",
      [{ labels: {}, value: memory.limitMb * 1048576 }],
    ),
    counter(
      "edgecam_memory_cuts_total",
      "Readers cut back to a keyframe because of memory pressure.",
      [{ labels: {}, value: memory.cuts }],
    ),
    counter("process_cpu_seconds_total", "Total user and system CPU time spent in seconds.", [
      { labels: {}, value: proc.cpuSeconds },
    ]),
    gauge("process_resident_memory_bytes", "Resident memory size in bytes.", [
      { labels: {}, value: proc.residentBytes },
    ]),
    gauge("process_start_time_seconds", "Start time of the process since unix epoch in seconds.", [
      { labels: {}, value: proc.startTimeSeconds },
    ]),
    gauge(
      "process_open_fds",
      "Number of open file descriptors.",
      proc.openFds === undefined ? [] : [{ labels: {}, value: proc.openFds }],
    ),
    gauge(
      "process_max_fds",
      "Maximum number of open file descriptors.",
      proc.maxFds === undefined ? [] : [{ labels: {}, value: proc.maxFds }],
    ),
  ];
}
