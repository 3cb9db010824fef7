import assert from "node:assert/strict";
import {
  applyOverrides,
  ConfigError,
  loadConfig,
  type Overrides,
  parseConfig,
  validateConfig,
} from "../../lib/config/load.ts";
import { type Config, type ServerConfig } from "../../lib/config/schema.ts";
import { EVENT_NAMES } from "../../lib/events.ts";
import { DURATION_REASON, parseByteSize, parseDuration, SIZE_REASON } from "../../lib/config/rules.ts";

/** The problem lines a call throws; fails the test when it throws nothing or something else. */
function problemsOf(fn: () => unknown): string[] {
  try {
    fn();
  } catch (err) {
    if (err instanceof ConfigError) return err.problems;
    throw err;
  }
  assert.fail("expected a ConfigError");
}

const NAME_REASON = "must be 1-63 of a-z, 0-9, '_' and '-', starting with a letter or digit (used in URLs)";
const DEVICE_REASON = "must be a device path like /dev/video0 (A-Z a-z 0-9 _ - . / : only, no '..')";
const ICE_URL_REASON = `must be a stun:, turn: or turns: URL such as "stun:stun.example.org:3478"`;
const LIBCAMERA_REASON = "must contain only A-Z a-z 0-9 _ / @ . : + - (a libcamera camera name or empty)";

Deno.test("an empty file means every default and no cameras", () => {
  assert.deepEqual(parseConfig(""), {
    server: {
      listen: "0.0.0.0",
      port: 8080,
      logLevel: "info",
      publicIp: "",
      allowedOrigins: [],
      allowedHosts: [],
    },
    limits: { maxMemoryUsageMb: 512, readerQueueFrames: 90, maxWsPlayersPerStream: 30, maxWsPlayers: 100 },
    supervisor: {
      stallTimeoutMs: 5000,
      restartDelayMs: 500,
      restartDelayMaxMs: 30000,
      maxRestartsPerMinute: 30,
    },
    webrtc: {
      iceServers: [],
      interfacesInclude: [],
      interfacesExclude: [],
      udpPortMin: 0,
      udpPortMax: 0,
      maxClients: 30,
      maxPending: 32,
      maxPendingPerAddress: 8,
      handshakeTimeoutMs: 10000,
      mdnsCandidates: false,
    },
    auth: { publishTokens: [], viewTokens: [], apiReadTokens: [], apiChangeTokens: [] },
    shm: { enabled: true, prefix: "edgecam", slotCount: 64, slotSize: 1_048_576, mode: 0o600 },
    ingest: { unconfiguredPaths: true, secondPublisher: "replace", maxPaths: 8, pathIdleTimeoutMs: 30000 },
    recording: {
      dir: "recordings",
      format: "fmp4",
      partMs: 1000,
      segmentS: 600,
      deleteAfterMs: 7 * 86_400_000,
      maxBytes: 0,
      minFreeBytes: 1_000_000_000,
      fsync: "segment",
    },
    metrics: { listen: null },
    debug: { enabled: false },
    hooks: [],
    cameras: [],
    paths: [],
  });
});

Deno.test("a camera with only a name gets every camera default", () => {
  assert.deepEqual(parseConfig(`[[cameras]]\nname = "front"`).cameras, [{
    name: "front",
    source: "test",
    device: "",
    pattern: "smpte",
    width: 640,
    height: 480,
    fps: 30,
    codec: "h264",
    encoder: "auto",
    bitrate: 2_000_000,
    keyframeInterval: 30,
    flipMethod: "none",
    scalingEnabled: false,
    webrtcPort: 0,
    viewTokens: [],
    shm: true,
    shmName: "edgecam-front",
    push: [],
    record: false,
  }]);
});

Deno.test("a WHIP path with only a name gets every path default, second_publisher from [ingest]", () => {
  const config = parseConfig(`[ingest]\nsecond_publisher = "refuse"\n[[paths]]\nname = "obs"`);
  assert.deepEqual(config.paths, [{
    name: "obs",
    codec: "h264",
    secondPublisher: "refuse",
    publishTokens: [],
    viewTokens: [],
    push: [],
    shm: true,
    shmName: "edgecam-obs",
    record: false,
  }]);
});

