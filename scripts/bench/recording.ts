// The recording part of `deno task bench`: what recording one 1080p30 8 Mbit/s camera costs the service
// process (CPU, write calls, bytes written) and whether it moves the send delay to WebRTC viewers. Recording
// is switched on and off through the HTTP API between windows, so each "on" window has an "off" neighbour
// in the same run.
import { parseConfig } from "../../lib/config/load.ts";
import { RECORDING_FORMATS, type RecordingConfig } from "../../lib/config/schema.ts";
import type { RecordingStatus } from "../../lib/recording/recorder.ts";
import { type Service, startService } from "../../lib/service.ts";
import type { Stream } from "../../lib/stream/stream.ts";
import { httpHandlers } from "../../routes/app.ts";
import { benchCamera, benchService } from "./config.ts";
import { lines } from "./lines.ts";
import { CpuMeter, spawnBenchScript } from "./proc.ts";
import { median, percentile } from "./stats.ts";
import { SendProbe } from "./webrtc.ts";
import type { WindowReport } from "./webrtc_viewers.ts";

type Format = RecordingConfig["format"];

/** Off/on pairs of windows without viewers, per format. */
const PAIRS = 7;
/** Off/on pairs of windows with VIEWERS viewers (the first format only). */
const VIEWER_PAIRS = 4;
const VIEWERS = 10;
const WINDOW_MS = 10_000;
/** After a switch: the recorder opens its segment on the next keyframe (1 s apart) and writes a part 1 s later. */
const SETTLE_MS = 2500;
/** The viewers' process waits this long before each window (the switch is made just before). */
const VIEWER_WARM_UP_MS = 3000;

const OUT = new URL("../../test-output/", import.meta.url);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * The service: loopback, warn-level log (no log writes), no shared-memory rings, the memory guard lifted
 * as in the WebRTC bench, room for all VIEWERS connecting at once from one address (at the default 8, two
 * of ten gave way to newer ones and never connected), and the camera of the parse bench's
 * `test-output/bench-1080p.h264` (1080p30 x264 at 8 Mbit/s). Recordings go to `dir` with no free-space
 * floor.
 */
function benchConfig(dir: string, format: Format) {
  return parseConfig(`${benchService()}[shm]
enabled = false
[recording]
dir = ${JSON.stringify(dir)}
format = "${format}"
min_free_bytes = 0
${benchCamera("1080p")}`);
}

/** Write syscalls and bytes this process (every thread) has made, from /proc/self/io. */
function procIo(): { syscw: number; wchar: number } {
  const text = Deno.readTextFileSync("/proc/self/io");
  const field = (name: string) => Number(new RegExp(`^${name}: (\\d+)$`, "m").exec(text)![1]);
  return { syscw: field("syscw"), wchar: field("wchar") };
}

/** One window's figures, per second where a rate. */
interface Sample {
  recording: boolean;
  cpu: number;
  syscw: number;
  wchar: number;
  recorderWrites: number;
  recordedBytes: number;
  streamBytes: number;
}

/** Counters of this process (the service's), the recorder and the stream at one moment: no syscall but a read. */
function counters(service: Service) {
  const stream = service.streams.get("bench")!;
  return {
    ...procIo(),
    recorderWrites: service.recordings.recorder("bench")?.writes ?? 0,
    streamBytes: stream.stats().bytes,
  };
}

/** The recording's status, through the API. */
async function status(base: string): Promise<RecordingStatus> {
  const res = await fetch(`${base}/api/streams/bench/recording`);
  if (!res.ok) throw new Error(`GET recording: ${res.status} ${await res.text()}`);
  return await res.json();
}

/**
 * Measures from `begin` to `end` (each awaited in turn), the status read through the API just outside
 * the window so that its socket writes stay out of the syscw figure.
 */
async function measure(
  base: string,
  service: Service,
  recording: boolean,
  begin: () => Promise<void>,
  end: () => Promise<unknown>,
): Promise<Sample> {
  await begin();
  const first = await status(base);
  const cpu = new CpuMeter();
  const t0 = performance.now();
  const before = counters(service);
  await end();
  const percent = cpu.percent();
  const after = counters(service);
  const seconds = (performance.now() - t0) / 1000;
  const last = await status(base);
  const rate = (key: keyof typeof before) => (after[key] - before[key]) / seconds;
  return {
    recording,
    cpu: percent,
    syscw: rate("syscw"),
    wchar: rate("wchar"),
    // A recorder's counters start again at each start; a window never spans a start.
    recorderWrites: recording ? rate("recorderWrites") : 0,
    recordedBytes: recording ? (last.bytes_written - first.bytes_written) / seconds : 0,
    streamBytes: rate("streamBytes"),
  };
}

/** Switches recording through the API; the final status when it stopped one. */
async function switchRecording(base: string, on: boolean): Promise<RecordingStatus | null> {
  const res = await fetch(`${base}/api/streams/bench/recording`, { method: on ? "POST" : "DELETE" });
  const body = await res.json();
  if (!res.ok) throw new Error(`${on ? "POST" : "DELETE"} recording: ${res.status} ${JSON.stringify(body)}`);
  if (on && body.recording !== true) throw new Error(`recording did not start: ${JSON.stringify(body)}`);
  return on ? null : body as RecordingStatus;
}

