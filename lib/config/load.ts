/**
 * The service's configuration: the TOML schema with its defaults, validation that names every bad key,
 * and the overrides that flags and the environment may apply. This is the only module that reads the
 * config file or `Deno.env`; everything else receives a validated {@link Config}.
 */
import { parse, TomlError } from "smol-toml";
import { LOG_LEVELS, type LogLevel } from "../log.ts";
import type { Codec } from "../stream/access_unit.ts";
import { objectNameProblem, ringObjectName, SLOT_ALIGN } from "../shm/layout.ts";

/** Where frames come from. */
export const SOURCE_KINDS = ["test", "libcamera", "v4l2"] as const;
/** One of {@link SOURCE_KINDS}. */
export type SourceKind = typeof SOURCE_KINDS[number];

/** Encoders a camera may ask for; `auto` is resolved against the installed GStreamer elements. */
export const ENCODER_NAMES = ["auto", "x264", "openh264", "v4l2", "nvv4l2", "vp8"] as const;
/** One of {@link ENCODER_NAMES}. */
export type EncoderName = typeof ENCODER_NAMES[number];

/** Picture rotations and mirrors (the names seed 000 used). */
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

const CODECS: readonly Codec[] = ["h264", "vp8"];

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
}

/** `[limits]`: resource bounds. */
export interface LimitsConfig {
  /** RSS above which the memory guard starts shedding load. */
  maxMemoryUsageMb: number;
  /** Per-reader queue length, in access units. */
  readerQueueFrames: number;
}

/** `[supervisor]`: when a camera pipeline counts as stalled and how fast it is restarted. */
export interface SupervisorConfig {
  /** No frame for this long means stalled. */
  stallTimeoutMs: number;
  /** First restart backoff. */
  restartDelayMs: number;
  /** Backoff cap. */
  restartDelayMaxMs: number;
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
  /** WebRTC viewers allowed per stream. */
  maxClients: number;
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
  /** Extra TCP port serving seed 000's WebSocket signaling for this camera at `/ws`; 0 = none. */
  webrtcPort: number;
  /** Bearer tokens that may view this camera, on top of `[auth] view_tokens`; empty = none of its own. */
  viewTokens: string[];
  /** Whether this camera's stream gets a shared-memory ring. */
  shm: boolean;
  /** Object name of its ring in /dev/shm. */
  shmName: string;
  /** WHIP servers this camera's stream is pushed to. */
  push: PushTarget[];
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
  /** `[[cameras]]`, in file order. */
  cameras: CameraConfig[];
  /** `[[paths]]`, in file order. */
  paths: PathConfig[];
}

/** Everything wrong with a configuration, one line per problem: `<key path>: <value> — <reason>`. */
export class ConfigError extends Error {
  override name = "ConfigError";
  /** The problem lines, in the order they were found. */
  readonly problems: string[];

  constructor(problems: string[]) {
    super(problems.join("\n"));
    this.problems = problems;
  }
}

/** Values that flags set; both optional. */
export interface Overrides {
  /** `--listen`: "host:port", "host", ":port" or "[ipv6]:port". */
  listen?: string;
  /** `--log-level`. */
  logLevel?: string;
}

/** Parses and validates TOML text; throws {@link ConfigError} listing every problem. */
export function parseConfig(text: string): Config {
  let raw: unknown;
  try {
    raw = parse(text);
  } catch (err) {
    if (!(err instanceof TomlError)) throw err;
    // smol-toml's message carries a multi-line code excerpt; one line with the position is enough.
    const reason = err.message.split("\n")[0].replace(/^Invalid TOML document: /, "");
    throw new ConfigError([`line ${err.line}, column ${err.column}: invalid TOML — ${reason}`]);
  }
  return validateConfig(raw);
}

