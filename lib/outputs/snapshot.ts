/**
 * JPEG snapshots: the latest cached keyframe of a stream, decoded by a short-lived `gst-launch-1.0`. One
 * decode per stream at a time, at most one started per second; between them the last image is served.
 */
import { GST_LAUNCH } from "../cameras/supervisor.ts";
import { UnavailableError, UnsupportedError } from "../errors.ts";
import type { Logger } from "../log.ts";
import { ivfFrame, ivfHeader } from "../media/ivf.ts";
import { parseVp8Frame } from "../media/vp8.ts";
import type { AccessUnit, Codec } from "../stream/access_unit.ts";
import type { Stream } from "../stream/stream.ts";

/** H.264 decoders in order of preference, each with the package that brings it (Debian 12 / Pi OS). */
const H264_DECODERS: [element: string, hint: string][] = [
  ["avdec_h264", "install gstreamer1.0-libav"],
  ["openh264dec", "install gstreamer1.0-plugins-bad"],
  ["v4l2h264dec", "install gstreamer1.0-plugins-good (Raspberry Pi hardware decoder)"],
];

/** The other elements a snapshot pipeline needs, with their packages. */
const INSTALL_HINT: Record<string, string> = {
  fdsrc: "install gstreamer1.0-tools",
  fdsink: "install gstreamer1.0-tools",
  h264parse: "install gstreamer1.0-plugins-bad",
  ivfparse: "install gstreamer1.0-plugins-bad",
  vp8dec: "install gstreamer1.0-plugins-good",
  videoconvert: "install gstreamer1.0-plugins-base",
  jpegenc: "install gstreamer1.0-plugins-good",
};

const CODEC_NAME: Record<Codec, string> = { h264: "H.264", vp8: "VP8" };

/** JPEG quality of every snapshot, 0..100. */
export const SNAPSHOT_QUALITY = 85;
/** A decode that has not finished after this long is killed. */
export const SNAPSHOT_TIMEOUT_MS = 5000;
/** At most one decode of a stream starts within this window; requests inside it get the last image. */
export const SNAPSHOT_INTERVAL_MS = 1000;

/**
 * The `gst-launch-1.0` argv (after the program name) that reads one keyframe on stdin and writes one
 * JPEG to stdout: H.264 Annex-B through `h264parse` and the first installed decoder, VP8 as IVF through
 * `ivfparse`. Throws UnsupportedError naming what to install when an element is missing.
 */
export function snapshotPipeline(codec: Codec, elements: Set<string>): string[] {
  let decode: string[];
  if (codec === "h264") {
    const decoder = H264_DECODERS.find(([element]) => elements.has(element));
    if (!decoder) {
      const names = H264_DECODERS.map(([element]) => element).join(", ");
      throw new UnsupportedError(
        `snapshots of H.264 need a decoder and none of ${names} is installed: ${H264_DECODERS[0][1]}`,
      );
    }
    decode = ["h264parse", "!", decoder[0]];
  } else {
    decode = ["ivfparse", "!", "vp8dec"];
  }
  const stages = [["fdsrc", "fd=0"], decode, ["videoconvert"], ["jpegenc", `quality=${SNAPSHOT_QUALITY}`], [
    "fdsink",
    "fd=1",
  ]];
  const needed = stages.flat().filter((word) => /^[a-z0-9_]+$/.test(word));
  const absent = needed.filter((element) => !elements.has(element));
  if (absent.length > 0) {
    const what = absent.map((element) => `${element} not found: ${INSTALL_HINT[element]}`).join("; ");
    throw new UnsupportedError(`snapshots of ${CODEC_NAME[codec]} cannot be made: ${what}`);
  }
  return ["-q", ...stages.flatMap((stage, i) => i === 0 ? stage : ["!", ...stage])];
}

/** One decoded picture of a stream. */
export interface Snapshot {
  /** The JPEG file. */
  jpeg: Uint8Array<ArrayBuffer>;
  /** Wall-clock capture time of the keyframe it shows, ms since the Unix epoch. */
  captureMs: number;
}

/** What is remembered of one stream: its last image, and the decode under way or last started. */
interface Entry {
  image?: Snapshot;
  /** The keyframe `image` was decoded from: while it is still the latest, nothing is decoded again. */
  keyframe?: AccessUnit;
  /** performance.now() when the last decode started (successful or not); -Infinity before the first. */
  startedAt: number;
  /** Why the last decode failed, until one succeeds. */
  failure?: string;
  inflight?: Promise<Snapshot>;
}

/** Settings a test may change; the defaults are the service's. */
export interface SnapshotOptions {
  timeoutMs?: number;
  intervalMs?: number;
  /** Builds the argv: {@link snapshotPipeline} unless a test hands in another. */
  pipeline?: (codec: Codec, elements: Set<string>) => string[];
}

/**
 * The service's snapshots: per stream, the last JPEG and the decode under way. Concurrent requests share
 * one decode; a decode starts at most once per {@link SNAPSHOT_INTERVAL_MS} per stream, and not at all
 * while the latest keyframe is the one the cached image came from. A failed decode is not cached, but it
 * counts against the interval, so a stream whose keyframes do not decode costs one process a second.
 */
export class Snapshots {
  readonly #entries = new Map<string, Entry>();
  readonly #timeoutMs: number;
  readonly #intervalMs: number;
  readonly #pipeline: (codec: Codec, elements: Set<string>) => string[];
  #decodes = 0;

