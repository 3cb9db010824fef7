/**
 * One stream's recorder: a reader of the stream like any viewer, cutting what it reads into parts (one
 * write each) and segments (one file each, starting on a keyframe).
 */
import type { RecordingConfig } from "../config/schema.ts";
import type { Logger } from "../log.ts";
import { concat } from "../media/bytes.ts";
import { opusPacketSamples } from "../media/opus.ts";
import type { AccessUnit } from "../stream/access_unit.ts";
import type { Reader } from "../stream/reader.ts";
import type { AudioPacket, Stream } from "../stream/stream.ts";
import {
  type AudioRun,
  type CodecParameters,
  codecParameters,
  type SegmentMuxer,
  segmentMuxer,
  type VideoSample,
} from "./muxers.ts";
import { segmentFileName } from "./names.ts";

/** A recording's state, as `GET /api/streams/<name>/recording` and `/status` show it. */
export interface RecordingStatus {
  recording: boolean;
  /** The file being written, or the last one written; null before the first. */
  filename: string | null;
  /** Video frames written since the recording started. */
  frame_count: number;
  /** Bytes written since the recording started, across segments. */
  bytes_written: number;
  /** Media time written since the recording started, across segments. */
  duration_ms: number;
  /** When the recording was started (RFC 3339), or null. */
  start_time: string | null;
  format: RecordingConfig["format"];
  /** Why the recording is paused or stopped by itself (disk full, a failed write); null when all is well. */
  error: string | null;
}

/** What a recorder asks of whoever keeps the disk. */
export interface SpaceKeeper {
  /** Frees room for `bytes` more in this stream's folder; the reason it cannot, or undefined when it did. */
  makeRoom(stream: string, bytes: number): string | undefined;
  /** Called when a segment file is complete (retention runs, hooks fire). */
  segmentClosed(stream: string, path: string): void;
}

/** A segment file being written. */
interface OpenSegment {
  path: string;
  file: Deno.FsFile;
  muxer: SegmentMuxer;
  /** The codec parameters its decoder was told. */
  key: string;
  /** 90 kHz time and wall-clock ms of its first keyframe. */
  startPts: number;
  startMs: number;
  /** Whether the header is still to go in front of the first part. */
  headerPending: boolean;
  /** Bytes and 90 kHz video time written to it so far. */
  bytes: number;
  ticks: number;
  /** Audio: the first packet's RTP timestamp and its decode time in the segment (48 kHz). */
  audioFirstTs?: number;
  audioBase?: number;
}

/** Audio younger than this at a segment's start gives the segment an audio track. */
const AUDIO_RECENT_MS = 2000;
/** A frame shows this long when nothing after it says otherwise (the last of a segment): one at 30 fps. */
const DEFAULT_FRAME_TICKS = 3000;
/** Longest stop() waits for the frames already queued to be written. */
const STOP_DRAIN_MS = 1000;
/** A paused recording tries again this often. */
const RETRY_MS = 2000;

/**
 * Records one stream: reads access units through its own bounded {@link Reader} (a slow disk makes the
 * recorder skip to a keyframe, never the camera wait), holds at most one part in memory and writes it
 * with one call. A part ends `part_ms` after it began, by media time or, when frames stop coming, by the
 * clock. A segment begins on a keyframe: the first, one `segment_s` after the last segment began, or one
 * whose codec parameters changed. A full disk or a failed write pauses the recording with the reason in
 * status; it resumes on its own at the first keyframe once writing works again.
 */
export class Recorder {
  #reader: Reader | null = null;
  #stopAudio: (() => void) | null = null;
  #segment: OpenSegment | null = null;
  #partVideo: AccessUnit[] = [];
  #partAudio: { data: Uint8Array; decodeTime: number }[] = [];
  #partOpenedMs = 0;
  #lastAudioMs = -Infinity;
  #timer: ReturnType<typeof setInterval> | undefined;
  /** Every file operation runs in this chain, one at a time. */
  #chain: Promise<void> = Promise.resolve();
  #loop: Promise<void> = Promise.resolve();
  #startedMs: number | null = null;
  #filename: string | null = null;
  #frames = 0;
  #bytes = 0;
  #durationTicks = 0;
  #error: string | null = null;
  #pausedUntilMs = 0;
  /** Write calls made, for the bench's writes-per-second figure. */
  writes = 0;
  /** Bytes written over every recording of this stream, for the metrics' counter (never reset). */
  bytesTotal = 0;