Deno.test("every key, when given, lands in its camelCase field", () => {
  const config = parseConfig(`
[server]
listen = "::"
port = 0
log_level = "debug"
public_ip = "203.0.113.7"
allowed_origins = ["https://nvr.example.org", "http://192.168.1.5:8080"]
allowed_hosts = ["camera.lan", "10.0.0.9"]
[limits]
max_memory_usage_mb = 1024
reader_queue_frames = 2
max_ws_players_per_stream = 3
max_ws_players = 7
[supervisor]
stall_timeout_ms = 500
restart_delay_ms = 50
restart_delay_max_ms = 50
max_restarts_per_minute = 1
[webrtc]
interfaces_include = ["eth0", "wlan0"]
interfaces_exclude = ["docker0"]
udp_port_min = 40000
udp_port_max = 40100
max_clients = 5
max_pending = 6
max_pending_per_address = 2
handshake_timeout_ms = 5000
mdns_candidates = true
[[webrtc.ice_servers]]
urls = "stun:stun.example.org:3478"
[[webrtc.ice_servers]]
urls = ["turn:turn.example.org:3478?transport=udp", "turns:turn.example.org:5349"]
username = "user"
credential = "secret"
[auth]
publish_tokens = ["publish-0123456789abcdef"]
view_tokens = ["view-0123456789abcdef", "view2-0123456789abcdef"]
api_read_tokens = ["read-0123456789abcdef"]
api_change_tokens = ["change-0123456789abcdef"]
[shm]
enabled = false
prefix = "cams.v1"
slot_count = 4
slot_size = 4096
mode = 0o600
[[cameras]]
name = "pi_cam-2"
source = "libcamera"
device = "/base/soc/i2c0mux/i2c@1/imx219@10"
pattern = "ball"
width = 1920
height = 1080
fps = 120
codec = "vp8"
encoder = "vp8"
bitrate = 50_000_000
keyframe_interval = 1000
flip_method = "rotate-270"
scaling_enabled = true
webrtc_port = 5557
view_tokens = ["camera-0123456789abcdef"]
shm = true
shm_name = "video_stream"
record = true
[[cameras.push]]
url = "https://central.example.org/whip/pi1"
token = "short:theirs"  # an upstream server's token follows its own rules
[ingest]
unconfigured_paths = false
second_publisher = "refuse"
max_paths = 3
path_idle_timeout_ms = 60000
[recording]
dir = "/var/lib/edgecam/recordings"
format = "h264"
part_ms = 250
segment_s = 60
delete_after = "36h"
max_bytes = "20GiB"
min_free_bytes = "500MB"
fsync = "part"
[metrics]
listen = "127.0.0.1:9090"
[debug]
enabled = true
[[hooks]]
on = "stream_lost"
url = "https://hooks.example.org/edgecam"
timeout_ms = 2000
retries = 0
[[hooks]]
on = ["recording_segment_complete", "recording_error"]
run = ["/usr/local/bin/upload", "--bucket", "cams"]
[[paths]]
name = "obs"
codec = "vp8"
record = true
second_publisher = "replace"
publish_tokens = ["obs-publish-0123456789"]
view_tokens = ["obs-view-0123456789ab"]
shm = false
shm_name = "obs_ring"
[[paths.push]]
url = "http://10.0.0.2:8080/obs/whip"
`);
  assert.deepEqual(config, {
    server: {
      listen: "::",
      port: 0,
      logLevel: "debug",
      publicIp: "203.0.113.7",
      allowedOrigins: ["https://nvr.example.org", "http://192.168.1.5:8080"],
      allowedHosts: ["camera.lan", "10.0.0.9"],
    },
    limits: { maxMemoryUsageMb: 1024, readerQueueFrames: 2, maxWsPlayersPerStream: 3, maxWsPlayers: 7 },
    supervisor: { stallTimeoutMs: 500, restartDelayMs: 50, restartDelayMaxMs: 50, maxRestartsPerMinute: 1 },
    webrtc: {
      iceServers: [
        { urls: ["stun:stun.example.org:3478"], username: "", credential: "" },
        {
          urls: ["turn:turn.example.org:3478?transport=udp", "turns:turn.example.org:5349"],
          username: "user",
          credential: "secret",
        },
      ],
      interfacesInclude: ["eth0", "wlan0"],
      interfacesExclude: ["docker0"],
      udpPortMin: 40000,
      udpPortMax: 40100,
      maxClients: 5,
      maxPending: 6,
      maxPendingPerAddress: 2,
      handshakeTimeoutMs: 5000,
      mdnsCandidates: true,
    },
    auth: {
      publishTokens: ["publish-0123456789abcdef"],
      viewTokens: ["view-0123456789abcdef", "view2-0123456789abcdef"],
      apiReadTokens: ["read-0123456789abcdef"],
      apiChangeTokens: ["change-0123456789abcdef"],
    },
    shm: { enabled: false, prefix: "cams.v1", slotCount: 4, slotSize: 4096, mode: 0o600 },
    cameras: [{
      name: "pi_cam-2",
      source: "libcamera",
      device: "/base/soc/i2c0mux/i2c@1/imx219@10",
      pattern: "ball",
      width: 1920,
      height: 1080,
      fps: 120,
      codec: "vp8",
      encoder: "vp8",
      bitrate: 50_000_000,
      keyframeInterval: 1000,
      flipMethod: "rotate-270",
      scalingEnabled: true,
      webrtcPort: 5557,
      viewTokens: ["camera-0123456789abcdef"],
      shm: true,
      shmName: "video_stream",
      push: [{ url: "https://central.example.org/whip/pi1", token: "short:theirs" }],
      record: true,
    }],
    ingest: { unconfiguredPaths: false, secondPublisher: "refuse", maxPaths: 3, pathIdleTimeoutMs: 60000 },
    recording: {
      dir: "/var/lib/edgecam/recordings",
      format: "h264",
      partMs: 250,
      segmentS: 60,
      deleteAfterMs: 36 * 3_600_000,
      maxBytes: 20 * 1024 ** 3,
      minFreeBytes: 500_000_000,
      fsync: "part",
    },
    metrics: { listen: { hostname: "127.0.0.1", port: 9090 } },
    debug: { enabled: true },
    hooks: [
      { on: ["stream_lost"], url: "https://hooks.example.org/edgecam", run: [], timeoutMs: 2000, retries: 0 },
      {
        on: ["recording_segment_complete", "recording_error"],
        url: "",
        run: ["/usr/local/bin/upload", "--bucket", "cams"],
        timeoutMs: 5000,
        retries: 3,
      },
    ],
    paths: [{
      name: "obs",
      codec: "vp8",
      secondPublisher: "replace",
      publishTokens: ["obs-publish-0123456789"],
      viewTokens: ["obs-view-0123456789ab"],
      push: [{ url: "http://10.0.0.2:8080/obs/whip", token: "" }],
      shm: false,
      shmName: "obs_ring",
      record: true,
    }],
  });
});

Deno.test("sizes are bytes or a number with a decimal or binary unit", async (t) => {
  const cases: [unknown, number | undefined][] = [
    [0, 0],
    [1234, 1234],
    ["1GB", 1e9],
    ["1 GB", 1e9],
    ["500mb", 5e8],
    ["1.5GB", 1.5e9],
    ["2GiB", 2 * 1024 ** 3],
    ["64KiB", 65536],
    ["12", 12],
    [-1, undefined],
    [1.5, undefined],
    ["1 gigabyte", undefined],
    ["GB", undefined],
    ["", undefined],
    [true, undefined],
  ];
  for (const [value, bytes] of cases) {
    await t.step(JSON.stringify(value), () => assert.equal(parseByteSize(value), bytes));
  }
});

Deno.test("durations are 0 or a number with s, m, h, d or w", async (t) => {
  const cases: [unknown, number | undefined][] = [
    [0, 0],
    ["0", 0],
    ["30s", 30_000],
    ["90m", 5_400_000],
    ["36h", 129_600_000],
    ["7d", 604_800_000],
    ["2w", 1_209_600_000],
    ["1.5h", 5_400_000],
    ["7", undefined],
    [7, undefined],
    ["7 days", undefined],
    ["-1d", undefined],
  ];
  for (const [value, ms] of cases) {
    await t.step(JSON.stringify(value), () => assert.equal(parseDuration(value), ms));
  }
});