/** Checks an already parsed document against the schema and fills defaults; throws {@link ConfigError}. */
export function validateConfig(raw: unknown): Config {
  const problems: string[] = [];
  if (!isTable(raw)) throw new ConfigError([problem("config", raw, "must be a table")]);
  const root = new TableReader(raw, "", problems);
  const config: Config = {
    server: readServer(root.table("server")),
    limits: readLimits(root.table("limits")),
    supervisor: readSupervisor(root.table("supervisor")),
    webrtc: readWebrtc(root.table("webrtc")),
    auth: readAuth(root.table("auth")),
    shm: readShm(root.table("shm")),
    ingest: readIngest(root.table("ingest")),
    cameras: [],
    paths: [],
  };
  // Ring names are shared by cameras and paths: two rings under one name would overwrite each other.
  const rings = new Map<string, string>();
  config.cameras = readCameras(root.tableArray("cameras"), config.server.port, config.shm, rings);
  config.paths = readPaths(root.tableArray("paths"), config.cameras, config.ingest, config.shm, rings);
  root.rejectUnknown();
  if (problems.length > 0) throw new ConfigError(problems);
  return config;
}

/**
 * Applies flag and environment overrides with precedence flag > env > file. Reads `EDGECAM_LISTEN`
 * (same syntax as `--listen`) and `PI_IP` (public IP) from `env`; an empty variable counts as unset.
 * Throws {@link ConfigError} naming the flag or variable when a value is bad.
 */
export function applyOverrides(
  config: Config,
  overrides: Overrides,
  env: Record<string, string | undefined>,
): Config {
  const problems: string[] = [];
  const server = { ...config.server };
  const listenSettings: [string, string | undefined][] = [
    ["EDGECAM_LISTEN", env.EDGECAM_LISTEN || undefined],
    ["--listen", overrides.listen],
  ];
  for (const [name, text] of listenSettings) {
    if (text === undefined) continue;
    const parsed = parseListen(text);
    if (typeof parsed === "string") {
      problems.push(problem(name, text, parsed));
      continue;
    }
    server.listen = parsed.host ?? server.listen;
    server.port = parsed.port ?? server.port;
  }
  if (env.PI_IP) {
    if (isIpLiteral(env.PI_IP)) server.publicIp = env.PI_IP;
    else problems.push(problem("PI_IP", env.PI_IP, IP_REASON));
  }
  if (overrides.logLevel !== undefined) {
    const level = LOG_LEVELS.find((l) => l === overrides.logLevel);
    const reason = `must be one of: ${LOG_LEVELS.join(", ")}`;
    if (level) server.logLevel = level;
    else problems.push(problem("--log-level", overrides.logLevel, reason));
  }
  if (problems.length > 0) throw new ConfigError(problems);
  return { ...config, server };
}

/** Reads and validates the config file, then applies flag and environment overrides. */
export async function loadConfig(path: string, overrides: Overrides): Promise<Config> {
  let text: string;
  try {
    text = await Deno.readTextFile(path);
  } catch (err) {
    if (!(err instanceof Error) || err instanceof Deno.errors.NotCapable) throw err;
    // Deno appends ": readfile '<path>'"; the path is already at the front of the line.
    throw new ConfigError([`${path}: cannot read — ${err.message.replace(/: \w+ '.*'$/, "")}`]);
  }
  // Only the variables we use, so a run with --allow-env=EDGECAM_LISTEN,PI_IP is enough.
  const env = { EDGECAM_LISTEN: Deno.env.get("EDGECAM_LISTEN"), PI_IP: Deno.env.get("PI_IP") };
  return applyOverrides(parseConfig(text), overrides, env);
}

// ---- sections ----

function readServer(r: TableReader): ServerConfig {
  const server: ServerConfig = {
    listen: r.string("listen", "0.0.0.0", (v) => isHost(v) ? undefined : HOST_REASON),
    port: r.integer("port", 8080, 0, 65535),
    logLevel: r.oneOf("log_level", "info", LOG_LEVELS),
    publicIp: r.string("public_ip", "", (v) => v === "" || isIpLiteral(v) ? undefined : IP_REASON),
  };
  r.rejectUnknown();
  return server;
}

