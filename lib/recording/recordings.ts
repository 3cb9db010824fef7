/**
 * The service's recordings: a recorder per stream on demand or from start, and the disk kept within
 * `[recording]`'s retention (age, size per stream, free space on the volume).
 */
import type { RecordingConfig } from "../config/schema.ts";
import { NotFoundError } from "../errors.ts";
import type { Log, Logger } from "../log.ts";
import type { StreamRegistry } from "../stream/stream.ts";
import { freeBytes, type FreeSpace } from "./disk.ts";
import { RecordingLibrary } from "./library.ts";
import { Recorder, type RecordingStatus, type SpaceKeeper } from "./recorder.ts";
import { expired, overQuota, type StoredSegment, toFree } from "./retention.ts";

/** How often retention runs besides at each segment's end. */
const SWEEP_MS = 60_000;

/** Every stream's recorder and the folder they write to. */
export class Recordings implements SpaceKeeper {
  readonly library: RecordingLibrary;
  readonly #recorders = new Map<string, Recorder>();
  readonly #log: Logger;
  readonly #timer: ReturnType<typeof setInterval>;

  constructor(
    readonly config: RecordingConfig,
    private readonly streams: StreamRegistry,
    log: Log,
    private readonly freeSpace: FreeSpace = freeBytes,
  ) {
    this.library = new RecordingLibrary(config.dir);
    this.#log = log.logger("recording");
    this.#timer = setInterval(() => this.sweep(), SWEEP_MS);
    // Recordings are never the reason the process stays up.
    Deno.unrefTimer(this.#timer);
  }

  /** Starts recording a stream; `started` is false when it already was. Throws NotFoundError. */
  start(name: string): { started: boolean; status: RecordingStatus } {
    const stream = this.streams.get(name);
    if (!stream) throw new NotFoundError(`no stream named "${name}"`);
    let recorder = this.#recorders.get(name);
    if (!recorder || recorder.stream !== stream) {
      recorder = new Recorder(stream, this.config, this.library.folder(name), this, this.#log);
      this.#recorders.set(name, recorder);
    }
    const started = recorder.start();
    return { started, status: recorder.status() };
  }

  /** Stops recording a stream (its last part written); the final status. Throws NotFoundError. */
  stop(name: string): Promise<RecordingStatus> {
    if (!this.streams.get(name)) throw new NotFoundError(`no stream named "${name}"`);
    const recorder = this.#recorders.get(name);
    return recorder ? recorder.stop() : Promise.resolve(this.#idle());
  }

  /** Bytes recorded of a stream since the service started, over all its recordings. */
  bytesTotal(name: string): number {
    return this.#recorders.get(name)?.bytesTotal ?? 0;
  }

  /** A stream's recording status; the idle one for a stream never recorded. */
  status(name: string): RecordingStatus {
    return this.#recorders.get(name)?.status() ?? this.#idle();
  }

  /** The recorder of a stream, if one was ever started (the bench reads its write count). */
  recorder(name: string): Recorder | undefined {
    return this.#recorders.get(name);
  }

  /** A removed stream's recording ends with it. */
  async forget(name: string): Promise<void> {
    const recorder = this.#recorders.get(name);
    this.#recorders.delete(name);
    await recorder?.stop();
  }

  /** Stops every recording, each file closed whole (service shutdown). */
  async stopAll(): Promise<void> {
    clearInterval(this.#timer);
    await Promise.all([...this.#recorders.values()].map((r) => r.stop()));
  }

  #idle(): RecordingStatus {
    return {
      recording: false,
      filename: null,
      frame_count: 0,
      bytes_written: 0,
      duration_ms: 0,
      start_time: null,
      format: this.config.format,
      error: null,
    };
  }

  #active(): Set<string> {
    const active = new Set<string>();
    for (const r of this.#recorders.values()) if (r.activePath) active.add(r.activePath);
    return active;
  }

  /**
   * Room for `bytes` more while the volume keeps `min_free_bytes`: the oldest segments of any stream go
   * first. The reason it cannot, when even that is not enough.
   */
  makeRoom(_stream: string, bytes: number): string | undefined {
    const { minFreeBytes } = this.config;
    if (minFreeBytes === 0) return undefined;
    let free: number;
    try {
      free = this.freeSpace(this.config.dir);
    } catch (err) {
      return (err as Error).message;
    }
    if (free - bytes >= minFreeBytes) return undefined;
    const plan = toFree(this.library.stored(this.#active()), free, bytes, minFreeBytes);
    this.#delete(plan.remove, `to keep ${minFreeBytes} bytes free`);
    if (plan.enough) return undefined;
    return `not enough free space: ${free} bytes free, recording.min_free_bytes = ${minFreeBytes}`;
  }

  /** A segment is complete: its stream's folder is brought within age and size. */
  segmentClosed(stream: string, _path: string): void {
    this.#retain(this.library.stored(this.#active()).filter((s) => s.stream === stream));
  }

  /** One retention pass over every stream's folder. */
  sweep(): void {
    try {
      const stored = this.library.stored(this.#active());
      this.#retain(stored);
      this.makeRoom("", 0);
    } catch (err) {
      this.#log.error(`retention: ${(err as Error).message}`);
    }
  }

  #retain(stored: StoredSegment[]): void {
    const { deleteAfterMs, maxBytes } = this.config;
    const old = expired(stored, Date.now(), deleteAfterMs);
    this.#delete(old, `older than recording.delete_after`);
    const gone = new Set(old.map((s) => s.path));
    const byStream = Map.groupBy(stored.filter((s) => !gone.has(s.path)), (s) => s.stream);
    for (const segments of byStream.values()) {
      this.#delete(overQuota(segments, maxBytes), `over recording.max_bytes`);
    }
  }

  #delete(segments: StoredSegment[], why: string): void {
    for (const s of segments) {
      if (this.library.removeSync(s.path)) this.#log.info(`deleted ${s.path} (${why})`);
    }
  }
}