  constructor(
    readonly stream: Stream,
    readonly config: RecordingConfig,
    readonly folder: string,
    readonly space: SpaceKeeper,
    readonly log: Logger,
  ) {}

  /** True while recording (paused by a full disk included). */
  get recording(): boolean {
    return this.#reader !== null;
  }

  /** The path of the segment being written, or null. */
  get activePath(): string | null {
    return this.#segment?.path ?? null;
  }

  /** Starts recording; false when it already was. */
  start(): boolean {
    if (this.#reader) return false;
    this.#startedMs = Date.now();
    this.#frames = this.#bytes = this.#durationTicks = 0;
    this.#filename = null;
    this.#error = null;
    this.#pausedUntilMs = 0;
    // A reader of its own, queueing a few seconds: a disk that stalls that long costs a skip to the next
    // keyframe, not a stalled camera.
    const reader = this.stream.subscribe(Math.max(this.stream.readerQueueFrames, 150), { output: true });
    this.#reader = reader;
    this.#stopAudio = this.stream.hasAudio ? this.stream.onAudio((p) => this.#onAudio(p)) : null;
    this.#timer = setInterval(() => this.#serial(() => this.#onTick()), Math.min(this.config.partMs, 500));
    this.#loop = (async () => {
      for await (const au of reader) await this.#serial(() => this.#onVideo(au));
    })();
    this.log.info(`${this.stream.name}: recording (${this.config.format}) to ${this.folder}`);
    this.stream.announce("recording_started", { format: this.config.format, folder: this.folder });
    return true;
  }

  /** Stops recording: the last part is written and the file closed. Resolves with the final status. */
  async stop(): Promise<RecordingStatus> {
    const reader = this.#reader;
    if (!reader) return this.status();
    this.#reader = null;
    clearInterval(this.#timer);
    this.#stopAudio?.();
    // What the stream already handed over is recorded too (closing the reader would drop it), within a bound
    // so that a stalled disk cannot hold up a shutdown.
    const deadline = Date.now() + STOP_DRAIN_MS;
    while (reader.queued > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
    reader.close();
    await this.#loop;
    await this.#serial(() => this.#closeSegment());
    this.log.info(`${this.stream.name}: recording stopped (${this.#frames} frames, ${this.#bytes} bytes)`);
    return this.status();
  }

  /** The recording's state now. */
  status(): RecordingStatus {
    return {
      recording: this.recording,
      filename: this.#filename,
      frame_count: this.#frames,
      bytes_written: this.#bytes,
      duration_ms: Math.round(this.#durationTicks / 90),
      start_time: this.#startedMs === null ? null : new Date(this.#startedMs).toISOString(),
      format: this.config.format,
      error: this.#error,
    };
  }

  #serial(work: () => Promise<void> | void): Promise<void> {
    const next = this.#chain.then(work).catch((err) => this.#broken(err));
    this.#chain = next;
    return next;
  }

  /**
   * A bug met while recording: the open segment keeps what it has and the recording pauses, so one bad
   * access unit costs a keyframe interval, not every write after it (nor a log line per frame).
   */
  #broken(err: Error): void {
    const segment = this.#segment;
    this.#segment = null;
    this.#partVideo = [];
    this.#partAudio = [];
    try {
      segment?.file.close();
    } catch {
      // Already closed.
    }
    const reason = `internal error: ${err.message}`;
    if (this.#error !== reason) this.log.error(`${this.stream.name}: ${err.stack ?? err}`);
    this.#pause(reason);
  }

  async #onVideo(au: AccessUnit): Promise<void> {
    const segment = this.#segment;
    const params = au.keyframe ? codecParameters(this.stream.codec, au.data) : undefined;
    if (segment && au.keyframe) {
      // Half a frame's slack: a keyframe exactly segment_s later arrives a hair early as often as late.
      const due = au.pts90k - segment.startPts >= this.config.segmentS * 90_000 - DEFAULT_FRAME_TICKS / 2;
      if (due || (params && params.key !== segment.key)) await this.#closeSegment(au.pts90k);
    }
    if (!this.#segment) {
      if (!params || Date.now() < this.#pausedUntilMs) return;
      if (!await this.#openSegment(au, params)) return;
    }
    if (this.#partVideo.length === 0 && this.#partAudio.length === 0) this.#partOpenedMs = Date.now();
    this.#partVideo.push(au);
    if (au.captureMs - this.#partVideo[0].captureMs >= this.config.partMs) await this.#writePart(false);
  }

  #onAudio(packet: AudioPacket): void {
    const now = performance.now();
    this.#lastAudioMs = now;
    const segment = this.#segment;
    if (!segment?.muxer.audio) return;
    if (segment.audioFirstTs === undefined) {
      segment.audioFirstTs = packet.timestamp;
      // Audio is placed where it arrived against the video's clock (the access units' 90 kHz times are
      // the same monotonic clock): WebRTC gives no common timeline without sender reports.
      segment.audioBase = Math.max(0, Math.round((now * 90 - segment.startPts) * 48 / 90));
    }
    const decodeTime = segment.audioBase! + ((packet.timestamp - segment.audioFirstTs) >>> 0);
    if (this.#partVideo.length === 0 && this.#partAudio.length === 0) this.#partOpenedMs = Date.now();
    this.#partAudio.push({ data: packet.payload, decodeTime });
  }

  /** Writes what waited a whole part by the clock: frames stopped coming, or only audio comes. */
  async #onTick(): Promise<void> {
    if (!this.#segment) return;
    const held = this.#partVideo.length + this.#partAudio.length;
    if (held > 0 && Date.now() - this.#partOpenedMs >= this.config.partMs) {
      // The last frame's duration is unknown until the next one: it is written only once the source
      // looks stalled, with a nominal duration; the next part's own timestamps then show the gap.
      const stalled =
        Date.now() - this.#partVideo[this.#partVideo.length - 1]?.captureMs >= this.config.partMs;
      await this.#writePart(stalled);
    }
  }

  /** Opens the segment that `au`, a keyframe carrying `params`, begins; false when it cannot. */
  async #openSegment(au: AccessUnit, params: CodecParameters): Promise<boolean> {
    const refused = this.space.makeRoom(this.stream.name, 0);
    if (refused) {
      this.#pause(refused);
      return false;
    }
    const audio = this.stream.hasAudio && performance.now() - this.#lastAudioMs < AUDIO_RECENT_MS;
    const muxer = segmentMuxer(this.config.format, this.stream.codec, params, audio);
    const path = `${this.folder}/${segmentFileName(au.captureMs, muxer.extension)}`;
    let file: Deno.FsFile;
    try {
      await Deno.mkdir(this.folder, { recursive: true });
      file = await Deno.open(path, { write: true, createNew: true, mode: 0o640 });
    } catch (err) {
      this.#pause(`cannot create ${path}: ${(err as Error).message}`);
      return false;
    }
    this.#segment = {
      path,
      file,
      muxer,
      key: params.key,
      startPts: au.pts90k,
      startMs: au.captureMs,
      headerPending: true,
      bytes: 0,
      ticks: 0,
    };
    this.#filename = path;
    this.#partVideo = [];
    this.#partAudio = [];
    this.#error = null;
    this.log.debug(`${this.stream.name}: segment ${path}${audio ? " with audio" : ""}`);
    return true;
  }

  /**
   * Writes the part held so far in one call. Without `includeLast` the last frame stays for the next
   * part, since its duration is the time to the frame after it; `lastTicks` gives it when known.
   */
  async #writePart(includeLast: boolean, lastTicks?: number): Promise<void> {
    const segment = this.#segment!;
    const frames = this.#partVideo;
    const count = includeLast ? frames.length : frames.length - 1;
    const video: VideoSample[] = [];
    for (let i = 0; i < count; i++) {
      const next = frames[i + 1]?.pts90k;
      const duration = next !== undefined
        ? next - frames[i].pts90k
        : lastTicks ?? (video.at(-1)?.duration || DEFAULT_FRAME_TICKS);
      video.push({ au: frames[i], duration: Math.max(1, Math.round(duration)) });
    }
    const audio = this.#audioRun();
    if (video.length === 0 && !audio) return;
    const videoBase = video.length > 0 ? video[0].au.pts90k - segment.startPts : 0;
    const body = segment.muxer.part(video, Math.max(0, Math.round(videoBase)), audio);
    const bytes = segment.headerPending ? concat([segment.muxer.header, body]) : body;
    this.#partVideo = frames.slice(count);
    this.#partAudio = [];
    this.#partOpenedMs = Date.now();
    const refused = this.space.makeRoom(this.stream.name, bytes.length);
    if (refused) return this.#abandon(segment, refused);
    try {
      await writeAll(segment.file, bytes);
      this.writes++;
      if (this.config.fsync === "part") await segment.file.syncData();
    } catch (err) {
      return this.#abandon(segment, `cannot write ${segment.path}: ${(err as Error).message}`);
    }
    segment.headerPending = false;
    segment.bytes += bytes.length;
    this.#bytes += bytes.length;
    this.bytesTotal += bytes.length;
    this.#frames += video.length;
    for (const v of video) segment.ticks += v.duration;
    this.#durationTicks += video.reduce((sum, v) => sum + v.duration, 0);
  }

  #audioRun(): AudioRun | null {
    const packets = this.#partAudio;
    if (packets.length === 0 || !this.#segment?.muxer.audio) return null;
    const samples = packets.map((p, i) => {
      const gap = (packets[i + 1]?.decodeTime ?? 0) - p.decodeTime;
      const own = opusPacketSamples(p.data) || 960;
      // The next packet's time gives the duration when it is plausible; a lost packet shows as a longer one.
      return { data: p.data, duration: gap > 0 && gap <= 5760 ? gap : own };
    });
    return { baseDecodeTime: packets[0].decodeTime, samples };
  }

  /** Writes everything held and closes the file; `nextPts` is the keyframe that starts the next segment. */
  async #closeSegment(nextPts?: number): Promise<void> {
    const segment = this.#segment;
    if (!segment) return;
    const last = this.#partVideo.at(-1);
    const lastTicks = last && nextPts !== undefined ? nextPts - last.pts90k : undefined;
    if (this.#partVideo.length > 0 || this.#partAudio.length > 0) {
      await this.#writePart(
        true,
        lastTicks !== undefined && lastTicks > 0 && lastTicks < 90_000 ? lastTicks : undefined,
      );
    }
    if (this.#segment !== segment) return; // the write failed and closed it
    try {
      if (this.config.fsync !== "never") await segment.file.syncData();
    } catch (err) {
      return this.#abandon(segment, `cannot sync ${segment.path}: ${(err as Error).message}`);
    }
    await this.#release(segment);
  }

  /** Forgets the open segment and closes its file, which keeps what was written (or goes, when nothing was). */
  async #release(segment: OpenSegment): Promise<void> {
    this.#segment = null;
    this.#partVideo = [];
    this.#partAudio = [];
    segment.file.close();
    if (segment.headerPending) {
      // Nothing was written: an empty file would only be noise in the listing.
      await Deno.remove(segment.path).catch(() => {});
      return;
    }
    this.stream.announce("recording_segment_complete", {
      file: segment.path.slice(segment.path.lastIndexOf("/") + 1),
      path: segment.path,
      bytes: segment.bytes,
      duration_s: Math.round(segment.ticks / 90) / 1000,
      start_time: new Date(segment.startMs).toISOString(),
    });
    this.space.segmentClosed(this.stream.name, segment.path);
  }

  /** A write cannot be made: the segment ends with what it has, and the recording pauses. */
  async #abandon(segment: OpenSegment, reason: string): Promise<void> {
    await this.#release(segment);
    this.#pause(reason);
  }

  #pause(reason: string): void {
    this.#pausedUntilMs = Date.now() + RETRY_MS;
    if (this.#error !== reason) {
      this.log.error(`${this.stream.name}: recording paused: ${reason}`);
      this.stream.announce("recording_error", { error: reason });
    }
    this.#error = reason;
  }
}

/** Writes all of `bytes`: one call in practice, more only when the kernel takes a partial write. */
async function writeAll(file: Deno.FsFile, bytes: Uint8Array): Promise<void> {
  let done = 0;
  while (done < bytes.length) done += await file.write(bytes.subarray(done));
}