function readLimits(r: TableReader): LimitsConfig {
  const limits: LimitsConfig = {
    maxMemoryUsageMb: r.integer("max_memory_usage_mb", 512, 32, 65536),
    readerQueueFrames: r.integer("reader_queue_frames", 90, 2, 10000),
  };
  r.rejectUnknown();
  return limits;
}

function readSupervisor(r: TableReader): SupervisorConfig {
  const stallTimeoutMs = r.integer("stall_timeout_ms", 5000, 500, 600000);
  const restartDelayMs = r.integer("restart_delay_ms", 500, 50, 600000);
  // A cap below the first delay would make the backoff shrink; the cap's range starts at the delay.
  const restartDelayMaxMs = r.integer("restart_delay_max_ms", 30000, restartDelayMs, 600000);
  r.rejectUnknown();
  return { stallTimeoutMs, restartDelayMs, restartDelayMaxMs };
}

function readWebrtc(r: TableReader): WebrtcConfig {
  const iceServers = r.tableArray("ice_servers").map(readIceServer);
  const interfacesInclude = r.stringList("interfaces_include", checkInterface);
  const interfacesExclude = r.stringList("interfaces_exclude", checkInterface);
  // werift needs a range of at least two ports; 0/0 leaves the choice to the OS.
  const udpPortMin = r.integer("udp_port_min", 0, 0, 65534);
  const udpPortMax = r.failed("udp_port_min")
    ? 0
    : udpPortMin === 0
    ? r.integer("udp_port_max", 0, 0, 0, { reason: "must be 0 when udp_port_min is 0 (0 and 0 = any port)" })
    : r.integer("udp_port_max", -1, udpPortMin + 1, 65535, { required: true });
  const maxClients = r.integer("max_clients", 30, 1, 1000);
  r.rejectUnknown();
  return { iceServers, interfacesInclude, interfacesExclude, udpPortMin, udpPortMax, maxClients };
}

function readIceServer(r: TableReader): IceServerConfig {
  const urls = r.stringOrList("urls", (v) => ICE_URL.test(v) ? undefined : ICE_URL_REASON);
  // Both go verbatim into a quoted Link header parameter (WHIP §4.6).
  const username = r.string("username", "", checkLinkParam);
  const credential = r.string("credential", "", checkLinkParam);
  if (urls.some((u) => u.startsWith("turn"))) {
    for (const key of ["username", "credential"]) {
      if (r.has(key) || r.failed(key)) continue;
      r.missing(key, "required for a turn: or turns: URL");
    }
  }
  r.rejectUnknown();
  return { urls, username, credential };
}

function readAuth(r: TableReader): AuthConfig {
  const auth: AuthConfig = {
    publishTokens: r.stringList("publish_tokens", checkToken),
    viewTokens: r.stringList("view_tokens", checkToken),
    apiReadTokens: r.stringList("api_read_tokens", checkToken),
    apiChangeTokens: r.stringList("api_change_tokens", checkToken),
  };
  r.rejectUnknown();
  return auth;
}

function readShm(r: TableReader): ShmConfig {
  const shm: ShmConfig = {
    enabled: r.boolean("enabled", true),
    // Room for "-" and a 63-character camera name within a 255-character file name.
    prefix: r.string(
      "prefix",
      "edgecam",
      (v) => objectNameProblem(v) ?? (v.length > 190 ? "must be at most 190 characters" : undefined),
    ),
    slotCount: r.integer("slot_count", 64, 4, 65536),
    slotSize: r.integer("slot_size", 1_048_576, 4096, 268_435_456, { reason: SLOT_SIZE_REASON }),
    mode: r.integer("mode", 0o640, 0o600, 0o777, { reason: MODE_REASON }),
  };
  if (!r.failed("slot_size") && shm.slotSize % SLOT_ALIGN !== 0) {
    r.report("slot_size", shm.slotSize, SLOT_SIZE_REASON);
  }
  r.rejectUnknown();
  return shm;
}

