/**
 * Retry pacing: the exponential backoff shared by everything that retries on its own (a camera's
 * pipeline restarts, a push target's reconnects), the camera restart policy built on it, and a sleep a
 * shutdown can cut short.
 */

/** The delay before restart attempt `attempt` (1-based): doubling from `initialMs`, capped. */
export function backoffDelay(attempt: number, initialMs: number, maxMs: number): number {
  return Math.min(maxMs, initialMs * 2 ** Math.max(0, attempt - 1));
}

/** The window `RestartPolicy.maxPerMinute` counts restarts in. */
export const RESTART_WINDOW_MS = 60_000;

/** How a camera's restarts are paced (the `[supervisor]` keys). */
export interface RestartPolicy {
  /** Delay before a restart after a run that delivered frames, and the backoff's first step. */
  initialMs: number;
  /** Ceiling of the backoff. */
  maxMs: number;
  /** Restarts allowed within any RESTART_WINDOW_MS. */
  maxPerMinute: number;
}

/** What the next restart is decided from. */
export interface RestartHistory {
  /** Runs in a row that delivered no frame, the one that just ended included; 0 when it delivered. */
  runsWithoutFrames: number;
  /**
   * When the earlier restarts began, oldest first, on the clock of `now`. Only the last
   * `maxPerMinute` of them matter.
   */
  restartTimes: readonly number[];
  /** When the run ended. */
  now: number;
}

/** The wait before the next restart. */
export interface RestartDecision {
  delayMs: number;
  /** Whether the per-minute ceiling, not the backoff, set the wait. */
  rateLimited: boolean;
}

/**
 * The wait before restarting a camera whose run just ended. A run that delivered frames is worth
 * restarting at once (a killed process, a glitch): the initial delay, however short it ran. Only runs
 * in a row that delivered nothing (a camera that cannot start) grow the backoff. Whatever the backoff
 * says, no more than `maxPerMinute` restarts begin within a minute, so a crash loop cannot burn the CPU.
 */
export function nextRestart(policy: RestartPolicy, history: RestartHistory): RestartDecision {
  // Attempt 0 and 1 both give the initial delay: the first run without frames is not yet a pattern.
  const backoffMs = backoffDelay(history.runsWithoutFrames, policy.initialMs, policy.maxMs);
  const times = history.restartTimes;
  if (times.length < policy.maxPerMinute) return { delayMs: backoffMs, rateLimited: false };
  // The restart `maxPerMinute` back must have left the window when this one begins.
  const windowOpensInMs = times[times.length - policy.maxPerMinute] + RESTART_WINDOW_MS - history.now;
  return windowOpensInMs > backoffMs
    ? { delayMs: Math.ceil(windowOpensInMs), rateLimited: true }
    : { delayMs: backoffMs, rateLimited: false };
}

/** Resolves after `ms`, or as soon as `signal` aborts: a wait that a shutdown does not have to sit out. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      clearTimeout(timer);
      signal?.removeEventListener("abort", done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal?.addEventListener("abort", done, { once: true });
  });
}
