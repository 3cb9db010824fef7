// Shared-memory ring: publish → C reader wake-up latency at 30 fps and at 1000 access units/s, and the
// writer's CPU per access unit. The writer is this process (lib/shm, exactly the service's write path:
// RingWriter.write + futex wake); the reader is examples/shm/reader.c in its own process, which prints
// the delay from the writer's publish time to the end of its copy for every access unit.
import { HEADER } from "../../lib/shm/layout.ts";
import { futexWake } from "../../lib/shm/libc.ts";
import { createRing, removeRing, type WritableRing } from "../../lib/shm/object.ts";
import { cpuSeconds } from "./proc.ts";
import { percentile } from "./stats.ts";

const ROOT = new URL("../../", import.meta.url).pathname;
/** A 720p P-frame and a 1080p keyframe, roughly, from x264 at a few Mbit/s. */
const SIZES = [20_000, 200_000];
const CPU_WRITES = 20_000;

async function compileReader(): Promise<string> {
  await Deno.mkdir(`${ROOT}test-output`, { recursive: true });
  const binary = `${ROOT}test-output/edgecam-shm-reader`;
  const gcc = await new Deno.Command("gcc", {
    args: ["-O2", "-o", binary, "examples/shm/reader.c"],
    cwd: ROOT,
    stderr: "inherit",
  }).output();
  if (!gcc.success) throw new Error("gcc failed (scripts/bootstrap.sh --test installs it)");
  return binary;
}

function unit(seq: number, size: number, keyEvery: number) {
  const data = new Uint8Array(size);
  data.fill(seq & 0xff);
  return {
    codec: "h264" as const,
    data,
    keyframe: seq % keyEvery === 1,
    pts90k: seq * 3000,
    captureMs: Date.now(),
  };
}

function publish(ring: WritableRing, seq: number, size: number, keyEvery: number): void {
  ring.writer.write(unit(seq, size, keyEvery));
  futexWake(ring.mapping, HEADER.writeSeq);
}

/** Writes `count` access units at `rate` per second, catching up on timer lateness. */
async function paced(ring: WritableRing, count: number, rate: number, firstSeq: number): Promise<void> {
  const t0 = performance.now();
  let written = 0;
  while (written < count) {
    const due = Math.min(count, Math.floor((performance.now() - t0) * rate / 1000) + 1);
    for (; written < due; written++) publish(ring, firstSeq + written, SIZES[0], 30);
    await new Promise((r) => setTimeout(r, Math.max(0, (written * 1000 / rate) - (performance.now() - t0))));
  }
}

function summary(label: string, delays: number[]): string {
  const sorted = [...delays].sort((a, b) => a - b);
  const f = (us: number) => `${us} µs`;
  return `  ${label}: ${sorted.length} access units, p50 ${f(percentile(sorted, 50))}, ` +
    `p99 ${f(percentile(sorted, 99))}, max ${f(sorted.at(-1)!)}`;
}

/** The shm part of `deno task bench`. */
export async function shmBench(): Promise<string[]> {
  const reader = await compileReader();
  const name = `edgecam-bench-${Deno.pid}`;
  const lines = [
    "Shared memory, 64 slots of 1 MiB, writer in this process, examples/shm/reader.c in another:",
  ];

  // CPU per access unit: a tight loop of the service's write path, no reader attached.
  let ring = createRing(name, { slotCount: 64, slotSize: 1_048_576 }, 0o600, "h264");
  let seq = 0;
  for (const size of SIZES) {
    for (let i = 0; i < 500; i++) publish(ring, ++seq, size, 30);
    const data = unit(1, size, 30);
    const cpu0 = cpuSeconds();
    for (let i = 0; i < CPU_WRITES; i++) {
      ring.writer.write(data);
      futexWake(ring.mapping, HEADER.writeSeq);
    }
    const perUnit = (cpuSeconds() - cpu0) / CPU_WRITES * 1e6;
    lines.push(
      `  writer CPU per access unit of ${size / 1000} kB (copy + commit + futex wake): ${
        perUnit.toFixed(2)
      } µs`,
    );
  }
  removeRing(ring);

  ring = createRing(name, { slotCount: 64, slotSize: 1_048_576 }, 0o600, "h264");
  const child = new Deno.Command(reader, { args: [name], stdout: "piped", stderr: "inherit" }).spawn();
  const output = new Response(child.stdout).text();
  // The reader prints its "attached" line before waiting; give it a moment to get there.
  await new Promise((r) => setTimeout(r, 500));
  const slow = 30 * 10;
  const fast = 1000 * 5;
  await paced(ring, slow, 30, 1);
  await paced(ring, fast, 1000, slow + 1);
  await new Promise((r) => setTimeout(r, 300));
  child.kill("SIGTERM");
  const text = await output;
  await child.status;
  removeRing(ring);

  const delays = new Map<number, number>();
  for (const m of text.matchAll(/^frame seq=(\d+) .* delay_us=(-?\d+)$/gm)) {
    delays.set(Number(m[1]), Number(m[2]));
  }
  const phase = (from: number, to: number) =>
    [...delays].filter(([s]) => s >= from && s <= to).map(([, d]) => d);
  lines.push(
    "  publish → C reader has the access unit (20 kB), futex wake-up:",
    summary("30 fps for 10 s", phase(1, slow)),
    summary("1000 AU/s for 5 s", phase(slow + 1, slow + fast)),
  );
  const missing = slow + fast - delays.size;
  if (missing > 0) lines.push(`  (${missing} access units not read: the reader was lapped)`);
  return lines;
}