Deno.test("accepted values", async (t) => {
  const cases: [string, string, (c: Config) => unknown, unknown][] = [
    ["v4l2 with no device uses /dev/video0", `source = "v4l2"`, (c) => c.cameras[0].device, "/dev/video0"],
    [
      "v4l2 by-id path",
      `source = "v4l2"\ndevice = "/dev/v4l/by-id/usb-046d_C920_A1B2-video-index0"`,
      (c) => c.cameras[0].device,
      "/dev/v4l/by-id/usb-046d_C920_A1B2-video-index0",
    ],
    [
      "libcamera with no device means the first camera",
      `source = "libcamera"`,
      (c) => c.cameras[0].device,
      "",
    ],
    ["h264 with openh264", `encoder = "openh264"`, (c) => c.cameras[0].encoder, "openh264"],
    ["vp8 with auto", `codec = "vp8"`, (c) => c.cameras[0].encoder, "auto"],
    ["one-character name", `name = "a"`, (c) => c.cameras[0].name, "a"],
    ["63-character name", `name = "${"a".repeat(63)}"`, (c) => c.cameras[0].name.length, 63],
    ["ring named by the camera", `name = "door"`, (c) => c.cameras[0].shmName, "edgecam-door"],
    [
      "ring named as the jmuxer WebSocket streamer did",
      `name = "cam"\nshm_name = "video_stream"`,
      (c) => c.cameras[0].shmName,
      "video_stream",
    ],
    ["one camera without a ring", `shm = false`, (c) => c.cameras[0].shm, false],
  ];
  for (const [name, cameraToml, pick, expected] of cases) {
    await t.step(name, () => {
      const toml = cameraToml.includes("name =") ? cameraToml : `name = "cam"\n${cameraToml}`;
      assert.deepEqual(pick(parseConfig(`[[cameras]]\n${toml}`)), expected);
    });
  }
  const servers: [string, string, Partial<ServerConfig>][] = [
    ["host name to listen on", `listen = "localhost"`, { listen: "localhost" }],
    ["IPv6 any", `listen = "::"`, { listen: "::" }],
    ["IPv6 public IP", `public_ip = "2001:db8::7"`, { publicIp: "2001:db8::7" }],
    ["ephemeral port", `port = 0`, { port: 0 }],
  ];
  for (const [name, serverToml, expected] of servers) {
    await t.step(name, () => {
      const { server } = parseConfig(`[server]\n${serverToml}`);
      assert.deepEqual({ ...server, ...expected }, server);
    });
  }
});