async function running(stream: Stream): Promise<void> {
  const deadline = Date.now() + 20_000;
  while (stream.source.state !== "running" || !stream.format) {
    if (Date.now() > deadline) throw new Error(`camera ${stream.name} is ${stream.source.state}`);
    await sleep(100);
  }
  // Past the start-up (first GOPs, compilation), so the first window sees a steady service.
  await sleep(5000);
}

/** With viewers: one window's figures. */
interface ViewerSample {
  recording: boolean;
  cpu: number;
  lags: number[];
  reachedAll: number;
  fps: number[];
  lossPercent: number[];
  connected: number;
}

/** VIEWER_PAIRS off/on window pairs with VIEWERS werift viewers in their own process. */
async function viewerWindows(
  service: Service,
  base: string,
  stopped: RecordingStatus[],
): Promise<ViewerSample[]> {
  const probe = new SendProbe(service.streams.get("bench")!);
  const child = spawnBenchScript("webrtc_viewers.ts", [
    `${base}/whep/bench`,
    String(VIEWER_WARM_UP_MS),
    String(WINDOW_MS),
  ]);
  const stdin = child.stdin.getWriter();
  const out = child.stdout.pipeThrough(new TextDecoderStream()).pipeThrough(lines())[Symbol.asyncIterator]();
  const next = async (what: string) => {
    const line = await out.next();
    if (line.done) throw new Error(`the viewer process ended before the ${what}`);
    return line.value;
  };
  const samples: ViewerSample[] = [];
  try {
    for (let i = 0; i < VIEWER_PAIRS * 2; i++) {
      const recording = i % 2 === 1;
      if (i > 0) {
        const final = await switchRecording(base, recording);
        if (final) stopped.push(final);
      }
      let report: WindowReport | undefined;
      const sample = await measure(base, service, recording, async () => {
        await stdin.write(new TextEncoder().encode(`${VIEWERS}\n`));
        await next("window's start");
        probe.start();
      }, async () => {
        report = JSON.parse(await next("window's end"));
      });
      // A viewer that never connected (werift ICE failing now and then, see BENCHMARKS.md) is left out of
      // "every viewer" rather than making every access unit late.
      const connected = report!.viewers.filter((v) => v.frames > 0).length;
      const sends = probe.take(connected);
      const seconds = WINDOW_MS / 1000;
      samples.push({
        recording,
        cpu: sample.cpu,
        lags: sends.lags,
        reachedAll: sends.reachedAll,
        fps: report!.viewers.flatMap((v) => v.frames > 0 ? [v.frames / seconds] : []),
        lossPercent: report!.viewers.flatMap((v) =>
          v.frames > 0 ? [v.expected ? v.lost / v.expected * 100 : 100] : []
        ),
        connected,
      });
    }
    if (samples.at(-1)!.recording) stopped.push((await switchRecording(base, false))!);
  } finally {
    probe.close();
    await stdin.close().catch(() => {});
    await child.status;
  }
  return samples;
}

/** One format's run: PAIRS off/on windows without viewers, then (with `viewers`) the viewer windows. */
async function formatRun(dir: string, format: Format, viewers: boolean) {
  const config = benchConfig(`${dir}/${format}`, format);
  const service = await startService(config, httpHandlers);
  const stream = service.streams.get("bench")!;
  const base = `http://127.0.0.1:${service.addr.port}`;
  const samples: Sample[] = [];
  const stopped: RecordingStatus[] = [];
  let withViewers: ViewerSample[] = [];
  try {
    await running(stream);
    for (let i = 0; i < PAIRS * 2; i++) {
      const recording = i % 2 === 1;
      samples.push(
        await measure(base, service, recording, async () => {
          if (recording) await switchRecording(base, true);
          else if (i > 0) stopped.push((await switchRecording(base, false))!);
          await sleep(SETTLE_MS);
        }, () => sleep(WINDOW_MS)),
      );
    }
    stopped.push((await switchRecording(base, false))!);
    if (viewers) withViewers = await viewerWindows(service, base, stopped);
  } finally {
    await service.stop();
  }
  const files = [...Deno.readDirSync(`${dir}/${format}/bench`)].map((e) =>
    Deno.statSync(`${dir}/${format}/bench/${e.name}`).size
  );
  return { format, samples, stopped, withViewers, files, config: config.recording };
}

const mean = (values: number[]) => values.reduce((a, b) => a + b, 0) / values.length;
const f = (value: number, digits = 1) => Number.isFinite(value) ? value.toFixed(digits) : "-";
const pad = (text: string, width: number) => text.padStart(width);

