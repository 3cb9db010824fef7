/**
 * The configuration's schema: every section's type with what each key means, and the lists of values
 * a key may take. Defaults and validation live in sections.ts; loading in load.ts.
 */
import type { LogLevel } from "../log.ts";
import type { EventName } from "../events.ts";
import type { Codec } from "../stream/access_unit.ts";

/** Where frames come from. */
export const SOURCE_KINDS = ["test", "libcamera", "v4l2"] as const;
/** One of {@link SOURCE_KINDS}. */
export type SourceKind = typeof SOURCE_KINDS[number];

/** Encoders a camera may ask for; `auto` is resolved against the installed GStreamer elements. */
export const ENCODER_NAMES = ["auto", "x264", "openh264", "v4l2", "nvv4l2", "vp8"] as const;
/** One of {@link ENCODER_NAMES}. */
export type EncoderName = typeof ENCODER_NAMES[number];

/** Picture rotations and mirrors (the names the Pion-based Pi camera streamer used). */
export const FLIP_METHODS = [
  "none",
  "vertical-flip",
  "horizontal-flip",
  "rotate-90",
  "rotate-180",
  "rotate-270",
] as const;
/** One of {@link FLIP_METHODS}. */
export type FlipMethod = typeof FLIP_METHODS[number];

/** The `pattern` nicks of GStreamer 1.22's videotestsrc, as listed by `gst-inspect-1.0 videotestsrc`. */
export const TEST_PATTERNS = [
  "smpte",
  "snow",
  "black",
  "white",
  "red",
  "green",
  "blue",
  "checkers-1",
  "checkers-2",
  "checkers-4",
  "checkers-8",
  "circular",
  "blink",
  "smpte75",
  "zone-plate",
  "gamut",
  "chroma-zone-plate",
  "solid-color",
  "ball",
] as const;

/** The codecs a camera or path may carry. */
export const CODECS: readonly Codec[] = ["h264", "vp8"];

/** `[server]`: the HTTP listener and process-wide settings. */
export interface ServerConfig {
  /** Address to bind: an IP literal or a host name. */
  listen: string;
  /** TCP port; 0 lets the OS pick one. */
  port: number;
  /** Lowest log level printed. */
  logLevel: LogLevel;
  /** Extra ICE host candidate for a 1:1 NAT; empty when unset. */
  publicIp: string;
  /**
   * Origins (`scheme://host[:port]`) whose pages may use what needs no token, besides the service's own;
   * `*` = any page on the web.
   */
  allowedOrigins: string[];
  /** Host header values (names or addresses, no port) served besides the machine's own; `*` = any. */
  allowedHosts: string[];
}

/** `[limits]`: resource bounds. */
export interface LimitsConfig {
  /** RSS above which the memory guard starts shedding load. */
  maxMemoryUsageMb: number;
  /** Per-reader queue length, in access units. */
  readerQueueFrames: number;
  /** WebSocket players of one stream. */
  maxWsPlayersPerStream: number;
  /** WebSocket players in all. */
  maxWsPlayers: number;
}

/** `[supervisor]`: when a camera pipeline counts as stalled and how fast it is restarted. */
export interface SupervisorConfig {
  /** No frame for this long means stalled. */
  stallTimeoutMs: number;
  /** First restart backoff. */
  restartDelayMs: number;
  /** Backoff cap. */
  restartDelayMaxMs: number;
  /** Restarts of one camera allowed within any minute; the next one waits for the window. */
  maxRestartsPerMinute: number;
}

/** One `[[webrtc.ice_servers]]` entry: a STUN or TURN server (the RTCIceServer shape). */
export interface IceServerConfig {
  /** `stun:`, `turn:` or `turns:` URLs of this server. */
  urls: string[];
  /** TURN user name; empty for STUN. */
  username: string;
  /** TURN password; empty for STUN. */
  credential: string;
}

