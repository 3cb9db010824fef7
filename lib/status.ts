/**
 * The JSON shapes of `GET /status`, `GET /api/streams/<name>` and `GET /health`, built from the
 * streams and their outputs' figures.
 */
import type { MemoryStatus } from "./stream/memory_guard.ts";
import type { ShmRingStatus } from "./outputs/shm.ts";
import type { PushStatus } from "./outputs/push.ts";
import type { RecordingStatus } from "./recording/recorder.ts";
import type { SourceState, Stream } from "./stream/stream.ts";
import type { WebrtcStreamStats } from "./outputs/whep.ts";
import { VERSION } from "./version.ts";
import { optionalLibraries, type OptionalLibraryStatus } from "./native_library.ts";

/** One stream as the status API shows it (snake_case, like the seed projects' JSON). */
export interface StreamSummary {
  name: string;
  state: SourceState;
  codec: string;
  width: number | null;
  height: number | null;
  profile_level_id: string | null;
  /** H.264 B-frames seen in the stream (WebRTC viewers cannot reorder them; the encoder must not send them). */
  b_frames: boolean;
  fps: number;
  bitrate: number;
  frames: number;
  keyframes: number;
  readers: number;
  drops: number;
  restarts: number;
  attempt: number;
  last_error: string | null;
  last_frame_ms: number | null;
  pid: number | null;
  webrtc: WebrtcSummary;
  /** WebSocket players (jmuxer format) of the stream now. */
  ws_players: number;
  /** The stream's shared-memory ring, or null when it has none. */
  shm: ShmRingStatus | null;
  /** WHIP push targets of this stream and where each one is. */
  push: PushStatus[];
  /** The stream's recording (as `GET /api/streams/<name>/recording` shows it). */
  recording: RecordingStatus;
}

/** A stream's WebRTC viewers now, and their RTCP feedback since the service started. */
export interface WebrtcSummary {
  /** Viewers connected now (what max_clients bounds). */
  viewers: number;
  /** Viewers answered and still connecting (ICE and DTLS not up yet). */
  pending: number;
  /** Sequence numbers asked for again in NACKs. */
  nacks: number;
  /** Packets sent again. */
  retransmits: number;
  /** NACKed packets not sent again (resent within the RTT, over the budget, or too old). */
  retransmits_suppressed: number;
  /** Picture loss indications. */
  plis: number;
  /** Full intra requests. */
  firs: number;
}

/** What the outputs of one stream report, next to the stream's own figures. */
export interface OutputFigures {
  webrtc: WebrtcStreamStats;
  wsPlayers: number;
  shm: ShmRingStatus | null;
  push: PushStatus[];
  recording: RecordingStatus;
}

/** Summarizes a stream and its outputs' figures for the API. */
export function summarizeStream(stream: Stream, outputs: OutputFigures, now = Date.now()): StreamSummary {
  const { webrtc } = outputs;
  const stats = stream.stats(now);
  const format = stream.format;
  return {
    name: stream.name,
    state: stream.source.state,
    codec: stream.codec,
    width: format?.width ?? null,
    height: format?.height ?? null,
    profile_level_id: format?.profileLevelId ?? null,
    b_frames: format?.bFrames ?? false,
    fps: stats.fps,
    bitrate: stats.bitrate,
    frames: stats.frames,
    keyframes: stats.keyframes,
    readers: stats.readers,
    drops: stats.drops,
    restarts: stream.source.restarts,
    attempt: stream.source.attempt,
    last_error: stream.source.lastError,
    last_frame_ms: stats.lastFrameMs,
    pid: stream.source.pid,
    webrtc: {
      viewers: webrtc.viewers,
      pending: webrtc.pending,
      nacks: webrtc.nacks,
      retransmits: webrtc.retransmits,
      retransmits_suppressed: webrtc.retransmitsSuppressed,
      plis: webrtc.plis,
      firs: webrtc.firs,
    },
    ws_players: outputs.wsPlayers,
    shm: outputs.shm,
    push: outputs.push,
    recording: outputs.recording,
  };
}

/** The whole service as `GET /status` shows it. */
export interface ServiceStatus {
  version: string;
  uptime_s: number;
  /**
   * Wall-clock ms that RTP timestamp 0 stands for: a WebRTC frame was captured at
   * rtp_time_origin_ms + rtp / 90 (modulo the 32-bit wrap), which lets a viewer work out its delay.
   */
  rtp_time_origin_ms: number;
  /**
   * RSS, the V8 heap (used and reserved) and memory outside it that JS objects hold (ArrayBuffers: frames,
   * packets), the guard's limit and level.
   */
  memory: {
    rss_mb: number;
    heap_used_mb: number;
    heap_total_mb: number;
    external_mb: number;
    limit_mb: number;
    pressure: string;
    cuts: number;
  };
  /** The native libraries of the WebRTC send path (libcrypto's SRTP, libc's sendto), or their fallbacks. */
  native_libraries: OptionalLibraryStatus[];
  streams: StreamSummary[];
}

/** Builds the `GET /status` body. */
export function serviceStatus(
  streams: Stream[],
  outputsOf: (stream: Stream) => OutputFigures,
  memory: MemoryStatus,
  startedAtMs: number,
  now = Date.now(),
): ServiceStatus {
  const usage = Deno.memoryUsage();
  return {
    version: VERSION,
    uptime_s: Math.round((now - startedAtMs) / 1000),
    rtp_time_origin_ms: performance.timeOrigin,
    memory: {
      rss_mb: Math.round(usage.rss / 1048576),
      heap_used_mb: Math.round(usage.heapUsed / 1048576),
      heap_total_mb: Math.round(usage.heapTotal / 1048576),
      external_mb: Math.round(usage.external / 1048576),
      limit_mb: memory.limitMb,
      pressure: memory.level,
      cuts: memory.cuts,
    },
    native_libraries: optionalLibraries(),
    streams: streams.map((s) => summarizeStream(s, outputsOf(s), now)),
  };
}

/**
 * `GET /health`: healthy when every camera runs; a WHIP path waiting for its publisher is not a fault
 * of this service (its publisher is elsewhere), so it counts as healthy too.
 */
export function healthOf(
  streams: Stream[],
): { healthy: boolean; body: { status: string; streams: Record<string, SourceState> } } {
  const states = Object.fromEntries(streams.map((s) => [s.name, s.source.state]));
  const healthy = streams.every((s) => s.source.state === "running" || s.source.state === "waiting");
  return { healthy, body: { status: healthy ? "ok" : "unhealthy", streams: states } };
}
