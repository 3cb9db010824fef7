// The benchmark process's own CPU time and memory.
import process from "node:process";

/**
 * CPU seconds (user + system, every thread) this process has used so far. getrusage through
 * node:process: the same counters as utime + stime in /proc/self/stat, in microseconds rather than
 * 10 ms ticks, and readable without --allow-all (Deno refuses /proc/self to anything less).
 */
export function cpuSeconds(): number {
  const { user, system } = process.cpuUsage();
  return (user + system) / 1e6;
}

/** Resident set size of this process, in bytes. */
export function rssBytes(): number {
  return Deno.memoryUsage().rss;
}

/** Samples CPU use between two moments, as a percentage of one core. */
export class CpuMeter {
  #cpu = cpuSeconds();
  #wallMs = performance.now();

  /** Restarts the measurement now. */
  start(): void {
    this.#cpu = cpuSeconds();
    this.#wallMs = performance.now();
  }

  /** % of one core used since `start()`. */
  percent(): number {
    const wallS = (performance.now() - this.#wallMs) / 1000;
    return (cpuSeconds() - this.#cpu) / wallS * 100;
  }
}

/**
 * Runs one of the bench's helper scripts (next to this file) in its own Deno process, with the
 * project's config and stdin and stdout piped. All permissions: the WebRTC viewers find their UDP
 * sockets in /proc/self/fd, which Deno lets nothing less read.
 */
export function spawnBenchScript(script: string, args: string[]): Deno.ChildProcess {
  return new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "--config",
      new URL("../../deno.json", import.meta.url).pathname,
      "--allow-all",
      new URL(script, import.meta.url).pathname,
      ...args,
    ],
    stdin: "piped",
    stdout: "piped",
  }).spawn();
}
