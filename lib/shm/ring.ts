/**
 * Writing and reading the ring over any ArrayBuffer: the mapping of /dev/shm/<name> in the service and
 * in readers, or a plain buffer in unit tests. No I/O here; lib/shm/libc.ts maps the memory.
 */
import type { AccessUnit, Codec } from "../stream/access_unit.ts";
import {
  CODEC_IDS,
  codecOf,
  FLAG_KEYFRAME,
  FLAG_SKIPPED,
  HEADER,
  HEADER_SIZE,
  LAYOUT_VERSION,
  MAGIC,
  nowUs,
  type RingGeometry,
  ringSize,
  SLOT,
  SLOT_HEADER_SIZE,
  slotOffset,
  STATE_CLOSED,
  STATE_LIVE,
} from "./layout.ts";

/** What the writer puts in a new ring's header. */
export interface RingIdentity {
  /** Differs from every earlier ring of the same name, so readers can tell a new writer apart. */
  generation: number;
  codec: Codec;
  writerPid: number;
  createdUs: number;
}

/** The fields of the header that describe a ring (not its moving sequence numbers). */
export interface RingHeader extends RingGeometry, RingIdentity {
  width: number;
  height: number;
  state: number;
}

/** Typed views over one buffer; every ring access goes through these. */
class Views {
  readonly u32: Uint32Array;
  readonly u64: BigUint64Array;
  readonly bytes: Uint8Array;
  readonly data: DataView;
  /** A word of this process's own, stored to for its ordering alone (see {@link fence}). */
  readonly #fenceWord = new Int32Array(1);

  constructor(readonly buffer: ArrayBuffer) {
    this.u32 = new Uint32Array(buffer);
    this.u64 = new BigUint64Array(buffer, 0, Math.floor(buffer.byteLength / 8));
    this.bytes = new Uint8Array(buffer);
    this.data = new DataView(buffer);
  }

  load32(offset: number): number {
    return Atomics.load(this.u32, offset / 4);
  }

  store32(offset: number, value: number): void {
    Atomics.store(this.u32, offset / 4, value);
  }

  load64(offset: number): number {
    return Number(Atomics.load(this.u64, offset / 8));
  }

  store64(offset: number, value: number): void {
    Atomics.store(this.u64, offset / 8, BigInt(value));
  }

  /**
   * Keeps every read before it from completing after any atomic load after it. An atomic load alone does
   * not: on arm64 it is a load-acquire (ldar), which holds back later accesses only, so the plain reads
   * of a payload could still be satisfied after a seqlock's re-check. An atomic store is a store-release
   * (stlr): earlier reads complete before it, and a load-acquire after it stays after it. On x86-64 loads
   * are never reordered with loads, and this costs one locked store.
   */
  fence(): void {
    Atomics.store(this.#fenceWord, 0, 0);
  }
}

/** The header of a ring, or why it is not (yet) a readable edgecam ring. */
export function readHeader(buffer: ArrayBuffer): RingHeader | string {
  if (buffer.byteLength < HEADER_SIZE) return `smaller than a ring header (${buffer.byteLength} bytes)`;
  const v = new Views(buffer);
  if (v.load32(HEADER.magic) !== MAGIC) return "no edgecam ring magic (not a ring, or still being set up)";
  const version = v.load32(HEADER.version);
  if (version !== LAYOUT_VERSION) return `layout version ${version}, this reader knows ${LAYOUT_VERSION}`;
  const codec = codecOf(v.load32(HEADER.codec));
  if (!codec) return `unknown codec number ${v.load32(HEADER.codec)}`;
  const header: RingHeader = {
    slotCount: v.load32(HEADER.slotCount),
    slotSize: v.load32(HEADER.slotSize),
    generation: v.load64(HEADER.generation),
    codec,
    writerPid: v.load32(HEADER.writerPid),
    createdUs: v.load64(HEADER.createdUs),
    width: v.load32(HEADER.width),
    height: v.load32(HEADER.height),
    state: v.load32(HEADER.state),
  };
  const expected = ringSize(header);
  if (header.slotCount === 0 || expected > buffer.byteLength) {
    return `header says ${header.slotCount} slots of ${header.slotSize} bytes (${expected} bytes), ` +
      `the object has ${buffer.byteLength}`;
  }
  return header;
}

/**
 * The single writer of a ring. Each access unit goes into the next slot, seqlock-style: the slot's
 * sequence is zeroed, the slot filled, then the sequence set; only then does the header's write
 * sequence move. A reader never waits for the writer and the writer never looks at readers.
 */
export class RingWriter {
  readonly #v: Views;
  #seq = 0;
  #written = 0;
  #skipped = 0;