function readIngest(r: TableReader): IngestConfig {
  const ingest: IngestConfig = {
    unconfiguredPaths: r.boolean("unconfigured_paths", true),
    secondPublisher: r.oneOf("second_publisher", "replace", SECOND_PUBLISHER),
  };
  r.rejectUnknown();
  return ingest;
}

function readPaths(
  readers: TableReader[],
  cameras: CameraConfig[],
  ingest: IngestConfig,
  shm: ShmConfig,
  rings: Map<string, string>,
): PathConfig[] {
  const firstPathByName = new Map<string, string>(cameras.map((c, i) => [c.name, `cameras[${i}]`]));
  return readers.map((r) => {
    const name = r.required("name", (v) => NAME.test(v) ? undefined : NAME_REASON);
    const path: PathConfig = {
      name,
      codec: r.oneOf("codec", "h264", CODECS),
      secondPublisher: r.oneOf("second_publisher", ingest.secondPublisher, SECOND_PUBLISHER),
      publishTokens: r.stringList("publish_tokens", checkToken),
      viewTokens: r.stringList("view_tokens", checkToken),
      push: readPush(r),
      ...readRing(r, shm, name),
    };
    if (!r.failed("name")) {
      const first = firstPathByName.get(path.name);
      if (first === undefined) firstPathByName.set(path.name, r.path);
      else r.report("name", path.name, `duplicate stream name (also ${first})`);
      if (first === undefined) claimRing(r, path, rings);
    }
    r.rejectUnknown();
    return path;
  });
}

/** A camera's or path's `[[...push]]` tables. */
function readPush(r: TableReader): PushTarget[] {
  return r.tableArray("push").map((t) => {
    const target: PushTarget = {
      url: t.required("url", checkPushUrl),
      // Not checked as ours are (length, alphabet): the upstream server decides what its tokens look like.
      token: t.string("token", "", (v) => /^[\x21-\x7e]*$/.test(v) ? undefined : PUSH_TOKEN_REASON),
    };
    t.rejectUnknown();
    return target;
  });
}

/** A camera's or path's `shm` and `shm_name`. */
function readRing(r: TableReader, shm: ShmConfig, name: string): { shm: boolean; shmName: string } {
  return {
    shm: r.boolean("shm", shm.enabled),
    // Empty (the default) means <prefix>-<name>.
    shmName: r.string("shm_name", "", (v) => v === "" ? undefined : objectNameProblem(v)) ||
      ringObjectName(shm.prefix, name),
  };
}

/** Records a stream's ring name in `rings` (name → first key that took it), or reports the collision. */
function claimRing(
  r: TableReader,
  entry: { name: string; shm: boolean; shmName: string },
  rings: Map<string, string>,
) {
  if (!entry.shm || r.failed("shm_name")) return;
  const first = rings.get(entry.shmName);
  const key = r.has("shm_name") ? "shm_name" : "name";
  if (first === undefined) rings.set(entry.shmName, `${r.path}.${key}`);
  else {
    r.report(
      key,
      r.has("shm_name") ? entry.shmName : entry.name,
      `its ring /dev/shm/${entry.shmName} collides with ${first}`,
    );
  }
}

