/**
 * The shared-memory client library for other Deno programs (needs `--allow-ffi`): see ShmReader.
 *
 * It starts at the ring's latest keyframe, sleeps on the ring's futex between access units, jumps to a
 * keyframe when it was lapped, and follows the ring to a new generation when the writer restarts. A
 * writer that closed its ring or died is waited for a bounded time, then the reader gives up.
 */
import type { Codec } from "../stream/access_unit.ts";
import { HEADER } from "./layout.ts";
import { futexWait, type Mapping, openObject, processAlive } from "./libc.ts";
import { RingCursor, type RingEvent } from "./ring.ts";

/** Everything a reader reports: ring events, its writer's death, and a new ring under the same name. */
export type ShmEvent =
  | RingEvent
  /**
   * The writer's process is gone though it never closed the ring (killed, crashed): nothing more comes on
   * this one. The reader goes on looking for a new ring by the name, for up to `rejoinMs`.
   */
  | { kind: "writer-gone"; generation: number; pid: number }
  /** The writer went away and a new ring (another generation) took the name; reading restarts at its keyframe. */
  | { kind: "generation"; generation: number; previous: number };

/** How a reader waits. */
export interface ShmReaderOptions {
  /**
   * Longest single futex sleep; the reader looks at the ring's state, and after a sleep that brought
   * nothing at whether its writer still exists, at least this often.
   */
  waitMs?: number;
  /** How often to look for the ring while there is none by that name. */
  retryMs?: number;
  /**
   * How long to look for a new ring after the writer left (closed its ring or died) before `next()`
   * throws WriterGoneError. Long enough by default for a supervised service to come back.
   */
  rejoinMs?: number;
}

/** The ring's writer left and no new ring took the name within `rejoinMs`; the reader is closed. */
export class WriterGoneError extends Error {
  override name = "WriterGoneError";

  constructor(readonly ring: string, readonly generation: number, readonly rejoinMs: number) {
    super(
      `the writer of /dev/shm/${ring} (generation ${generation}) is gone: no new ring within ${rejoinMs} ms`,
    );
  }
}

/** The figures a reader reports once it no longer has the ring mapped. */
interface LastKnown {
  writeSeq: number;
  format: { width: number; height: number };
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
  /** Set while no ring is mapped: reading the cursor then would touch unmapped pages and crash. */
  #last: LastKnown | null = null;
  #closed = false;
  #writerDead = false;
  #waiting: Promise<void> | null = null;
  readonly #waitMs: number;
  readonly #retryMs: number;
  readonly #rejoinMs: number;

  private constructor(readonly name: string, attached: Attached, options: ShmReaderOptions) {
    this.#mapping = attached.mapping;
    this.#cursor = attached.cursor;
    this.#waitMs = options.waitMs ?? 250;
    this.#retryMs = options.retryMs ?? 100;
    this.#rejoinMs = options.rejoinMs ?? 30_000;
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

  /** Picture size in the ring's header now (0 before the writer knows it); the last one seen once closed. */
  get format(): { width: number; height: number } {
    return this.#last?.format ?? this.#cursor.format;
  }

  /** Sequence number of the last access unit the writer committed; the last one seen once closed. */
  get writeSeq(): number {
    return this.#last?.writeSeq ?? this.#cursor.writeSeq;
  }

  /** Access units passed over after a lap or a skip, waiting for a keyframe. */
  get dropped(): number {
    return this.#cursor.dropped;
  }

  /**
   * The next event; undefined once closed. Throws WriterGoneError when the writer left and no new ring
   * came within `rejoinMs`.
   */
  async next(): Promise<ShmEvent | undefined> {
    while (!this.#closed) {
      if (this.#cursor.closed || this.#writerDead) {
        const previous = this.generation;
        await this.#rejoin();
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
      if (this.#closed || this.#cursor.writeSeq !== writeSeq || this.#cursor.closed) continue;
      // A killed writer never marks its ring closed: only its missing process tells.
      const pid = this.#cursor.header.writerPid;
      if (!processAlive(pid)) {
        this.#writerDead = true;
        return { kind: "writer-gone", generation: this.generation, pid };
      }
    }
    this.#unmap();
    return undefined;
  }

  /** Detaches; a pending `next()` resolves to undefined. Resolves once no futex wait is left running. */
  async close(): Promise<void> {
    this.#closed = true;
    await this.#waiting;
    this.#unmap();
  }

  /** Iterates events until closed. */
  async *[Symbol.asyncIterator](): AsyncGenerator<ShmEvent> {
    while (true) {
      const event = await this.next();
      if (!event) return;
      yield event;
    }
  }

  /** Waits for a ring of another generation under the name, up to `rejoinMs`. */
  async #rejoin(): Promise<void> {
    this.#unmap();
    const deadline = Date.now() + this.#rejoinMs;
    while (!this.#closed) {
      const attached = tryAttach(this.name);
      if ("cursor" in attached && attached.cursor.header.generation !== this.generation) {
        this.#mapping = attached.mapping;
        this.#cursor = attached.cursor;
        this.#last = null;
        this.#writerDead = false;
        return;
      }
      if ("cursor" in attached) attached.mapping.unmap();
      if (Date.now() >= deadline) {
        this.#closed = true;
        throw new WriterGoneError(this.name, this.generation, this.#rejoinMs);
      }
      await sleep(this.#retryMs);
    }
  }

  /** Unmaps the ring once, keeping what the getters report from then on. */
  #unmap(): void {
    if (this.#last) return;
    this.#last = { writeSeq: this.#cursor.writeSeq, format: this.#cursor.format };
    this.#mapping.unmap();
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
    const pid = cursor.header.writerPid;
    if (!processAlive(pid)) throw new Error(`its writer (pid ${pid}) is gone`);
    return { mapping, cursor };
  } catch (err) {
    mapping.unmap();
    return { why: (err as Error).message };
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
