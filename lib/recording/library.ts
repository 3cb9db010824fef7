/**
 * The recordings on disk: which streams have segments, each segment's start, length and size, and where
 * an fMP4 segment's fragments sit. Everything is read back from the files themselves, so a segment cut
 * by kill -9 lists with the length of what it holds, and a restart needs no index file.
 */
import { type FragmentInfo, fragmentInfo, parseMp4 } from "../media/fmp4.ts";
import { NAME } from "../config/rules.ts";
import { parseSegmentFileName, type SegmentExtension } from "./names.ts";
import type { StoredSegment } from "./retention.ts";

/** One segment as the listing shows it. */
export interface SegmentInfo {
  stream: string;
  /** File name within the stream's folder. */
  name: string;
  path: string;
  extension: SegmentExtension;
  startMs: number;
  durationMs: number;
  bytes: number;
}

/** Where an fMP4 segment's init section and complete fragments are. */
export interface Mp4Index {
  /** The ftyp and moov, or null when the file was cut before its moov ended. */
  init: Uint8Array | null;
  /** Track id and time scale of its video track. */
  videoTrack: { id: number; timescale: number } | null;
  /** The audio track's id, when it has one. */
  audioTrackId: number | null;
  fragments: FragmentInfo[];
  /** Bytes read so far: everything up to the end of the last complete fragment. */
  scanned: number;
}

/** Longest header a box has: size, type and a 64-bit size. */
const BOX_HEADER_MAX = 16;
/** Indexes kept in memory; each holds a few bytes per fragment. */
const INDEX_CACHE = 64;

/** The recordings below one folder, one folder per stream. */
export class RecordingLibrary {
  readonly #indexes = new Map<string, Mp4Index>();

  constructor(readonly dir: string) {}

  /** The folder of a stream's segments. */
  folder(stream: string): string {
    return `${this.dir}/${stream}`;
  }

  /** Names of the streams that have at least one segment, sorted. */
  async streams(): Promise<string[]> {
    const names: string[] = [];
    for await (const entry of readDirOrEmpty(this.dir)) {
      if (!entry.isDirectory || !NAME.test(entry.name)) continue;
      for await (const file of readDirOrEmpty(this.folder(entry.name))) {
        if (file.isFile && parseSegmentFileName(file.name)) {
          names.push(entry.name);
          break;
        }
      }
    }
    return names.sort();
  }

  /** A stream's segments that overlap [fromMs, toMs), oldest first. */
  async segments(stream: string, fromMs = -Infinity, toMs = Infinity): Promise<SegmentInfo[]> {
    const found: SegmentInfo[] = [];
    for await (const entry of readDirOrEmpty(this.folder(stream))) {
      const parsed = entry.isFile ? parseSegmentFileName(entry.name) : undefined;
      if (!parsed || parsed.startMs >= toMs) continue;
      const path = `${this.folder(stream)}/${entry.name}`;
      const stat = await Deno.stat(path).catch(() => null);
      if (!stat) continue;
      const durationMs = await this.#duration(path, parsed.extension, parsed.startMs, stat);
      if (parsed.startMs + durationMs <= fromMs) continue;
      found.push({ stream, name: entry.name, path, ...parsed, durationMs, bytes: stat.size });
    }
    return found.sort((a, b) => a.startMs - b.startMs);
  }

  /** One segment by stream and file name, or undefined when there is no such segment. */
  async segment(stream: string, name: string): Promise<SegmentInfo | undefined> {
    const parsed = NAME.test(stream) ? parseSegmentFileName(name) : undefined;
    if (!parsed) return undefined;
    const path = `${this.folder(stream)}/${name}`;
    const stat = await Deno.stat(path).catch(() => null);
    if (!stat?.isFile) return undefined;
    const durationMs = await this.#duration(path, parsed.extension, parsed.startMs, stat);
    return { stream, name, path, ...parsed, durationMs, bytes: stat.size };
  }

  /** Deletes one segment file. */
  async remove(segment: SegmentInfo): Promise<void> {
    await Deno.remove(segment.path);
    this.#indexes.delete(segment.path);
  }

  /**
   * Every segment file below the folder, for retention: synchronous, since it runs between two writes
   * of a recorder that found the disk short. `active` lists the files being written.
   */
  stored(active: ReadonlySet<string>): StoredSegment[] {
    const stored: StoredSegment[] = [];
    for (const entry of readDirSyncOrEmpty(this.dir)) {
      if (!entry.isDirectory || !NAME.test(entry.name)) continue;
      for (const file of readDirSyncOrEmpty(this.folder(entry.name))) {
        const parsed = file.isFile ? parseSegmentFileName(file.name) : undefined;
        if (!parsed) continue;
        const path = `${this.folder(entry.name)}/${file.name}`;
        try {
          const stat = Deno.statSync(path);
          const endMs = stat.mtime?.getTime() ?? parsed.startMs;
          stored.push({
            stream: entry.name,
            path,
            startMs: parsed.startMs,
            endMs,
            bytes: stat.size,
            active: active.has(path),
          });
        } catch {
          // Deleted between the listing and the stat: nothing to keep.
        }
      }
    }
    return stored;
  }

