/**
 * The standard `process_*` figures of this process. Deno refuses even a granted `--allow-read` on
 * /proc/self, so the open descriptors are counted through libc (`opendir` on /proc/self/fd, under the
 * `--allow-ffi` the service already has); CPU and RSS come from the runtime, which needs no permission.
 */
import process from "node:process";
import { requiredLibrary } from "../native_library.ts";

/** The figures `process_*` metrics report. */
export interface ProcessFigures {
  /** User plus system CPU time, in seconds. */
  cpuSeconds: number;
  residentBytes: number;
  /** Unix time the process started, in seconds. */
  startTimeSeconds: number;
  /** Open file descriptors, or undefined where they cannot be counted. */
  openFds: number | undefined;
  /** The soft limit on descriptors (`LimitNOFILE`), or undefined. */
  maxFds: number | undefined;
}

const RLIMIT_NOFILE = 7;

const libc = requiredLibrary(
  "libc.so.6",
  {
    opendir: { parameters: ["buffer"], result: "pointer" },
    readdir: { parameters: ["pointer"], result: "pointer" },
    closedir: { parameters: ["pointer"], result: "i32" },
    getrlimit: { parameters: ["i32", "buffer"], result: "i32" },
  } as const,
);

const FD_DIR = new TextEncoder().encode("/proc/self/fd\0");

/** Open descriptors: the entries of /proc/self/fd but ".", ".." and the one opendir itself holds. */
function openFds(): number | undefined {
  const dir = libc().opendir(FD_DIR);
  if (dir === null) return undefined;
  let entries = 0;
  while (libc().readdir(dir) !== null) entries++;
  libc().closedir(dir);
  return entries - 3;
}

function maxFds(): number | undefined {
  const limit = new BigUint64Array(2);
  if (libc().getrlimit(RLIMIT_NOFILE, limit) !== 0) return undefined;
  return Number(limit[0]);
}

/** This process's figures now. */
export function processFigures(): ProcessFigures {
  const cpu = process.cpuUsage();
  return {
    cpuSeconds: (cpu.user + cpu.system) / 1e6,
    residentBytes: Deno.memoryUsage().rss,
    startTimeSeconds: performance.timeOrigin / 1000,
    openFds: openFds(),
    maxFds: maxFds(),
  };
}
