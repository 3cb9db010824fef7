/**
 * Incremental WebM (Matroska) demuxing of what `webmmux streamable=true` writes to a pipe: a Segment and
 * Clusters of unknown size, one SimpleBlock per video frame. Pure and synchronous; garbage is counted
 * and skipped by resynchronising on the next EBML header or Cluster, never thrown.
 */

import { ByteQueue } from "./byte_queue.ts";

/** One video frame cut out of a WebM stream. */
export interface WebmFrame {
  /** The codec frame, copied out of the demuxer's buffer (which is reused), so the caller owns it. */
  data: Uint8Array;
  /** SimpleBlock keyframe flag; for a Block in a BlockGroup, the absence of a ReferenceBlock. */
  keyframe: boolean;
  /** Cluster timecode plus block timecode, scaled by the segment's TimecodeScale. */
  timestampMs: number;
  /** Track number the block belongs to. */
  track: number;
}

/** The element IDs this reader acts on (Matroska specification), marker bits included. */
export const EBML_ID = {
  EBML: 0x1a45dfa3,
  DOC_TYPE: 0x4282,
  SEGMENT: 0x18538067,
  SEEK_HEAD: 0x114d9b74,
  INFO: 0x1549a966,
  TIMECODE_SCALE: 0x2ad7b1,
  TRACKS: 0x1654ae6b,
  TRACK_ENTRY: 0xae,
  TRACK_NUMBER: 0xd7,
  VIDEO: 0xe0,
  PIXEL_WIDTH: 0xb0,
  PIXEL_HEIGHT: 0xba,
  CUES: 0x1c53bb6b,
  CHAPTERS: 0x1043a770,
  TAGS: 0x1254c367,
  ATTACHMENTS: 0x1941a469,
  CLUSTER: 0x1f43b675,
  TIMECODE: 0xe7,
  SILENT_TRACKS: 0x5854,
  POSITION: 0xa7,
  PREV_SIZE: 0xab,
  SIMPLE_BLOCK: 0xa3,
  BLOCK_GROUP: 0xa0,
  BLOCK: 0xa1,
  REFERENCE_BLOCK: 0xfb,
  ENCRYPTED_BLOCK: 0xaf,
  VOID: 0xec,
  CRC32: 0xbf,
} as const;
const ID = EBML_ID;

/** Stands for "no parent" in the tables below. */
const TOP = 0;

/** A lookup from a parent ID to a set of child IDs. */
function byParent(entries: [number, number[]][]): ReadonlyMap<number, ReadonlySet<number>> {
  return new Map(entries.map(([parent, children]) => [parent, new Set(children)]));
}

/**
 * Children that may follow inside the elements whose end can be unknown (and at the top level). Any
 * other ID there means the unknown-sized element has ended, or, at the top, that the bytes are garbage.
 */
const CHILDREN = byParent([
  [TOP, [ID.EBML, ID.SEGMENT]],
  [ID.SEGMENT, [ID.SEEK_HEAD, ID.INFO, ID.TRACKS, ID.CLUSTER, ID.CUES, ID.CHAPTERS, ID.TAGS, ID.ATTACHMENTS]],
  [ID.CLUSTER, [
    ID.TIMECODE,
    ID.SILENT_TRACKS,
    ID.POSITION,
    ID.PREV_SIZE,
    ID.SIMPLE_BLOCK,
    ID.BLOCK_GROUP,
    ID.ENCRYPTED_BLOCK,
  ]],
]);

/** Masters whose children are read rather than skipped, keyed by parent. */
const DESCEND = byParent([
  [TOP, [ID.SEGMENT]],
  [ID.SEGMENT, [ID.INFO, ID.TRACKS, ID.CLUSTER]],
  [ID.TRACKS, [ID.TRACK_ENTRY]],
  [ID.TRACK_ENTRY, [ID.VIDEO]],
]);

/** Leaves whose bytes are read whole, keyed by parent. BlockGroup counts as one: it is small and sized. */
const READ = byParent([
  [ID.INFO, [ID.TIMECODE_SCALE]],
  [ID.TRACK_ENTRY, [ID.TRACK_NUMBER]],
  [ID.VIDEO, [ID.PIXEL_WIDTH, ID.PIXEL_HEIGHT]],
  [ID.CLUSTER, [ID.TIMECODE, ID.SIMPLE_BLOCK, ID.BLOCK_GROUP]],
]);