  /** This ring's generation. */
  readonly generation: number;

  /** Lays out a fresh ring in `buffer` (zero-filled, `ringSize(geometry)` bytes or more). */
  constructor(buffer: ArrayBuffer, readonly geometry: RingGeometry, identity: RingIdentity) {
    this.generation = identity.generation;
    if (buffer.byteLength < ringSize(geometry)) throw new RangeError("buffer smaller than the ring");
    this.#v = new Views(buffer);
    const v = this.#v;
    v.store32(HEADER.version, LAYOUT_VERSION);
    v.store32(HEADER.headerSize, HEADER_SIZE);
    v.store32(HEADER.slotHeaderSize, SLOT_HEADER_SIZE);
    v.store32(HEADER.slotCount, geometry.slotCount);
    v.store32(HEADER.slotSize, geometry.slotSize);
    v.store64(HEADER.generation, identity.generation);
    v.store32(HEADER.codec, CODEC_IDS[identity.codec]);
    v.store32(HEADER.state, STATE_LIVE);
    v.store32(HEADER.writerPid, identity.writerPid);
    v.store64(HEADER.createdUs, identity.createdUs);
    // Last: a reader that sees the magic sees every field above.
    v.store32(HEADER.magic, MAGIC);
  }

  /** Sequence number of the last access unit written; 0 before the first. */
  get writeSeq(): number {
    return this.#seq;
  }

  /** Access units written with their payload. */
  get framesWritten(): number {
    return this.#written;
  }

  /** Access units too large for a slot: their slot says so and carries no payload. */
  get skipped(): number {
    return this.#skipped;
  }

  /** Records the picture size (learned from the first keyframe). */
  setFormat(width: number, height: number): void {
    this.#v.store32(HEADER.width, width);
    this.#v.store32(HEADER.height, height);
  }

  /** Writes one access unit into the next slot and returns its sequence number. */
  write(au: AccessUnit, publishUs = nowUs()): number {
    const v = this.#v;
    const seq = this.#seq + 1;
    const slot = slotOffset(this.geometry, seq);
    v.store64(slot + SLOT.seq, 0);
    // An atomic load after the atomic store keeps the payload writes below from becoming visible
    // before the zero on weakly ordered CPUs (arm64: stlr then ldar), which a reader's check relies on.
    v.load32(HEADER.magic);
    const fits = au.data.length <= this.geometry.slotSize;
    if (fits) v.bytes.set(au.data, slot + SLOT_HEADER_SIZE);
    v.data.setUint32(slot + SLOT.length, au.data.length, true);
    v.data.setUint32(slot + SLOT.flags, (au.keyframe ? FLAG_KEYFRAME : 0) | (fits ? 0 : FLAG_SKIPPED), true);
    v.data.setBigInt64(slot + SLOT.pts90k, BigInt(au.pts90k), true);
    v.data.setBigUint64(slot + SLOT.captureUs, BigInt(Math.round(au.captureMs * 1000)), true);
    v.data.setBigUint64(slot + SLOT.publishUs, BigInt(publishUs), true);
    v.store64(slot + SLOT.seq, seq);
    if (fits) {
      this.#written++;
      if (au.keyframe) v.store64(HEADER.keyframeSeq, seq);
    } else {
      this.#skipped++;
      v.store64(HEADER.skipped, this.#skipped);
    }
    v.store64(HEADER.writeSeq, seq);
    this.#seq = seq;
    return seq;
  }

  /** Marks the ring closed: readers stop waiting on it and look for a new one by name. */
  close(): void {
    this.#v.store32(HEADER.state, STATE_CLOSED);
  }
}

/** Marks an existing ring closed (one a crashed writer left behind), so readers still on it move on. */
export function markClosed(buffer: ArrayBuffer): void {
  new Views(buffer).store32(HEADER.state, STATE_CLOSED);
}

/** One access unit as a reader gets it. */
export interface RingFrame {
  kind: "frame";
  seq: number;
  /** A copy of the payload, taken before the slot's sequence was checked again. */
  data: Uint8Array;
  keyframe: boolean;
  pts90k: number;
  captureUs: number;
  /** When the writer committed the slot, µs since the epoch. */
  publishUs: number;
}

/** What a cursor can report besides a frame. */
export type RingEvent =
  | RingFrame
  /** The reader fell a whole ring behind; `missed` access units are gone and it resumes at a keyframe. */
  | { kind: "lapped"; missed: number }
  /** The access unit was larger than a slot; the reader resumes at the next keyframe. */
  | { kind: "skipped"; seq: number; length: number };

/**
 * A reader's position in a ring: follows the sequence numbers, copies each slot out and checks that
 * the writer did not reuse the slot meanwhile. Never writes to the ring.
 */
export class RingCursor {
  readonly #v: Views;
  readonly header: RingHeader;
  /** Sequence number this cursor reads next. */
  next: number;
  #awaitKeyframe = false;
  /** Access units passed over while waiting for a keyframe after a lap or a skip. */
  dropped = 0;

