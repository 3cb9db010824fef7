/**
 * Sessions that are connecting (answered, or being answered, and not yet up) hold nothing a real viewer
 * needs: they are bounded per client address and in all, and the oldest of the busiest address gives way
 * to a newcomer, so clients that POST offers they never complete cannot lock anyone out.
 */

/** The bounds on connecting sessions (`[webrtc]` max_pending, max_pending_per_address). */
export interface PendingLimits {
  /** Connecting sessions in all. */
  maxPending: number;
  /** Connecting sessions from one client address. */
  maxPendingPerAddress: number;
}

/**
 * The connecting entries, oldest first, with the address each came from. An entry is a session, or a
 * ticket for an offer still being answered; only what `evictable` accepts can be made to give way.
 */
export class PendingSessions<T> {
  /** Insertion order is age order: a Map iterates in it. */
  readonly #entries = new Map<T, string>();

  constructor(private readonly limits: PendingLimits, private readonly evictable: (entry: T) => boolean) {}

  /** Connecting entries now. */
  get size(): number {
    return this.#entries.size;
  }

  /** Connecting entries from this address now. */
  countFrom(address: string): number {
    let count = 0;
    for (const from of this.#entries.values()) if (from === address) count++;
    return count;
  }

  /**
   * What must give way before one more entry from `address` fits: the address's oldest while it is at
   * its own bound, then the oldest of the address with the most entries while the total is at its bound.
   * A string says why there is
   * no room: the entries in the way cannot give way (all are still being answered).
   */
  makeRoom(address: string): T[] | string {
    const victims = new Set<T>();
    const oldest = (from?: string) => {
      for (const [entry, at] of this.#entries) {
        if ((from === undefined || at === from) && !victims.has(entry) && this.evictable(entry)) return entry;
      }
    };
    const { maxPending, maxPendingPerAddress } = this.limits;
    while (this.countFrom(address) - countOf(victims, this.#entries, address) >= maxPendingPerAddress) {
      const victim = oldest(address);
      if (victim === undefined) {
        return `${maxPendingPerAddress} sessions from ${address} are connecting (webrtc.max_pending_per_address)`;
      }
      victims.add(victim);
    }
    while (this.#entries.size - victims.size >= maxPending) {
      const victim = this.#heaviest(victims);
      if (victim === undefined) return `${maxPending} sessions are connecting (webrtc.max_pending)`;
      victims.add(victim);
    }
    return [...victims];
  }

  /**
   * The oldest evictable entry of the address with the most entries left: a flood gives way before a
   * client that sent one offer, however the flood is spread in time.
   */
  #heaviest(victims: Set<T>): T | undefined {
    const counts = new Map<string, number>();
    const oldest = new Map<string, T>();
    for (const [entry, from] of this.#entries) {
      if (victims.has(entry)) continue;
      counts.set(from, (counts.get(from) ?? 0) + 1);
      if (!oldest.has(from) && this.evictable(entry)) oldest.set(from, entry);
    }
    let best: string | undefined;
    for (const from of oldest.keys()) {
      if (best === undefined || counts.get(from)! > counts.get(best)!) best = from;
    }
    return best === undefined ? undefined : oldest.get(best);
  }

  /** Adds an entry as the newest. */
  add(entry: T, address: string): void {
    this.#entries.set(entry, address);
  }

  /** Removes an entry (it connected, ended or was replaced by its session); absent ones are ignored. */
  delete(entry: T): void {
    this.#entries.delete(entry);
  }
}

function countOf<T>(victims: Set<T>, entries: Map<T, string>, address: string): number {
  let count = 0;
  for (const victim of victims) if (entries.get(victim) === address) count++;
  return count;
}
