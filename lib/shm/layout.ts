/**
 * The shared-memory ring's byte layout: the contract with every reader, in any language. docs/shm.md
 * describes it for people and examples/shm/edgecam_shm.h for C; the three must agree (a unit test
 * compares the header's offsets with these).
 *
 * All integers are little-endian. A ring is one header followed by `slot_count` slots; each slot is a
 * slot header followed by `slot_size` payload bytes.
 */
import type { Codec } from "../stream/access_unit.ts";

/** "ECSM" read as little-endian bytes: 'E' 'C' 'S' 'M'. */
export const MAGIC = 0x4d534345;
/** Bumped whenever a field moves or changes meaning. */
export const LAYOUT_VERSION = 1;
/** Bytes before the first slot. */
export const HEADER_SIZE = 256;
/** Bytes of each slot's own header, before its payload. */
export const SLOT_HEADER_SIZE = 64;
/** Payload sizes are multiples of this, so every slot header stays 64-byte aligned. */
export const SLOT_ALIGN = 64;

/** Byte offsets of the ring header's fields. */
export const HEADER = {
  magic: 0, // u32
  version: 4, // u32
  headerSize: 8, // u32
  slotHeaderSize: 12, // u32
  slotCount: 16, // u32
  slotSize: 20, // u32
  generation: 24, // u64
  codec: 32, // u32
  width: 36, // u32
  height: 40, // u32
  state: 44, // u32
  writerPid: 48, // u32
  createdUs: 56, // u64
  /** u64; its low 32 bits (at the same offset) are the futex word readers wait on. */
  writeSeq: 64,
  keyframeSeq: 72, // u64
  skipped: 80, // u64
} as const;

/** Byte offsets inside a slot header. */
export const SLOT = {
  /** u64: the access unit's sequence number; 0 while the writer fills the slot. */
  seq: 0,
  length: 8, // u32
  flags: 12, // u32
  pts90k: 16, // i64
  captureUs: 24, // u64
  publishUs: 32, // u64
} as const;

/** Slot flag: a decoder can start at this access unit. */
export const FLAG_KEYFRAME = 1;
/** Slot flag: the access unit was larger than a slot; `length` is its size and no payload is there. */
export const FLAG_SKIPPED = 2;

/** Header `state`: the writer is attached and writing. */
export const STATE_LIVE = 1;
/** Header `state`: the writer left (shutdown, or replaced after a crash); re-attach by name. */
export const STATE_CLOSED = 2;

/** Codec numbers in the header. */
export const CODEC_IDS: Record<Codec, number> = { h264: 1, vp8: 2 };

/** The codec a header number stands for, or undefined for a number this version does not know. */
export function codecOf(id: number): Codec | undefined {
  return (Object.keys(CODEC_IDS) as Codec[]).find((c) => CODEC_IDS[c] === id);
}

/** The shape of one ring. */
export interface RingGeometry {
  slotCount: number;
  /** Payload bytes per slot: the largest access unit the ring carries. */
  slotSize: number;
}

/** Distance between two slots' starts. */
export function slotStride(g: RingGeometry): number {
  return SLOT_HEADER_SIZE + g.slotSize;
}

/** Bytes of the whole shared-memory object. */
export function ringSize(g: RingGeometry): number {
  return HEADER_SIZE + g.slotCount * slotStride(g);
}

/** Byte offset of the slot that holds sequence number `seq` (1-based: seq 1 is in slot 0). */
export function slotOffset(g: RingGeometry, seq: number): number {
  return HEADER_SIZE + ((seq - 1) % g.slotCount) * slotStride(g);
}

/** Longest name of a file in /dev/shm (NAME_MAX). */
const NAME_MAX = 255;
const OBJECT_NAME = /^[A-Za-z0-9_][A-Za-z0-9_.-]*$/;

/**
 * Why a shared-memory object name is unusable, or undefined when it is fine. The name becomes a file
 * directly in /dev/shm, so a '/' (or "." and "..") would reach another directory and is refused.
 */
export function objectNameProblem(name: string): string | undefined {
  if (name.length === 0 || name.length > NAME_MAX || !OBJECT_NAME.test(name)) {
    return `must be 1-${NAME_MAX} of A-Z a-z 0-9 _ . -, starting with a letter, digit or '_' ` +
      `(a file name directly in /dev/shm: no '/')`;
  }
}

/** The object name of a stream's ring: `<prefix>-<stream>`. */
export function ringObjectName(prefix: string, stream: string): string {
  return `${prefix}-${stream}`;
}

/** Wall-clock microseconds since the Unix epoch, with the sub-millisecond part of the monotonic clock. */
export function nowUs(): number {
  return Math.round((performance.timeOrigin + performance.now()) * 1000);
}