  /** Deletes a file retention chose; false when it was already gone. */
  removeSync(path: string): boolean {
    this.#indexes.delete(path);
    try {
      Deno.removeSync(path);
      return true;
    } catch {
      return false;
    }
  }

  /**
   * The fragments of an fMP4 segment, read from the file's box headers without its media data, and
   * continued from where the last call stopped when the file has grown since.
   */
  async index(path: string): Promise<Mp4Index> {
    const cached = this.#indexes.get(path);
    const index: Mp4Index = cached ??
      { init: null, videoTrack: null, audioTrackId: null, fragments: [], scanned: 0 };
    using file = await Deno.open(path, { read: true });
    const size = (await file.stat()).size;
    while (index.scanned + 8 <= size) {
      const header = await readAt(file, index.scanned, Math.min(BOX_HEADER_MAX, size - index.scanned));
      const box = boxHeader(header);
      if (!box || index.scanned + box.size > size) break;
      if (box.type === "moov") {
        const init = await readAt(file, 0, index.scanned + box.size);
        const tracks = parseMp4(init).init?.tracks ?? [];
        const video = tracks.find((t) => t.kind === "video");
        index.init = init;
        index.videoTrack = video ? { id: video.id, timescale: video.timescale } : null;
        index.audioTrackId = tracks.find((t) => t.kind === "audio")?.id ?? null;
      } else if (box.type === "moof") {
        const mdatAt = index.scanned + box.size;
        if (mdatAt + 8 > size) break;
        const moofAndMdat = await readAt(
          file,
          index.scanned,
          box.size + Math.min(BOX_HEADER_MAX, size - mdatAt),
        );
        const mdat = boxHeader(moofAndMdat.subarray(box.size));
        if (!mdat || mdat.type !== "mdat" || mdatAt + mdat.size > size) break;
        index.fragments.push(
          fragmentInfo(moofAndMdat.subarray(0, box.size), index.scanned, box.size + mdat.size),
        );
        index.scanned = mdatAt + mdat.size;
        continue;
      }
      index.scanned += box.size;
    }
    this.#indexes.delete(path);
    this.#indexes.set(path, index);
    if (this.#indexes.size > INDEX_CACHE) this.#indexes.delete(this.#indexes.keys().next().value!);
    return index;
  }

  /**
   * How long a segment plays. fMP4: to the end of its last complete fragment's video. Raw files carry no
   * timestamps a reader can find without parsing every frame: their length is the time of their last write.
   */
  async #duration(
    path: string,
    extension: SegmentExtension,
    startMs: number,
    stat: Deno.FileInfo,
  ): Promise<number> {
    if (extension !== "mp4") return Math.max(0, (stat.mtime?.getTime() ?? startMs) - startMs);
    const index = await this.index(path).catch(() => null);
    return index ? mp4DurationMs(index) : 0;
  }
}

/** The media time an fMP4 segment's video reaches, in ms from its start. */
export function mp4DurationMs(index: Mp4Index): number {
  const video = index.videoTrack;
  if (!video) return 0;
  let end = 0;
  for (const f of index.fragments) {
    for (const run of f.runs) {
      if (run.trackId === video.id) end = Math.max(end, run.baseDecodeTime + run.duration);
    }
  }
  return Math.round(end * 1000 / video.timescale);
}

/** Size and type of the box whose header starts `bytes`, or undefined when it is not a box. */
function boxHeader(bytes: Uint8Array): { size: number; type: string } | undefined {
  if (bytes.length < 8) return undefined;
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let size = view.getUint32(0);
  const type = String.fromCharCode(bytes[4], bytes[5], bytes[6], bytes[7]);
  if (size === 1) {
    if (bytes.length < 16) return undefined;
    size = Number(view.getBigUint64(8));
  }
  return size >= 8 ? { size, type } : undefined;
}

/** Exactly `length` bytes from `offset` (fewer only at the end of the file). */
export async function readAt(file: Deno.FsFile, offset: number, length: number): Promise<Uint8Array> {
  await file.seek(offset, Deno.SeekMode.Start);
  const out = new Uint8Array(length);
  let done = 0;
  while (done < length) {
    const n = await file.read(out.subarray(done));
    if (n === null) break;
    done += n;
  }
  return out.subarray(0, done);
}

async function* readDirOrEmpty(path: string): AsyncGenerator<Deno.DirEntry> {
  try {
    yield* Deno.readDir(path);
  } catch (err) {
    if (!(err instanceof Deno.errors.NotFound)) throw err;
  }
}

function readDirSyncOrEmpty(path: string): Deno.DirEntry[] {
  try {
    return [...Deno.readDirSync(path)];
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) return [];
    throw err;
  }
}
