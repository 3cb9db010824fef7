// The memory part of `deno task bench`: the resident memory a user sees (VmRSS from /proc, never after a
// forced GC) of the service run as `deno task start` runs it, in its own process, with one 720p30 camera:
// idle, then with 10 and 30 werift viewers (in another process), steady at 30 for a minute, and after they
// leave. Where it goes: /proc's anonymous, file-backed and shared-memory parts and the service's own V8
// figures. Each variant of V8 flags runs the same sequence in a fresh process.
import { benchCamera, benchService } from "./config.ts";
import { lines } from "./lines.ts";
import { spawnBenchScript } from "./proc.ts";
import { type ProcMemory, type RunVariant, serviceFlags, ServiceProcess } from "./service_process.ts";
import { median } from "./stats.ts";
import type { WindowReport } from "./webrtc_viewers.ts";

const ROOT = new URL("../../", import.meta.url).pathname;
const WINDOW_MS = 10_000;
const WARM_UP_MS = 3000;
const SETTLE_MS = 10_000;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** What a window measured of the service: memory (medians of samples) and CPU, % of a core. */
interface Sampled extends ProcMemory {
  cpu: number;
}

/** VmRSS and its parts sampled every 500 ms while `during` runs (the medians), and the CPU used meanwhile. */
async function sampleWhile(service: ServiceProcess, during: Promise<unknown>): Promise<Sampled> {
  const samples: ProcMemory[] = [];
  const cpu0 = service.cpuSeconds();
  const t0 = performance.now();
  let done = false;
  during.finally(() => done = true);
  while (!done) {
    samples.push(service.memory());
    await sleep(500);
  }
  const cpu = (service.cpuSeconds() - cpu0) / ((performance.now() - t0) / 1000) * 100;
  const m = (key: keyof ProcMemory) => median(samples.map((s) => s[key]));
  return { rss: m("rss"), anon: m("anon"), file: m("file"), shmem: m("shmem"), cpu };
}

interface StatusMemory {
  rss_mb: number;
  heap_used_mb: number;
  heap_total_mb: number;
  external_mb: number;
}

/** One row of the report. */
interface Row {
  phase: string;
  proc: Sampled;
  v8: StatusMemory;
  fps?: number;
  loss?: number;
}

/** Runs the sequence on one variant; its rows. */
async function runVariant(
  variant: RunVariant,
  configPath: string,
  port: number,
  steadyMinutes: number,
): Promise<Row[]> {
  const service = await ServiceProcess.start(configPath, port, variant);
  const statusMemory = async () => (await service.status()).memory as StatusMemory;
  const rows: Row[] = [];
  try {
    await sleep(SETTLE_MS);
    rows.push({
      phase: "idle",
      proc: await sampleWhile(service, sleep(WINDOW_MS)),
      v8: await statusMemory(),
    });
    const viewers = spawnBenchScript("webrtc_viewers.ts", [
      `${service.base}/whep/bench`,
      String(WARM_UP_MS),
      String(WINDOW_MS),
    ]);
    const stdin = viewers.stdin.getWriter();
    const out = viewers.stdout.pipeThrough(new TextDecoderStream()).pipeThrough(lines())
      [Symbol.asyncIterator]();
    const next = async () => {
      const line = await out.next();
      if (line.done) throw new Error("the viewer process ended early");
      return line.value;
    };
    /** One window at `count` viewers: memory sampled through it, median fps, worst loss. */
    const window = async (count: number) => {
      await stdin.write(new TextEncoder().encode(`${count}\n`));
      await next();
      let report: WindowReport | undefined;
      const proc = await sampleWhile(service, next().then((line) => report = JSON.parse(line)));
      const fps = median(report!.viewers.map((v) => v.frames / (WINDOW_MS / 1000)));
      const loss = Math.max(...report!.viewers.map((v) => v.expected ? v.lost / v.expected * 100 : 100));
      return { proc, fps, loss };
    };
    rows.push({ phase: "10 viewers", ...await window(10), v8: await statusMemory() });
    rows.push({ phase: "30 viewers", ...await window(30), v8: await statusMemory() });
    // The steady part: one row per minute at 30 viewers, the last window of each minute.
    const startMs = performance.now();
    for (let minute = 1; minute <= steadyMinutes; minute++) {
      let last: Awaited<ReturnType<typeof window>>;
      do last = await window(30); while (performance.now() - startMs < minute * 60_000);
      rows.push({ phase: `30 viewers +${minute} min`, ...last, v8: await statusMemory() });
    }
    await stdin.close();
    await viewers.status;
    await sleep(SETTLE_MS);
    rows.push({
      phase: "10 s after they left",
      proc: await sampleWhile(service, sleep(WINDOW_MS)),
      v8: await statusMemory(),
    });
  } finally {
    await service.stop();
  }
  return rows;
}

/** Runs every variant; the report lines. */
export async function memoryBench(variants: RunVariant[], steadyMinutes = 1): Promise<string[]> {
  const port = 18000 + Math.floor(Math.random() * 2000);
  await Deno.mkdir(`${ROOT}test-output`, { recursive: true });
  const configPath = `test-output/bench-memory.toml`;
  await Deno.writeTextFile(
    `${ROOT}${configPath}`,
    // The memory guard stays at its default: it is part of what a user runs.
    `${benchService(port, { guard: true })}[shm]\nprefix = "bench-memory"\n${benchCamera("720p")}`,
  );
  const out = [
    `Memory of the service process run as deno task start runs it (VmRSS and its parts from /proc/<pid>/status, ` +
    `medians of 500 ms samples over ${
      WINDOW_MS / 1000
    } s windows, no forced GC), one 1280x720@30 x264 camera ` +
    `at 4 Mbit/s with its shm ring, werift viewers in another process; MB, and the service's CPU over ` +
    `the window (% of a core, the gst-launch child not counted):`,
  ];
  const f = (v: number) => v.toFixed(1).padStart(6);
  for (const variant of variants) {
    const rows = await runVariant(variant, configPath, port, steadyMinutes);
    const v8 = serviceFlags(variant).find((flag) => flag.startsWith("--v8-flags="));
    out.push(`  ${variant.name}: ${v8 ?? "V8 defaults"}`);
    out.push(
      "    phase                     rss   anon   file  shmem  heap used/total  external   fps  loss %  cpu %",
    );
    for (const r of rows) {
      out.push(
        `    ${r.phase.padEnd(22)} ${f(r.proc.rss)} ${f(r.proc.anon)} ${f(r.proc.file)} ${f(r.proc.shmem)}  ${
          `${r.v8.heap_used_mb}/${r.v8.heap_total_mb}`.padStart(15)
        }  ${String(r.v8.external_mb).padStart(8)}  ${
          r.fps === undefined ? "    -" : r.fps.toFixed(1).padStart(5)
        }  ${r.loss === undefined ? "     -" : r.loss.toFixed(2).padStart(6)}  ${f(r.proc.cpu)}`,
      );
    }
  }
  return out;
}
