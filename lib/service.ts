/**
 * The service: builds the streams, cameras, WHIP paths, outputs and the memory guard from a validated
 * config, serves the HTTP handlers its caller hands in, and stops it all in order.
 */
import { AccessPolicy } from "./auth.ts";
import type { Config } from "./config/schema.ts";
import { Log, type Logger } from "./log.ts";
import { machineHosts, OriginPolicy } from "./origin.ts";
import { MemoryGuard } from "./stream/memory_guard.ts";
import { removeStaleRings, ShmOutput } from "./outputs/shm.ts";
import { ringObjectName } from "./shm/layout.ts";
import { listElements, resolveEncoder } from "./cameras/encoders.ts";
import { CameraSource } from "./cameras/supervisor.ts";
import { Stream, StreamRegistry } from "./stream/stream.ts";
import { type IceOptions, iceServerLinks, peerIceOptions } from "./webrtc/ice.ts";
import { type PushStatus, WhipPush } from "./outputs/push.ts";
import { WhepSessions } from "./outputs/whep.ts";
import { WsPlayers } from "./outputs/ws_player.ts";
import { Snapshots } from "./outputs/snapshot.ts";
import { type IngestSettings, WhipSessions } from "./ingest/publishers.ts";
import type { Codec } from "./stream/access_unit.ts";
import type { SecondPublisher } from "./ingest/path.ts";
import { Recordings } from "./recording/recordings.ts";
import { Profiler } from "./debug/profiler.ts";
import { describeEvent } from "./events.ts";
import { Hooks } from "./hooks/hooks.ts";

/** What the HTTP handlers need from the running service. */
export interface ServiceContext {
  streams: StreamRegistry;
  memory: MemoryGuard;
  startedAtMs: number;
  whep: WhepSessions;
  whip: WhipSessions;
  /** `Link` header values announcing the configured ICE servers to WHEP clients. */
  iceLinks: string[];
  /** The push targets of a stream, as status shows them. */
  pushes: (streamName: string) => PushStatus[];
  /** The Bearer tokens of each kind of request. */
  access: AccessPolicy;
  /** Shared-memory rings, by stream name. */
  shm: ReadonlyMap<string, ShmOutput>;
  /** Which pages and Host names may use what needs no token. */
  origins: OriginPolicy;
  /** The WebSocket players, within `[limits]`. */
  players: WsPlayers;
  /** JPEG snapshots of each stream's latest keyframe. */
  snapshots: Snapshots;
  /** True once the service is stopping: every request is then refused. */
  stopping: () => boolean;
  /** The service's log, at `server.log_level`. */
  log: Log;
  /** Recorders and the recordings on disk. */
  recordings: Recordings;
  /** Whether the profiling endpoints answer (`[debug] enabled`). */
  debug: boolean;
  /** Takes CPU profiles and heap snapshots of this process. */
  profiler: Profiler;
}

/**
 * The HTTP side of the service, handed in by its caller (main.ts passes routes/' handlers), so the
 * engine in lib/ knows nothing of its routes.
 */
export interface HttpHandlers {
  /** The handler of the main port: every route. */
  app(ctx: ServiceContext): Deno.ServeHandler;
  /** The handler of a camera's own signaling port (`webrtc_port`): its WebSocket signaling alone. */
  cameraSignal(ctx: ServiceContext, camera: string): Deno.ServeHandler;
  /** The handler of `[metrics] listen`: `GET /metrics` alone. */
  metrics(ctx: ServiceContext): Deno.ServeHandler;
}

/** A running edgecam: its streams, camera processes and HTTP server. */
export interface Service {
  /** The streams, by name. */
  streams: StreamRegistry;
  /** Camera supervisors, by camera name. */
  cameras: Map<string, CameraSource>;
  /** Shared-memory rings, by stream name. */
  shm: Map<string, ShmOutput>;
  /** Recorders and the recordings on disk. */
  recordings: Recordings;
  /** The address the server listens on (the real port when the config asked for 0). */
  addr: Deno.NetAddr;
  /** The service's own log (its level is `server.log_level`): two services in one process keep theirs. */
  log: Log;
  /** Stops the cameras and the server; resolves when everything is down. */
  stop(): Promise<void>;
}

