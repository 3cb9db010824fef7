/**
 * Cuts a camera pipeline's stdout into access units: H.264 Annex-B through the assembler, VP8 through the
 * WebM demuxer, each stamped with the pipe-read time as its capture time.
 */
import type { Codec, VideoFormat } from "../stream/access_unit.ts";
import { H264Assembler } from "../media/h264/assembler.ts";
import { parseVp8Frame } from "../media/vp8.ts";
import { WebmDemuxer } from "../media/webm.ts";

/** Linux's default pipe capacity: a read this long may have cut a write in two. */
export const PIPE_CAPACITY = 65536;

/** A frame cut out of a pipeline's stdout. */
export interface FramedUnit {
  data: Uint8Array;
  keyframe: boolean;
}

/** Turns one pipeline's stdout bytes into frames, whatever the read boundaries. */
export interface Framer {
  /** Frames completed by this chunk. */
  push(chunk: Uint8Array): FramedUnit[];
  /** The pending frame, when the caller knows the writer finished a write. */
  flush(): FramedUnit[];
  /** Picture format seen so far. */
  format(): VideoFormat | null;
  /** Bytes the parser could not use, as a count of incidents. */
  errors(): number;
}

/** The framer for a codec's pipe format: Annex-B for H.264, streamable WebM for VP8. */
export function createFramer(codec: Codec): Framer {
  return codec === "h264" ? h264Framer() : vp8Framer();
}

function h264Framer(): Framer {
  const assembler = new H264Assembler();
  return {
    push: (chunk) => assembler.push(chunk),
    flush: () => {
      const au = assembler.flush();
      return au ? [au] : [];
    },
    format: () => {
      const sps = assembler.sps;
      return sps ? { width: sps.width, height: sps.height, profileLevelId: sps.profileLevelId } : null;
    },
    errors: () => assembler.errors,
  };
}

function vp8Framer(): Framer {
  const demuxer = new WebmDemuxer();
  let format: VideoFormat | null = null;
  return {
    push: (chunk) =>
      demuxer.push(chunk).map((frame) => {
        if (frame.keyframe) {
          const info = parseVp8Frame(frame.data);
          if (info?.width && info.height) format = { width: info.width, height: info.height };
        }
        return { data: frame.data, keyframe: frame.keyframe };
      }),
    // WebM blocks carry their own length, so every frame is complete as soon as it is read.
    flush: () => [],
    format: () => format,
    errors: () => demuxer.errors,
  };
}

/** Frames completed by one read, with the wall-clock time (ms, sub-millisecond) that read returned. */
export interface FrameBatch {
  units: FramedUnit[];
  readAtMs: number;
}

/**
 * Reads a pipeline's stdout into batches of frames, one batch per read that completed any.
 * gst-launch writes each access unit with one write(); a read shorter than the pipe's capacity
 * means that write is complete, so the last frame goes out now instead of one frame later.
 *
 * Every read lands in one buffer of the pipe's capacity, handed back and forth with the stream (a BYOB
 * reader): the framers copy what they keep, and iterating the stream would instead allocate a new
 * 64 KiB buffer per read, 2-4 MB a second of garbage outside the V8 heap that stays resident until a
 * full collection.
 */
export async function* framesFromPipe(
  stdout: ReadableStream<Uint8Array>,
  framer: Framer,
): AsyncGenerator<FrameBatch> {
  const reader = stdout.getReader({ mode: "byob" });
  let buffer = new Uint8Array(PIPE_CAPACITY);
  try {
    while (true) {
      const { value: chunk, done } = await reader.read(buffer);
      if (done || !chunk) return;
      const readAtMs = performance.timeOrigin + performance.now();
      const units = framer.push(chunk);
      if (chunk.length < PIPE_CAPACITY) units.push(...framer.flush());
      buffer = new Uint8Array(chunk.buffer);
      if (units.length > 0) yield { units, readAtMs };
    }
  } finally {
    // As for-await would: a consumer that stops early closes the pipe (a no-op after its end).
    await reader.cancel().catch(() => {});
  }
}
