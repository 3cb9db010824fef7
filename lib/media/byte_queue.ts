/**
 * The growable byte buffer behind the incremental stream parsers (Annex-B, WebM), through which every
 * camera byte passes: one implementation, so its copy and allocation costs are tuned in one place.
 */

/**
 * Unread bytes of a stream, kept contiguous so a parser can scan them in place across chunk boundaries.
 * The backing array doubles when too small and is compacted only when a chunk does not fit behind the
 * unread bytes, so a stream of tiny chunks costs no repeated copies. Indices into {@link bytes} stay
 * valid until the next append or clear; hot loops read `bytes`, `start` and `end` instead of taking a view.
 */
export class ByteQueue {
  #bytes: Uint8Array;
  #start = 0;
  #end = 0;

  /** @param capacity initial size of the backing array, in bytes. */
  constructor(capacity = 1 << 16) {
    this.#bytes = new Uint8Array(capacity);
  }

  /** The backing array, whose unread bytes are [start, end); replaced when it grows. */
  get bytes(): Uint8Array {
    return this.#bytes;
  }

  /** Index in {@link bytes} of the first unread byte. */
  get start(): number {
    return this.#start;
  }

  /** Index in {@link bytes} just past the last unread byte. */
  get end(): number {
    return this.#end;
  }

  /** Number of unread bytes. */
  get length(): number {
    return this.#end - this.#start;
  }

  /** A view of the unread bytes, valid until the next append or clear. */
  unread(): Uint8Array {
    return this.#bytes.subarray(this.#start, this.#end);
  }

  /** Marks the next `n` unread bytes (at most {@link length}) as read. */
  consume(n: number): void {
    this.#start += n;
  }

  /** Drops every byte, read or not, keeping the backing array. */
  clear(): void {
    this.#start = this.#end = 0;
  }

  /**
   * Adds a chunk after the unread bytes. Returns how far the unread bytes moved toward index 0 (bytes
   * dropped from the front), which a caller holding its own indices or stream offsets must apply.
   */
  append(chunk: Uint8Array): number {
    let shift = 0;
    if (this.#start === this.#end) {
      // Nothing unread: restarting at the front is free and postpones the next compaction.
      shift = this.#end;
      this.#start = this.#end = 0;
    }
    if (this.#end + chunk.length > this.#bytes.length) {
      const keep = this.#end - this.#start;
      if (keep + chunk.length > this.#bytes.length) {
        const grown = new Uint8Array(Math.max(this.#bytes.length * 2, keep + chunk.length));
        grown.set(this.#bytes.subarray(this.#start, this.#end));
        this.#bytes = grown;
      } else {
        this.#bytes.copyWithin(0, this.#start, this.#end);
      }
      shift += this.#start;
      this.#end = keep;
      this.#start = 0;
    }
    this.#bytes.set(chunk, this.#end);
    this.#end += chunk.length;
    return shift;
  }
}
