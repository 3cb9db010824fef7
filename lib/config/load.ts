/**
 * Loading the service's configuration: TOML text → validated {@link Config}, then the overrides that
 * flags and the environment apply. This is the only module that reads the config file or the variables
 * that configure the service (systemd's own, NOTIFY_SOCKET and WATCHDOG_*, are read where they are used,
 * in systemd_notify.ts); everything else receives a validated Config.
 */
import { parse, TomlError } from "smol-toml";
import { LOG_LEVELS } from "../log.ts";
import type { Config } from "./schema.ts";
import {
  readAuth,
  readCameras,
  readDebug,
  readHooks,
  readIngest,
  readLimits,
  readMetrics,
  readPaths,
  readRecording,
  readServer,
  readShm,
  readSupervisor,
  readWebrtc,
} from "./sections.ts";
import { IP_REASON, isIpLiteral, parseListen } from "./rules.ts";
import { isTable, problem, TableReader } from "./table.ts";

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
    recording: readRecording(root.table("recording")),
    debug: readDebug(root.table("debug")),
    hooks: readHooks(root.tableArray("hooks")),
    metrics: { listen: null },
    cameras: [],
    paths: [],
  };
  // Ring names are shared by cameras and paths: two rings under one name would overwrite each other.
  const rings = new Map<string, string>();
  config.cameras = readCameras(root.tableArray("cameras"), config.server.port, config.shm, rings);
  config.metrics = readMetrics(root.table("metrics"), config.server.port);
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
    // The file's ports were checked against server.port as the file has it; a new one is checked here.
    const clash = config.cameras.findIndex((c) => c.webrtcPort !== 0 && c.webrtcPort === parsed.port);
    if (clash >= 0) problems.push(problem(name, text, `port already used by cameras[${clash}].webrtc_port`));
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