Deno.test("each bad value is one line: key path, value as JSON, reason", async (t) => {
  const cases: [string, string, string[]][] = [
    // unknown keys, at each level
    ["unknown top-level key", `colour = "red"`, [`colour: "red" — unknown key`]],
    ["unknown server key", `[server]\nhost = "x"`, [`server.host: "x" — unknown key`]],
    ["unknown limits key", `[limits]\nmax_payload_size_mb = 2`, [
      `limits.max_payload_size_mb: 2 — unknown key`,
    ]],
    ["unknown supervisor key", `[supervisor]\nretries = 3`, [`supervisor.retries: 3 — unknown key`]],
    [
      "unknown camera key",
      `[[cameras]]\nname = "a"\ncolour = "red"`,
      [`cameras[0].colour: "red" — unknown key`],
    ],
    // wrong types
    ["port as a string", `[server]\nport = "80"`, [`server.port: "80" — must be an integer`]],
    ["fractional fps", `[[cameras]]\nname = "a"\nfps = 29.97`, [
      `cameras[0].fps: 29.97 — must be an integer`,
    ]],
    ["listen as a number", `[server]\nlisten = 8080`, [`server.listen: 8080 — must be a string`]],
    [
      "boolean as a string",
      `[[cameras]]\nname = "a"\nscaling_enabled = "yes"`,
      [`cameras[0].scaling_enabled: "yes" — must be true or false`],
    ],
    ["section as a value", `server = 5`, [`server: 5 — must be a table`]],
    // WHIP paths and push targets
    ["path without a name", `[[paths]]\ncodec = "vp8"`, [`paths[0].name: (missing) — required`]],
    [
      "path named like a camera",
      `[[cameras]]\nname = "a"\n[[paths]]\nname = "a"`,
      [`paths[0].name: "a" — duplicate stream name (also cameras[0])`],
    ],
    [
      "unknown second_publisher",
      `[ingest]\nsecond_publisher = "kick"`,
      [`ingest.second_publisher: "kick" — must be one of: replace, refuse`],
    ],
    [
      "push URL that is not http(s)",
      `[[cameras]]\nname = "a"\n[[cameras.push]]\nurl = "ftp://x/whip"`,
      [`cameras[0].push[0].url: "ftp://x/whip" — must be an http: or https: URL`],
    ],
    [
      "push without a URL",
      `[[paths]]\nname = "a"\n[[paths.push]]\ntoken = "x"`,
      [`paths[0].push[0].url: (missing) — required`],
    ],
    [
      "[cameras] instead of [[cameras]]",
      `[cameras]\nname = "a"`,
      [`cameras: {"name":"a"} — must be an array of tables ([[cameras]])`],
    ],
    ["camera that is not a table", `cameras = [1]`, [`cameras[0]: 1 — must be a table`]],
    // [webrtc]
    ["unknown webrtc key", `[webrtc]\nmtu = 1200`, [`webrtc.mtu: 1200 — unknown key`]],
    ["ICE server without urls", `[[webrtc.ice_servers]]\nusername = "u"`, [
      `webrtc.ice_servers[0].urls: (missing) — required`,
    ]],
    ["ICE server URL that is not stun/turn", `[[webrtc.ice_servers]]\nurls = "http://stun.example.org"`, [
      `webrtc.ice_servers[0].urls: "http://stun.example.org" — ${ICE_URL_REASON}`,
    ]],
    ["bad URL in a list", `[[webrtc.ice_servers]]\nurls = ["stun:a.example", "stun:b example"]`, [
      `webrtc.ice_servers[0].urls[1]: "stun:b example" — ${ICE_URL_REASON}`,
    ]],
    ["empty urls list", `[[webrtc.ice_servers]]\nurls = []`, [
      `webrtc.ice_servers[0].urls: [] — must be a string or a non-empty array of strings`,
    ]],
    ["TURN without credentials", `[[webrtc.ice_servers]]\nurls = "turn:t.example:3478"`, [
      `webrtc.ice_servers[0].username: (missing) — required for a turn: or turns: URL`,
      `webrtc.ice_servers[0].credential: (missing) — required for a turn: or turns: URL`,
    ]],
    [
      "a quote in a TURN credential (it goes into a Link header)",
      `[[webrtc.ice_servers]]\nurls = "turn:t.example"\nusername = "u"\ncredential = 'a"b'`,
      [`webrtc.ice_servers[0].credential: <redacted> — must not contain quotes, backslashes or control characters`],
    ],
    ["interfaces as a string", `[webrtc]\ninterfaces_include = "eth0"`, [
      `webrtc.interfaces_include: "eth0" — must be an array of strings`,
    ]],
    ["interface name too long", `[webrtc]\ninterfaces_exclude = ["abcdefghijklmnop"]`, [
      `webrtc.interfaces_exclude[0]: "abcdefghijklmnop" — must be a network interface name such as eth0 (1-15 characters)`,
    ]],
    ["port range without its top", `[webrtc]\nudp_port_min = 40000`, [
      `webrtc.udp_port_max: (missing) — must be an integer from 40001 to 65535`,
    ]],
    ["port range of one port", `[webrtc]\nudp_port_min = 40000\nudp_port_max = 40000`, [
      `webrtc.udp_port_max: 40000 — must be an integer from 40001 to 65535`,
    ]],
    ["port range top without its bottom", `[webrtc]\nudp_port_max = 40000`, [
      `webrtc.udp_port_max: 40000 — must be 0 when udp_port_min is 0 (0 and 0 = any port)`,
    ]],
    ["max_clients 0", `[webrtc]\nmax_clients = 0`, [
      `webrtc.max_clients: 0 — must be an integer from 1 to 1000`,
    ]],
    ["more pending per address than pending", `[webrtc]\nmax_pending = 4\nmax_pending_per_address = 5`, [
      `webrtc.max_pending_per_address: 5 — must be an integer from 1 to 4`,
    ]],
    ["a handshake timeout too short for ICE", `[webrtc]\nhandshake_timeout_ms = 100`, [
      `webrtc.handshake_timeout_ms: 100 — must be an integer from 1000 to 60000`,
    ]],
    // [recording]
    ["recording format unknown", `[recording]\nformat = "mkv"`, [
      `recording.format: "mkv" — must be one of: fmp4, h264`,
    ]],
    ["a part shorter than 100 ms", `[recording]\npart_ms = 10`, [
      `recording.part_ms: 10 — must be an integer from 100 to 60000`,
    ]],
    ["delete_after without a unit", `[recording]\ndelete_after = "7"`, [
      `recording.delete_after: "7" — ${DURATION_REASON}`,
    ]],
    ["min_free_bytes with an unknown unit", `[recording]\nmin_free_bytes = "1 gigabyte"`, [
      `recording.min_free_bytes: "1 gigabyte" — ${SIZE_REASON}`,
    ]],
    ["max_bytes negative", `[recording]\nmax_bytes = -5`, [`recording.max_bytes: -5 — ${SIZE_REASON}`]],
    ["fsync unknown", `[recording]\nfsync = "always"`, [
      `recording.fsync: "always" — must be one of: segment, part, never`,
    ]],
    // [metrics], [debug], [[hooks]]
    ["metrics listen without a port", `[metrics]\nlisten = "127.0.0.1"`, [
      `metrics.listen: "127.0.0.1" — must name a port ("127.0.0.1:9090" or ":9090")`,
    ]],
    ["metrics on the main port", `[server]\nport = 9000\n[metrics]\nlisten = ":9000"`, [
      `metrics.listen: ":9000" — port already used by server.port`,
    ]],
    ["debug enabled as a string", `[debug]\nenabled = "yes"`, [
      `debug.enabled: "yes" — must be true or false`,
    ]],
    ["a hook on an unknown event", `[[hooks]]\non = "camera_lost"\nurl = "http://h/x"`, [
      `hooks[0].on: "camera_lost" — must be one of: ${EVENT_NAMES.join(", ")}`,
    ]],
    ["a hook with no event", `[[hooks]]\nurl = "http://h/x"`, [`hooks[0].on: (missing) — required`]],
    ["a hook with neither url nor run", `[[hooks]]\non = "stream_lost"`, [
      `hooks[0].url: (missing) — a hook needs url (a webhook) or run (a program)`,
    ]],
    ["a hook with both url and run", `[[hooks]]\non = "stream_lost"\nurl = "http://h/x"\nrun = ["a"]`, [
      `hooks[0].run: ["a"] — give either url or run, not both`,
    ]],
    ["a hook url of another scheme", `[[hooks]]\non = "stream_lost"\nurl = "ftp://h/x"`, [
      `hooks[0].url: "ftp://h/x" — must be an http: or https: URL`,
    ]],
    ["a hook run as one string", `[[hooks]]\non = "stream_lost"\nrun = "notify.sh --all"`, [
      `hooks[0].run: "notify.sh --all" — must be an array of strings`,
    ]],
    ["a hook run with no program", `[[hooks]]\non = "stream_lost"\nrun = []`, [
      `hooks[0].run: [] — must name a program`,
    ]],
    ["a hook retrying too often", `[[hooks]]\non = "stream_lost"\nurl = "http://h/x"\nretries = 50`, [
      `hooks[0].retries: 50 — must be an integer from 0 to 10`,
    ]],
    ["record as a string", `[[cameras]]\nname = "a"\nrecord = "yes"`, [
      `cameras[0].record: "yes" — must be true or false`,
    ]],
    ["max_paths negative", `[ingest]\nmax_paths = -1`, [
      `ingest.max_paths: -1 — must be an integer from 0 to 1000`,
    ]],
    ["an allowed origin with a path", `[server]\nallowed_origins = ["https://example.org/app"]`, [
      `server.allowed_origins[0]: "https://example.org/app" — must be "*" or an origin such as "https://example.org" or "http://192.168.1.5:8080"`,
    ]],
    ["an allowed host with a port", `[server]\nallowed_hosts = ["camera.lan:8080"]`, [
      `server.allowed_hosts[0]: "camera.lan:8080" — must be "*", a host name such as "camera.lan" or an IP address (without port)`,
    ]],
    ["max_ws_players 0", `[limits]\nmax_ws_players = 0`, [
      `limits.max_ws_players: 0 — must be an integer from 1 to 10000`,
    ]],
    ["webrtc_port out of range", `[[cameras]]\nname = "a"\nwebrtc_port = 70000`, [
      `cameras[0].webrtc_port: 70000 — must be an integer from 0 to 65535`,
    ]],
    ["webrtc_port on the HTTP port", `[[cameras]]\nname = "a"\nwebrtc_port = 8080`, [
      `cameras[0].webrtc_port: 8080 — port already used by server.port`,
    ]],
    [
      "two cameras on one webrtc_port",
      `[[cameras]]\nname = "a"\nwebrtc_port = 5557\n[[cameras]]\nname = "b"\nwebrtc_port = 5557`,
      [
        `cameras[1].webrtc_port: 5557 — port already used by cameras[0].webrtc_port`,
      ],
    ],
    // out of range
    ["fps 0", `[[cameras]]\nname = "a"\nfps = 0`, [`cameras[0].fps: 0 — must be an integer from 1 to 120`]],
    ["fps 121", `[[cameras]]\nname = "a"\nfps = 121`, [
      `cameras[0].fps: 121 — must be an integer from 1 to 120`,
    ]],
    ["port 65536", `[server]\nport = 65536`, [`server.port: 65536 — must be an integer from 0 to 65535`]],
    [
      "odd width",
      `[[cameras]]\nname = "a"\nwidth = 641`,
      [`cameras[0].width: 641 — must be an even integer from 16 to 4096`],
    ],
    [
      "height too small",
      `[[cameras]]\nname = "a"\nheight = 8`,
      [`cameras[0].height: 8 — must be an even integer from 16 to 4096`],
    ],
    [
      "bitrate in kbit/s by mistake",
      `[[cameras]]\nname = "a"\nbitrate = 2000`,
      [`cameras[0].bitrate: 2000 — must be an integer from 50000 to 50000000`],
    ],
    [
      "keyframe interval 0",
      `[[cameras]]\nname = "a"\nkeyframe_interval = 0`,
      [`cameras[0].keyframe_interval: 0 — must be an integer from 1 to 1000`],
    ],
    [
      "memory limit too small",
      `[limits]\nmax_memory_usage_mb = 16`,
      [`limits.max_memory_usage_mb: 16 — must be an integer from 32 to 65536`],
    ],
    [
      "reader queue of one",
      `[limits]\nreader_queue_frames = 1`,
      [`limits.reader_queue_frames: 1 — must be an integer from 2 to 10000`],
    ],
    [
      "stall timeout too short",
      `[supervisor]\nstall_timeout_ms = 100`,
      [`supervisor.stall_timeout_ms: 100 — must be an integer from 500 to 600000`],
    ],
    [
      "backoff cap below the first delay",
      `[supervisor]\nrestart_delay_ms = 1000\nrestart_delay_max_ms = 400`,
      [`supervisor.restart_delay_max_ms: 400 — must be an integer from 1000 to 600000`],
    ],
    [
      "no restart allowed per minute",
      `[supervisor]\nmax_restarts_per_minute = 0`,
      [`supervisor.max_restarts_per_minute: 0 — must be an integer from 1 to 600`],
    ],
    [
      "restarts per minute past ten a second",
      `[supervisor]\nmax_restarts_per_minute = 601`,
      [`supervisor.max_restarts_per_minute: 601 — must be an integer from 1 to 600`],
    ],
    [
      "restarts per minute as a string",
      `[supervisor]\nmax_restarts_per_minute = "20"`,
      [`supervisor.max_restarts_per_minute: "20" — must be an integer`],
    ],
    // enums
    [
      "log level",
      `[server]\nlog_level = "verbose"`,
      [`server.log_level: "verbose" — must be one of: debug, info, warn, error`],
    ],
    [
      "source",
      `[[cameras]]\nname = "a"\nsource = "usb"`,
      [`cameras[0].source: "usb" — must be one of: test, libcamera, v4l2`],
    ],
    ["codec", `[[cameras]]\nname = "a"\ncodec = "h265"`, [
      `cameras[0].codec: "h265" — must be one of: h264, vp8`,
    ]],
    [
      "encoder",
      `[[cameras]]\nname = "a"\nencoder = "nvenc"`,
      [`cameras[0].encoder: "nvenc" — must be one of: auto, x264, openh264, v4l2, nvv4l2, vp8`],
    ],
    [
      "flip method",
      `[[cameras]]\nname = "a"\nflip_method = "rotate-45"`,
      [
        `cameras[0].flip_method: "rotate-45" — must be one of: none, vertical-flip, horizontal-flip, rotate-90, rotate-180, rotate-270`,
      ],
    ],
    [
      "test pattern",
      `[[cameras]]\nname = "a"\npattern = "plaid"`,
      [
        `cameras[0].pattern: "plaid" — must be one of: smpte, snow, black, white, red, green, blue, checkers-1, checkers-2, checkers-4, checkers-8, circular, blink, smpte75, zone-plate, gamut, chroma-zone-plate, solid-color, ball`,
      ],
    ],
    [
      "an H.264 encoder for a VP8 camera",
      `[[cameras]]\nname = "a"\ncodec = "vp8"\nencoder = "x264"`,
      [`cameras[0].encoder: "x264" — does not fit codec "vp8" (use one of: auto, vp8)`],
    ],
    [
      "the VP8 encoder for an H.264 camera",
      `[[cameras]]\nname = "a"\nencoder = "vp8"`,
      [`cameras[0].encoder: "vp8" — does not fit codec "h264" (use one of: auto, x264, openh264, v4l2, nvv4l2)`],
    ],
    // addresses
    [
      "public IP that is not an address",
      `[server]\npublic_ip = "1.2.3"`,
      [`server.public_ip: "1.2.3" — must be an IPv4 or IPv6 address`],
    ],
    [
      "public IP with an IPv6 zone",
      `[server]\npublic_ip = "fe80::1%eth0"`,
      [`server.public_ip: "fe80::1%eth0" — must be an IPv4 or IPv6 address`],
    ],
    [
      "listen with brackets",
      `[server]\nlisten = "[::]"`,
      [`server.listen: "[::]" — must be an IP address or a host name`],
    ],
    [
      "listen out of IPv4 range",
      `[server]\nlisten = "999.1.1.1"`,
      [`server.listen: "999.1.1.1" — must be an IP address or a host name`],
    ],
    // names
    ["missing name", `[[cameras]]\nfps = 30`, [`cameras[0].name: (missing) — required`]],
    ["empty name", `[[cameras]]\nname = ""`, [`cameras[0].name: "" — ${NAME_REASON}`]],
    ["upper-case name", `[[cameras]]\nname = "Front"`, [`cameras[0].name: "Front" — ${NAME_REASON}`]],
    ["name starting with '-'", `[[cameras]]\nname = "-x"`, [`cameras[0].name: "-x" — ${NAME_REASON}`]],
    ["name with a slash", `[[cameras]]\nname = "a/b"`, [`cameras[0].name: "a/b" — ${NAME_REASON}`]],
    [
      "64-character name",
      `[[cameras]]\nname = "${"a".repeat(64)}"`,
      [`cameras[0].name: "${"a".repeat(64)}" — ${NAME_REASON}`],
    ],
    [
      "duplicate name",
      `[[cameras]]\nname = "front"\n[[cameras]]\nname = "rear"\n[[cameras]]\nname = "front"`,
      [`cameras[2].name: "front" — duplicate camera name (also cameras[0])`],
    ],
    // devices that would inject into the gst-launch description
    ...[
      "/dev/video0 ! filesink location=/etc/passwd",
      `a" b`,
      "/dev/video0 extra-controls=x",
      "/dev/video0!",
      "/dev/../etc/passwd",
      "/etc/passwd",
      "video0",
    ].map((device): [string, string, string[]] => [
      `v4l2 device ${JSON.stringify(device)}`,
      `[[cameras]]\nname = "a"\nsource = "v4l2"\ndevice = ${JSON.stringify(device)}`,
      [`cameras[0].device: ${JSON.stringify(device)} — ${DEVICE_REASON}`],
    ]),
    ...["imx219 front", `a" b`, "cam ! fakesink", "name=evil", "cam'"].map((
      device,
    ): [string, string, string[]] => [
      `libcamera name ${JSON.stringify(device)}`,
      `[[cameras]]\nname = "a"\nsource = "libcamera"\ndevice = ${JSON.stringify(device)}`,
      [`cameras[0].device: ${JSON.stringify(device)} — ${LIBCAMERA_REASON}`],
    ]),
    [
      "a test camera with a device",
      `[[cameras]]\nname = "a"\ndevice = "/dev/video0"`,
      [`cameras[0].device: "/dev/video0" — must be empty for source "test"`],
    ],
  ];
  for (const [name, toml, expected] of cases) {
    await t.step(name, () => assert.deepEqual(problemsOf(() => parseConfig(toml)), expected));
  }
});

