/**
 * CPU profiles and heap snapshots of the running process, taken in-process on demand: the CPU profile
 * through `node:inspector`'s Session (V8's Profiler domain, the `.cpuprofile` Chrome DevTools and
 * speedscope open), the heap snapshot through `node:v8`'s getHeapSnapshot (`.heapsnapshot`).
 */
import { Session } from "node:inspector";
import { Readable } from "node:stream";
import v8 from "node:v8";
import { sleep } from "../backoff.ts";
import { ConflictError } from "../errors.ts";

/** Longest CPU profile taken, in seconds. */
export const MAX_PROFILE_SECONDS = 60;

/**
 * Takes one profile or snapshot at a time: two at once would each measure the other, and a snapshot
 * holds the whole heap twice while it is written.
 */
export class Profiler {
  #busy: string | undefined;

  /** What is being taken now, if anything ("a CPU profile", "a heap snapshot"). */
  get busy(): string | undefined {
    return this.#busy;
  }

  /**
   * Samples the process's JavaScript for `seconds` and returns the V8 `.cpuprofile` JSON.
   * Throws ConflictError while another profile or snapshot is being taken.
   */
  async cpuProfile(seconds: number): Promise<string> {
    this.#claim("a CPU profile");
    const session = new Session();
    try {
      session.connect();
      const post = (method: string, params?: Record<string, unknown>) =>
        new Promise<unknown>((resolve, reject) =>
          session.post(
            method,
            params ?? {},
            (err: Error | null, result: unknown) => err ? reject(err) : resolve(result),
          )
        );
      await post("Profiler.enable");
      await post("Profiler.start");
      await sleep(seconds * 1000);
      const { profile } = await post("Profiler.stop") as { profile: unknown };
      await post("Profiler.disable");
      return JSON.stringify(profile);
    } finally {
      session.disconnect();
      this.#busy = undefined;
    }
  }

  /**
   * A heap snapshot as a stream of its JSON. The process stops while V8 takes it (a second or so per
   * 100 MB of heap), so frames pause too. Throws ConflictError while another one is being taken.
   */
  heapSnapshot(): ReadableStream<Uint8Array> {
    this.#claim("a heap snapshot");
    let snapshot: Readable;
    try {
      snapshot = v8.getHeapSnapshot();
    } catch (err) {
      this.#busy = undefined;
      throw err;
    }
    const release = () => this.#busy = undefined;
    snapshot.once("close", release);
    snapshot.once("error", release);
    return Readable.toWeb(snapshot) as ReadableStream<Uint8Array>;
  }

  #claim(what: string): void {
    if (this.#busy) throw new ConflictError(`${this.#busy} is being taken; try again when it is done`, 5);
    this.#busy = what;
  }
}
