/**
 * edgecam's entry point: flags → config → the engine's service with routes' HTTP handlers → graceful stop
 * on SIGINT/SIGTERM.
 */
import { parseArgs } from "node:util";
import { ConfigError, loadConfig } from "./lib/config/load.ts";
import { configPathProblem, configPermissionProblems, processPermissions } from "./lib/config/permissions.ts";
import { startService, viewerUrls } from "./lib/service.ts";
import { SystemdNotifier } from "./lib/systemd_notify.ts";
import { httpHandlers } from "./routes/app.ts";
import { VERSION } from "./lib/version.ts";

const USAGE = `edgecam ${VERSION}: camera streaming service

Usage: deno task start [--config config.toml] [--listen host:port] [--log-level debug|info|warn|error]

Environment: EDGECAM_LISTEN (as --listen), PI_IP (public IP announced to WebRTC peers).`;

/** Longest a graceful stop may take before the process exits anyway. */
const STOP_DEADLINE_MS = 4500;

async function main(): Promise<number> {
  let flags;
  try {
    flags = parseArgs({
      args: Deno.args,
      options: {
        config: { type: "string", default: "config.toml" },
        listen: { type: "string" },
        "log-level": { type: "string" },
        help: { type: "boolean", short: "h" },
        version: { type: "boolean" },
      },
    }).values;
  } catch (err) {
    console.error(`edgecam: ${(err as Error).message}\n\n${USAGE}`);
    return 2;
  }
  if (flags.help) {
    console.log(USAGE);
    return 0;
  }
  if (flags.version) {
    console.log(VERSION);
    return 0;
  }

  const unreadable = configPathProblem(flags.config, processPermissions);
  if (unreadable) {
    console.error(`edgecam: ${unreadable}`);
    return 2;
  }
  let config;
  try {
    config = await loadConfig(flags.config, { listen: flags.listen, logLevel: flags["log-level"] });
    const problems = configPermissionProblems(config, processPermissions);
    if (problems.length > 0) throw new ConfigError(problems);
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    console.error(`edgecam: invalid configuration (${flags.config}):`);
    for (const problem of err.problems) console.error(`  ${problem}`);
    return 2;
  }
  const service = await startService(config, httpHandlers);
  const log = service.log.logger("main");
  log.info(`edgecam ${VERSION} listening on ${service.addr.hostname}:${service.addr.port}`);
  for (const url of viewerUrls(service.addr, config.server.publicIp)) console.log(`viewer: ${url}`);
  // Under a Type=notify unit: ready only once viewers can connect, then pinged while the event loop runs.
  const systemd = SystemdNotifier.fromEnv(service.log.logger("systemd"));
  systemd.ready(`listening on ${service.addr.hostname}:${service.addr.port}`);
  systemd.startWatchdog();

  const stopped = Promise.withResolvers<void>();
  const onSignal = (signal: Deno.Signal) => () => {
    log.info(`${signal}: stopping`);
    setTimeout(() => {
      log.error("stop took too long; exiting anyway");
      Deno.exit(1);
    }, STOP_DEADLINE_MS);
    systemd.stopping();
    service.stop().then(() => stopped.resolve());
  };
  Deno.addSignalListener("SIGINT", onSignal("SIGINT"));
  Deno.addSignalListener("SIGTERM", onSignal("SIGTERM"));
  await stopped.promise;
  systemd.close();
  log.info("stopped");
  return 0;
}

Deno.exit(await main());
