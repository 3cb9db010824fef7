/**
 * Which segments retention deletes: by age, by one stream's total size, and for the volume's free space.
 * Pure plans over a listing; the segment being written is never in a plan.
 */

/** A segment file on disk, as retention sees it. */
export interface StoredSegment {
  stream: string;
  path: string;
  /** When its recording began (from its name). */
  startMs: number;
  /** When it was last written. */
  endMs: number;
  bytes: number;
  /** Being written now: never deleted. */
  active: boolean;
}

function oldestFirst(segments: readonly StoredSegment[]): StoredSegment[] {
  return segments.filter((s) => !s.active).sort((a, b) => a.startMs - b.startMs);
}

/** Segments whose last byte is older than `deleteAfterMs` (0 keeps everything). */
export function expired(
  segments: readonly StoredSegment[],
  nowMs: number,
  deleteAfterMs: number,
): StoredSegment[] {
  if (deleteAfterMs === 0) return [];
  return oldestFirst(segments).filter((s) => nowMs - s.endMs > deleteAfterMs);
}

/** The oldest segments of one stream to delete so its folder holds at most `maxBytes` (0 = no limit). */
export function overQuota(segments: readonly StoredSegment[], maxBytes: number): StoredSegment[] {
  if (maxBytes === 0) return [];
  let total = segments.reduce((sum, s) => sum + s.bytes, 0);
  const remove: StoredSegment[] = [];
  for (const s of oldestFirst(segments)) {
    if (total <= maxBytes) break;
    remove.push(s);
    total -= s.bytes;
  }
  return remove;
}

/**
 * The oldest segments of any stream to delete so that `needBytes` more can be written and the volume
 * still keeps `minFreeBytes`; `enough` is false when deleting every one of them would not do.
 */
export function toFree(
  segments: readonly StoredSegment[],
  freeBytes: number,
  needBytes: number,
  minFreeBytes: number,
): { remove: StoredSegment[]; enough: boolean } {
  let free = freeBytes;
  const remove: StoredSegment[] = [];
  for (const s of oldestFirst(segments)) {
    if (free - needBytes >= minFreeBytes) break;
    remove.push(s);
    free += s.bytes;
  }
  return { remove, enough: free - needBytes >= minFreeBytes };
}
