/**
 * The stream core: one Stream per path with its GOP cache, fan-out to readers and figures, and the
 * registry of a service's streams.
 */
import type { AccessUnit, Codec, VideoFormat } from "./access_unit.ts";
import { type EventFields, type EventName, type ServiceEvent, serviceEvent } from "../events.ts";
import { Histogram, SEND_DELAY_BUCKETS } from "../metrics/histogram.ts";
import { Reader } from "./reader.ts";

/** Where a stream's source is in its life. `waiting` is a path with no publisher yet. */
export type SourceState = "starting" | "running" | "restarting" | "stopped" | "failed" | "waiting";

/** What the source tells the stream about itself, shown in status. */
export interface SourceStatus {
  state: SourceState;
  /** Restart attempt in progress (0 when running). */
  attempt: number;
  /** Restarts since the service started. */
  restarts: number;
  /** Last reason the source stopped or could not start. */
  lastError: string | null;
  /** Process id of the source's pipeline while one runs. */
  pid: number | null;
  /** RTP packets a WHIP publisher never delivered (0 for a camera), since the service started. */
  packetsLost: number;
}

/** One Opus packet of a stream's audio, numbered for the stream (continuous across publishers). */
export interface AudioPacket {
  payload: Uint8Array;
  /** RTP sequence number on the stream's own count. */
  sequenceNumber: number;
  /** 48 kHz RTP timestamp on the stream's own clock. */
  timestamp: number;
  marker: boolean;
}

/** A stream's figures, as status and metrics show them. */
export interface StreamStats {
  frames: number;
  keyframes: number;
  bytes: number;
  /** Frames in the last second. */
  fps: number;
  /** Bits per second over the last second. */
  bitrate: number;
  readers: number;
  /** Access units dropped across all readers, past and present. */
  drops: number;
  /** Wall-clock ms of the last access unit, or null before the first. */
  lastFrameMs: number | null;
}

/** Caps the GOP cache so a source that never sends a keyframe cannot grow memory without bound. */
const GOP_CACHE_MAX_BYTES = 16 * 1024 * 1024;
const RATE_WINDOW_MS = 1000;
/**
 * A cached GOP whose keyframe is older than this gives a new reader a burst of old frames before live
 * ones; a source that can make a keyframe on request is asked for a fresh one so the reader catches up.
 */
export const GOP_FRESH_MS = 1000;

/**
 * One stream per path: remembers the current GOP so a new reader starts at once on a keyframe, fans
 * every access unit out to its readers' bounded queues, and counts what flows. It knows nothing of
 * its readers' kinds and outlives any one source process.
 */