function readCameras(
  readers: TableReader[],
  serverPort: number,
  shm: ShmConfig,
  rings: Map<string, string>,
): CameraConfig[] {
  const firstPathByName = new Map<string, string>();
  const firstPathByPort = new Map<number, string>([[serverPort, "server.port"]]);
  return readers.map((r) => {
    const camera = readCamera(r, shm);
    let nameTaken = r.failed("name");
    if (!r.failed("name")) {
      const first = firstPathByName.get(camera.name);
      if (first === undefined) firstPathByName.set(camera.name, r.path);
      else r.report("name", camera.name, `duplicate camera name (also ${first})`);
      nameTaken = first !== undefined;
    }
    // The same camera name is reported above.
    if (!nameTaken) claimRing(r, camera, rings);
    if (camera.webrtcPort !== 0) {
      const first = firstPathByPort.get(camera.webrtcPort);
      if (first === undefined) firstPathByPort.set(camera.webrtcPort, `${r.path}.webrtc_port`);
      else r.report("webrtc_port", camera.webrtcPort, `port already used by ${first}`);
    }
    return camera;
  });
}

function readCamera(r: TableReader, shm: ShmConfig): CameraConfig {
  const name = r.required("name", (v) => NAME.test(v) ? undefined : NAME_REASON);
  const source = r.oneOf("source", "test", SOURCE_KINDS);
  const device = r.failed("source") ? r.string("device", "") : readDevice(r, source);
  const codec = r.oneOf("codec", "h264", CODECS);
  const encoder = r.oneOf("encoder", "auto", ENCODER_NAMES);
  if (!r.failed("codec") && !r.failed("encoder") && !encoderFits(codec, encoder)) {
    const allowed = ENCODER_NAMES.filter((e) => encoderFits(codec, e)).join(", ");
    r.report("encoder", encoder, `does not fit codec "${codec}" (use one of: ${allowed})`);
  }
  const camera: CameraConfig = {
    name,
    source,
    device,
    pattern: r.oneOf("pattern", "smpte", TEST_PATTERNS),
    width: r.integer("width", 640, 16, 4096, { even: true }),
    height: r.integer("height", 480, 16, 4096, { even: true }),
    fps: r.integer("fps", 30, 1, 120),
    codec,
    encoder,
    bitrate: r.integer("bitrate", 2_000_000, 50_000, 50_000_000),
    keyframeInterval: r.integer("keyframe_interval", 30, 1, 1000),
    flipMethod: r.oneOf("flip_method", "none", FLIP_METHODS),
    scalingEnabled: r.boolean("scaling_enabled", false),
    webrtcPort: r.integer("webrtc_port", 0, 0, 65535),
    viewTokens: r.stringList("view_tokens", checkToken),
    ...readRing(r, shm, name),
    push: readPush(r),
  };
  r.rejectUnknown();
  return camera;
}

/**
 * The device string ends up inside a gst-launch description, which gst-launch re-parses as a whole:
 * a space, '!', quote or '=' in it would add elements or properties, so only plain path characters pass.
 */
function readDevice(r: TableReader, source: SourceKind): string {
  switch (source) {
    case "test":
      return r.string("device", "", (v) => v === "" ? undefined : `must be empty for source "test"`);
    case "libcamera":
      return r.string("device", "", (v) => LIBCAMERA_NAME.test(v) ? undefined : LIBCAMERA_REASON);
    case "v4l2":
      return r.string("device", "", (v) => isDevicePath(v) ? undefined : DEVICE_REASON) || "/dev/video0";
  }
}

function encoderFits(codec: Codec, encoder: EncoderName): boolean {
  return encoder === "auto" || (codec === "vp8") === (encoder === "vp8");
}

// ---- value rules ----

