// The metrics part of `deno task bench`: what Prometheus scraping costs the service. One 720p30 camera
// with VIEWERS werift viewers in another process; windows alternate between no scrape and a scrape every
// SCRAPE_INTERVAL_MS by curl in another process (15 times Prometheus' default rate), so each "on" window
// has an "off" neighbour in the same run. Then the time and size of one scrape, seen by a client.
import { parseConfig } from "../../lib/config/load.ts";
import { startService } from "../../lib/service.ts";
import { httpHandlers } from "../../routes/app.ts";
import { benchCamera, benchService } from "./config.ts";
import { lines } from "./lines.ts";
import { CpuMeter, spawnBenchScript } from "./proc.ts";
import { median, percentile } from "./stats.ts";
import type { WindowReport } from "./webrtc_viewers.ts";

const PAIRS = 6;
const VIEWERS = 10;
const WINDOW_MS = 10_000;
const VIEWER_WARM_UP_MS = 3000;
const SCRAPE_INTERVAL_MS = 1000;
const TIMED_SCRAPES = 200;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const f = (value: number, digits = 2) => value.toFixed(digits);

/** Loopback, warn-level log, no rings, room for VIEWERS connecting at once (as the recording bench). */
function benchConfig() {
  return parseConfig(`${benchService()}[shm]
enabled = false
${benchCamera("720p")}`);
}

/** Scrapes `url` every SCRAPE_INTERVAL_MS from a shell loop of curl: another process, as Prometheus is. */
function scraper(url: string): Deno.ChildProcess {
  const seconds = SCRAPE_INTERVAL_MS / 1000;
  return new Deno.Command("sh", {
    args: ["-c", `while :; do curl -s -o /dev/null "${url}"; sleep ${seconds}; done`],
    stdin: "null",
    stdout: "null",
    stderr: "null",
  }).spawn();
}

/** Runs the windows and the timed scrapes; returns the report lines. */
export async function metricsBench(): Promise<string[]> {
  const service = await startService(benchConfig(), httpHandlers);
  const base = `http://127.0.0.1:${service.addr.port}`;
  const child = spawnBenchScript("webrtc_viewers.ts", [
    `${base}/whep/bench`,
    String(VIEWER_WARM_UP_MS),
    String(WINDOW_MS),
  ]);
  const stdin = child.stdin.getWriter();
  const out = child.stdout.pipeThrough(new TextDecoderStream()).pipeThrough(lines())[Symbol.asyncIterator]();
  const next = async () => {
    const line = await out.next();
    if (line.done) throw new Error("the viewer process ended early");
    return line.value;
  };
  const windows: { scraping: boolean; cpu: number; fps: number }[] = [];
  let scrapeTimes: number[] = [];
  let bytes = 0;
  try {
    const stream = service.streams.get("bench")!;
    while (stream.source.state !== "running") await sleep(100);
    await sleep(5000);
    for (let i = 0; i < PAIRS * 2; i++) {
      const scraping = i % 2 === 1;
      await stdin.write(new TextEncoder().encode(`${VIEWERS}\n`));
      await next();
      const loop = scraping ? scraper(`${base}/metrics`) : undefined;
      const cpu = new CpuMeter();
      const report: WindowReport = JSON.parse(await next());
      const percent = cpu.percent();
      if (loop) {
        loop.kill();
        await loop.status;
      }
      const fps = median(report.viewers.map((v) => v.frames / (WINDOW_MS / 1000)));
      windows.push({ scraping, cpu: percent, fps });
    }
    // Scrape timing with the viewers gone: what one scrape takes end to end on loopback.
    for (let i = 0; i < TIMED_SCRAPES; i++) {
      const t0 = performance.now();
      const text = await (await fetch(`${base}/metrics`)).text();
      scrapeTimes.push(performance.now() - t0);
      bytes = text.length;
    }
    scrapeTimes = scrapeTimes.sort((a, b) => a - b);
  } finally {
    await stdin.close().catch(() => {});
    await child.status;
    await service.stop();
  }
  const off = windows.filter((w) => !w.scraping);
  const on = windows.filter((w) => w.scraping);
  const paired = on.map((w, i) => w.cpu - off[i].cpu);
  return [
    `Metrics, one 1280x720@30 x264 camera at 4 Mbit/s with ${VIEWERS} werift WHEP viewers in another process; ` +
    `${PAIRS} pairs of ${WINDOW_MS / 1000} s windows alternating no scrape / GET /metrics every ` +
    `${SCRAPE_INTERVAL_MS / 1000} s by curl in another process; service process CPU, % of a core:`,
    `  off: median ${f(median(off.map((w) => w.cpu)))} (${
      off.map((w) => f(w.cpu)).join(" ")
    }), viewers' median fps ${f(median(off.map((w) => w.fps)), 1)}`,
    `  on:  median ${f(median(on.map((w) => w.cpu)))} (${
      on.map((w) => f(w.cpu)).join(" ")
    }), viewers' median fps ${f(median(on.map((w) => w.fps)), 1)}`,
    `  on − off, paired: median ${f(median(paired))} (${paired.map((d) => f(d)).join(" ")})`,
    `  one scrape (${TIMED_SCRAPES} in a row, loopback, no viewers): p50 ${
      f(percentile(scrapeTimes, 50))
    } ms, ` +
    `p99 ${f(percentile(scrapeTimes, 99))} ms, ${bytes} bytes`,
  ];
}
