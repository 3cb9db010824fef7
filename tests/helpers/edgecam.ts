import { startTaskFlags } from "../../scripts/start_task.ts";

const ROOT = new URL("../../", import.meta.url).pathname;

/** The permission flags of `deno task start`, so tests run the service exactly as users do. */
export { startTaskFlags };

/** The line edgecam prints on stdout once it listens; group 1 is the base URL. */
export const VIEWER_LINE = /viewer: (http:\/\/[^/\s]+)\//;

/** An edgecam process started for a test. */
export interface RunningEdgecam {
  /** Base URL, e.g. http://127.0.0.1:41234 */
  url: string;
  child: Deno.ChildProcess;
  /** Everything the process wrote to stderr so far (its log). */
  log(): string;
  /** Sends a signal and waits for the exit status. */
  stop(signal?: Deno.Signal): Promise<Deno.CommandStatus>;
}

/** Writes a config file inside the repo (where the start task may read) and returns its path. */
export async function writeConfig(toml: string): Promise<string> {
  await Deno.mkdir(`${ROOT}test-output`, { recursive: true });
  const path = `test-output/config-${crypto.randomUUID().slice(0, 8)}.toml`;
  await Deno.writeTextFile(`${ROOT}${path}`, toml);
  return path;
}

/** A spawned main.ts: its process, its stdout as text chunks, and its log so far. */
export interface SpawnedEdgecam {
  child: Deno.ChildProcess;
  stdout: ReadableStreamDefaultReader<string>;
  /** Everything written to stderr so far. */
  log(): string;
  /** Resolves with the whole stderr once the process closed it. */
  logClosed: Promise<string>;
}

/** Runs main.ts with the given arguments, under the start task's permission flags unless `flags` replaces them. */
export function spawnEdgecam(args: string[], flags = startTaskFlags()): SpawnedEdgecam {
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", ...flags, "main.ts", ...args],
    cwd: ROOT,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  let stderr = "";
  const logClosed = (async () => {
    for await (const text of child.stderr.pipeThrough(new TextDecoderStream())) stderr += text;
    return stderr;
  })();
  const stdout = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  return { child, stdout, log: () => stderr, logClosed };
}

/**
 * Starts edgecam on a config (path or TOML text) listening on a loopback port: `port`, or an ephemeral
 * one by default; `flags` replaces the start task's permission flags.
 */
export async function startEdgecam(
  config: { path?: string; toml?: string; port?: number; flags?: string[] },
): Promise<RunningEdgecam> {
  const path = config.path ?? await writeConfig(config.toml!);
  const { child, stdout, log } = spawnEdgecam(
    ["--config", path, "--listen", `127.0.0.1:${config.port ?? 0}`],
    config.flags,
  );
  let out = "";
  const deadline = Date.now() + 20_000;
  while (!VIEWER_LINE.test(out)) {
    if (Date.now() > deadline) throw new Error(`edgecam did not print its URL; log:\n${log()}`);
    const { value, done } = await stdout.read();
    if (done) throw new Error(`edgecam exited before listening; log:\n${log()}`);
    out += value;
  }
  // Keep draining stdout so the process never blocks on a full pipe.
  (async () => {
    while (!(await stdout.read()).done);
  })();
  return {
    url: out.match(VIEWER_LINE)![1],
    child,
    log,
    async stop(signal: Deno.Signal = "SIGTERM") {
      try {
        child.kill(signal);
      } catch {
        // Already exited.
      }
      return await child.status;
    },
  };
}

/** Waits until `GET /health` answers 200: every stream of the service at `url` is up. */
export async function waitHealthy(url: string): Promise<void> {
  await waitFor("healthy", async () => (await getJson(`${url}/health`)).status === 200 || undefined);
}

/** Polls `probe` until it returns a value other than undefined, or fails after `timeoutMs`. */
export async function waitFor<T>(
  what: string,
  probe: () => Promise<T | undefined> | T | undefined,
  timeoutMs = 15_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  while (true) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** A TCP port nobody listens on now: a fixed address to restart a service on, or a port to configure. */
export function freePort(): number {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const { port } = listener.addr as Deno.NetAddr;
  listener.close();
  return port;
}

/** GETs a JSON document. */
export async function getJson<T = Record<string, unknown>>(
  url: string,
): Promise<{ status: number; body: T }> {
  const res = await fetch(url);
  return { status: res.status, body: await res.json() as T };
}

/** True while a process with this id exists. */
export function processExists(pid: number): boolean {
  try {
    Deno.statSync(`/proc/${pid}`);
    return true;
  } catch {
    return false;
  }
}
