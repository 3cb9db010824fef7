/**
 * Playback of any time range as one fragmented MP4: the fragments of the segments it spans, cut at the
 * keyframe at or before its start and re-timed so the result plays from 0 with no jump between segments.
 */
import { dropSamplesBefore, type FragmentInfo, fragmentInfo, retimeFragment } from "../media/fmp4.ts";
import { NotFoundError } from "../errors.ts";
import { sameBytes } from "../media/bytes.ts";
import { type Mp4Index, readAt, type RecordingLibrary, type SegmentInfo } from "./library.ts";

/** Time scale of a recording's Opus track. */
const AUDIO_TIMESCALE = 48_000;

/** One fragment of the answer: where it is on disk and how to rewrite it. */
interface Piece {
  path: string;
  fragment: FragmentInfo;
  /** Video samples to drop from its front (the cut inside the first fragment). */
  dropBefore: number;
  /** Added to each track's decode times (90 kHz for video; audio is converted to its own scale). */
  shift: number;
}

/** What a playback request will send: the init section and the fragments after it. */
export interface PlaybackPlan {
  init: Uint8Array;
  pieces: Piece[];
  /** Media time the answer covers, in ms. */
  durationMs: number;
  videoTrack: { id: number; timescale: number };
}

/**
 * The fragments that play `durationMs` of a stream from `startMs`. Segments in another container, or
 * whose init section differs from the first one's (codec parameters changed), end the answer there.
 * Throws NotFoundError when no fMP4 segment covers the start.
 */
export async function planPlayback(
  library: RecordingLibrary,
  stream: string,
  startMs: number,
  durationMs: number,
): Promise<PlaybackPlan> {
  const segments = (await library.segments(stream, startMs, startMs + durationMs)).filter((s) =>
    s.extension === "mp4"
  );
  const first = segments[0];
  if (!first) {
    throw new NotFoundError(`no fMP4 recording of "${stream}" covers ${new Date(startMs).toISOString()}`);
  }
  const firstIndex = await library.index(first.path);
  if (!firstIndex.init || !firstIndex.videoTrack) {
    throw new NotFoundError(`${first.name} has no complete header`);
  }
  const video = firstIndex.videoTrack;
  const ticksPerMs = video.timescale / 1000;
  const pieces: Piece[] = [];
  // Where the answer's timeline stands, in video ticks: the next segment is placed right there.
  let outEnd = 0;
  let remaining = durationMs * ticksPerMs;
  for (const [n, segment] of segments.entries()) {
    const index = n === 0 ? firstIndex : await library.index(segment.path);
    if (!index.init || !sameBytes(index.init, firstIndex.init)) break;
    const from = n === 0 ? Math.max(0, (startMs - segment.startMs) * ticksPerMs) : 0;
    const cut = n === 0 ? keyframeAtOrBefore(index, video.id, from) : { fragment: 0, sample: 0, time: 0 };
    if (!cut) continue;
    // The first segment keeps what lies between its cut keyframe and the asked start, so the answer
    // starts on a decodable picture; the time asked for is counted from the cut.
    const want = remaining + (from - cut.time);
    let end = cut.time;
    for (let i = cut.fragment; i < index.fragments.length && end - cut.time < want; i++) {
      const fragment = index.fragments[i];
      const run = fragment.runs.find((r) => r.trackId === video.id);
      if (!run) continue;
      pieces.push({
        path: segment.path,
        fragment,
        dropBefore: i === cut.fragment ? cut.sample : 0,
        shift: outEnd - cut.time,
      });
      end = run.baseDecodeTime + run.duration;
    }
    remaining -= end - cut.time - (from - cut.time);
    outEnd += end - cut.time;
    if (remaining <= 0) break;
  }
  return {
    init: firstIndex.init,
    pieces,
    durationMs: Math.round(outEnd / ticksPerMs),
    videoTrack: video,
  };
}

/** The keyframe at or before `time` (ticks from the segment's start), or the segment's first one. */
function keyframeAtOrBefore(
  index: Mp4Index,
  trackId: number,
  time: number,
): { fragment: number; sample: number; time: number } | undefined {
  let found: { fragment: number; sample: number; time: number } | undefined;
  for (const [i, fragment] of index.fragments.entries()) {
    const run = fragment.runs.find((r) => r.trackId === trackId);
    if (!run) continue;
    for (const [k, sample] of run.keyframeOffsets.entries()) {
      const at = run.keyframeTimes[k];
      if (at > time && found) return found;
      found = { fragment: i, sample, time: at };
      if (at > time) return found;
    }
  }
  return found;
}

/**
 * The answer's bytes, read one fragment at a time as the client takes them: a long range never sits in
 * memory whole.
 */
export function playbackBody(plan: PlaybackPlan): ReadableStream<Uint8Array> {
  let next = 0;
  let sequence = 1;
  let file: { path: string; handle: Deno.FsFile } | undefined;
  const close = () => {
    file?.handle.close();
    file = undefined;
  };
  const { videoTrack } = plan;
  return new ReadableStream<Uint8Array>({
    start(controller) {
      controller.enqueue(plan.init);
    },
    async pull(controller) {
      const piece = plan.pieces[next++];
      if (!piece) {
        close();
        controller.close();
        return;
      }
      if (file?.path !== piece.path) {
        close();
        file = { path: piece.path, handle: await Deno.open(piece.path, { read: true }) };
      }
      let bytes = await readAt(file.handle, piece.fragment.offset, piece.fragment.size);
      if (bytes.length < piece.fragment.size) {
        close();
        controller.close();
        return;
      }
      if (piece.dropBefore > 0) bytes = dropSamplesBefore(bytes, videoTrack.id, piece.dropBefore);
      // Read back after a cut: the dropped samples moved each track's first decode time.
      const runs = piece.dropBefore > 0 ? fragmentInfo(bytes, 0, bytes.length).runs : piece.fragment.runs;
      const bases = new Map<number, number>();
      for (const run of runs) {
        // Audio runs in 48 kHz: the video shift converted, and never before the answer's start.
        const shift = run.trackId === videoTrack.id
          ? piece.shift
          : piece.shift * AUDIO_TIMESCALE / videoTrack.timescale;
        bases.set(run.trackId, Math.max(0, Math.round(run.baseDecodeTime + shift)));
      }
      controller.enqueue(retimeFragment(bytes, sequence++, bases));
    },
    cancel: close,
  });
}

/** A segment's listing entry as the API shows it. */
export function segmentJson(
  segment: SegmentInfo,
  url: string,
): { start: string; duration_s: number; bytes: number; url: string } {
  return {
    start: new Date(segment.startMs).toISOString(),
    duration_s: segment.durationMs / 1000,
    bytes: segment.bytes,
    url,
  };
}