const SHM_NAME_REASON = "must be 1-255 of A-Z a-z 0-9 _ . -, starting with a letter, digit or '_' " +
  "(a file name directly in /dev/shm: no '/')";

Deno.test("a ring name that would leave /dev/shm or collide with another ring is refused", async (t) => {
  const cases: [string, string, string[]][] = [
    ["camera name with a path", `[[cameras]]\nname = "../etc"`, [
      `cameras[0].name: "../etc" — ${NAME_REASON}`,
    ]],
    ["shm_name climbing out", `[[cameras]]\nname = "a"\nshm_name = "../../etc/passwd"`, [
      `cameras[0].shm_name: "../../etc/passwd" — ${SHM_NAME_REASON}`,
    ]],
    ["shm_name into a subfolder", `[[cameras]]\nname = "a"\nshm_name = "sub/ring"`, [
      `cameras[0].shm_name: "sub/ring" — ${SHM_NAME_REASON}`,
    ]],
    ["shm_name ..", `[[cameras]]\nname = "a"\nshm_name = ".."`, [
      `cameras[0].shm_name: ".." — ${SHM_NAME_REASON}`,
    ]],
    ["shm_name with a leading slash", `[[cameras]]\nname = "a"\nshm_name = "/video_stream"`, [
      `cameras[0].shm_name: "/video_stream" — ${SHM_NAME_REASON}`,
    ]],
    ["shm_name too long", `[[cameras]]\nname = "a"\nshm_name = "${"x".repeat(256)}"`, [
      `cameras[0].shm_name: "${"x".repeat(76)}... — ${SHM_NAME_REASON}`,
    ]],
    ["prefix with a slash", `[shm]\nprefix = "edgecam/x"`, [`shm.prefix: "edgecam/x" — ${SHM_NAME_REASON}`]],
    ["prefix climbing out", `[shm]\nprefix = "../tmp"`, [`shm.prefix: "../tmp" — ${SHM_NAME_REASON}`]],
    [
      "two cameras on one shm_name",
      `[[cameras]]\nname = "a"\nshm_name = "ring"\n[[cameras]]\nname = "b"\nshm_name = "ring"`,
      [
        `cameras[1].shm_name: "ring" — its ring /dev/shm/ring collides with cameras[0].shm_name`,
      ],
    ],
    [
      "shm_name taking another camera's ring",
      `[[cameras]]\nname = "a"\n[[cameras]]\nname = "b"\nshm_name = "edgecam-a"`,
      [
        `cameras[1].shm_name: "edgecam-a" — its ring /dev/shm/edgecam-a collides with cameras[0].name`,
      ],
    ],
    [
      "a WHIP path whose ring is a camera's",
      `[[cameras]]\nname = "a"\nshm_name = "edgecam-obs"\n[[paths]]\nname = "obs"`,
      [
        `paths[0].name: "obs" — its ring /dev/shm/edgecam-obs collides with cameras[0].shm_name`,
      ],
    ],
    [
      "a camera named like another's shm_name",
      `[[cameras]]\nname = "a"\nshm_name = "edgecam-b"\n[[cameras]]\nname = "b"`,
      [
        `cameras[1].name: "b" — its ring /dev/shm/edgecam-b collides with cameras[0].shm_name`,
      ],
    ],
  ];
  for (const [name, toml, expected] of cases) {
    await t.step(name, () => assert.deepEqual(problemsOf(() => parseConfig(toml)), expected));
  }
  await t.step("no collision when one of the two has no ring", () => {
    const toml =
      `[[cameras]]\nname = "a"\nshm_name = "ring"\nshm = false\n[[cameras]]\nname = "b"\nshm_name = "ring"`;
    assert.equal(parseConfig(toml).cameras.length, 2);
  });
});

