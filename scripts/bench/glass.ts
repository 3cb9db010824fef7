// The glass-to-glass part of `deno task bench`: Debian's Chromium on the viewer page, as a user opens it,
// against the service run as `deno task start` runs it, with one H.264 and one VP8 test camera. The figure is
// the one each tile shows as "delay": the moment Chromium expects to present a frame
// (requestVideoFrameCallback's expectedDisplayTime) less the moment edgecam read that frame from its
// encoder's pipe (rtp_time_origin_ms + RTP timestamp / 90, see static/whep.js). Both clocks are this
// machine's wall clock. The time before the pipe read (capture and encoder) is measured apart, on the same
// gst-launch argv edgecam runs, by GStreamer's latency tracer (source pad → fdsink), and added for the
// glass-to-glass figure.
import { parseConfig } from "../../lib/config/load.ts";
import { buildPipeline } from "../../lib/cameras/gstreamer.ts";
import { GST_LAUNCH } from "../../lib/cameras/supervisor.ts";
import { launchChromium } from "../../tests/helpers/browser.ts";
import { benchService } from "./config.ts";
import { ServiceProcess } from "./service_process.ts";
import { percentile } from "./stats.ts";

const ROOT = new URL("../../", import.meta.url).pathname;
const SAMPLE_EVERY_MS = 100;
const WINDOW_MS = 20_000;
const WARM_UP_MS = 5000;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** The cameras on the page: the same picture through edgecam's x264 and VP8 pipelines. */
const CAMERAS = `[[cameras]]
name = "h264"
width = 1280
height = 720
fps = 30
bitrate = 4_000_000
encoder = "x264"
pattern = "smpte"
[[cameras]]
name = "vp8"
codec = "vp8"
width = 1280
height = 720
fps = 30
bitrate = 4_000_000
pattern = "smpte"
`;

/** What the page reports of one tile at one moment (its player's figures). */
interface TileSample {
  stream: string;
  latencyMs: number | null;
  firstFrameMs: number | null;
}

/** Reads every tile's figures in the page; text, as the bench is type-checked without the DOM's types. */
const READ_TILES = `() => [...document.querySelectorAll("[data-stream]")].map((tile) => {
  const f = tile.player?.figures?.() ?? {};
  return { stream: tile.dataset.stream, latencyMs: f.latencyMs ?? null, firstFrameMs: f.firstFrameMs ?? null };
})`;

/**
 * Ms from the test source's push to the encoded frame's write to stdout, per frame, for one camera's
 * pipeline as edgecam runs it, over `seconds` (the first second left out: the encoder starting up).
 */
async function sourceToPipeMs(name: string, seconds: number): Promise<number[]> {
  const camera = parseConfig(CAMERAS).cameras.find((c) => c.name === name)!;
  const args = buildPipeline(camera, camera.codec === "vp8" ? "vp8" : "x264");
  const child = new Deno.Command(GST_LAUNCH, {
    args,
    env: { GST_TRACERS: "latency", GST_DEBUG: "GST_TRACER:7", GST_DEBUG_NO_COLOR: "1" },
    stdin: "null",
    stdout: "null",
    stderr: "piped",
  }).spawn();
  setTimeout(() => child.kill("SIGINT"), seconds * 1000);
  const log = new TextDecoder().decode((await child.output()).stderr);
  const out: number[] = [];
  for (
    const m of log.matchAll(
      /latency, src-element-id=.*src-element=\(string\)videotestsrc\d+.*sink-element=\(string\)fdsink\d+.*time=\(guint64\)(\d+), ts=\(guint64\)(\d+)/g,
    )
  ) {
    if (Number(m[2]) > 1e9) out.push(Number(m[1]) / 1e6);
  }
  if (out.length === 0) throw new Error(`no latency records from GStreamer's tracer for ${name}`);
  return out.sort((a, b) => a - b);
}

/** Runs the page for the window; the report lines. */
export async function glassBench(): Promise<string[]> {
  const port = 22000 + Math.floor(Math.random() * 2000);
  await Deno.mkdir(`${ROOT}test-output`, { recursive: true });
  const path = "test-output/bench-glass.toml";
  await Deno.writeTextFile(
    `${ROOT}${path}`,
    `${benchService(port)}[shm]\nprefix = "bench-glass"\n${CAMERAS}`,
  );
  const service = await ServiceProcess.start(path, port);
  const browser = await launchChromium();
  const samples = new Map<string, number[]>();
  const firstFrames = new Map<string, number>();
  let fps: Record<string, number> = {};
  try {
    const page = await browser.newPage();
    await page.goto(`${service.base}/`);
    const deadline = performance.now() + 30_000;
    while (true) {
      const tiles = await page.evaluate(`(${READ_TILES})()`) as TileSample[];
      if (tiles.length === 2 && tiles.every((t) => t.latencyMs !== null)) break;
      if (performance.now() > deadline) throw new Error(`no picture on the page: ${JSON.stringify(tiles)}`);
      await sleep(200);
    }
    await sleep(WARM_UP_MS);
    const end = performance.now() + WINDOW_MS;
    while (performance.now() < end) {
      for (const tile of await page.evaluate(`(${READ_TILES})()`) as TileSample[]) {
        if (tile.latencyMs !== null) {
          samples.set(tile.stream, [...samples.get(tile.stream) ?? [], tile.latencyMs]);
        }
        if (tile.firstFrameMs !== null) firstFrames.set(tile.stream, tile.firstFrameMs);
      }
      await sleep(SAMPLE_EVERY_MS);
    }
    const status = await service.status() as { streams: { name: string; fps: number }[] };
    fps = Object.fromEntries(status.streams.map((s) => [s.name, s.fps]));
  } finally {
    await browser.close();
    await service.stop();
  }
  // After the page, with the service stopped: the tracer's run has the machine to itself as the cameras had.
  const sourceMs = new Map<string, number[]>();
  for (const stream of samples.keys()) sourceMs.set(stream, await sourceToPipeMs(stream, 6));
  const f = (v: number | undefined) => v === undefined ? "-" : v.toFixed(0);
  return [
    `Glass-to-glass on loopback: Chromium on the viewer page, two 1280x720@30 test cameras at 4 Mbit/s; each ` +
    `tile's delay (frame expected on screen − its pipe read in edgecam) sampled every ${SAMPLE_EVERY_MS} ms ` +
    `for ${WINDOW_MS / 1000} s after ${WARM_UP_MS / 1000} s of play; ms:`,
    ...[...samples].sort().flatMap(([stream, values]) => {
      const sorted = [...values].sort((a, b) => a - b);
      const source = sourceMs.get(stream)!;
      return [
        `  ${stream.padEnd(5)} pipe read → on screen: median ${f(percentile(sorted, 50))}, p95 ${
          f(percentile(sorted, 95))
        }, min ${f(sorted[0])} (${sorted.length} samples); page open → first picture ${
          f(firstFrames.get(stream))
        } ms; stream ${fps[stream]} fps`,
        `        source → pipe write (GStreamer latency tracer, edgecam's argv): median ${
          f(percentile(source, 50))
        }, p95 ${f(percentile(source, 95))} (${source.length} frames)`,
        `        glass-to-glass (sum of the medians): ${f(percentile(sorted, 50) + percentile(source, 50))}`,
      ];
    }),
  ];
}