/** Runs every format; returns the report lines. */
export async function recordingBench(): Promise<string[]> {
  await Deno.mkdir(OUT, { recursive: true });
  const dir = await Deno.makeTempDir({ dir: OUT.pathname, prefix: "bench-recording-" });
  try {
    const runs = [];
    for (const format of RECORDING_FORMATS) runs.push(await formatRun(dir, format, format === "fmp4"));
    const config = runs[0].config;
    const out = [
      `Recording, one 1920x1080@30 x264 camera at 8 Mbit/s (keyframe every 30 frames; gst-launch is a child ` +
      `process, its encoder not counted), part_ms ${config.partMs}, segment_s ${config.segmentS}, fsync ` +
      `${config.fsync}, to a temp folder under test-output/; service process figures, ${PAIRS} off/on pairs ` +
      `of ${WINDOW_MS / 1000} s windows per format (alternating, ${SETTLE_MS / 1000} s after each switch), ` +
      `CPU the median per state, counts the mean (a window holds a whole number of parts):`,
      "  format  state  cpu %  Δ on−off (paired)  syscw/s  wchar kB/s  recorder writes/s  recorded kB/s  stream kB/s",
    ];
    for (const run of runs) {
      const off = run.samples.filter((s) => !s.recording);
      const on = run.samples.filter((s) => s.recording);
      const paired = on.map((s, i) => s.cpu - off[i].cpu);
      const row = (state: string, list: Sample[], delta: string) =>
        `  ${run.format.padEnd(6)}  ${state.padEnd(5)}  ${pad(f(median(list.map((s) => s.cpu)), 2), 5)}  ${
          pad(delta, 17)
        }  ${pad(f(mean(list.map((s) => s.syscw)), 2), 7)}  ${
          pad(f(mean(list.map((s) => s.wchar)) / 1000), 10)
        }  ${pad(list[0].recording ? f(mean(list.map((s) => s.recorderWrites)), 2) : "-", 17)}  ${
          pad(list[0].recording ? f(mean(list.map((s) => s.recordedBytes)) / 1000) : "-", 13)
        }  ${pad(f(mean(list.map((s) => s.streamBytes)) / 1000), 11)}`;
      const offCpu = median(off.map((s) => s.cpu));
      const onCpu = median(on.map((s) => s.cpu));
      out.push(row("off", off, ""));
      out.push(row("on", on, `${f(onCpu - offCpu, 2)} (${f(median(paired), 2)})`));
      out.push(
        `          cpu % per window, off: ${off.map((s) => f(s.cpu, 2)).join(" ")}; on: ${
          on.map((s) => f(s.cpu, 2)).join(" ")
        }`,
      );
      const frames = run.stopped.reduce((n, s) => n + s.frame_count, 0);
      const durationMs = run.stopped.reduce((n, s) => n + s.duration_ms, 0);
      const bytes = run.stopped.reduce((n, s) => n + s.bytes_written, 0);
      const errors = run.stopped.flatMap((s) => s.error ? [s.error] : []);
      out.push(
        `          ${run.stopped.length} recordings (viewer windows' included): status ${frames} frames, ${
          f(durationMs / 1000)
        } s, ` +
          `${bytes} bytes (${f(frames / (durationMs / 1000))} fps); on disk ${run.files.length} files, ` +
          `${run.files.reduce((a, b) => a + b, 0)} bytes; errors: ${
            errors.length ? errors.join("; ") : "none"
          }`,
      );
    }
    const viewers = runs.flatMap((r) => r.withViewers.length ? [[r.format, r.withViewers] as const] : []);
    for (const [format, samples] of viewers) {
      out.push(
        `With ${VIEWERS} werift WHEP viewers in another process (${format}), ${VIEWER_PAIRS} off/on pairs of ` +
          `${WINDOW_MS / 1000} s windows after ${
            VIEWER_WARM_UP_MS / 1000
          } s warm-up each; lag is pipe read → ` +
          `last packet of the frame sent to the last viewer, median over windows of each window's p50/p99:`,
        "  state  cpu %  lag p50/p99 ms  AUs to all (viewers)  fps med/worst  loss % worst",
      );
      for (const recording of [false, true]) {
        const list = samples.filter((s) => s.recording === recording);
        out.push(
          `  ${(recording ? "on" : "off").padEnd(5)}  ${pad(f(median(list.map((s) => s.cpu)), 2), 5)}  ${
            pad(
              `${f(median(list.map((s) => percentile(s.lags, 50))), 2)}/${
                f(median(list.map((s) => percentile(s.lags, 99))), 2)
              }`,
              14,
            )
          }  ${
            pad(
              `${f(Math.min(...list.map((s) => s.reachedAll)) * 100, 0)} % (${
                Math.min(...list.map((s) => s.connected))
              })`,
              20,
            )
          }  ${
            pad(
              `${f(median(list.flatMap((s) => s.fps)))}/${f(Math.min(...list.flatMap((s) => s.fps)))}`,
              13,
            )
          }  ${pad(f(Math.max(...list.flatMap((s) => s.lossPercent)), 2), 12)}`,
        );
        out.push(
          `         per window p50/p99: ${
            list.map((s) => `${f(percentile(s.lags, 50), 2)}/${f(percentile(s.lags, 99), 2)}`).join(" ")
          }`,
        );
      }
    }
    return out;
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}