/** `[webrtc]`: ICE gathering and the viewer limit. */
export interface WebrtcConfig {
  /** STUN/TURN servers used for gathering and announced to WHEP clients. */
  iceServers: IceServerConfig[];
  /** Interfaces whose addresses become host candidates; empty = every interface. */
  interfacesInclude: string[];
  /** Interfaces never used for host candidates. */
  interfacesExclude: string[];
  /** Lowest local UDP port for ICE; 0 (with udpPortMax 0) = any port. */
  udpPortMin: number;
  /** Highest local UDP port for ICE; 0 = any port. */
  udpPortMax: number;
  /** WebRTC viewers allowed per stream; only connected viewers count. */
  maxClients: number;
  /** Sessions answered but not yet connected, in all; past it the oldest is dropped. */
  maxPending: number;
  /** Sessions answered but not yet connected, per client address; past it that address's oldest is dropped. */
  maxPendingPerAddress: number;
  /** A session whose ICE and DTLS are not up this long after its answer is dropped. */
  handshakeTimeoutMs: number;
  /** Whether remote candidates with mDNS names (`….local`) are resolved and used. */
  mdnsCandidates: boolean;
}

/** `[shm]`: the shared-memory rings local programs read (docs/shm.md). */
export interface ShmConfig {
  /** Whether cameras get a ring unless they say otherwise. */
  enabled: boolean;
  /** Rings are /dev/shm/<prefix>-<stream>. */
  prefix: string;
  /** Slots per ring: how many access units a reader may fall behind before it is lapped. */
  slotCount: number;
  /** Payload bytes per slot: the largest access unit carried; larger ones are announced and skipped. */
  slotSize: number;
  /** Permission bits of the objects. */
  mode: number;
}

/** Container of recordings: fragmented MP4, or the raw elementary stream (VP8 in IVF). */
export const RECORDING_FORMATS = ["fmp4", "h264"] as const;
/** When recorded bytes are forced to the disk: at each segment's end, after every part, or never. */
export const FSYNC_POLICIES = ["segment", "part", "never"] as const;

/** `[recording]`: where recordings go, how they are cut and how long they are kept. */
export interface RecordingConfig {
  /** Folder holding one folder per stream. */
  dir: string;
  /** Container of new segments. */
  format: typeof RECORDING_FORMATS[number];
  /** Longest recorded media waits in memory before it is written: the most a kill -9 may lose. */
  partMs: number;
  /** A segment ends at the first keyframe after this long. */
  segmentS: number;
  /** Segments older than this are deleted; 0 = kept. */
  deleteAfterMs: number;
  /** Most bytes one stream's folder may hold, oldest segments deleted first; 0 = no limit. */
  maxBytes: number;
  /** Free bytes the volume keeps: oldest segments go first, then recording pauses. */
  minFreeBytes: number;
  /** When written bytes are forced to the disk. */
  fsync: typeof FSYNC_POLICIES[number];
}

/** `[metrics]`: where else `GET /metrics` is served, besides the main port. */
export interface MetricsConfig {
  /** An address of its own serving `/metrics` alone ("127.0.0.1:9090"); null = none. */
  listen: { hostname: string; port: number } | null;
}

/** `[debug]`: the on-demand profiling endpoints. */
export interface DebugConfig {
  /** Whether `POST /api/debug/cpu-profile` and `/api/debug/heap-snapshot` answer (404 otherwise). */
  enabled: boolean;
}

/** One `[[hooks]]` entry: what to do when one of its events happens. */
export interface HookConfig {
  /** The events it fires on. */
  on: EventName[];
  /** Where the event is POSTed as JSON; empty when `run` is used. */
  url: string;
  /** A program and its arguments, run without a shell with the event in `EDGECAM_*`; empty when `url` is used. */
  run: string[];
  /** Longest one POST or one run may take. */
  timeoutMs: number;
  /** Further POST attempts after a failure, with backoff (a program is run once). */
  retries: number;
}

/** One `[[cameras]]` entry, with every default filled in. */
export interface CameraConfig {
  /** Stream path; safe in URLs and shared-memory names. */
  name: string;
  /** Where frames come from. */
  source: SourceKind;
  /** libcamera: camera name (empty = first camera); v4l2: device path; test: empty. */
  device: string;
  /** videotestsrc pattern, used when `source` is `test`. */
  pattern: string;
  /** Frame width in pixels, before any rotation. */
  width: number;
  /** Frame height in pixels, before any rotation. */
  height: number;
  /** Frames per second. */
  fps: number;
  /** Codec of the stream. */
  codec: Codec;
  /** Requested encoder. */
  encoder: EncoderName;
  /** Target bitrate in bits per second. */
  bitrate: number;
  /** Frames between keyframes. */
  keyframeInterval: number;
  /** Rotation or mirror applied before encoding. */
  flipMethod: FlipMethod;
  /** Let the source deliver its native size and scale it to width x height. */
  scalingEnabled: boolean;
  /** Extra TCP port serving the per-camera WebSocket JSON signaling for this camera at `/ws`; 0 = none. */
  webrtcPort: number;
  /** Bearer tokens that may view this camera, on top of `[auth] view_tokens`; empty = none of its own. */
  viewTokens: string[];
  /** Whether this camera's stream gets a shared-memory ring. */
  shm: boolean;
  /** Object name of its ring in /dev/shm. */
  shmName: string;
  /** WHIP servers this camera's stream is pushed to. */
  push: PushTarget[];
  /** Whether this camera's stream is recorded from start. */
  record: boolean;
}