Deno.test("bad [shm] values", async (t) => {
  const cases: [string, string, string[]][] = [
    ["too few slots", `slot_count = 2`, [`shm.slot_count: 2 — must be an integer from 4 to 65536`]],
    ["slot size off the 64-byte grid", `slot_size = 5000`, [
      `shm.slot_size: 5000 — must be a multiple of 64 from 4096 to 268435456 (bytes)`,
    ]],
    ["slot size too small", `slot_size = 64`, [
      `shm.slot_size: 64 — must be a multiple of 64 from 4096 to 268435456 (bytes)`,
    ]],
    ["mode the owner cannot write", `mode = 0o440`, [
      `shm.mode: 288 — must be a permission mode from 0o600 to 0o777 (the owner reads and writes), e.g. 0o640`,
    ]],
    ["mode as a string", `mode = "0640"`, [`shm.mode: "0640" — must be an integer`]],
    ["enabled as a string", `enabled = "yes"`, [`shm.enabled: "yes" — must be true or false`]],
    ["unknown key", `slots = 8`, [`shm.slots: 8 — unknown key`]],
  ];
  for (const [name, toml, expected] of cases) {
    await t.step(name, () => assert.deepEqual(problemsOf(() => parseConfig(`[shm]\n${toml}`)), expected));
  }
});

const TOKEN_CHARS_REASON =
  "must contain only A-Z a-z 0-9 - . _ ~ + / (then optional '=' padding), as RFC 6750 Bearer tokens do";

Deno.test("tokens that are taken", async (t) => {
  const cases: [string, string][] = [
    ["exactly 16 characters", "0123456789abcdef"],
    ["hex from openssl rand -hex 32", "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"],
    ["base64 with + / and = padding", "n4bQgYhMfWWaL+qgxVrQFaO/TxsrC4Is0V1sFbDwCgg="],
    ["URL-safe characters", "a-b.c_d~e0123456789"],
  ];
  for (const [name, token] of cases) {
    await t.step(name, () => {
      const config = parseConfig(`[auth]\nview_tokens = [${JSON.stringify(token)}]`);
      assert.deepEqual(config.auth.viewTokens, [token]);
    });
  }
});

