// The memory part of `deno task bench`: the resident memory a user sees (VmRSS from /proc, never after a
// forced GC) of the service run as `deno task start` runs it, in its own process, with one 720p30 camera:
// idle, then with 10 and 30 werift viewers (in another process), steady at 30 for a minute, and after they
// leave. Where it goes: /proc's anonymous, file-backed and shared-memory parts and the service's own V8
// figures. Each variant of V8 flags runs the same sequence in a fresh process.
import manifest from "../../deno.json" with { type: "json" };
import { lines } from "./lines.ts";
import { spawnBenchScript } from "./proc.ts";
import { median } from "./stats.ts";
import type { WindowReport } from "./webrtc_viewers.ts";

const ROOT = new URL("../../", import.meta.url).pathname;
const WINDOW_MS = 10_000;
const WARM_UP_MS = 3000;
const SETTLE_MS = 10_000;
const STEADY_WINDOWS = 6;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** A V8 flag set to compare, as `--v8-flags=` takes it; empty = V8's defaults. */
export interface MemoryVariant {
  name: string;
  v8Flags: string;
}

/** /proc's view of a process's memory, in MB. */
interface ProcMemory {
  rss: number;
  anon: number;
  file: number;
  shmem: number;
}

function procMemory(pid: number): ProcMemory {
  const text = Deno.readTextFileSync(`/proc/${pid}/status`);
  const kb = (field: string) =>
    Number(new RegExp(`^${field}:\\s+(\\d+) kB`, "m").exec(text)?.[1] ?? NaN) / 1024;
  return { rss: kb("VmRSS"), anon: kb("RssAnon"), file: kb("RssFile"), shmem: kb("RssShmem") };
}

/** VmRSS and its parts sampled every 500 ms while `during` runs; the medians. */
async function sampleWhile(pid: number, during: Promise<unknown>): Promise<ProcMemory> {
  const samples: ProcMemory[] = [];
  let done = false;
  during.finally(() => done = true);
  while (!done) {
    samples.push(procMemory(pid));
    await sleep(500);
  }
  const m = (key: keyof ProcMemory) => median(samples.map((s) => s[key]));
  return { rss: m("rss"), anon: m("anon"), file: m("file"), shmem: m("shmem") };
}

interface StatusMemory {
  rss_mb: number;
  heap_used_mb: number;
  heap_total_mb: number;
  external_mb: number;
}

async function statusMemory(base: string): Promise<StatusMemory> {
  return (await (await fetch(`${base}/status`)).json()).memory;
}

/** One row of the report. */
interface Row {
  phase: string;
  proc: ProcMemory;
  v8: StatusMemory;
  fps?: number;
  loss?: number;
}

/** Runs the sequence on one variant; its rows. */
async function runVariant(variant: MemoryVariant, configPath: string, port: number): Promise<Row[]> {
  const task = manifest.tasks.start.split(/\s+/);
  const flags = task.slice(task.indexOf("run") + 1, task.indexOf("main.ts"));
  const service = new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      ...flags,
      ...(variant.v8Flags ? [`--v8-flags=${variant.v8Flags}`] : []),
      "main.ts",
      "--config",
      configPath,
    ],
    cwd: ROOT,
    stdout: "null",
    stderr: "null",
  }).spawn();
  const base = `http://127.0.0.1:${port}`;
  const rows: Row[] = [];
  try {
    for (let i = 0; i < 100; i++) {
      const res = await fetch(`${base}/health`).catch(() => undefined);
      await res?.body?.cancel();
      if (res?.status === 200) break;
      await sleep(200);
    }
    await sleep(SETTLE_MS);
    rows.push({
      phase: "idle",
      proc: await sampleWhile(service.pid, sleep(WINDOW_MS)),
      v8: await statusMemory(base),
    });
    const viewers = spawnBenchScript("webrtc_viewers.ts", [
      `${base}/whep/bench`,
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
    const windows: [string, number][] = [["10 viewers", 10], ["30 viewers", 30]];
    for (let i = 1; i < STEADY_WINDOWS; i++) {
      windows.push([`30 viewers +${i * (WINDOW_MS + WARM_UP_MS) / 1000} s`, 30]);
    }
    for (const [phase, count] of windows) {
      await stdin.write(new TextEncoder().encode(`${count}\n`));
      await next();
      let report: WindowReport | undefined;
      const proc = await sampleWhile(service.pid, next().then((line) => report = JSON.parse(line)));
      const fps = median(report!.viewers.map((v) => v.frames / (WINDOW_MS / 1000)));
      const loss = Math.max(...report!.viewers.map((v) => v.expected ? v.lost / v.expected * 100 : 100));
      rows.push({ phase, proc, v8: await statusMemory(base), fps, loss });
    }
    await stdin.close();
    await viewers.status;
    await sleep(SETTLE_MS);
    rows.push({
      phase: "10 s after they left",
      proc: await sampleWhile(service.pid, sleep(WINDOW_MS)),
      v8: await statusMemory(base),
    });
  } finally {
    service.kill("SIGTERM");
    await service.status;
  }
  return rows;
}

/** Runs every variant; the report lines. */
export async function memoryBench(variants: MemoryVariant[]): Promise<string[]> {
  const port = 18000 + Math.floor(Math.random() * 2000);
  await Deno.mkdir(`${ROOT}test-output`, { recursive: true });
  const configPath = `test-output/bench-memory.toml`;
  await Deno.writeTextFile(
    `${ROOT}${configPath}`,
    `[server]\nlisten = "127.0.0.1"\nport = ${port}\nlog_level = "warn"\n[webrtc]\nmax_pending_per_address = 32\n` +
      `[shm]\nprefix = "bench-memory"\n[[cameras]]\nname = "bench"\nwidth = 1280\nheight = 720\nfps = 30\n` +
      `bitrate = 4_000_000\nencoder = "x264"\npattern = "smpte"\n`,
  );
  const out = [
    `Memory of the service process run as deno task start runs it (VmRSS and its parts from /proc/<pid>/status, ` +
    `medians of 500 ms samples over ${
      WINDOW_MS / 1000
    } s windows, no forced GC), one 1280x720@30 x264 camera ` +
    `at 4 Mbit/s with its shm ring, werift viewers in another process; MB:`,
  ];
  const f = (v: number) => v.toFixed(1).padStart(6);
  for (const variant of variants) {
    const rows = await runVariant(variant, configPath, port);
    out.push(`  ${variant.name}${variant.v8Flags ? ` (--v8-flags=${variant.v8Flags})` : " (V8 defaults)"}:`);
    out.push(
      "    phase                     rss   anon   file  shmem  heap used/total  external   fps  loss %",
    );
    for (const r of rows) {
      out.push(
        `    ${r.phase.padEnd(22)} ${f(r.proc.rss)} ${f(r.proc.anon)} ${f(r.proc.file)} ${f(r.proc.shmem)}  ${
          `${r.v8.heap_used_mb}/${r.v8.heap_total_mb}`.padStart(15)
        }  ${String(r.v8.external_mb).padStart(8)}  ${
          r.fps === undefined ? "    -" : r.fps.toFixed(1).padStart(5)
        }  ${r.loss === undefined ? "     -" : r.loss.toFixed(2).padStart(6)}`,
      );
    }
  }
  return out;
}