/**
 * Starts every camera and the HTTP server from a validated config.
 *
 * @example
 * ```ts
 * const config = await loadConfig("config.toml", {});
 * const service = await startService(config, httpHandlers); // httpHandlers from routes/app.ts
 * console.log(`listening on port ${service.addr.port}`);
 * await service.stop();
 * ```
 */
export async function startService(config: Config, http: HttpHandlers): Promise<Service> {
  const serviceLog = new Log(config.server.logLevel);
  const log = serviceLog.logger("service");
  const streams = new StreamRegistry();
  const cameras = new Map<string, CameraSource>();
  const shm = new Map<string, ShmOutput>();
  // One gst-inspect run answers "which encoders does this machine have" for every camera.
  const elements = await listElements().catch((err: Error) => {
    log.error(`cannot list GStreamer elements (${err.message}): install gstreamer1.0-tools`);
    return new Set<string>();
  });
  let stopping = false;
  // Events go to the log and the hooks as they happen; hooks only queue them, so no source waits.
  const hooks = new Hooks(config.hooks, serviceLog);
  const eventLog = serviceLog.logger("events");
  streams.onEvent((event) => {
    eventLog.info(describeEvent(event));
    hooks.dispatch(event);
  });
  const recordings = new Recordings(config.recording, streams, serviceLog);
  const recordFromStart = new Set(
    [...config.cameras, ...config.paths].filter((s) => s.record).map((s) => s.name),
  );
  streams.onAdd((stream) => {
    if (recordFromStart.has(stream.name) && !stopping) recordings.start(stream.name);
  });
  streams.onAdd((stream) => {
    const name = ringName(config, stream.name);
    // A path made while stopping gets no ring: rings are closed once, at the end of stop().
    if (name === undefined || stopping) return;
    const { slotCount, slotSize, mode } = config.shm;
    shm.set(stream.name, new ShmOutput(stream, { name, slotCount, slotSize, mode }, serviceLog));
  });
  for (const camera of config.cameras) {
    const stream = streams.add(new Stream(camera.name, camera.codec, config.limits.readerQueueFrames));
    const resolution = resolveEncoder(camera, elements);
    const source = new CameraSource(camera, resolution, stream, config.supervisor, serviceLog);
    cameras.set(camera.name, source);
    source.start();
  }
  removeStaleRings(config.shm.prefix, serviceLog);
  const memory = new MemoryGuard(streams, config.limits.maxMemoryUsageMb);
  memory.start();

  const { webrtc, server: { publicIp } } = config;
  const iceOptions = () => peerIceOptions(webrtc, publicIp, Deno.networkInterfaces());
  const whep = new WhepSessions(iceOptions, webrtc, serviceLog);
  const whip = new WhipSessions(streams, ingestSettings(config), iceOptions, serviceLog);
  const snapshots = new Snapshots(elements, serviceLog.logger("snapshot"));
  streams.onRemove((stream) => {
    shm.get(stream.name)?.close();
    shm.delete(stream.name);
    whep.forget(stream);
    snapshots.forget(stream.name);
  });
  const startup = peerIceOptions(webrtc, publicIp, Deno.networkInterfaces());
  log.info(`WebRTC host candidates: ${startup.iceAdditionalHostAddresses!.join(", ") || "none"}`);
  const access = new AccessPolicy(config.auth, [...config.cameras, ...config.paths]);
  logAccess(access, log);
  const origins = new OriginPolicy(config.server, () => machineHosts(publicIp));
  logOrigins(origins, log);
  const pushes = startPushes(config, streams, iceOptions, serviceLog);
  const ctx: ServiceContext = {
    pushes: (name: string) => (pushes.get(name) ?? []).map((p) => p.status),
    streams,
    memory,
    startedAtMs: Date.now(),
    whep,
    whip,
    iceLinks: iceServerLinks(webrtc.iceServers),
    log: serviceLog,
    access,
    origins,
    players: new WsPlayers(config.limits, serviceLog),
    snapshots,
    stopping: () => stopping,
    shm,
    recordings,
    debug: config.debug.enabled,
    profiler: new Profiler(),
  };
  const server = Deno.serve({
    hostname: config.server.listen,
    port: config.server.port,
    onListen: () => {},
  }, http.app(ctx));
  // The Pion-based Pi camera streamer gave each camera its own signaling port; kept for its clients when
  // configured.
  const extraServers = config.cameras.filter((c) => c.webrtcPort !== 0).map((camera) => {
    log.info(`${camera.name}: WebSocket signaling on port ${camera.webrtcPort} at /ws`);
    return Deno.serve(
      { hostname: config.server.listen, port: camera.webrtcPort, onListen: () => {} },
      http.cameraSignal(ctx, camera.name),
    );
  });
  if (config.metrics.listen) {
    const { hostname, port } = config.metrics.listen;
    const metricsServer = Deno.serve({ hostname, port, onListen: () => {} }, http.metrics(ctx));
    log.info(`Prometheus metrics also on ${hostname}:${metricsServer.addr.port}/metrics`);
    extraServers.push(metricsServer);
  }

  return {
    streams,
    cameras,
    shm,
    recordings,
    addr: server.addr,
    log: serviceLog,
    async stop() {
      // Nothing new first: requests are refused and no new connection is taken, so no session or path
      // can appear once the rings are closed.
      stopping = true;
      const serversDown = Promise.all([server, ...extraServers].map((s) => s.shutdown()));
      memory.stop();
      whep.closeAll();
      whip.closeAll();
      // Then every push and camera at once, under one deadline: a slow push target or a camera slow to
      // die cannot keep the rings from being closed (and so removed) before the process exits.
      const outputs = [...[...pushes.values()].flat(), ...cameras.values()].map((o) => o.stop());
      // Recordings stop with them: each writes what it holds and closes its file whole.
      outputs.push(recordings.stopAll());
      if (!await withinDeadline(Promise.all(outputs), STOP_OUTPUTS_MS)) {
        log.warn(`pushes and cameras not all stopped after ${STOP_OUTPUTS_MS} ms; closing the rings anyway`);
      }
      // Events of the stop itself (viewers leaving, streams lost) are logged; hooks get no more.
      hooks.close();
      for (const ring of shm.values()) ring.close();
      for (const stream of streams.all()) stream.close();
      // Connections still open (a WebSocket whose client does not answer the close) are not waited for.
      await withinDeadline(serversDown, STOP_SERVERS_MS);
    },
  };
}

