/**
 * The shared-memory output: a standing reader of one stream that writes each access unit into the
 * stream's ring in /dev/shm for local programs (layout in docs/shm.md).
 */
import type { Log, Logger } from "../log.ts";
import type { Reader } from "../stream/reader.ts";
import { HEADER, ringSize } from "../shm/layout.ts";
import { futexWake, ShmSpaceError } from "../shm/libc.ts";
import { createRing, removeRing, sweepStaleRings, type WritableRing } from "../shm/object.ts";
import type { Stream } from "../stream/stream.ts";

/** How a stream's ring is laid out and who may open it. */
export interface ShmSettings {
  /** Object name in /dev/shm. */
  name: string;
  slotCount: number;
  /** Payload bytes per slot. */
  slotSize: number;
  /** Permission bits of the object. */
  mode: number;
}

/** One ring as the status API shows it. */
export interface ShmRingStatus {
  /** Object name: readers open /dev/shm/<name>. */
  name: string;
  /** Bytes of the object. */
  size: number;
  generation: number | null;
  /** Sequence number of the last access unit written. */
  write_seq: number;
  /** Access units written with their payload. */
  frames_written: number;
  /** Access units larger than a slot, announced in their slot without payload. */
  skipped_too_large: number;
  slot_count: number;
  slot_size: number;
  /** Why the ring could not be created, or null. */
  error: string | null;
}

/**
 * Copies every access unit of a stream into its shared-memory ring and wakes the readers waiting on
 * it. It reads the stream like any other reader, and a ring write never waits for anyone, so it
 * cannot hold the stream up. The ring outlives camera restarts; it goes away with `close()`.
 */
export class ShmOutput {
  readonly #ring: WritableRing | null = null;
  readonly #reader: Reader | null = null;
  #error: string | null = null;
  #closed = false;
  #width = 0;
  #height = 0;

  readonly #log: Logger;

  constructor(private readonly stream: Stream, private readonly settings: ShmSettings, log: Log) {
    this.#log = log.logger("shm");
    try {
      this.#ring = createRing(settings.name, settings, settings.mode, stream.codec);
      const replaced = this.#ring.replacedGeneration;
      const note = replaced === null ? "" : ` (replaced generation ${replaced} left by an earlier run)`;
      this.#log.info(`${stream.name}: ring /dev/shm/${settings.name}, ${settings.slotCount} slots${note}`);
    } catch (err) {
      this.#error = describe(err);
      const hint = err instanceof ShmSpaceError
        ? "; lower [shm] slot_count or slot_size, or give /dev/shm more room"
        : "";
      this.#log.error(
        `${stream.name}: no shared-memory ring /dev/shm/${settings.name} (${settings.slotCount} slots of ` +
          `${settings.slotSize} bytes), the stream runs without it: ${this.#error}${hint}`,
      );
    }
    if (this.#ring) {
      this.#reader = stream.subscribe(stream.readerQueueFrames, { output: true });
      this.#pump(this.#reader, this.#ring);
    }
  }

  async #pump(reader: Reader, ring: WritableRing): Promise<void> {
    for await (const au of reader) {
      if (this.#closed) return;
      if (au.keyframe) this.#updateFormat(ring);
      ring.writer.write(au);
      futexWake(ring.mapping, HEADER.writeSeq);
    }
  }

  #updateFormat(ring: WritableRing): void {
    const format = this.stream.format;
    if (!format || (format.width === this.#width && format.height === this.#height)) return;
    this.#width = format.width;
    this.#height = format.height;
    ring.writer.setFormat(format.width, format.height);
  }

  /** The ring's figures now. */
  status(): ShmRingStatus {
    const writer = this.#ring?.writer;
    return {
      name: this.settings.name,
      size: ringSize(this.settings),
      generation: writer?.generation ?? null,
      write_seq: writer?.writeSeq ?? 0,
      frames_written: writer?.framesWritten ?? 0,
      skipped_too_large: writer?.skipped ?? 0,
      slot_count: this.settings.slotCount,
      slot_size: this.settings.slotSize,
      error: this.#error,
    };
  }

  /** Stops writing, marks the ring closed for its readers and removes it from /dev/shm. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#reader?.close();
    if (!this.#ring) return;
    try {
      removeRing(this.#ring);
    } catch (err) {
      this.#log.warn(`${this.stream.name}: ${describe(err)}`);
    }
  }
}

/**
 * Removes the rings named `<prefix>-…` that a killed or crashed run left behind (their writer is gone),
 * saying which; rings of running writers stay. The service calls it once at start, after its cameras made
 * their rings: each of those replaced its own predecessor with a newer generation, so this finds the rest.
 */
export function removeStaleRings(prefix: string, log: Log): void {
  const logger = log.logger("shm");
  let sweep;
  try {
    sweep = sweepStaleRings(prefix);
  } catch (err) {
    logger.warn(`cannot look for rings a previous run left: ${describe(err)}`);
    return;
  }
  for (const { name, generation, writerPid } of sweep.removed) {
    logger.info(`removed /dev/shm/${name}: generation ${generation}, its writer (pid ${writerPid}) is gone`);
  }
  for (const { name, reason } of sweep.failed) {
    logger.warn(`cannot tell whether /dev/shm/${name} was left by a previous run: ${reason}`);
  }
}

function describe(err: unknown): string {
  if (err instanceof Deno.errors.NotCapable) return `${(err as Error).message} (the start task grants it)`;
  return (err as Error).message;
}
