/**
 * One reader per config section: the keys it knows, their defaults and ranges, and the rules that span
 * keys (ring names unique across cameras and paths, an encoder that fits the codec). Problems are
 * collected, never thrown, so a file with five mistakes gets five lines.
 */
import type { Codec } from "../stream/access_unit.ts";
import { LOG_LEVELS } from "../log.ts";
import { objectNameProblem, ringObjectName, SLOT_ALIGN } from "../shm/layout.ts";
import { EVENT_NAMES, type EventName } from "../events.ts";
import {
  type AuthConfig,
  type CameraConfig,
  CODECS,
  type DebugConfig,
  ENCODER_NAMES,
  type EncoderName,
  FLIP_METHODS,
  FSYNC_POLICIES,
  type HookConfig,
  type IceServerConfig,
  type IngestConfig,
  type LimitsConfig,
  type MetricsConfig,
  type PathConfig,
  type PushTarget,
  RECORDING_FORMATS,
  type RecordingConfig,
  SECOND_PUBLISHER,
  type ServerConfig,
  type ShmConfig,
  SOURCE_KINDS,
  type SourceKind,
  type SupervisorConfig,
  TEST_PATTERNS,
  type WebrtcConfig,
} from "./schema.ts";
import {
  checkAllowedHost,
  checkInterface,
  checkLinkParam,
  checkOrigin,
  checkPushUrl,
  checkToken,
  DEVICE_REASON,
  DURATION_REASON,
  HOST_REASON,
  ICE_URL,
  ICE_URL_REASON,
  IP_REASON,
  isDevicePath,
  isHost,
  isIpLiteral,
  LIBCAMERA_NAME,
  LIBCAMERA_REASON,
  MODE_REASON,
  NAME,
  NAME_REASON,
  parseByteSize,
  parseDuration,
  parseListen,
  PUSH_TOKEN_REASON,
  SIZE_REASON,
  SLOT_SIZE_REASON,
} from "./rules.ts";
import { TableReader } from "./table.ts";

/** `[server]`. */
export function readServer(r: TableReader): ServerConfig {
  const server: ServerConfig = {
    listen: r.string("listen", "0.0.0.0", (v) => isHost(v) ? undefined : HOST_REASON),
    port: r.integer("port", 8080, 0, 65535),
    logLevel: r.oneOf("log_level", "info", LOG_LEVELS),
    publicIp: r.string("public_ip", "", (v) => v === "" || isIpLiteral(v) ? undefined : IP_REASON),
    allowedOrigins: r.stringList("allowed_origins", checkOrigin),
    allowedHosts: r.stringList("allowed_hosts", checkAllowedHost),
  };
  r.rejectUnknown();
  return server;
}

/** `[limits]`. */
export function readLimits(r: TableReader): LimitsConfig {
  const limits: LimitsConfig = {
    maxMemoryUsageMb: r.integer("max_memory_usage_mb", 512, 32, 65536),
    readerQueueFrames: r.integer("reader_queue_frames", 90, 2, 10000),
    maxWsPlayersPerStream: r.integer("max_ws_players_per_stream", 30, 1, 1000),
    maxWsPlayers: r.integer("max_ws_players", 100, 1, 10000),
  };
  r.rejectUnknown();
  return limits;
}

/** `[supervisor]`. */
export function readSupervisor(r: TableReader): SupervisorConfig {
  const stallTimeoutMs = r.integer("stall_timeout_ms", 5000, 500, 600000);
  const restartDelayMs = r.integer("restart_delay_ms", 500, 50, 600000);
  // A cap below the first delay would make the backoff shrink; the cap's range starts at the delay.
  const restartDelayMaxMs = r.integer("restart_delay_max_ms", 30000, restartDelayMs, 600000);
  // Ten a second is already past anything but a crash loop, which is what the ceiling is for.
  const maxRestartsPerMinute = r.integer("max_restarts_per_minute", 30, 1, 600);
  r.rejectUnknown();
  return { stallTimeoutMs, restartDelayMs, restartDelayMaxMs, maxRestartsPerMinute };
}

/** `[webrtc]` with its `[[webrtc.ice_servers]]`. */
export function readWebrtc(r: TableReader): WebrtcConfig {
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
  const maxPending = r.integer("max_pending", 32, 1, 1000);
  const maxPendingPerAddress = r.integer("max_pending_per_address", 8, 1, maxPending);
  const handshakeTimeoutMs = r.integer("handshake_timeout_ms", 10000, 1000, 60000);
  const mdnsCandidates = r.boolean("mdns_candidates", false);
  r.rejectUnknown();
  return {
    iceServers,
    interfacesInclude,
    interfacesExclude,
    udpPortMin,
    udpPortMax,
    maxClients,
    maxPending,
    maxPendingPerAddress,
    handshakeTimeoutMs,
    mdnsCandidates,
  };
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

/** `[auth]`. */
export function readAuth(r: TableReader): AuthConfig {
  const auth: AuthConfig = {
    publishTokens: r.stringList("publish_tokens", checkToken),
    viewTokens: r.stringList("view_tokens", checkToken),
    apiReadTokens: r.stringList("api_read_tokens", checkToken),
    apiChangeTokens: r.stringList("api_change_tokens", checkToken),
  };
  r.rejectUnknown();
  return auth;
}

/** `[shm]`. */
export function readShm(r: TableReader): ShmConfig {
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
    mode: r.integer("mode", 0o600, 0o600, 0o777, { reason: MODE_REASON }),
  };
  if (!r.failed("slot_size") && shm.slotSize % SLOT_ALIGN !== 0) {
    r.report("slot_size", shm.slotSize, SLOT_SIZE_REASON);
  }
  r.rejectUnknown();
  return shm;
}

