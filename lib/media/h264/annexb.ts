/**
 * H.264 Annex-B byte streams: finding start codes, cutting a complete buffer or an unbounded stream into
 * NAL units, and the per-buffer questions (keyframe? B slices?) answered from those units. Pure and
 * synchronous; garbage in is counted, never thrown.
 */

import { ByteQueue } from "../byte_queue.ts";
import { NAL, nalType, SLICE_TYPE, sliceType } from "./sps.ts";

/**
 * Index of the first byte of the next 3-byte start code (00 00 01) in buf[from, end), or -1.
 * Looks at every third byte where it can: a byte above 1 cannot sit in the last two places of a start
 * code, so the search jumps past it, which keeps the scan well under one comparison per byte.
 */
function findStartCode(buf: Uint8Array, from: number, end: number): number {
  let i = from + 2;
  while (i < end) {
    const b = buf[i];
    if (b > 1) i += 3;
    else if (b === 0) i += 1;
    else if (buf[i - 1] === 0 && buf[i - 2] === 0) return i - 2;
    else i += 3;
  }
  return -1;
}

/** End of a NAL unit ending before `end`, less the trailing zeros (they belong to the next start code). */
function trimZeros(buf: Uint8Array, start: number, end: number): number {
  while (end > start && buf[end - 1] === 0) end--;
  return end;
}

/** Iterates the NAL units (without start codes) of a complete Annex-B buffer; views, not copies. */
export function* nalUnits(annexB: Uint8Array): Generator<Uint8Array> {
  let sc = findStartCode(annexB, 0, annexB.length);
  while (sc >= 0) {
    const start = sc + 3;
    sc = findStartCode(annexB, start, annexB.length);
    const end = trimZeros(annexB, start, sc < 0 ? annexB.length : sc);
    if (end > start) yield annexB.subarray(start, end);
  }
}

/** True when a complete Annex-B buffer holds an IDR slice. */
export function isKeyframe(annexB: Uint8Array): boolean {
  for (const nal of nalUnits(annexB)) if (nalType(nal) === NAL.IDR) return true;
  return false;
}

/** True when an Annex-B access unit holds a B slice (which a WebRTC receiver cannot reorder). */
export function hasBSlice(annexB: Uint8Array): boolean {
  for (const nal of nalUnits(annexB)) if (sliceType(nal) === SLICE_TYPE.B) return true;
  return false;
}

/** Options of {@link AnnexBSplitter}. */
export interface SplitterOptions {
  /** A NAL unit growing past this (default 16 MiB) without a next start code is dropped as garbage. */
  maxNalBytes?: number;
}

/** Receives a view of one NAL unit, valid only during the call: the buffer behind it is reused. */
export type NalSink = (nal: Uint8Array) => void;

/**
 * Splits an Annex-B byte stream into NAL units (without start codes) across arbitrary chunk boundaries.
 * Bytes accumulate in a {@link ByteQueue}, so tiny chunks cost no repeated copies.
 */
export class AnnexBSplitter {
  /** Its unread bytes start at the first byte not yet handed out: the pending NAL unit's body, or garbage. */
  readonly #queue = new ByteQueue();
  /** The start-code search resumes at this index in the queue's bytes; earlier ones hold none. */
  #scan = 0;
  #inNal = false;
  #inGarbage = false;
  #errors = 0;
  readonly #maxNalBytes: number;

  /** @param options limits that keep garbage from growing memory without bound. */
  constructor(options: SplitterOptions = {}) {
    this.#maxNalBytes = options.maxNalBytes ?? 16 << 20;
  }

  /** Incidents so far: garbage runs, empty NAL units, NAL units with the forbidden bit, oversized ones. */
  get errors(): number {
    return this.#errors;
  }

  /** Appends a chunk; returns copies of the NAL units it completed (each ends where the next start code begins). */
  push(chunk: Uint8Array): Uint8Array[] {
    const out: Uint8Array[] = [];
    this.pushEach(chunk, (nal) => out.push(nal.slice()));
    return out;
  }

  /** Ends the stream (or one complete write of it): returns a copy of the trailing NAL unit, if any. */
  end(): Uint8Array[] {
    const out: Uint8Array[] = [];
    this.endEach((nal) => out.push(nal.slice()));
    return out;
  }

  /**
   * Like push, but hands each NAL unit to `sink` as a view instead of copying it: a caller that consumes
   * it at once saves an allocation per NAL unit, which dominates the cost of small ones.
   */
  pushEach(chunk: Uint8Array, sink: NalSink): void {
    const queue = this.#queue;
    this.#scan -= queue.append(chunk);
    const buf = queue.bytes;
    for (let sc; (sc = findStartCode(buf, this.#scan, queue.end)) >= 0;) {
      this.#finish(sc, sink);
      this.#scan = sc + 3;
      queue.consume(this.#scan - queue.start);
      this.#inNal = true;
    }
    // The last two bytes may be the 00 00 of a start code completed by the next chunk.
    this.#scan = Math.max(queue.start, queue.end - 2);
    if (!this.#inNal) {
      this.#noteGarbage(queue.start, this.#scan);
      queue.consume(this.#scan - queue.start);
    } else if (queue.length > this.#maxNalBytes) {
      this.#errors++;
      this.#inNal = false;
      this.#inGarbage = true;
      queue.consume(this.#scan - queue.start);
    }
  }

  /** Like end, handing the trailing NAL unit to `sink` as a view. */
  endEach(sink: NalSink): void {
    this.#finish(this.#queue.end, sink);
    this.#queue.clear();
    this.#scan = 0;
    this.#inNal = false;
    this.#inGarbage = false;
  }

  /**
   * The NAL unit still being received, as far as it has arrived (no start code). A view into the
   * internal buffer, valid until the next push or end; lets a caller decide on its header early.
   */
  peek(): Uint8Array {
    return this.#inNal ? this.#queue.unread() : this.#queue.bytes.subarray(0, 0);
  }

  #finish(end: number, sink: NalSink): void {
    const start = this.#queue.start;
    if (!this.#inNal) {
      this.#noteGarbage(start, end);
      this.#inGarbage = false;
      return;
    }
    const buf = this.#queue.bytes;
    const stop = trimZeros(buf, start, end);
    if (stop === start || (buf[start] & 0x80) !== 0) this.#errors++;
    else sink(buf.subarray(start, stop));
  }

  /** Counts bytes outside any NAL unit, once per run; zeros are legal padding (leading_zero_8bits). */
  #noteGarbage(start: number, end: number): void {
    if (this.#inGarbage) return;
    const buf = this.#queue.bytes;
    for (let i = start; i < end; i++) {
      if (buf[i] !== 0) {
        this.#errors++;
        this.#inGarbage = true;
        return;
      }
    }
  }
}
