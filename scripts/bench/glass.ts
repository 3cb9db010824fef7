// The glass-to-glass part of `deno task bench`: Debian's Chromium on the viewer page, as a user opens it,
// against the service run as `deno task start` runs it, with one H.264 and one VP8 test camera. The figure is
// the one each tile shows as "delay": the moment Chromium expects to present a frame
// (requestVideoFrameCallback's expectedDisplayTime) less the moment edgecam read that frame from its
// encoder's pipe (rtp_time_origin_ms + RTP timestamp / 90, see static/whep.js). Both clocks are this
// machine's wall clock. The encoder's own time, before the pipe read, is not in it.
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
      const tiles = await page.evaluate(READ_TILES) as TileSample[];
      if (tiles.length === 2 && tiles.every((t) => t.latencyMs !== null)) break;
      if (performance.now() > deadline) throw new Error(`no picture on the page: ${JSON.stringify(tiles)}`);
      await sleep(200);
    }
    await sleep(WARM_UP_MS);
    const end = performance.now() + WINDOW_MS;
    while (performance.now() < end) {
      for (const tile of await page.evaluate(READ_TILES) as TileSample[]) {
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
  const f = (v: number | undefined) => v === undefined ? "-" : v.toFixed(0);
  return [
    `Glass-to-glass on loopback: Chromium on the viewer page, two 1280x720@30 test cameras at 4 Mbit/s; each ` +
    `tile's delay (frame expected on screen − its pipe read in edgecam) sampled every ${SAMPLE_EVERY_MS} ms ` +
    `for ${WINDOW_MS / 1000} s after ${WARM_UP_MS / 1000} s of play; ms:`,
    ...[...samples].sort().map(([stream, values]) => {
      const sorted = [...values].sort((a, b) => a - b);
      return `  ${stream.padEnd(5)} median ${f(percentile(sorted, 50))}, p95 ${f(percentile(sorted, 95))}, ` +
        `min ${f(sorted[0])} (${sorted.length} samples); page open → first picture ${
          f(firstFrames.get(stream))
        } ms; stream ${fps[stream]} fps`;
    }),
  ];
}