/** `[ingest]`. */
export function readIngest(r: TableReader): IngestConfig {
  const ingest: IngestConfig = {
    unconfiguredPaths: r.boolean("unconfigured_paths", true),
    secondPublisher: r.oneOf("second_publisher", "replace", SECOND_PUBLISHER),
    maxPaths: r.integer("max_paths", 8, 0, 1000),
    pathIdleTimeoutMs: r.integer("path_idle_timeout_ms", 30000, 1000, 3600000),
  };
  r.rejectUnknown();
  return ingest;
}

/** `[recording]`. */
export function readRecording(r: TableReader): RecordingConfig {
  const recording: RecordingConfig = {
    dir: r.string("dir", "recordings", (v) => v.trim() === "" ? "must be a folder path" : undefined),
    format: r.oneOf("format", "fmp4", RECORDING_FORMATS),
    // Under 100 ms a part is a write every few frames: the SD-card wear the parts exist to avoid.
    partMs: r.integer("part_ms", 1000, 100, 60_000),
    segmentS: r.integer("segment_s", 600, 1, 86_400),
    deleteAfterMs: r.quantity("delete_after", 7 * 86_400_000, parseDuration, DURATION_REASON),
    maxBytes: r.quantity("max_bytes", 0, parseByteSize, SIZE_REASON),
    minFreeBytes: r.quantity("min_free_bytes", 1e9, parseByteSize, SIZE_REASON),
    fsync: r.oneOf("fsync", "segment", FSYNC_POLICIES),
  };
  r.rejectUnknown();
  return recording;
}

/** `[metrics]`; its port must not be the main one. */
export function readMetrics(r: TableReader, serverPort: number): MetricsConfig {
  let listen: MetricsConfig["listen"] = null;
  const text = r.string("listen", "", (v) => {
    if (v === "") return undefined;
    const parsed = parseListen(v);
    if (typeof parsed === "string") return parsed;
    if (parsed.port === undefined) return 'must name a port ("127.0.0.1:9090" or ":9090")';
    if (parsed.port !== 0 && parsed.port === serverPort) return "port already used by server.port";
  });
  if (text !== "" && !r.failed("listen")) {
    const parsed = parseListen(text) as { host?: string; port: number };
    listen = { hostname: parsed.host ?? "0.0.0.0", port: parsed.port };
  }
  r.rejectUnknown();
  return { listen };
}

/** `[debug]`. */
export function readDebug(r: TableReader): DebugConfig {
  const debug: DebugConfig = { enabled: r.boolean("enabled", false) };
  r.rejectUnknown();
  return debug;
}

/** `[[hooks]]`: each names its events and exactly one of `url` or `run`. */
export function readHooks(readers: TableReader[]): HookConfig[] {
  const events = `must be one of: ${EVENT_NAMES.join(", ")}`;
  return readers.map((r) => {
    const hook: HookConfig = {
      on: r.stringOrList(
        "on",
        (v) => EVENT_NAMES.includes(v as EventName) ? undefined : events,
      ) as EventName[],
      url: r.string("url", "", (v) => v === "" ? undefined : checkHookUrl(v)),
      run: r.stringList("run", (v) => v === "" ? "must not be empty" : undefined),
      timeoutMs: r.integer("timeout_ms", 5000, 100, 600_000),
      retries: r.integer("retries", 3, 0, 10),
    };
    const hasUrl = r.has("url") && !r.failed("url");
    const hasRun = r.has("run") && !r.failed("run");
    if (hasUrl && hasRun) r.report("run", hook.run, "give either url or run, not both");
    else if (!r.has("url") && !r.has("run")) {
      r.missing("url", "a hook needs url (a webhook) or run (a program)");
    } else if (hasRun && hook.run.length === 0) r.report("run", hook.run, "must name a program");
    r.rejectUnknown();
    return hook;
  });
}

function checkHookUrl(v: string): string | undefined {
  if (!URL.canParse(v)) return "must be a URL such as http://127.0.0.1:8123/api/webhook/edgecam";
  const url = new URL(v);
  if (url.protocol !== "http:" && url.protocol !== "https:") return "must be an http: or https: URL";
}

/** `[[paths]]`: WHIP paths, their names unique among cameras and paths and their rings claimed. */
export function readPaths(
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
      record: r.boolean("record", false),
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

/** `[[cameras]]`: names, signaling ports and rings unique. */
export function readCameras(
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
    record: r.boolean("record", false),
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
