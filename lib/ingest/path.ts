/**
 * A WHIP path as a source: the stream a publisher feeds, who feeds it now, and what a stream needs
 * to outlive its publishers. Publishers come and go (OBS reconnects, a browser tab reloads); the
 * stream, its readers and its WHEP viewers stay, and the next publisher's media continues on the
 * same clock and sequence numbers, so no viewer renegotiates.
 */
import { ConflictError } from "../errors.ts";
import type { Log } from "../log.ts";
import type { Codec, VideoFormat } from "../stream/access_unit.ts";
import type { Stream } from "../stream/stream.ts";
import { seqDiff } from "./depacketize.ts";

/** What a second publisher on a busy path gets. */
export type SecondPublisher = "replace" | "refuse";

/** The rules of one WHIP path (from `[[paths]]`, or `[ingest]` for an unconfigured one). */
export interface PathRules {
  /** The codec a publisher must send; undefined = the first publisher's choice (unconfigured paths). */
  codec: Codec | undefined;
  secondPublisher: SecondPublisher;
}

/** What the path needs from the session feeding it. */
export interface Publisher {
  readonly id: string;
  /** Ends the publisher's session (replaced, or the path is shutting down). */
  close(why: string): void;
  /** Sends the publisher a picture loss indication. */
  requestKeyframe(): void;
}

/**
 * Keyframe requests reach the publisher at most this often: one keyframe answers them all. A request
 * inside the interval is sent at its end, not dropped: a reader that began waiting after the last keyframe
 * would otherwise wait for ever on a publisher that sends keyframes only on request.
 */
export const KEYFRAME_REQUEST_INTERVAL_MS = 500;

/** The fix a B-frame stream needs, as the log and status say it. */
export const B_FRAMES_FIX =
  "the publisher sends H.264 B-frames, which WebRTC viewers cannot reorder (stutter, frames out of order): " +
  "disable B-frames in the encoder (OBS: Settings > Output > Encoder, B-frames = 0; x264: bframes=0)";

/** One WHIP path: its stream and its current publisher. */
export class IngestPath {
  readonly #log;
  #publisher: Publisher | undefined;
  #lastKeyframeRequest = -Infinity;
  /** A keyframe request held back by the interval, sent when it ends unless a keyframe comes first. */
  #deferredRequest: ReturnType<typeof setTimeout> | undefined;
  /** The stream's last audio sequence number and timestamp, continued across publishers: see publishAudio. */
  #audioSequence = Math.floor(Math.random() * 0x10000);
  #audioTimestamp = 0;
  /** The current publisher's last audio packet, as it numbered it. */
  #publisherAudio: { sequenceNumber: number; timestamp: number } | undefined;
  #warnedBFrames = false;

  /**
   * @param log the service's log.
   * @param keyframeIntervalMs the least time between two keyframe requests to the publisher.
   */
  constructor(
    readonly stream: Stream,
    readonly rules: PathRules,
    log: Log,
    private readonly keyframeIntervalMs = KEYFRAME_REQUEST_INTERVAL_MS,
  ) {
    this.#log = log.logger(`whip ${stream.name}`);
    stream.source = { ...stream.source, state: "waiting" };
  }

  /** The session feeding the path now, if any. */
  get publisher(): Publisher | undefined {
    return this.#publisher;
  }

  /** Throws ConflictError when a publisher feeds the path and the rules refuse a second one. */
  checkFree(): void {
    if (this.#publisher && this.rules.secondPublisher === "refuse") {
      throw new ConflictError(`path "${this.stream.name}" already has a publisher`, 5);
    }
  }

  /** Makes `publisher` the path's source, ending the one before it (rules permitting). */
  take(publisher: Publisher): void {
    this.checkFree();
    const previous = this.#publisher;
    this.#publisher = publisher;
    this.#publisherAudio = undefined;
    this.stream.setKeyframeRequester(() => this.requestKeyframe());
    if (previous) {
      this.#log.info(`publisher ${publisher.id} replaces ${previous.id}`);
      previous.close(`replaced by ${publisher.id}`);
    }
  }

