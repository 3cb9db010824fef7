/**
 * Exponential backoff shared by everything that retries on its own: a camera's pipeline restarts and
 * a push target's reconnects.
 */

/** The delay before restart attempt `attempt` (1-based): doubling from `initialMs`, capped. */
export function backoffDelay(attempt: number, initialMs: number, maxMs: number): number {
  return Math.min(maxMs, initialMs * 2 ** Math.max(0, attempt - 1));
}