/** One `push` entry of a camera or path: a WHIP endpoint the stream is published to. */
export interface PushTarget {
  /** The WHIP endpoint URL (http: or https:). */
  url: string;
  /** Bearer token sent to it; empty = none. */
  token: string;
}

/** What a second publisher on a busy WHIP path gets: it replaces the first, or 409. */
export const SECOND_PUBLISHER = ["replace", "refuse"] as const;

/** `[ingest]`: WHIP paths nobody configured, and the defaults of those that are. */
export interface IngestConfig {
  /** Whether a publisher may use a path that has no `[[paths]]` entry. */
  unconfiguredPaths: boolean;
  /** What a second publisher on a busy path gets, unless its `[[paths]]` entry says otherwise. */
  secondPublisher: typeof SECOND_PUBLISHER[number];
  /** Unconfigured paths that may exist at once; a publisher of one more gets 503. */
  maxPaths: number;
  /** An unconfigured path with no publisher and no reader for this long is removed with its ring. */
  pathIdleTimeoutMs: number;
}

/** One `[[paths]]` entry: a WHIP path known before anyone publishes to it. */
export interface PathConfig {
  /** Path name; the stream's name in every URL. */
  name: string;
  /** The video codec publishers must send. */
  codec: Codec;
  /** What a second publisher gets. */
  secondPublisher: typeof SECOND_PUBLISHER[number];
  /** Bearer tokens that may publish to this path, on top of `[auth] publish_tokens`. */
  publishTokens: string[];
  /** Bearer tokens that may view this path, on top of `[auth] view_tokens`. */
  viewTokens: string[];
  /** WHIP servers this path's stream is pushed to. */
  push: PushTarget[];
  /** Whether this path's stream gets a shared-memory ring. */
  shm: boolean;
  /** Object name of its ring in /dev/shm. */
  shmName: string;
  /** Whether this path's stream is recorded whenever a publisher sends it. */
  record: boolean;
}

/**
 * `[auth]`: Bearer tokens per kind of request (see lib/auth.ts for what each kind covers and how they
 * combine). An empty list leaves that kind open, as edgecam was before tokens existed.
 */
export interface AuthConfig {
  /** Tokens that may publish a stream (WHIP ingest). */
  publishTokens: string[];
  /** Tokens that may watch every stream (WHEP, `POST /offer`, WebSocket player and signaling). */
  viewTokens: string[];
  /** Tokens that may read the API (`/status`, `/api/*`). */
  apiReadTokens: string[];
  /** Tokens that may change things through the API; they may read it too. */
  apiChangeTokens: string[];
}

/** The whole validated configuration. */
export interface Config {
  /** `[server]` */
  server: ServerConfig;
  /** `[limits]` */
  limits: LimitsConfig;
  /** `[supervisor]` */
  supervisor: SupervisorConfig;
  /** `[webrtc]` */
  webrtc: WebrtcConfig;
  /** `[auth]` */
  auth: AuthConfig;
  /** `[shm]` */
  shm: ShmConfig;
  /** `[ingest]` */
  ingest: IngestConfig;
  /** `[recording]` */
  recording: RecordingConfig;
  /** `[metrics]` */
  metrics: MetricsConfig;
  /** `[debug]` */
  debug: DebugConfig;
  /** `[[hooks]]`, in file order. */
  hooks: HookConfig[];
  /** `[[cameras]]`, in file order. */
  cameras: CameraConfig[];
  /** `[[paths]]`, in file order. */
  paths: PathConfig[];
}