export class Stream {
  readonly #readers = new Set<Reader>();
  /** Readers that are the service's own standing outputs (the shared-memory ring): fed, not listed. */
  readonly #outputs = new Set<Reader>();
  #gop: AccessUnit[] = [];
  #gopBytes = 0;
  #frames = 0;
  #keyframes = 0;
  #bytes = 0;
  #closedReaderDrops = 0;
  #lastFrameMs: number | null = null;
  /** Arrival times and sizes inside the rate window, oldest first. */
  #window: { t: number; bytes: number }[] = [];
  #format: VideoFormat | null = null;
  readonly #audioListeners = new Set<(packet: AudioPacket) => void>();
  #keyframeRequester: (() => void) | undefined;
  #source: SourceStatus = {
    state: "starting",
    attempt: 0,
    restarts: 0,
    lastError: null,
    pid: null,
    packetsLost: 0,
  };
  readonly #eventListeners = new Set<(event: ServiceEvent) => void>();
  /**
   * Pipe read (or packet arrival) → a WebRTC peer's last packet of the frame handed to the socket, one
   * observation per peer and frame: the figure the WebRTC bench reports, kept where scrapes read it.
   */
  readonly sendDelay = new Histogram(SEND_DELAY_BUCKETS);

  constructor(
    /** The path readers ask for. */
    readonly name: string,
    /** The codec every access unit of this stream carries. */
    readonly codec: Codec,
    /** Per-reader queue length, in access units. */
    readonly readerQueueFrames: number,
    /** Whether the stream may carry Opus audio (WHIP paths), so viewers are offered an audio track. */
    readonly hasAudio = false,
  ) {}

  /** Source state, written by whichever source feeds this stream. */
  get source(): SourceStatus {
    return this.#source;
  }

  /** Replaces the source state, announcing when the stream becomes ready or is lost. */
  set source(next: SourceStatus) {
    const before = this.#source;
    this.#source = next;
    const fields = { state: next.state, last_error: next.lastError };
    if (next.state === "running" && before.state !== "running") this.announce("stream_ready", fields);
    if (before.state === "running" && next.state !== "running") this.announce("stream_lost", fields);
  }

  /** Tells this stream's event listeners that something happened to it. */
  announce(event: EventName, fields: EventFields = {}): void {
    const announced = serviceEvent(event, this.name, fields);
    for (const listener of this.#eventListeners) listener(announced);
  }

  /** Calls `listener` with each event of this stream from now on; returns the unsubscribe function. */
  onEvent(listener: (event: ServiceEvent) => void): () => void {
    this.#eventListeners.add(listener);
    return () => this.#eventListeners.delete(listener);
  }

  /**
   * Asks the source for a keyframe: a viewer lost packets and sent a PLI or FIR, or a reader is waiting
   * for one (it joined with no decodable GOP cached, or it overflowed). A source that cannot make one on
   * demand (a camera's encoder sends them on its own interval) ignores it.
   */
  requestKeyframe(): void {
    this.#keyframeRequester?.();
  }

  /** Sets who answers {@link requestKeyframe}: the current publisher, or undefined. */
  setKeyframeRequester(requester: (() => void) | undefined): void {
    this.#keyframeRequester = requester;
  }

  /**
   * Calls `listener` with every audio packet from now on, synchronously: audio is forwarded as it
   * comes (a few small packets a second), not queued. Returns the unsubscribe function.
   */
  onAudio(listener: (packet: AudioPacket) => void): () => void {
    this.#audioListeners.add(listener);
    return () => this.#audioListeners.delete(listener);
  }

  /** Hands one audio packet to every audio listener. */
  publishAudio(packet: AudioPacket): void {
    for (const listener of this.#audioListeners) listener(packet);
  }

  /** Picture format from the bitstream, or null before the first keyframe. */
  get format(): VideoFormat | null {
    return this.#format;
  }

  /** The keyframe that starts the cached GOP (what a snapshot decodes), or undefined with none cached. */
  get latestKeyframe(): AccessUnit | undefined {
    return this.#gop[0];
  }

  /** Records the picture format parsed by the source from a keyframe. */
  setFormat(format: VideoFormat): void {
    this.#format = format;
  }

  /** Hands one access unit to every reader; never waits on any of them. */
  publish(au: AccessUnit): void {
    const now = Date.now();
    this.#frames++;
    this.#bytes += au.data.length;
    this.#lastFrameMs = now;
    this.#window.push({ t: now, bytes: au.data.length });
    this.#trimWindow(now);
    if (au.keyframe) {
      this.#keyframes++;
      this.#gop = [au];
      this.#gopBytes = au.data.length;
    } else if (this.#gop.length > 0 && this.#gopBytes + au.data.length <= GOP_CACHE_MAX_BYTES) {
      this.#gop.push(au);
      this.#gopBytes += au.data.length;
    } else {
      // Past the cap a new reader could not decode the tail without the head: wait for a keyframe.
      this.#gop = [];
      this.#gopBytes = 0;
    }
    for (const reader of this.#readers) reader.push(au);
    for (const reader of this.#outputs) reader.push(au);
  }

  /**
   * Attaches a reader. It starts with the cached GOP (keyframe first) so its first picture is
   * immediate. With no GOP cached, or one longer than the reader's queue (it would overflow at once),
   * the reader waits for the next keyframe and the source is asked for one now: a publisher that makes
   * keyframes only on request (a browser, OBS) would otherwise leave it waiting for ever. A GOP older
   * than {@link GOP_FRESH_MS} is replayed and a fresh keyframe asked for too. An `output` reader is one
   * of the service's standing outputs, there for the stream's whole life and holding no backlog: it is
   * left out of `readers` (and so of the reader count and the memory guard's cuts), which list the
   * consumers that come and go.
   *
   * @example
   * ```ts
   * const stream = new Stream("front", "h264", 90);
   * const reader = stream.subscribe();
   * for await (const au of reader) send(au); // ends when the reader or the stream closes
   * ```
   */
  subscribe(queueFrames = this.readerQueueFrames, { output = false }: { output?: boolean } = {}): Reader {
    const set = output ? this.#outputs : this.#readers;
    const reader = new Reader(queueFrames, {
      onClose: (r) => {
        set.delete(r);
        this.#closedReaderDrops += r.drops;
      },
      onKeyframeNeeded: () => this.requestKeyframe(),
    });
    const gop = this.#gop;
    if (gop.length > 0 && gop.length <= queueFrames) {
      for (const au of gop) reader.push(au);
      if (Date.now() - gop[0].captureMs > GOP_FRESH_MS) this.requestKeyframe();
    } else {
      this.requestKeyframe();
    }
    set.add(reader);
    return reader;
  }

  /** Readers attached now. */
  get readers(): ReadonlySet<Reader> {
    return this.#readers;
  }

  /** Current figures. */
  stats(now = Date.now()): StreamStats {
    this.#trimWindow(now);
    let drops = this.#closedReaderDrops;
    for (const r of this.#readers) drops += r.drops;
    const windowBytes = this.#window.reduce((sum, e) => sum + e.bytes, 0);
    return {
      frames: this.#frames,
      keyframes: this.#keyframes,
      bytes: this.#bytes,
      fps: this.#window.length * 1000 / RATE_WINDOW_MS,
      bitrate: windowBytes * 8 * 1000 / RATE_WINDOW_MS,
      readers: this.#readers.size,
      drops,
      lastFrameMs: this.#lastFrameMs,
    };
  }

  /** Detaches every reader and output (service shutdown). */
  close(): void {
    for (const r of [...this.#readers, ...this.#outputs]) r.close();
  }

  #trimWindow(now: number): void {
    let i = 0;
    while (i < this.#window.length && now - this.#window[i].t >= RATE_WINDOW_MS) i++;
    if (i > 0) this.#window.splice(0, i);
  }
}

/** The streams of this service, by name. */
export class StreamRegistry {
  readonly #streams = new Map<string, Stream>();
  readonly #onAdd: ((stream: Stream) => void)[] = [];
  readonly #onRemove: ((stream: Stream) => void)[] = [];
  readonly #onEvent: ((event: ServiceEvent) => void)[] = [];

  /** Adds a stream; its name must be new. */
  add(stream: Stream): Stream {
    if (this.#streams.has(stream.name)) throw new Error(`stream ${stream.name} already exists`);
    this.#streams.set(stream.name, stream);
    stream.onEvent((event) => {
      for (const listener of this.#onEvent) listener(event);
    });
    for (const listener of this.#onAdd) listener(stream);
    return stream;
  }

  /** Calls `listener` with each stream added from now on: cameras at start, WHIP paths as they come. */
  onAdd(listener: (stream: Stream) => void): void {
    this.#onAdd.push(listener);
  }

  /** Calls `listener` with every event of every stream, those added later included. */
  onEvent(listener: (event: ServiceEvent) => void): void {
    this.#onEvent.push(listener);
  }

  /** Calls `listener` with each stream removed (a WHIP path nobody configured, once unused), after it closed. */
  onRemove(listener: (stream: Stream) => void): void {
    this.#onRemove.push(listener);
  }

  /** Closes a stream (its readers end) and forgets it; unknown names are ignored. */
  remove(name: string): void {
    const stream = this.#streams.get(name);
    if (!stream) return;
    this.#streams.delete(name);
    stream.close();
    for (const listener of this.#onRemove) listener(stream);
  }

  /** The stream with this name, if any. */
  get(name: string): Stream | undefined {
    return this.#streams.get(name);
  }

  /** Every stream, in the order added. */
  all(): Stream[] {
    return [...this.#streams.values()];
  }
}
