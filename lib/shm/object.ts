/**
 * A ring's life as an object in /dev/shm: made fresh at start (replacing one a crash left behind),
 * attached to by readers, closed and removed at shutdown; rings that dead writers left are swept away.
 */
import type { Codec } from "../stream/access_unit.ts";
import { HEADER, MAGIC, nowUs, type RingGeometry, ringSize, STATE_LIVE } from "./layout.ts";
import {
  createObject,
  futexWake,
  listObjects,
  type Mapping,
  openObject,
  processAlive,
  unlinkObject,
} from "./libc.ts";
import { markClosed, readHeader, RingWriter } from "./ring.ts";

/** A ring this process writes. */
export interface WritableRing {
  mapping: Mapping;
  writer: RingWriter;
  /** Generation of the ring this one replaced, or null when the name was free. */
  replacedGeneration: number | null;
}

/** The name belongs to something that must not be replaced. */
export class RingInUseError extends Error {
  override name = "RingInUseError";
}

/**
 * Creates the ring `name` with a generation newer than any ring of that name before it. A ring left by
 * a writer that is gone is marked closed (waking its readers, who then find the new one) and removed;
 * a ring whose writer still runs, or an object that is not a ring, is left alone and refused.
 */
export function createRing(name: string, geometry: RingGeometry, mode: number, codec: Codec): WritableRing {
  let replacedGeneration: number | null = null;
  const old = openObject(name, true);
  if (old) {
    try {
      const words = new Uint32Array(old.buffer, 0, Math.min(old.buffer.byteLength, 64) >> 2);
      if (words.length > 0 && words[0] !== MAGIC) {
        throw new RingInUseError(
          `/dev/shm/${name} exists and is not an edgecam ring: remove it or pick another name`,
        );
      }
      const header = readHeader(old.buffer);
      if (typeof header !== "string") {
        if (header.writerPid !== Deno.pid && processAlive(header.writerPid) && header.state === STATE_LIVE) {
          throw new RingInUseError(
            `/dev/shm/${name} is written by a running process (pid ${header.writerPid})`,
          );
        }
        replacedGeneration = header.generation;
      }
      markClosed(old.buffer);
      futexWake(old, HEADER.writeSeq);
    } finally {
      old.unmap();
    }
  }
  unlinkObject(name);
  const generation = Math.max(nowUs(), (replacedGeneration ?? 0) + 1);
  const mapping = createObject(name, ringSize(geometry), mode);
  const writer = new RingWriter(mapping.buffer, geometry, {
    generation,
    codec,
    writerPid: Deno.pid,
    createdUs: nowUs(),
  });
  return { mapping, writer, replacedGeneration };
}

/** Marks the ring closed, wakes its readers and removes its name. */
export function removeRing(ring: WritableRing): void {
  ring.writer.close();
  futexWake(ring.mapping, HEADER.writeSeq);
  ring.mapping.unmap();
  unlinkObject(ring.mapping.name);
}

/** A ring removed because its writer was gone. */
export interface StaleRing {
  name: string;
  generation: number;
  writerPid: number;
}

/** What a sweep did: the rings it removed, and the objects it could not look at, with why. */
export interface Sweep {
  removed: StaleRing[];
  failed: { name: string; reason: string }[];
}

/**
 * Removes every ring named `<prefix>-…` whose writer process no longer exists: what a killed or crashed
 * run left for streams this run may never make again. Each is marked closed first, so readers still on it
 * move on. Objects without the ring magic (not a ring, or one being set up) and rings whose writer runs
 * (another edgecam, or this process) are left alone.
 */
export function sweepStaleRings(prefix: string): Sweep {
  const sweep: Sweep = { removed: [], failed: [] };
  for (const name of listObjects()) {
    if (!name.startsWith(`${prefix}-`)) continue;
    try {
      const stale = removeIfStale(name);
      if (stale) sweep.removed.push(stale);
    } catch (err) {
      sweep.failed.push({ name, reason: (err as Error).message });
    }
  }
  return sweep;
}

function removeIfStale(name: string): StaleRing | undefined {
  const mapping = openObject(name, true);
  if (!mapping) return undefined;
  let header;
  try {
    header = readHeader(mapping.buffer);
    if (typeof header === "string" || processAlive(header.writerPid)) return undefined;
    markClosed(mapping.buffer);
    futexWake(mapping, HEADER.writeSeq);
  } finally {
    mapping.unmap();
  }
  unlinkObject(name);
  return { name, generation: header.generation, writerPid: header.writerPid };
}
