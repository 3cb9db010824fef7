/**
 * A reader's bounded queue of access units: how one consumer follows a stream without ever slowing it.
 */
import type { AccessUnit } from "./access_unit.ts";

/**
 * One consumer's view of a stream: a bounded queue that never makes the stream wait.
 *
 * Whatever the reader drops, it resumes on a keyframe, so a decoder behind it never sees a
 * picture that references one it did not get.
 */
export class Reader {
  #queue: AccessUnit[] = [];
  #head = 0;
  #waiter: ((au: AccessUnit | undefined) => void) | null = null;
  /** Until the first keyframe nothing is queued; after a drop nothing is queued until the next one. */
  #awaitKeyframe = true;
  #started = false;
  #keyframesOnly = false;
  #closed = false;
  #drops = 0;
  #delivered = 0;

  readonly #onClose: (reader: Reader) => void;
  readonly #onKeyframeNeeded: () => void;
  /**
   * Bytes the consumer holds outside the queue (a WebSocket's unsent messages): the memory guard cuts a
   * reader with such a backlog as it cuts one with a queue.
   */
  backlogBytes: () => number = () => 0;

  /**
   * @param capacity most access units held before this reader skips to the next keyframe.
   * @param hooks `onClose` runs once when the reader closes; `onKeyframeNeeded` runs each time the reader
   *   starts skipping to the next keyframe, so its stream can ask the source for one.
   */
  constructor(
    readonly capacity: number,
    hooks: { onClose?: (reader: Reader) => void; onKeyframeNeeded?: () => void } = {},
  ) {
    this.#onClose = hooks.onClose ?? (() => {});
    this.#onKeyframeNeeded = hooks.onKeyframeNeeded ?? (() => {});
  }

  /** Access units this reader lost to overflow or memory pressure. */
  get drops(): number {
    return this.#drops;
  }

  /** Access units handed to the consumer. */
  get delivered(): number {
    return this.#delivered;
  }

  /** Access units waiting in the queue. */
  get queued(): number {
    return this.#queue.length - this.#head;
  }

  /** True once closed: `next()` then resolves to undefined. */
  get closed(): boolean {
    return this.#closed;
  }

  /** Offers an access unit; called by the stream, returns at once. */
  push(au: AccessUnit): void {
    if (this.#closed) return;
    if (this.#awaitKeyframe) {
      if (!au.keyframe) {
        if (this.#started) this.#drops++;
        return;
      }
      this.#awaitKeyframe = false;
      this.#started = true;
    } else if (this.#keyframesOnly && !au.keyframe) {
      this.#drops++;
      return;
    }
    if (this.#waiter) {
      const resolve = this.#waiter;
      this.#waiter = null;
      this.#delivered++;
      resolve(au);
      return;
    }
    if (this.queued >= this.capacity) {
      if (!au.keyframe) {
        this.cutToKeyframe();
        this.#drops++;
        return;
      }
      // Overflowing on a keyframe: the backlog goes and the reader resumes right here.
      this.#dropQueued();
    }
    this.#queue.push(au);
  }

  /** Drops everything queued and skips until the next keyframe, which it asks for. */
  cutToKeyframe(): void {
    this.#dropQueued();
    this.#awaitKeyframe = true;
    this.#onKeyframeNeeded();
  }

  #dropQueued(): void {
    this.#drops += this.queued;
    this.#queue = [];
    this.#head = 0;
  }

  /** While set, only keyframes are queued (memory pressure). */
  setKeyframesOnly(on: boolean): void {
    this.#keyframesOnly = on;
  }

  /** The next access unit without waiting, or undefined when none is queued. */
  tryNext(): AccessUnit | undefined {
    if (this.#head >= this.#queue.length) return undefined;
    const au = this.#queue[this.#head];
    this.#head++;
    // Compact now and then instead of shift() per item, which is O(n).
    if (this.#head > 64 && this.#head * 2 > this.#queue.length) {
      this.#queue = this.#queue.slice(this.#head);
      this.#head = 0;
    }
    this.#delivered++;
    return au;
  }

  /** The next access unit, waiting for one if needed; undefined once the reader is closed. */
  next(): Promise<AccessUnit | undefined> {
    const au = this.tryNext();
    if (au || this.#closed) return Promise.resolve(au);
    return new Promise((resolve) => (this.#waiter = resolve));
  }

  /** Detaches from the stream and wakes a pending `next()` with undefined. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#queue = [];
    this.#head = 0;
    this.#waiter?.(undefined);
    this.#waiter = null;
    this.#onClose(this);
  }

  /** Iterates access units until the reader is closed. */
  async *[Symbol.asyncIterator](): AsyncGenerator<AccessUnit> {
    while (true) {
      const au = await this.next();
      if (!au) return;
      yield au;
    }
  }
}
