// The service run as `deno task start` runs it, in a process of its own, and what /proc says of it: the
// figures a user sees (VmRSS and its parts, CPU of every thread of the service), with nothing of the
// bench's own code or heap mixed in.
import { startTaskFlags } from "../start_task.ts";

const ROOT = new URL("../../", import.meta.url).pathname;
/** Clock ticks per second of /proc/<pid>/stat's utime and stime (USER_HZ, 100 on Linux). */
const TICKS_PER_SECOND = 100;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * How to run the service: V8 flags in place of the start task's (`--v8-flags=` form; "" for V8's own
 * defaults; undefined keeps the start task's).
 */
export interface RunVariant {
  name: string;
  v8Flags?: string;
}

/** The Deno flags the service runs with under `variant`: the start task's, its V8 flags replaced if asked. */
export function serviceFlags(variant?: RunVariant): string[] {
  if (variant?.v8Flags === undefined) return startTaskFlags();
  const permissions = startTaskFlags().filter((flag) => !flag.startsWith("--v8-flags="));
  return variant.v8Flags ? [...permissions, `--v8-flags=${variant.v8Flags}`] : permissions;
}

/** /proc's view of a process's memory, in MB. */
export interface ProcMemory {
  rss: number;
  anon: number;
  file: number;
  shmem: number;
}

/** A running service process started from a config file under the repository. */
export class ServiceProcess {
  readonly #child: Deno.ChildProcess;
  readonly base: string;

  private constructor(child: Deno.ChildProcess, port: number) {
    this.#child = child;
    this.base = `http://127.0.0.1:${port}`;
  }

  /** Starts `main.ts --config configPath` (relative to the repository) and waits until /health answers. */
  static async start(configPath: string, port: number, variant?: RunVariant): Promise<ServiceProcess> {
    const child = new Deno.Command(Deno.execPath(), {
      args: [
        "run",
        ...serviceFlags(variant),
        "main.ts",
        "--config",
        configPath,
      ],
      cwd: ROOT,
      stdout: "null",
      stderr: "inherit",
    }).spawn();
    const service = new ServiceProcess(child, port);
    for (let i = 0; i < 150; i++) {
      const res = await fetch(`${service.base}/health`).catch(() => undefined);
      await res?.body?.cancel();
      if (res?.status === 200) return service;
      await sleep(200);
    }
    await service.stop();
    throw new Error(`the service on port ${port} did not answer /health within 30 s`);
  }

  /** The process id. */
  get pid(): number {
    return this.#child.pid;
  }

  /** VmRSS, RssAnon, RssFile and RssShmem now. */
  memory(): ProcMemory {
    const text = Deno.readTextFileSync(`/proc/${this.pid}/status`);
    const kb = (field: string) =>
      Number(new RegExp(`^${field}:\\s+(\\d+) kB`, "m").exec(text)?.[1] ?? NaN) / 1024;
    return { rss: kb("VmRSS"), anon: kb("RssAnon"), file: kb("RssFile"), shmem: kb("RssShmem") };
  }

  /** CPU seconds (user + system, every thread) the process has used; its children are not counted. */
  cpuSeconds(): number {
    const stat = Deno.readTextFileSync(`/proc/${this.pid}/stat`);
    // The command name may hold spaces; the fields after its closing parenthesis do not.
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    return (Number(fields[11]) + Number(fields[12])) / TICKS_PER_SECOND;
  }

  /** The service's own `/status` JSON. */
  async status(): Promise<Record<string, unknown>> {
    return await (await fetch(`${this.base}/status`)).json();
  }

  /** SIGTERM, and waits for the exit. */
  async stop(): Promise<void> {
    try {
      this.#child.kill("SIGTERM");
    } catch {
      // Already gone.
    }
    await this.#child.status;
  }
}