/** Only these may have an unknown size (all-ones), as a streaming muxer cannot know it up front. */
const MAY_BE_UNSIZED = new Set<number>([ID.SEGMENT, ID.CLUSTER]);

const DEFAULT_TIMECODE_SCALE_NS = 1_000_000;
/** A block larger than this is taken for garbage rather than buffered: no real VP8 frame comes near it. */
const MAX_BLOCK_BYTES = 16 << 20;
const MAX_UINT_BYTES = 8;
/** Byte patterns a resync looks for: the start of a new stream, or of the next cluster. */
const RESYNC_IDS = [ID.EBML, ID.CLUSTER];

type Action = "descend" | "read" | "skip";

/** What to do with an element under a parent; undefined when the parent cannot hold it. */
function actionFor(parent: number, id: number): Action | undefined {
  if (DESCEND.get(parent)?.has(id)) return "descend";
  if (READ.get(parent)?.has(id)) return "read";
  const allowed = CHILDREN.get(parent);
  if (!allowed || allowed.has(id) || id === ID.VOID || id === ID.CRC32) return "skip";
  return undefined;
}

/** Length of an EBML variable-size integer from its first byte: 1..8, or 0 when the byte is 0 (invalid). */
function vintLength(first: number): number {
  return first === 0 ? 0 : Math.clz32(first) - 23;
}

/** Big-endian unsigned integer; exact up to 2^53, which every value this reader keeps stays under. */
function readUint(bytes: Uint8Array): number {
  let v = 0;
  for (const b of bytes) v = v * 256 + b;
  return v;
}

/** Value of a complete variable-size integer (length marker removed). */
function vintValue(bytes: Uint8Array): number {
  return (bytes[0] & (0xff >> bytes.length)) * 2 ** (8 * (bytes.length - 1)) + readUint(bytes.subarray(1));
}

interface ElementHeader {
  id: number;
  /** undefined when the size is the all-ones "unknown" value. */
  size: number | undefined;
  headerBytes: number;
}

/** Reads an element header at buf[pos]: "more" when it is not all there, "invalid" when it cannot be one. */
function readHeader(buf: Uint8Array, pos: number, end: number): ElementHeader | "more" | "invalid" {
  if (pos >= end) return "more";
  const idBytes = vintLength(buf[pos]);
  if (idBytes === 0 || idBytes > 4) return "invalid";
  if (pos + idBytes >= end) return "more";
  const id = readUint(buf.subarray(pos, pos + idBytes));
  // IDs whose value bits are all zeros or all ones are reserved.
  const value = id - 2 ** (7 * idBytes);
  if (value === 0 || value === 2 ** (7 * idBytes) - 1) return "invalid";
  const sizeAt = pos + idBytes;
  const sizeBytes = vintLength(buf[sizeAt]);
  if (sizeBytes === 0) return "invalid";
  if (sizeAt + sizeBytes > end) return "more";
  const headerBytes = idBytes + sizeBytes;
  // Compared byte by byte: 2^56 - 1, the 8-byte all-ones value, is not exact as a float.
  let unknown = (buf[sizeAt] & (0xff >> sizeBytes)) === 0xff >> sizeBytes;
  for (let i = 1; i < sizeBytes && unknown; i++) unknown = buf[sizeAt + i] === 0xff;
  if (unknown) return { id, size: undefined, headerBytes };
  const size = vintValue(buf.subarray(sizeAt, sizeAt + sizeBytes));
  return Number.isSafeInteger(size) ? { id, size, headerBytes } : "invalid";
}

/** An open master element; `end` is an absolute stream offset, Infinity when its size is unknown. */
interface Open {
  id: number;
  end: number;
}

/**
 * Demuxes a WebM byte stream into frames across arbitrary chunk boundaries. Elements it does not need are
 * skipped by size as they stream past, so a huge one is never buffered; a second EBML header (the source
 * restarted) starts over with fresh stream state.
 */
export class WebmDemuxer {
  /** Its first unread byte is where the next element (or piece of a skip or resync) begins. */
  readonly #queue = new ByteQueue();
  /** Absolute stream offset of the queue's bytes[0], so known-size masters close at their end offset. */
  #base = 0;
  /** Bytes of a skipped element still to come. */
  #skip = 0;
  #resyncing = false;
  #stack: Open[] = [];
  #timecodeScaleNs = DEFAULT_TIMECODE_SCALE_NS;
  #clusterTimecode = 0;
  #width: number | undefined;
  #height: number | undefined;
  /** Track numbers from the Tracks header; empty when the stream was joined without one. */
  #tracks = new Set<number>();
  #errors = 0;

