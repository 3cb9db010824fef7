/**
 * Segment file names: the UTC start time to the millisecond with an extension per container, so a
 * folder listing sorts oldest first and a name alone tells when its recording began.
 */
import type { Codec } from "../stream/access_unit.ts";

/** The containers a segment may be in, by file extension. */
export type SegmentExtension = "mp4" | "h264" | "ivf";

const NAME = /^(\d{4})-(\d\d)-(\d\d)T(\d\d)-(\d\d)-(\d\d)\.(\d{3})Z\.(mp4|h264|ivf)$/;

/** `2026-12-05T07-21-17.123Z.mp4` for a segment that began at `startMs`: ':' is not safe on every disk. */
export function segmentFileName(startMs: number, extension: SegmentExtension): string {
  return `${new Date(startMs).toISOString().replaceAll(":", "-")}.${extension}`;
}

/** The start time and container of a segment's file name, or undefined for any other file. */
export function parseSegmentFileName(
  name: string,
): { startMs: number; extension: SegmentExtension } | undefined {
  const m = NAME.exec(name);
  if (!m) return undefined;
  const startMs = Date.parse(`${m[1]}-${m[2]}-${m[3]}T${m[4]}:${m[5]}:${m[6]}.${m[7]}Z`);
  if (Number.isNaN(startMs)) return undefined;
  return { startMs, extension: m[8] as SegmentExtension };
}

/** The extension of a new segment: fMP4 for either codec; the raw format is Annex-B H.264 or IVF VP8. */
export function segmentExtension(format: "fmp4" | "h264", codec: Codec): SegmentExtension {
  if (format === "fmp4") return "mp4";
  return codec === "h264" ? "h264" : "ivf";
}