  constructor(
    /** The installed GStreamer elements (`listElements()` at start). */
    readonly elements: Set<string>,
    readonly log: Logger,
    options: SnapshotOptions = {},
  ) {
    this.#timeoutMs = options.timeoutMs ?? SNAPSHOT_TIMEOUT_MS;
    this.#intervalMs = options.intervalMs ?? SNAPSHOT_INTERVAL_MS;
    this.#pipeline = options.pipeline ?? snapshotPipeline;
  }

  /** Decoder processes started since the service started. */
  get decodes(): number {
    return this.#decodes;
  }

  /**
   * A JPEG of the stream's latest keyframe: the cached one, the decode under way, or a new decode.
   * Throws UnavailableError (retry in 1 s) while the stream has no keyframe or when the decode failed,
   * UnsupportedError when this machine lacks an element the decode needs.
   */
  jpeg(stream: Stream): Promise<Snapshot> {
    let entry = this.#entries.get(stream.name);
    if (!entry) this.#entries.set(stream.name, entry = { startedAt: -Infinity });
    if (entry.inflight) return entry.inflight;
    const keyframe = stream.latestKeyframe;
    const recent = performance.now() - entry.startedAt < this.#intervalMs;
    if (entry.image && (recent || keyframe === entry.keyframe)) return Promise.resolve(entry.image);
    if (!keyframe) {
      return Promise.reject(new UnavailableError(`stream "${stream.name}" has no keyframe yet`, 1));
    }
    if (recent && entry.failure !== undefined) return Promise.reject(new UnavailableError(entry.failure, 1));
    let args: string[];
    try {
      args = this.#pipeline(stream.codec, this.elements);
    } catch (err) {
      return Promise.reject(err);
    }
    const started = entry;
    started.startedAt = performance.now();
    this.#decodes++;
    const decoding = this.#decode(args, decoderInput(keyframe)).then(
      (jpeg) => {
        started.image = { jpeg, captureMs: keyframe.captureMs };
        started.keyframe = keyframe;
        started.failure = undefined;
        return started.image;
      },
      (err: Error) => {
        started.failure = `snapshot of "${stream.name}" failed: ${err.message}`;
        this.log.warn(started.failure);
        throw new UnavailableError(started.failure, 1);
      },
    ).finally(() => started.inflight = undefined);
    started.inflight = decoding;
    return decoding;
  }

  /** Forgets a stream's image (the stream was removed). A decode under way still answers its callers. */
  forget(name: string): void {
    this.#entries.delete(name);
  }

  /** Runs one decode: `input` on stdin, the JPEG from stdout, killed after the timeout. */
  async #decode(args: string[], input: Uint8Array): Promise<Uint8Array<ArrayBuffer>> {
    let child: Deno.ChildProcess;
    try {
      child = new Deno.Command(GST_LAUNCH, { args, stdin: "piped", stdout: "piped", stderr: "piped" })
        .spawn();
    } catch (err) {
      throw new Error(
        err instanceof Deno.errors.NotFound
          ? `${GST_LAUNCH} not found: install gstreamer1.0-tools`
          : `cannot start ${GST_LAUNCH}: ${(err as Error).message}`,
      );
    }
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      try {
        child.kill("SIGKILL");
      } catch {
        // Already gone.
      }
    }, this.#timeoutMs);
    // A decoder that dies early closes its stdin: the write fails, and its exit status tells why.
    const writing = (async () => {
      const writer = child.stdin.getWriter();
      try {
        await writer.write(input);
        await writer.close();
      } catch {
        // Reported by the exit status.
      }
    })();
    let output: Deno.CommandOutput;
    try {
      output = await child.output();
      await writing;
    } finally {
      clearTimeout(timer);
    }
    if (timedOut) throw new Error(`no picture within ${this.#timeoutMs} ms`);
    if (!output.success) {
      const stderr = new TextDecoder().decode(output.stderr).trim().split("\n")[0];
      const how = output.signal ? `killed by ${output.signal}` : `exited with code ${output.code}`;
      throw new Error(`${GST_LAUNCH} ${how}${stderr ? `: ${stderr}` : ""}`);
    }
    const jpeg = output.stdout;
    if (!isJpeg(jpeg)) throw new Error(`the decoder gave no JPEG (${jpeg.length} bytes)`);
    return jpeg;
  }
}

/** What the decoder reads on stdin: H.264 as it is (Annex-B, SPS and PPS in front); VP8 as an IVF file. */
function decoderInput(keyframe: AccessUnit): Uint8Array {
  if (keyframe.codec === "h264") return keyframe.data;
  const info = parseVp8Frame(keyframe.data);
  const header = ivfHeader(info?.width ?? 0, info?.height ?? 0, 90000, 1, 1);
  const frame = ivfFrame(keyframe.data, 0);
  const file = new Uint8Array(header.length + frame.length);
  file.set(header);
  file.set(frame, header.length);
  return file;
}

/** Starts with SOI (FF D8) and ends with EOI (FF D9). */
function isJpeg(bytes: Uint8Array): boolean {
  const n = bytes.length;
  return n >= 4 && bytes[0] === 0xff && bytes[1] === 0xd8 && bytes[n - 2] === 0xff && bytes[n - 1] === 0xd9;
}