  /** Incidents so far: garbage resynchronised past, laced or malformed blocks. */
  get errors(): number {
    return this.#errors;
  }

  /** Pixel width from the first video track's header, once seen. */
  get width(): number | undefined {
    return this.#width;
  }

  /** Pixel height from the first video track's header, once seen. */
  get height(): number | undefined {
    return this.#height;
  }

  /** Appends a chunk; returns the frames it completed. */
  push(chunk: Uint8Array): WebmFrame[] {
    // Not folded into the += below: #skipFrom moves #base too, and += would read it before that.
    const rest = this.#skipFrom(chunk);
    this.#base += this.#queue.append(rest);
    const out: WebmFrame[] = [];
    while (this.#step(out));
    return out;
  }

  /** Consumes a pending skip straight from the chunk when nothing is buffered, so skipped bytes are never copied. */
  #skipFrom(chunk: Uint8Array): Uint8Array {
    if (this.#skip === 0 || this.#queue.length !== 0) return chunk;
    const n = Math.min(this.#skip, chunk.length);
    this.#skip -= n;
    this.#base += this.#queue.end + n;
    this.#queue.clear();
    return chunk.subarray(n);
  }

  /** Handles one element (or one piece of a skip or resync); false when more bytes are needed. */
  #step(out: WebmFrame[]): boolean {
    const queue = this.#queue;
    if (this.#skip > 0) {
      const n = Math.min(this.#skip, queue.length);
      queue.consume(n);
      this.#skip -= n;
      if (this.#skip > 0) return false;
    }
    if (this.#resyncing && !this.#resync()) return false;
    const at = this.#base + queue.start;
    while (this.#stack.length > 0 && this.#stack[this.#stack.length - 1].end <= at) this.#stack.pop();
    const header = readHeader(queue.bytes, queue.start, queue.end);
    if (header === "more") return false;
    if (header === "invalid") return this.#garbage();
    const { id, size, headerBytes } = header;
    // A new stream's header ends every open element, whatever their sizes said.
    if (id === ID.EBML) this.#reset();
    let action: Action | undefined;
    // An unknown-sized element ends where an element it cannot contain begins (the next Cluster).
    while ((action = actionFor(this.#parent(), id)) === undefined) {
      if (this.#stack.length === 0 || this.#stack[this.#stack.length - 1].end !== Infinity) {
        return this.#garbage();
      }
      this.#stack.pop();
    }
    if (size === undefined) {
      return action === "descend" && MAY_BE_UNSIZED.has(id)
        ? this.#open(id, Infinity, headerBytes)
        : this.#garbage();
    }
    const end = at + headerBytes + size;
    if (end > (this.#stack[this.#stack.length - 1]?.end ?? Infinity)) return this.#garbage();
    if (action === "descend") return this.#open(id, end, headerBytes);
    if (action === "skip") {
      queue.consume(headerBytes);
      this.#skip = size;
      return true;
    }
    const limit = id === ID.SIMPLE_BLOCK || id === ID.BLOCK_GROUP ? MAX_BLOCK_BYTES : MAX_UINT_BYTES;
    if (size > limit || (id === ID.SIMPLE_BLOCK && !this.#mayBeTrack(queue.start + headerBytes))) {
      return this.#garbage();
    }
    if (queue.length < headerBytes + size) return false;
    const start = queue.start + headerBytes;
    queue.consume(headerBytes + size);
    this.#read(id, queue.bytes.subarray(start, start + size), out);
    return true;
  }

  #open(id: number, end: number, headerBytes: number): boolean {
    this.#stack.push({ id, end });
    if (id === ID.CLUSTER) this.#clusterTimecode = 0;
    this.#queue.consume(headerBytes);
    return true;
  }

  #parent(): number {
    return this.#stack.length > 0 ? this.#stack[this.#stack.length - 1].id : TOP;
  }

  /**
   * Whether the block starting at buf[at] may belong to a known track. Checked before the block is
   * buffered, so garbage that happens to start with a SimpleBlock ID and a large size is rejected at once
   * instead of swallowing that many bytes of the stream.
   */
  #mayBeTrack(at: number): boolean {
    const { bytes, end } = this.#queue;
    if (this.#tracks.size === 0 || at >= end) return true;
    const trackBytes = vintLength(bytes[at]);
    if (trackBytes === 0) return false;
    return at + trackBytes > end || this.#tracks.has(vintValue(bytes.subarray(at, at + trackBytes)));
  }

  #read(id: number, payload: Uint8Array, out: WebmFrame[]): void {
    switch (id) {
      case ID.TIMECODE_SCALE:
        this.#timecodeScaleNs = readUint(payload) || DEFAULT_TIMECODE_SCALE_NS;
        break;
      case ID.TRACK_NUMBER:
        this.#tracks.add(readUint(payload));
        break;
      case ID.PIXEL_WIDTH:
        this.#width ??= readUint(payload);
        break;
      case ID.PIXEL_HEIGHT:
        this.#height ??= readUint(payload);
        break;
      case ID.TIMECODE:
        this.#clusterTimecode = readUint(payload);
        break;
      case ID.SIMPLE_BLOCK:
        this.#block(payload, undefined, out);
        break;
      case ID.BLOCK_GROUP:
        this.#blockGroup(payload, out);
        break;
    }
  }

  /** A BlockGroup's Block is a keyframe unless the group names a block it references. */
  #blockGroup(group: Uint8Array, out: WebmFrame[]): void {
    let block: Uint8Array | undefined;
    let references = false;
    for (let pos = 0; pos < group.length;) {
      const header = readHeader(group, pos, group.length);
      if (typeof header === "string" || header.size === undefined) break;
      const start = pos + header.headerBytes;
      pos = start + header.size;
      if (pos > group.length) break;
      if (header.id === ID.BLOCK) block = group.subarray(start, pos);
      else if (header.id === ID.REFERENCE_BLOCK) references = true;
    }
    if (block) this.#block(block, !references, out);
    else this.#errors++;
  }

  /** Emits a (Simple)Block's frame; `keyframe` is undefined for a SimpleBlock, whose flags carry it. */
  #block(block: Uint8Array, keyframe: boolean | undefined, out: WebmFrame[]): void {
    const trackBytes = block.length > 0 ? vintLength(block[0]) : 0;
    const headerBytes = trackBytes + 3; // track number, int16 relative timecode, flags
    const flags = block[headerBytes - 1];
    // Lacing packs several frames in one block; webmmux never does it for video, so it means garbage.
    if (trackBytes === 0 || block.length <= headerBytes || (flags & 0x06) !== 0) {
      this.#errors++;
      return;
    }
    const track = vintValue(block.subarray(0, trackBytes));
    const relative = (block[trackBytes] << 24 >> 16) | block[trackBytes + 1];
    out.push({
      data: block.slice(headerBytes),
      keyframe: keyframe ?? (flags & 0x80) !== 0,
      timestampMs: (this.#clusterTimecode + relative) * this.#timecodeScaleNs / 1e6,
      track,
    });
  }

  /** Counts an incident and starts scanning for a resync point just past the bad element's first byte. */
  #garbage(): boolean {
    this.#errors++;
    this.#resyncing = true;
    this.#queue.consume(1);
    return true;
  }

  /** Scans for the next EBML header or Cluster; false (keeping a possible partial match) when none yet. */
  #resync(): boolean {
    const queue = this.#queue;
    const buf = queue.bytes;
    const end = queue.end;
    for (let i = queue.start; i + 4 <= end; i++) {
      for (const magic of RESYNC_IDS) {
        if (
          buf[i] === magic >>> 24 && buf[i + 1] === ((magic >> 16) & 0xff) &&
          buf[i + 2] === ((magic >> 8) & 0xff) && buf[i + 3] === (magic & 0xff)
        ) {
          queue.consume(i - queue.start);
          this.#resyncing = false;
          // A Cluster found this way continues the current stream: put it back inside a Segment.
          this.#stack = magic === ID.CLUSTER ? [{ id: ID.SEGMENT, end: Infinity }] : [];
          return true;
        }
      }
    }
    queue.consume(Math.max(0, end - 3 - queue.start));
    return false;
  }

  /** A new EBML header: whatever came before belongs to another stream. */
  #reset(): void {
    this.#stack = [];
    this.#timecodeScaleNs = DEFAULT_TIMECODE_SCALE_NS;
    this.#clusterTimecode = 0;
    this.#width = this.#height = undefined;
    this.#tracks = new Set();
  }
}
