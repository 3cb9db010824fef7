/**
 * The memory guard: watches the process's RSS against `limits.max_memory_usage_mb` and, under
 * pressure, cuts lagging readers back to a keyframe or gives every reader keyframes only.
 */
import type { StreamRegistry } from "./stream.ts";

/** How close the process is to `limits.max_memory_usage_mb`. */
export type PressureLevel = "normal" | "high" | "critical";

/** Share of the limit at which readers that lag are cut back to the next keyframe. */
export const HIGH_PRESSURE = 0.7;
/** Share of the limit at which every reader gets keyframes only. */
export const CRITICAL_PRESSURE = 0.85;

/** The pressure level for a resident set size against a limit in MiB. */
export function pressureLevel(rssBytes: number, limitMb: number): PressureLevel {
  const share = rssBytes / (limitMb * 1024 * 1024);
  if (share >= CRITICAL_PRESSURE) return "critical";
  if (share >= HIGH_PRESSURE) return "high";
  return "normal";
}

/** What the guard saw last, for status. */
export interface MemoryStatus {
  rssMb: number;
  limitMb: number;
  level: PressureLevel;
  /** Readers cut back to a keyframe because of pressure, since start. */
  cuts: number;
}

/**
 * The Pion-based Pi camera streamer's memory monitor, done so it never breaks a decoder: instead of dropping
 * every n-th frame (which corrupts every picture after it), it sheds whole GOP tails. Under high pressure a
 * reader with a backlog drops it and resumes at the next keyframe; under critical pressure all readers get
 * keyframes only until memory falls back.
 */
export class MemoryGuard {
  #timer: ReturnType<typeof setInterval> | undefined;
  #status: MemoryStatus;

  constructor(
    private readonly streams: StreamRegistry,
    private readonly limitMb: number,
    private readonly sampleRss: () => number = () => Deno.memoryUsage().rss,
  ) {
    this.#status = { rssMb: 0, limitMb, level: "normal", cuts: 0 };
  }

  /** Samples memory once and applies the level to every reader. */
  check(): MemoryStatus {
    const rss = this.sampleRss();
    const level = pressureLevel(rss, this.limitMb);
    let cuts = 0;
    for (const stream of this.streams.all()) {
      for (const reader of stream.readers) {
        if (level !== "normal" && (reader.queued > 1 || reader.backlogBytes() > 0)) {
          reader.cutToKeyframe();
          cuts++;
        }
        reader.setKeyframesOnly(level === "critical");
      }
    }
    this.#status = {
      rssMb: Math.round(rss / 1024 / 1024),
      limitMb: this.limitMb,
      level,
      cuts: this.#status.cuts + cuts,
    };
    return this.#status;
  }

  /** The last sample. */
  get status(): MemoryStatus {
    return this.#status;
  }

  /** Samples every `intervalMs` until stopped. */
  start(intervalMs = 1000): void {
    this.check();
    this.#timer = setInterval(() => this.check(), intervalMs);
  }

  /** Stops sampling. */
  stop(): void {
    clearInterval(this.#timer);
  }
}