Deno.test("bad tokens stop the start, one line each, and the value never appears", async (t) => {
  const cases: [string, string, string, string[]][] = [
    ["empty", `[auth]\nview_tokens = [""]`, "", [`auth.view_tokens[0]: <redacted> — must not be empty`]],
    [
      "a space inside",
      `[auth]\npublish_tokens = ["abcdefgh ijklmnopq"]`,
      "abcdefgh ijklmnopq",
      [`auth.publish_tokens[0]: <redacted> — must not contain whitespace`],
    ],
    [
      "a pasted newline at the end",
      `[auth]\napi_read_tokens = ["0123456789abcdefXYZ\\n"]`,
      "0123456789abcdefXYZ",
      [`auth.api_read_tokens[0]: <redacted> — must not contain whitespace`],
    ],
    [
      "too short",
      `[auth]\napi_change_tokens = ["good-token-0123456789", "s3cr3t-tok"]`,
      "s3cr3t-tok",
      [`auth.api_change_tokens[1]: <redacted> — must be at least 16 characters`],
    ],
    [
      "a quote (cannot follow Bearer unquoted)",
      `[auth]\nview_tokens = ['abc"def0123456789']`,
      'abc"def0123456789',
      [`auth.view_tokens[0]: <redacted> — ${TOKEN_CHARS_REASON}`],
    ],
    [
      "'=' inside rather than at the end",
      `[auth]\nview_tokens = ["abc=def0123456789"]`,
      "abc=def0123456789",
      [`auth.view_tokens[0]: <redacted> — ${TOKEN_CHARS_REASON}`],
    ],
    [
      "a string instead of a list",
      `[auth]\nview_tokens = "0123456789abcdefXYZ"`,
      "0123456789abcdefXYZ",
      [`auth.view_tokens: <redacted> — must be an array of strings`],
    ],
    [
      "a number in the list",
      `[auth]\npublish_tokens = [1234567890123456]`,
      "1234567890123456",
      [`auth.publish_tokens[0]: <redacted> — must be a string`],
    ],
    [
      "a misspelt key in [auth]",
      `[auth]\nview_token = ["0123456789abcdefXYZ"]`,
      "0123456789abcdefXYZ",
      [`auth.view_token: <redacted> — unknown key`],
    ],
    ["[auth] that is not a table", `auth = "0123456789abcdefXYZ"`, "0123456789abcdefXYZ", [
      `auth: <redacted> — must be a table`,
    ]],
    [
      "a camera's token too short",
      `[[cameras]]\nname = "a"\nview_tokens = ["s3cr3t-tok"]`,
      "s3cr3t-tok",
      [`cameras[0].view_tokens[0]: <redacted> — must be at least 16 characters`],
    ],
    [
      "a camera's misspelt token key",
      `[[cameras]]\nname = "a"\nview_token = "0123456789abcdefXYZ"`,
      "0123456789abcdefXYZ",
      [`cameras[0].view_token: <redacted> — unknown key`],
    ],
    [
      "a token inside a table shown whole",
      `[cameras]\nname = "a"\nview_tokens = ["0123456789abcdefXYZ"]`,
      "0123456789abcdefXYZ",
      [`cameras: {"name":"a","view_tokens":"<redacted>"} — must be an array of tables ([[cameras]])`],
    ],
  ];
  for (const [name, toml, secret, expected] of cases) {
    await t.step(name, () => {
      const problems = problemsOf(() => parseConfig(toml));
      assert.deepEqual(problems, expected);
      if (secret !== "") {
        for (const line of problems) assert.ok(!line.includes(secret), `the token leaked: ${line}`);
      }
    });
  }
});

Deno.test("all problems are collected, one line each, and the message is those lines", () => {
  let error: unknown;
  try {
    parseConfig(`
[server]
port = 99999
verbose = true

[[cameras]]
name = "front"
fps = 0

[[cameras]]
name = "front"
source = "v4l2"
device = "/dev/video0 ! filesink location=/tmp/x"
`);
  } catch (err) {
    error = err;
  }
  assert.ok(error instanceof ConfigError);
  assert.deepEqual(error.problems, [
    `server.port: 99999 — must be an integer from 0 to 65535`,
    `server.verbose: true — unknown key`,
    `cameras[0].fps: 0 — must be an integer from 1 to 120`,
    `cameras[1].device: "/dev/video0 ! filesink location=/tmp/x" — ${DEVICE_REASON}`,
    `cameras[1].name: "front" — duplicate camera name (also cameras[0])`,
  ]);
  assert.equal(error.message, error.problems.join("\n"));
});

Deno.test("a cross-check is skipped when one of its keys is already wrong", () => {
  // A bad codec must not also make the encoder "not fit".
  assert.deepEqual(
    problemsOf(() => parseConfig(`[[cameras]]\nname = "a"\ncodec = "h265"\nencoder = "vp8"`)),
    [
      `cameras[0].codec: "h265" — must be one of: h264, vp8`,
    ],
  );
});

Deno.test("a TOML syntax error is one problem naming line and column", () => {
  assert.deepEqual(problemsOf(() => parseConfig(`[server]\nport = = 3\n`)), [
    "line 2, column 8: invalid TOML — invalid value",
  ]);
});

Deno.test("a table nested thousands deep is one problem line, not a stack overflow", async (t) => {
  // smol-toml bounds the nesting of arrays and inline tables, not of dotted keys and table headers.
  const parts = (name: string) => Array(20_000).fill(name).join(".");
  await t.step("dotted key", () => {
    assert.deepEqual(problemsOf(() => parseConfig(`${parts("server")} = 1`)), [
      "server.server: (nested too deeply to show) — unknown key",
    ]);
  });
  await t.step("table header", () => {
    assert.deepEqual(problemsOf(() => parseConfig(`[${parts("limits")}]`)), [
      "limits.limits: (nested too deeply to show) — unknown key",
    ]);
  });
});

Deno.test("validateConfig refuses a document that is not a table", () => {
  assert.deepEqual(problemsOf(() => validateConfig([1])), [`config: [1] — must be a table`]);
});

Deno.test("validateConfig accepts plain objects as well as smol-toml's prototype-less ones", () => {
  assert.equal(validateConfig({ server: { port: 9000 } }).server.port, 9000);
});

