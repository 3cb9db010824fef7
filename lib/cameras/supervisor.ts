/**
 * A camera's life: runs its GStreamer process, feeds the framer's access units to the stream, logs its
 * stderr, and restarts it when it exits or stalls (paced by lib/backoff.ts's restart policy), while the
 * stream and its readers stay.
 */
import type { CameraConfig, SupervisorConfig } from "../config/schema.ts";
import { type Log, RateLimitedLog } from "../log.ts";
import type { Stream } from "../stream/stream.ts";
import { createFramer, framesFromPipe } from "./framer.ts";
import type { Resolution } from "./encoders.ts";
import { buildPipeline } from "./gstreamer.ts";
import { nextRestart, type RestartPolicy } from "../backoff.ts";

/** The program every camera runs in. */
export const GST_LAUNCH = "gst-launch-1.0";

/** Grace between SIGTERM and SIGKILL when stopping a pipeline. */
const KILL_GRACE_MS = 1500;

/**
 * Runs one camera's GStreamer process and keeps it running: reads its stdout into access units for
 * the stream, sends its stderr to the log, and restarts it when it exits or stalls: soon after a run
 * that delivered frames, with a growing backoff while runs deliver none, and never more often than
 * `max_restarts_per_minute`. The stream and its readers outlive every restart.
 */
export class CameraSource {
  readonly #log;
  readonly #stderrLog;
  #child: Deno.ChildProcess | null = null;
  #stopping = false;
  #wake: (() => void) | null = null;
  #loop: Promise<void> | null = null;

  constructor(
    private readonly camera: CameraConfig,
    private readonly resolution: Resolution,
    private readonly stream: Stream,
    private readonly config: SupervisorConfig,
    log: Log,
  ) {
    this.#log = log.logger(`camera ${camera.name}`);
    this.#stderrLog = new RateLimitedLog((line) => this.#log.warn(`gst: ${line}`));
  }

  /** Starts the supervision loop; returns at once. */
  start(): void {
    if ("error" in this.resolution) {
      this.stream.source = { ...this.stream.source, state: "failed", lastError: this.resolution.error };
      this.#log.error(this.resolution.error);
      return;
    }
    const args = buildPipeline(this.camera, this.resolution.encoder);
    this.#log.info(`pipeline: ${GST_LAUNCH} ${args.join(" ")}`);
    this.#loop = this.#supervise(args);
  }

  /** Stops the pipeline (SIGTERM, then SIGKILL) and the loop. */
  async stop(): Promise<void> {
    this.#stopping = true;
    this.#wake?.();
    this.#terminate();
    await this.#loop;
    this.stream.source = { ...this.stream.source, state: "stopped", attempt: 0 };
  }

