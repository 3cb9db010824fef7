/**
 * The shared-memory client library for other Deno programs (needs `--allow-ffi`): see ShmReader.
 *
 * It starts at the ring's latest keyframe, sleeps on the ring's futex between access units, jumps to a
 * keyframe when it was lapped, and follows the ring to a new generation when the writer restarts.
 */
import type { Codec } from "../stream/access_unit.ts";
import { HEADER } from "./layout.ts";
import { futexWait, type Mapping, openObject } from "./libc.ts";
import { RingCursor, type RingEvent } from "./ring.ts";

/** Everything a reader reports: ring events, and a new ring under the same name. */
export type ShmEvent =
  | RingEvent
  /** The writer went away and a new ring (another generation) took the name; reading restarts at its keyframe. */
  | { kind: "generation"; generation: number; previous: number };

/** How a reader waits. */
export interface ShmReaderOptions {
  /** Longest single futex sleep; the reader looks at the ring's state at least this often. */
  waitMs?: number;
  /** How often to look for the ring while there is none by that name. */
  retryMs?: number;
}

/**
 * One attachment to /dev/shm/<name>.
 *
 * @example
 * ```ts
 * const reader = await ShmReader.attach("edgecam-front");
 * for await (const event of reader) {
 *   if (event.kind === "frame") console.log(event.seq, event.keyframe, event.data.length);
 * }
 * ```
 */
export class ShmReader {
  #mapping: Mapping;
  #cursor: RingCursor;
  #closed = false;
  #waiting: Promise<void> | null = null;
  readonly #waitMs: number;
  readonly #retryMs: number;

  private constructor(readonly name: string, attached: Attached, options: ShmReaderOptions) {
    this.#mapping = attached.mapping;
    this.#cursor = attached.cursor;
    this.#waitMs = options.waitMs ?? 250;
    this.#retryMs = options.retryMs ?? 100;
  }

  /** Attaches to the ring `name`, waiting up to `timeoutMs` for a live one to exist. */
  static async attach(
    name: string,
    options: ShmReaderOptions & { timeoutMs?: number } = {},
  ): Promise<ShmReader> {
    const deadline = Date.now() + (options.timeoutMs ?? 10_000);
    let why = "";
    while (true) {
      const attached = tryAttach(name);
      if ("cursor" in attached) return new ShmReader(name, attached, options);
      why = attached.why;
      if (Date.now() > deadline) throw new Error(`no edgecam ring at /dev/shm/${name}: ${why}`);
      await sleep(options.retryMs ?? 100);
    }
  }

  /** Generation of the ring read now. */
  get generation(): number {
    return this.#cursor.header.generation;
  }

  /** Codec of the stream. */
  get codec(): Codec {
    return this.#cursor.header.codec;
  }

  /** Picture size as the ring's header gives it now (0 before the writer knows it). */
  get format(): { width: number; height: number } {
    return this.#cursor.format;
  }

  /** Sequence number of the last access unit the writer committed. */
  get writeSeq(): number {
    return this.#cursor.writeSeq;
  }

  /** Access units passed over after a lap or a skip, waiting for a keyframe. */
  get dropped(): number {
    return this.#cursor.dropped;
  }

  /** The next event; undefined once closed. */
  async next(): Promise<ShmEvent | undefined> {
    while (!this.#closed) {
      if (this.#cursor.closed) {
        const previous = this.generation;
        await this.#reattach();
        if (this.#closed) break;
        return { kind: "generation", generation: this.generation, previous };
      }
      const event = this.#cursor.poll();
      if (event) return event;
      const writeSeq = this.#cursor.writeSeq;
      if (this.#cursor.next <= writeSeq) continue;
      // The futex word is the low half of the 64-bit write sequence.
      this.#waiting = futexWait(this.#mapping, HEADER.writeSeq, writeSeq % 2 ** 32, this.#waitMs);
      await this.#waiting;
      this.#waiting = null;
    }
    this.#mapping.unmap();
    return undefined;
  }

  /** Detaches; a pending `next()` resolves to undefined. Resolves once no futex wait is left running. */
  async close(): Promise<void> {
    this.#closed = true;
    await this.#waiting;
    this.#mapping.unmap();
  }

  /** Iterates events until closed. */
  async *[Symbol.asyncIterator](): AsyncGenerator<ShmEvent> {
    while (true) {
      const event = await this.next();
      if (!event) return;
      yield event;
    }
  }

  async #reattach(): Promise<void> {
    this.#mapping.unmap();
    while (!this.#closed) {
      const attached = tryAttach(this.name);
      if ("cursor" in attached && attached.cursor.header.generation !== this.generation) {
        this.#mapping = attached.mapping;
        this.#cursor = attached.cursor;
        return;
      }
      if ("cursor" in attached) attached.mapping.unmap();
      await sleep(this.#retryMs);
    }
  }
}

interface Attached {
  mapping: Mapping;
  cursor: RingCursor;
}

/** Maps the ring if a live, readable one is there; else says why not. */
function tryAttach(name: string): Attached | { why: string } {
  const mapping = openObject(name, false);
  if (!mapping) return { why: "no such object yet" };
  try {
    const cursor = new RingCursor(mapping.buffer);
    if (cursor.closed) throw new Error("its writer has left");
    return { mapping, cursor };
  } catch (err) {
    mapping.unmap();
    return { why: (err as Error).message };
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
