/**
 * A Prometheus histogram kept as it is observed: fixed upper bounds and a count per bound, so a scrape
 * reads what is already there instead of walking per-packet data.
 */

/**
 * Bounds of the send-delay histogram, in seconds: the fan-out takes about a millisecond per frame, so
 * the fine steps sit below 10 ms; the coarse ones show a stalled loop.
 */
export const SEND_DELAY_BUCKETS = [0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1];

/** A histogram's figures at one moment: cumulative counts per bound (the last is +Inf), sum and count. */
export interface HistogramSnapshot {
  bounds: readonly number[];
  /** Observations ≤ each bound, then the total (+Inf). */
  cumulative: number[];
  sum: number;
  count: number;
}

/** Counts observations into fixed buckets; observe is a short loop over a dozen bounds, nothing more. */
export class Histogram {
  readonly #counts: Float64Array;
  #sum = 0;

  /** @param bounds upper bounds in ascending order (+Inf is implied). */
  constructor(readonly bounds: readonly number[]) {
    this.#counts = new Float64Array(bounds.length + 1);
  }

  /** Counts one value. */
  observe(value: number): void {
    let i = 0;
    while (i < this.bounds.length && value > this.bounds[i]) i++;
    this.#counts[i]++;
    this.#sum += value;
  }

  /** The figures now, with the cumulative counts Prometheus expects. */
  snapshot(): HistogramSnapshot {
    const cumulative: number[] = [];
    let running = 0;
    for (const n of this.#counts) cumulative.push(running += n);
    return { bounds: this.bounds, cumulative, sum: this.#sum, count: running };
  }
}