  async #supervise(args: string[]): Promise<void> {
    const policy: RestartPolicy = {
      initialMs: this.config.restartDelayMs,
      maxMs: this.config.restartDelayMaxMs,
      maxPerMinute: this.config.maxRestartsPerMinute,
    };
    let attempt = 0;
    let runsWithoutFrames = 0;
    // When the latest restarts began; the policy looks back no further than maxPerMinute of them.
    const restartTimes: number[] = [];
    let rateLimited = false;
    while (!this.#stopping) {
      const source = this.stream.source;
      this.stream.source = { ...source, state: attempt === 0 ? "starting" : "restarting", attempt };
      const outcome = await this.#runOnce(args);
      if (this.#stopping) return;
      runsWithoutFrames = outcome.delivered ? 0 : runsWithoutFrames + 1;
      attempt = runsWithoutFrames + 1;
      const decision = nextRestart(policy, { runsWithoutFrames, restartTimes, now: performance.now() });
      this.stream.source = {
        ...this.stream.source,
        state: "restarting",
        attempt,
        restarts: this.stream.source.restarts + 1,
        lastError: outcome.error,
        pid: null,
      };
      this.stream.announce("camera_restart", {
        restarts: this.stream.source.restarts,
        attempt,
        delay_ms: decision.delayMs,
        last_error: outcome.error,
      });
      this.#log.warn(`${outcome.error}; restart ${attempt} in ${decision.delayMs} ms`);
      // Once per stretch of held-back restarts: a crash loop would otherwise say it at every restart.
      if (decision.rateLimited && !rateLimited) {
        this.#log.warn(
          `${policy.maxPerMinute} restarts in the last minute: the next one in ${decision.delayMs} ms ` +
            `(supervisor.max_restarts_per_minute)`,
        );
      }
      rateLimited = decision.rateLimited;
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, decision.delayMs);
        this.#wake = () => {
          clearTimeout(timer);
          resolve();
        };
      });
      this.#wake = null;
      restartTimes.push(performance.now());
      if (restartTimes.length > policy.maxPerMinute) restartTimes.shift();
    }
  }

  /** One run of the pipeline, until it exits or stalls: why it ended, and whether it delivered a frame. */
  async #runOnce(args: string[]): Promise<{ error: string; delivered: boolean }> {
    let child: Deno.ChildProcess;
    try {
      child = new Deno.Command(GST_LAUNCH, { args, stdin: "null", stdout: "piped", stderr: "piped" }).spawn();
    } catch (err) {
      const reason = err instanceof Deno.errors.NotFound
        ? `${GST_LAUNCH} not found: install gstreamer1.0-tools`
        : `cannot start ${GST_LAUNCH}: ${(err as Error).message}`;
      return { error: reason, delivered: false };
    }
    this.#child = child;
    this.stream.source = { ...this.stream.source, pid: child.pid };
    let lastFrameAt = Date.now();
    let delivered = false;
    let stalled = false;
    let lastStderr = "";

    const stderrDone = this.#pumpStderr(child.stderr, (line) => (lastStderr = line));
    const watchdog = setInterval(() => {
      if (Date.now() - lastFrameAt > this.config.stallTimeoutMs) {
        stalled = true;
        this.#kill(child, "SIGKILL");
      }
    }, Math.min(1000, this.config.stallTimeoutMs / 4));

    const framer = createFramer(this.camera.codec);
    try {
      for await (const { units, readAtMs } of framesFromPipe(child.stdout, framer)) {
        lastFrameAt = Date.now();
        if (!delivered) {
          delivered = true;
          this.stream.source = { ...this.stream.source, state: "running", attempt: 0 };
          this.#log.info(`running (pid ${child.pid})`);
        }
        const format = framer.format();
        if (format) this.stream.setFormat(format);
        // The read time stands in for capture time: the encoder adds only a few ms (2-6 ms measured for
        // x264 ultrafast, threads=1), and the sub-millisecond value lets in-process readers and benchmarks
        // time delivery exactly.
        const pts90k = Math.round((readAtMs - performance.timeOrigin) * 90);
        for (const unit of units) {
          this.stream.publish({ codec: this.camera.codec, ...unit, pts90k, captureMs: readAtMs });
        }
      }
    } catch (err) {
      this.#log.debug(`stdout ended: ${(err as Error).message}`);
    } finally {
      clearInterval(watchdog);
    }
    const status = await child.status;
    await stderrDone;
    this.#child = null;
    this.stream.source = { ...this.stream.source, pid: null };
    if (stalled) return { error: `stalled: no frame for ${this.config.stallTimeoutMs} ms`, delivered };
    const how = status.signal ? `killed by ${status.signal}` : `exited with code ${status.code}`;
    return { error: `${GST_LAUNCH} ${how}${lastStderr ? `: ${lastStderr}` : ""}`, delivered };
  }

  async #pumpStderr(stderr: ReadableStream<Uint8Array>, remember: (line: string) => void): Promise<void> {
    let rest = "";
    try {
      for await (const text of stderr.pipeThrough(new TextDecoderStream())) {
        const lines = (rest + text).split("\n");
        rest = lines.pop() ?? "";
        for (const line of lines) {
          const trimmed = line.trim();
          if (!trimmed) continue;
          remember(trimmed);
          this.#stderrLog.write(trimmed);
        }
      }
    } catch {
      // The pipe closes when the process dies; nothing is lost that matters.
    }
  }

  #terminate(): void {
    const child = this.#child;
    if (!child) return;
    this.#kill(child, "SIGTERM");
    const timer = setTimeout(() => this.#kill(child, "SIGKILL"), KILL_GRACE_MS);
    child.status.finally(() => clearTimeout(timer));
  }

  #kill(child: Deno.ChildProcess, signal: Deno.Signal): void {
    try {
      child.kill(signal);
    } catch {
      // Already gone.
    }
  }
}