  /** The publisher's session ended: the stream waits for the next one; its readers stay. */
  release(publisher: Publisher, why: string): void {
    if (this.#publisher !== publisher) return;
    this.#publisher = undefined;
    this.#cancelDeferredRequest();
    this.stream.setKeyframeRequester(undefined);
    this.stream.source = { ...this.stream.source, state: "waiting", lastError: `publisher gone: ${why}` };
    this.#log.info(`publisher ${publisher.id} gone (${why}); waiting for the next one`);
  }

  /**
   * Asks the publisher for a keyframe: now, or at the end of the current interval when one was asked for
   * less than `keyframeIntervalMs` ago (see KEYFRAME_REQUEST_INTERVAL_MS).
   */
  requestKeyframe(): void {
    if (!this.#publisher || this.#deferredRequest !== undefined) return;
    const wait = this.#lastKeyframeRequest + this.keyframeIntervalMs - performance.now();
    if (wait <= 0) {
      this.#sendKeyframeRequest();
      return;
    }
    this.#deferredRequest = setTimeout(() => {
      this.#deferredRequest = undefined;
      this.#sendKeyframeRequest();
    }, wait);
  }

  #sendKeyframeRequest(): void {
    if (!this.#publisher) return;
    this.#lastKeyframeRequest = performance.now();
    this.#publisher.requestKeyframe();
  }

  #cancelDeferredRequest(): void {
    clearTimeout(this.#deferredRequest);
    this.#deferredRequest = undefined;
  }

  /**
   * One access unit from `publisher`. Its time is its arrival (last packet in), as a camera's is its
   * pipe read: viewers get frames at once, on the one clock every publisher shares.
   */
  publishVideo(
    publisher: Publisher,
    unit: { data: Uint8Array; keyframe: boolean },
    format: VideoFormat | null,
    arrivedMs: number,
  ): void {
    if (this.#publisher !== publisher) return;
    if (format) {
      this.stream.setFormat(format);
      if (format.bFrames && !this.#warnedBFrames) {
        this.#warnedBFrames = true;
        this.#log.warn(B_FRAMES_FIX);
        this.stream.source = { ...this.stream.source, lastError: B_FRAMES_FIX };
      }
    }
    if (this.stream.source.state !== "running") {
      this.stream.source = {
        ...this.stream.source,
        state: "running",
        restarts: this.stream.stats().frames > 0
          ? this.stream.source.restarts + 1
          : this.stream.source.restarts,
        lastError: format?.bFrames ? B_FRAMES_FIX : null,
      };
      this.#log.info(`publisher ${publisher.id} is live`);
    }
    // Any keyframe answers every request made before it.
    if (unit.keyframe) this.#cancelDeferredRequest();
    this.stream.publish({
      codec: this.stream.codec,
      data: unit.data,
      keyframe: unit.keyframe,
      pts90k: Math.round((arrivedMs - performance.timeOrigin) * 90),
      captureMs: arrivedMs,
    });
  }

  /**
   * One Opus packet from `publisher`, renumbered on the stream's count and clock: the first packet of
   * each publisher is put at the wall-clock time it arrived, the rest keep the publisher's steps (gaps
   * and reordering included), so viewers' decoders see one continuous track across publishers.
   */
  publishAudio(
    publisher: Publisher,
    packet: { payload: Uint8Array; sequenceNumber: number; timestamp: number; marker: boolean },
    arrivedMs: number,
  ): void {
    if (this.#publisher !== publisher) return;
    const last = this.#publisherAudio;
    if (last) {
      this.#audioSequence = (this.#audioSequence + seqDiff(packet.sequenceNumber, last.sequenceNumber)) &
        0xffff;
      this.#audioTimestamp = (this.#audioTimestamp + ((packet.timestamp - last.timestamp) | 0)) >>> 0;
    } else {
      this.#audioSequence = (this.#audioSequence + 1) & 0xffff;
      this.#audioTimestamp = Math.round((arrivedMs - performance.timeOrigin) * 48) >>> 0;
    }
    this.#publisherAudio = { sequenceNumber: packet.sequenceNumber, timestamp: packet.timestamp };
    this.stream.publishAudio({
      payload: packet.payload,
      sequenceNumber: this.#audioSequence,
      timestamp: this.#audioTimestamp,
      marker: packet.marker,
    });
  }

  /** Ends the publisher's session (shutdown). */
  close(): void {
    this.#cancelDeferredRequest();
    this.#publisher?.close("shutdown");
  }
}