  /** Attaches to a ring and starts at its latest keyframe (or waits for the next one). */
  constructor(buffer: ArrayBuffer) {
    const header = readHeader(buffer);
    if (typeof header === "string") throw new RingFormatError(header);
    this.header = header;
    this.#v = new Views(buffer);
    this.next = 0;
    this.#resumeAtKeyframe();
  }

  /** Sequence number of the last access unit written. */
  get writeSeq(): number {
    return this.#v.load64(HEADER.writeSeq);
  }

  /** True once the writer has left this ring. */
  get closed(): boolean {
    return this.#v.load32(HEADER.state) !== STATE_LIVE;
  }

  /** Picture size in the header now (0 until the writer knows it). */
  get format(): { width: number; height: number } {
    return { width: this.#v.load32(HEADER.width), height: this.#v.load32(HEADER.height) };
  }

  /** The next event, or undefined when the writer has nothing newer yet. */
  poll(): RingEvent | undefined {
    const v = this.#v;
    while (this.next <= this.writeSeq) {
      const seq = this.next;
      const slot = slotOffset(this.header, seq);
      if (v.load64(slot + SLOT.seq) !== seq) return this.#lapped();
      const length = v.data.getUint32(slot + SLOT.length, true);
      const flags = v.data.getUint32(slot + SLOT.flags, true);
      const skipped = (flags & FLAG_SKIPPED) !== 0 || length > this.header.slotSize;
      const start = slot + SLOT_HEADER_SIZE;
      const data = skipped ? new Uint8Array(0) : v.bytes.slice(start, start + length);
      const pts90k = Number(v.data.getBigInt64(slot + SLOT.pts90k, true));
      const captureUs = Number(v.data.getBigUint64(slot + SLOT.captureUs, true));
      const publishUs = Number(v.data.getBigUint64(slot + SLOT.publishUs, true));
      // The copy above must be complete before the re-check reads the sequence: the C reader's acquire fence.
      v.fence();
      if (v.load64(slot + SLOT.seq) !== seq) return this.#lapped();
      this.next = seq + 1;
      const keyframe = (flags & FLAG_KEYFRAME) !== 0;
      if (skipped) {
        this.#awaitKeyframe = true;
        return { kind: "skipped", seq, length };
      }
      if (this.#awaitKeyframe && !keyframe) {
        this.dropped++;
        continue;
      }
      this.#awaitKeyframe = false;
      return { kind: "frame", seq, data, keyframe, pts90k, captureUs, publishUs };
    }
    return undefined;
  }

  #lapped(): RingEvent {
    const from = this.next;
    this.#resumeAtKeyframe();
    const missed = this.next - from;
    this.dropped += missed;
    return { kind: "lapped", missed };
  }

  /** Moves to the latest keyframe still in the ring, else past the end to wait for the next one. */
  #resumeAtKeyframe(): void {
    const keyframe = this.#v.load64(HEADER.keyframeSeq);
    const stillThere = keyframe > 0 &&
      this.#v.load64(slotOffset(this.header, keyframe) + SLOT.seq) === keyframe;
    if (stillThere && keyframe >= this.next) {
      this.next = keyframe;
      this.#awaitKeyframe = false;
    } else {
      this.next = Math.max(this.next, this.writeSeq + 1);
      this.#awaitKeyframe = true;
    }
  }
}

/** The buffer is not a ring this reader can read; the message says why. */
export class RingFormatError extends Error {
  override name = "RingFormatError";
}
