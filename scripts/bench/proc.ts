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