Deno.test("the repo's config.toml parses to the two documented test cameras", async () => {
  const text = await Deno.readTextFile(new URL("../../config.toml", import.meta.url));
  const config = parseConfig(text);
  assert.deepEqual(
    config,
    parseConfig(`
[[cameras]]
name = "front"
[[cameras]]
name = "rear"
pattern = "ball"
codec = "vp8"
`),
  );
});

const FILE: Config = parseConfig(`[server]\nlisten = "0.0.0.0"\nport = 8080\npublic_ip = "192.0.2.1"`);

Deno.test("overrides: flag > env > file", async (t) => {
  const cases: [string, Overrides, Record<string, string | undefined>, Partial<ServerConfig>][] = [
    ["nothing set keeps the file", {}, {}, {}],
    ["EDGECAM_LISTEN host:port", {}, { EDGECAM_LISTEN: "127.0.0.1:9000" }, {
      listen: "127.0.0.1",
      port: 9000,
    }],
    ["--listen host:port", { listen: "127.0.0.1:9100" }, {}, { listen: "127.0.0.1", port: 9100 }],
    [
      "--listen beats EDGECAM_LISTEN, part by part",
      { listen: ":9100" },
      { EDGECAM_LISTEN: "127.0.0.1:9000" },
      { listen: "127.0.0.1", port: 9100 },
    ],
    ["--listen host only keeps the port", { listen: "localhost" }, {}, { listen: "localhost" }],
    ["--listen :port only keeps the host", { listen: ":0" }, {}, { port: 0 }],
    ["--listen [::]:port", { listen: "[::]:8081" }, {}, { listen: "::", port: 8081 }],
    ["--listen [::1] without a port", { listen: "[::1]" }, {}, { listen: "::1" }],
    ["--listen bare IPv6", { listen: "::" }, {}, { listen: "::" }],
    ["empty EDGECAM_LISTEN counts as unset", {}, { EDGECAM_LISTEN: "" }, {}],
    ["PI_IP beats the file", {}, { PI_IP: "203.0.113.7" }, { publicIp: "203.0.113.7" }],
    ["PI_IP may be IPv6", {}, { PI_IP: "2001:db8::1" }, { publicIp: "2001:db8::1" }],
    ["empty PI_IP counts as unset", {}, { PI_IP: "" }, {}],
    ["--log-level", { logLevel: "debug" }, {}, { logLevel: "debug" }],
  ];
  for (const [name, flags, env, changed] of cases) {
    await t.step(name, () => {
      const result = applyOverrides(FILE, flags, env);
      assert.deepEqual(result.server, { ...FILE.server, ...changed });
      assert.equal(result.cameras, FILE.cameras);
    });
  }
});

Deno.test("overrides never change the config they are given", () => {
  const before = structuredClone(FILE);
  applyOverrides(FILE, { listen: "127.0.0.1:1", logLevel: "error" }, { PI_IP: "203.0.113.7" });
  assert.deepEqual(FILE, before);
});

Deno.test("bad override values name the flag or variable", async (t) => {
  const hostPort = `must be "host:port", "host", ":port" or "[ipv6]:port"`;
  const cases: [string, Overrides, Record<string, string | undefined>, string[]][] = [
    ["non-numeric port", { listen: "x:y" }, {}, [
      `--listen: "x:y" — port must be an integer from 0 to 65535`,
    ]],
    ["port too large", { listen: ":70000" }, {}, [
      `--listen: ":70000" — port must be an integer from 0 to 65535`,
    ]],
    ["two colons", { listen: "a:b:c" }, {}, [`--listen: "a:b:c" — ${hostPort}`]],
    ["empty --listen", { listen: "" }, {}, [`--listen: "" — ${hostPort}`]],
    [
      "IPv4 in brackets",
      { listen: "[1.2.3.4]:80" },
      {},
      [`--listen: "[1.2.3.4]:80" — ${hostPort}; "1.2.3.4" is not an IPv6 address`],
    ],
    [
      "host with a space in EDGECAM_LISTEN",
      {},
      { EDGECAM_LISTEN: "my host:80" },
      [`EDGECAM_LISTEN: "my host:80" — ${hostPort}; "my host" is not an IP address or host name`],
    ],
    ["PI_IP not an address", {}, { PI_IP: "not-an-ip" }, [
      `PI_IP: "not-an-ip" — must be an IPv4 or IPv6 address`,
    ]],
    [
      "unknown log level",
      { logLevel: "trace" },
      {},
      [`--log-level: "trace" — must be one of: debug, info, warn, error`],
    ],
    [
      "every bad override at once",
      { listen: "x:y", logLevel: "trace" },
      { EDGECAM_LISTEN: "a:b:c", PI_IP: "nope" },
      [
        `EDGECAM_LISTEN: "a:b:c" — ${hostPort}`,
        `--listen: "x:y" — port must be an integer from 0 to 65535`,
        `PI_IP: "nope" — must be an IPv4 or IPv6 address`,
        `--log-level: "trace" — must be one of: debug, info, warn, error`,
      ],
    ],
  ];
  for (const [name, flags, env, expected] of cases) {
    await t.step(name, () => assert.deepEqual(problemsOf(() => applyOverrides(FILE, flags, env)), expected));
  }
});

Deno.test("loadConfig names a file it cannot read, with the OS reason", async () => {
  const path = "tests/unit/no-such-config.toml";
  await assert.rejects(loadConfig(path, {}), (err: unknown) => {
    assert.ok(err instanceof ConfigError);
    assert.deepEqual(err.problems, [`${path}: cannot read — No such file or directory (os error 2)`]);
    return true;
  });
});

Deno.test("loadConfig reads the file and applies the flags", async () => {
  const config = await loadConfig(new URL("../../config.toml", import.meta.url).pathname, { listen: ":0" });
  assert.equal(config.server.port, 0);
  assert.deepEqual(config.cameras.map((c) => c.name), ["front", "rear"]);
});

Deno.test("a --listen port that a camera's webrtc_port already uses is refused, naming both", () => {
  const config = parseConfig(`[[cameras]]\nname = "front"\nwebrtc_port = 9000\n`);
  assert.deepEqual(problemsOf(() => applyOverrides(config, { listen: ":9000" }, {})), [
    `--listen: ":9000" — port already used by cameras[0].webrtc_port`,
  ]);
  assert.deepEqual(problemsOf(() => applyOverrides(config, {}, { EDGECAM_LISTEN: "127.0.0.1:9000" })), [
    `EDGECAM_LISTEN: "127.0.0.1:9000" — port already used by cameras[0].webrtc_port`,
  ]);
  assert.equal(applyOverrides(config, { listen: ":9001" }, {}).server.port, 9001);
});