const NAME = /^[a-z0-9][a-z0-9_-]{0,62}$/;
const NAME_REASON = "must be 1-63 of a-z, 0-9, '_' and '-', starting with a letter or digit (used in URLs)";
const LIBCAMERA_NAME = /^[A-Za-z0-9_/@.:+-]*$/;
const LIBCAMERA_REASON = "must contain only A-Z a-z 0-9 _ / @ . : + - (a libcamera camera name or empty)";
const DEVICE_PATH = /^\/dev\/[A-Za-z0-9_\-./:]+$/;
const DEVICE_REASON = "must be a device path like /dev/video0 (A-Z a-z 0-9 _ - . / : only, no '..')";
const IP_REASON = "must be an IPv4 or IPv6 address";
const SLOT_SIZE_REASON = `must be a multiple of ${SLOT_ALIGN} from 4096 to 268435456 (bytes)`;
const MODE_REASON = "must be a permission mode from 0o600 to 0o777 (the owner reads and writes), e.g. 0o640";
const ICE_URL = /^(stun|turns?):(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9.-]+)(:\d{1,5})?(\?transport=(udp|tcp))?$/;
const ICE_URL_REASON = `must be a stun:, turn: or turns: URL such as "stun:stun.example.org:3478"`;
/** Linux interface names: at most 15 characters (IFNAMSIZ). */
const INTERFACE = /^[A-Za-z0-9_.:@-]{1,15}$/;

function checkInterface(v: string): string | undefined {
  return INTERFACE.test(v) ? undefined : "must be a network interface name such as eth0 (1-15 characters)";
}

function checkLinkParam(v: string): string | undefined {
  // deno-lint-ignore no-control-regex
  return /["\\\x00-\x1f\x7f]/.test(v)
    ? "must not contain quotes, backslashes or control characters"
    : undefined;
}
const HOST_REASON = "must be an IP address or a host name";
const PUSH_TOKEN_REASON =
  "must be printable ASCII without spaces (it is sent as `Authorization: Bearer <token>`)";

function checkPushUrl(v: string): string | undefined {
  if (!URL.canParse(v)) return "must be a URL such as https://example.org/whip/cam1";
  const url = new URL(v);
  if (url.protocol !== "http:" && url.protocol !== "https:") return "must be an http: or https: URL";
  if (url.username || url.password) return "must not carry credentials (use token)";
}

/** Shortest token taken: 16 random characters are beyond guessing over HTTP; "changeme" is not. */
export const MIN_TOKEN_LENGTH = 16;
/** RFC 6750's b64token: what may follow "Bearer " in a header without quoting. */
const B64TOKEN = /^[A-Za-z0-9\-._~+/]+=*$/;

/**
 * A token must be usable as `Authorization: Bearer <token>` and hard to guess. Whitespace gets its own
 * reason: it is the usual mistake (a pasted newline) and a header could never carry it.
 */
function checkToken(v: string): string | undefined {
  if (v === "") return "must not be empty";
  if (/\s/.test(v)) return "must not contain whitespace";
  if (!B64TOKEN.test(v)) {
    return "must contain only A-Z a-z 0-9 - . _ ~ + / (then optional '=' padding), as RFC 6750 Bearer tokens do";
  }
  if (v.length < MIN_TOKEN_LENGTH) return `must be at least ${MIN_TOKEN_LENGTH} characters`;
}

function isDevicePath(v: string): boolean {
  return v === "" || (DEVICE_PATH.test(v) && !v.split("/").includes(".."));
}

const IPV4_PART = "(25[0-5]|2[0-4]\\d|1\\d\\d|[1-9]?\\d)";
const IPV4 = new RegExp(`^${IPV4_PART}(\\.${IPV4_PART}){3}$`);
const HOST_LABEL = "[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?";
const HOSTNAME = new RegExp(`^${HOST_LABEL}(\\.${HOST_LABEL})*$`);

function isIpv6(v: string): boolean {
  // The URL parser knows every IPv6 spelling; the character check keeps it from seeing anything else.
  if (!/^[0-9A-Fa-f:.]+$/.test(v) || !v.includes(":")) return false;
  return URL.canParse(`http://[${v}]/`);
}

function isIpLiteral(v: string): boolean {
  return IPV4.test(v) || isIpv6(v);
}

function isHost(v: string): boolean {
  // All-digit names are IPv4 attempts: "999.1.1.1" must not pass as a host name.
  return isIpLiteral(v) || (HOSTNAME.test(v) && v.length <= 253 && !/^[\d.]+$/.test(v));
}

/** Splits a `--listen` value; returns a reason when it does not parse. */
function parseListen(text: string): { host?: string; port?: number } | string {
  const reason = `must be "host:port", "host", ":port" or "[ipv6]:port"`;
  let host: string | undefined;
  let port: string | undefined;
  const bracketed = /^\[([^\]]*)\](?::(.*))?$/.exec(text);
  if (bracketed) {
    [host, port] = [bracketed[1], bracketed[2]];
    if (!isIpv6(host)) return `${reason}; "${host}" is not an IPv6 address`;
  } else if (isIpv6(text)) {
    host = text;
  } else {
    const parts = text.split(":");
    if (parts.length > 2) return reason;
    [host, port] = [parts[0] || undefined, parts[1]];
    if (host !== undefined && !isHost(host)) return `${reason}; "${host}" is not an IP address or host name`;
  }
  if (port === undefined) return host === undefined ? reason : { host };
  if (!/^\d{1,5}$/.test(port) || Number(port) > 65535) return `port must be an integer from 0 to 65535`;
  return { host, port: Number(port) };
}