/** Longest stop() waits for pushes and cameras before it closes the rings. */
const STOP_OUTPUTS_MS = 2500;
/** Longest stop() then waits for the HTTP servers' open connections. */
const STOP_SERVERS_MS = 1000;

/** Resolves true when `work` settles within `ms`, false when the time ran out first. */
async function withinDeadline(work: Promise<unknown>, ms: number): Promise<boolean> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const late = new Promise<false>((resolve) => timer = setTimeout(() => resolve(false), ms));
  try {
    return await Promise.race([work.then(() => true, () => true), late]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * The shared-memory ring of a stream, or undefined for none: a camera's or configured path's own
 * choice, `[shm]`'s default for a path a publisher made up.
 */
function ringName(config: Config, stream: string): string | undefined {
  const known = [...config.cameras, ...config.paths].find((s) => s.name === stream);
  if (known) return known.shm ? known.shmName : undefined;
  return config.shm.enabled ? ringObjectName(config.shm.prefix, stream) : undefined;
}

/** Starts every camera's and path's push targets; they wait until their stream runs. */
function startPushes(
  config: Config,
  streams: StreamRegistry,
  iceOptions: () => IceOptions,
  serviceLog: Log,
): Map<string, WhipPush[]> {
  const log = serviceLog.logger("service");
  const pushes = new Map<string, WhipPush[]>();
  for (const { name, push } of [...config.cameras, ...config.paths]) {
    const stream = streams.get(name);
    if (!stream || push.length === 0) continue;
    pushes.set(
      name,
      push.map((target) => new WhipPush(stream, target, iceOptions, config.supervisor, serviceLog)),
    );
    log.info(`${name}: pushed over WHIP to ${push.map((t) => t.url).join(", ")}`);
  }
  for (const push of [...pushes.values()].flat()) push.start();
  return pushes;
}

/** WHIP ingest's part of the config. */
function ingestSettings(config: Config): IngestSettings {
  const rules = (p: { codec: Codec | undefined; secondPublisher: SecondPublisher }) => ({
    codec: p.codec,
    secondPublisher: p.secondPublisher,
  });
  return {
    paths: new Map(config.paths.map((p) => [p.name, rules(p)])),
    unconfiguredPaths: config.ingest.unconfiguredPaths,
    defaultRules: rules({ codec: undefined, secondPublisher: config.ingest.secondPublisher }),
    readerQueueFrames: config.limits.readerQueueFrames,
    maxPaths: config.ingest.maxPaths,
    pathIdleTimeoutMs: config.ingest.pathIdleTimeoutMs,
    sessionLimits: config.webrtc,
  };
}

/** One line at start saying what is guarded; open kinds are named, since "open" means anyone on the network. */
function logAccess(access: AccessPolicy, log: Logger): void {
  const kinds = access.summary();
  const own = (kind: string) =>
    kind === "view" || kind === "publish" ? access.streamsWithOwnTokens(kind) : [];
  if (kinds.every((k) => !k.protected && own(k.kind).length === 0)) {
    log.warn(
      "no [auth] tokens configured: publishing, viewing and the API are open to anyone who can reach this host",
    );
    return;
  }
  const parts = kinds.map((k) => {
    // api_change with read tokens and no change tokens of its own: guarded, and nobody holds a key.
    const state = !k.protected ? "open" : k.tokens === 0 ? "refused to all" : `${k.tokens} token(s)`;
    const streams = own(k.kind);
    return `${k.kind} ${state}${streams.length > 0 ? ` (own tokens: ${streams.join(", ")})` : ""}`;
  });
  log.info(`Bearer tokens: ${parts.join(", ")}`);
}

/** Warns at start when the origin rules are switched off: any page on the web may then use open doors. */
function logOrigins(origins: OriginPolicy, log: Logger): void {
  if (origins.anyOrigin) {
    log.warn(
      'server.allowed_origins = ["*"]: any web page a visitor opens may use what needs no token here',
    );
  }
  if (origins.anyHost) {
    log.warn('server.allowed_hosts = ["*"]: DNS rebinding can reach what needs no token here');
  }
}

/** The URLs a person can open: the LAN addresses when listening on every interface. */
export function viewerUrls(addr: Deno.NetAddr, publicIp: string): string[] {
  const hosts: string[] = [];
  if (publicIp) hosts.push(publicIp);
  if (addr.hostname === "0.0.0.0" || addr.hostname === "::") {
    for (const iface of Deno.networkInterfaces()) {
      if (iface.family === "IPv4" && !iface.address.startsWith("127.")) hosts.push(iface.address);
    }
    hosts.push("localhost");
  } else {
    hosts.push(addr.hostname);
  }
  return [...new Set(hosts)].map((h) => `http://${h.includes(":") ? `[${h}]` : h}:${addr.port}/`);
}