// ---- reading tables ----

type Table = Record<string, unknown>;

function isTable(v: unknown): v is Table {
  if (typeof v !== "object" || v === null || Array.isArray(v)) return false;
  // smol-toml builds tables without a prototype; TomlDate and other objects have one.
  const proto = Object.getPrototypeOf(v);
  return proto === null || proto === Object.prototype;
}

/**
 * Key paths whose values are secrets: every `[auth]` key, any key naming a token, and TURN credentials.
 * Problem lines go to the journal, where a token must never appear, even a bad or misspelt one.
 */
const SECRET_PATH = /^auth(\.|\[|$)|token|credential|password|secret/i;
/** The same, for key names inside a table shown whole (`[cameras]` written instead of `[[cameras]]`). */
const SECRET_KEY = /^auth$|token|credential|password|secret/i;

function problem(path: string, value: unknown, reason: string): string {
  // Not even the length: a bad token fixed by trimming a character would have had it told.
  if (SECRET_PATH.test(path)) return `${path}: <redacted> — ${reason}`;
  const json = JSON.stringify(value, (key, v) => SECRET_KEY.test(key) ? "<redacted>" : v) ?? String(value);
  // A whole table as the value would make an unreadable line.
  const shown = json.length > 80 ? `${json.slice(0, 77)}...` : json;
  return `${path}: ${shown} — ${reason}`;
}

/**
 * Reads typed keys out of one TOML table. Each bad key adds a problem line and yields the default, so
 * every problem in the file is found in one pass; keys no read asked for are reported as unknown.
 */
class TableReader {
  readonly #seen = new Set<string>();
  readonly #failed = new Set<string>();

  constructor(
    private readonly values: Table,
    /** Key path of this table, e.g. `cameras[1]`. */
    readonly path: string,
    private readonly problems: string[],
  ) {}

  /** Adds a problem for `key`. */
  report(key: string, value: unknown, reason: string): void {
    this.#failed.add(key);
    this.problems.push(problem(this.#at(key), value, reason));
  }

  /** Adds a problem for a key that must be present and is not. */
  missing(key: string, reason: string): void {
    this.#seen.add(key);
    this.#failed.add(key);
    this.problems.push(`${this.#at(key)}: (missing) — ${reason}`);
  }

  /** Whether `key` was reported bad, so cross-checks skip it instead of piling up. */
  failed(key: string): boolean {
    return this.#failed.has(key);
  }

  /** Whether the table has this key at all. */
  has(key: string): boolean {
    return this.values[key] !== undefined;
  }

  integer(
    key: string,
    fallback: number,
    min: number,
    max: number,
    { even = false, required = false, reason }: { even?: boolean; required?: boolean; reason?: string } = {},
  ): number {
    const range = reason ?? `must be ${even ? "an even" : "an"} integer from ${min} to ${max}`;
    if (required && !this.has(key)) {
      this.missing(key, range);
      return fallback;
    }
    return this.#read(key, fallback, (v) => {
      if (typeof v !== "number" || !Number.isInteger(v)) return even ? range : "must be an integer";
      if (v < min || v > max || (even && v % 2 !== 0)) return range;
    });
  }

  string(key: string, fallback: string, check: (v: string) => string | undefined = () => undefined): string {
    return this.#read(key, fallback, (v) => typeof v === "string" ? check(v) : "must be a string");
  }

  /** An array of strings, each checked; a missing one reads as empty. */
  stringList(key: string, check: (v: string) => string | undefined): string[] {
    return this.#list(key, false, check);
  }

  /** One string or a non-empty array of them, each checked; always a list. Required. */
  stringOrList(key: string, check: (v: string) => string | undefined): string[] {
    return this.#list(key, true, check);
  }

  #list(key: string, single: boolean, check: (v: string) => string | undefined): string[] {
    this.#seen.add(key);
    const value = this.values[key];
    if (value === undefined) {
      if (single) this.missing(key, "required");
      return [];
    }
    if (single && typeof value === "string") {
      const reason = check(value);
      if (reason === undefined) return [value];
      this.report(key, value, reason);
      return [];
    }
    const shape = single ? "must be a string or a non-empty array of strings" : "must be an array of strings";
    if (!Array.isArray(value) || (single && value.length === 0)) {
      this.report(key, value, shape);
      return [];
    }
    const list: string[] = [];
    value.forEach((item, i) => {
      const reason = typeof item === "string" ? check(item) : "must be a string";
      if (reason === undefined) list.push(item);
      else this.report(`${key}[${i}]`, item, reason);
    });
    return list;
  }

  /** A string that must be present. */
  required(key: string, check: (v: string) => string | undefined): string {
    if (this.values[key] === undefined) {
      this.missing(key, "required");
      return "";
    }
    return this.string(key, "", check);
  }

  oneOf<T extends string>(key: string, fallback: T, allowed: readonly T[]): T {
    return this.#read(
      key,
      fallback,
      (v) => allowed.includes(v as T) ? undefined : `must be one of: ${allowed.join(", ")}`,
    );
  }

  boolean(key: string, fallback: boolean): boolean {
    return this.#read(key, fallback, (v) => typeof v === "boolean" ? undefined : "must be true or false");
  }

  /** A sub-table; a missing one reads as empty so its defaults apply. */
  table(key: string): TableReader {
    const value = this.#read<unknown>(key, {}, (v) => isTable(v) ? undefined : "must be a table");
    return new TableReader(isTable(value) ? value : {}, this.#at(key), this.problems);
  }

  /** An array of tables (`[[key]]`); a missing one reads as empty. */
  tableArray(key: string): TableReader[] {
    const value = this.#read<unknown[]>(
      key,
      [],
      (v) => Array.isArray(v) ? undefined : `must be an array of tables ([[${key}]])`,
    );
    const readers: TableReader[] = [];
    value.forEach((item, i) => {
      const path = `${this.#at(key)}[${i}]`;
      if (isTable(item)) readers.push(new TableReader(item, path, this.problems));
      else this.problems.push(problem(path, item, "must be a table"));
    });
    return readers;
  }

  /** Reports every key of this table that no read asked for. */
  rejectUnknown(): void {
    for (const [key, value] of Object.entries(this.values)) {
      if (!this.#seen.has(key)) this.report(key, value, "unknown key");
    }
  }

  #read<T>(key: string, fallback: T, check: (v: unknown) => string | undefined): T {
    this.#seen.add(key);
    const value = this.values[key];
    if (value === undefined) return fallback;
    const reason = check(value);
    if (reason === undefined) return value as T;
    this.report(key, value, reason);
    return fallback;
  }

  #at(key: string): string {
    return this.path === "" ? key : `${this.path}.${key}`;
  }
}
