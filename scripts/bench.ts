// `deno task bench`: edgecam's performance figures. Ratios and medians within one run; the machines
// are shared and noisy, so no figure here is a pass/fail threshold. Results go to BENCHMARKS.md.
//
//   deno task bench                          every part
//   deno task bench webrtc --viewers 1,10    only the named parts (parse, ws, webrtc, whip, shm, recording, metrics, memory, camera, glass, packet), these viewer counts
//   deno task bench webrtc --paths stock     only werift's stock path (edgecam, stock), in a fresh process
//   deno task bench webrtc --paths edgecam --viewers 1,30,50,100 --receivers light
//                                            the sender at 100 viewers: light viewers stop decrypting after
//                                            their first keyframe (headers are in the clear)
//   deno task bench shm                      shared-memory ring latency to a C reader, writer CPU
//   deno task bench whip                     one 720p30 WHIP publisher fanned out to 1 and 10 viewers
//   deno task bench recording                recording a 1080p30 camera off against on (fmp4, h264): the
//                                            service's CPU and writes, and the send delay to 10 viewers
//   deno task bench metrics                  what scraping /metrics every second costs the service with 10
//                                            viewers (paired off/on windows), and one scrape's time and size
//   deno task bench memory [--steady-minutes 10] [--memory-variants start,semi,defaults]
//                                            the service's RSS as users see it (its own process, no forced GC):
//                                            idle, 10 and 30 viewers, steady at 30 (1 min), after they leave
//   deno task bench camera                   the service's own CPU for one 720p30 and one 1080p30 camera, no viewer
//   deno task bench glass                    glass-to-glass: Chromium on the viewer page, H.264 and VP8 tiles' delay
//   deno task bench packet                   one packet's seal and sendto, in a keyframe-sized burst
//   deno task bench reliability              faults and bad input (scripts/bench/reliability.ts), not in
//     [--only kills,http,fuzz,slow,floods,soak] [--kills 100] [--requests 3000] [--fuzz-runs 1000000]
//     [--soak-minutes 60]                    "every part": the soak alone takes an hour
import { parseArgs } from "node:util";
import { parseConfig } from "../lib/config/load.ts";
import { AnnexBSplitter } from "../lib/media/h264/annexb.ts";
import { H264Assembler } from "../lib/media/h264/assembler.ts";
import { startService } from "../lib/service.ts";
import { httpHandlers } from "../routes/app.ts";
import { buildPipeline } from "../lib/cameras/gstreamer.ts";
import { GST_LAUNCH } from "../lib/cameras/supervisor.ts";
import { cameraBench } from "./bench/camera.ts";
import { glassBench } from "./bench/glass.ts";
import { packetBench } from "./bench/packet.ts";
import { memoryBench } from "./bench/memory.ts";
import type { RunVariant } from "./bench/service_process.ts";
import { metricsBench } from "./bench/metrics.ts";
import { recordingBench } from "./bench/recording.ts";
import { RELIABILITY_PARTS, reliabilityBench, type ReliabilityPart } from "./bench/reliability.ts";
import { shmBench } from "./bench/shm.ts";
import { median, percentile } from "./bench/stats.ts";
import {
  DEFAULT_VIEWER_COUNTS,
  type Receivers,
  WEBRTC_PATHS,
  webrtcBench,
  type WebrtcPath,
  whipBench,
} from "./bench/webrtc.ts";

const OUT = new URL("../test-output/", import.meta.url);
const RECORDING = new URL("bench-1080p.h264", OUT);
const RECORD_SECONDS = 10;
const RUNS = 7;
const WARM_UP_MS = 2000;

/** Records RECORD_SECONDS of a 1080p30 camera exactly as edgecam's x264 pipeline writes it. */
async function recordStream(): Promise<Uint8Array> {
  try {
    return await Deno.readFile(RECORDING);
  } catch {
    // Not recorded yet.
  }
  const [camera] = parseConfig(`
[[cameras]]
name = "bench"
width = 1920
height = 1080
bitrate = 8_000_000
pattern = "smpte"
`).cameras;
  const child = new Deno.Command(GST_LAUNCH, { args: buildPipeline(camera, "x264"), stdout: "piped" })
    .spawn();
  setTimeout(() => child.kill("SIGINT"), RECORD_SECONDS * 1000);
  const bytes = new Uint8Array(await new Response(child.stdout).arrayBuffer());
  await child.status;
  await Deno.mkdir(OUT, { recursive: true });
  await Deno.writeFile(RECORDING, bytes);
  return bytes;
}

/** MB/s of feeding `stream` in 64 KiB chunks to a fresh parser made by `make`. */
function throughput(stream: Uint8Array, make: () => { push(chunk: Uint8Array): unknown }): number {
  const parser = make();
  const t0 = performance.now();
  for (let i = 0; i < stream.length; i += 65536) parser.push(stream.subarray(i, i + 65536));
  return stream.length / 1e6 / ((performance.now() - t0) / 1000);
}

async function parseBench(): Promise<string[]> {
  const stream = await recordStream();
  const assembler: number[] = [];
  const splitter: number[] = [];
  for (let run = 0; run < RUNS; run++) {
    splitter.push(throughput(stream, () => new AnnexBSplitter()));
    assembler.push(throughput(stream, () => new H264Assembler()));
  }
  const frames = new H264Assembler().push(stream).length;
  return [
    `H.264 parse, 1080p30 x264 recording (${(stream.length / 1e6).toFixed(1)} MB, ${frames} access units), ` +
    `64 KiB chunks, median of ${RUNS}:`,
    `  AnnexBSplitter (NAL units):          ${median(splitter).toFixed(0)} MB/s`,
    `  H264Assembler (NALs → access units): ${median(assembler).toFixed(0)} MB/s`,
  ];
}

/** Pipe read → delivery to N WebSocket players in another process, for a 720p30 x264 camera. */
async function deliveryBench(players: number, seconds: number): Promise<string[]> {
  const config = parseConfig(`
[server]
listen = "127.0.0.1"
port = 0
log_level = "warn"
[[cameras]]
name = "bench"
width = 1280
height = 720
bitrate = 4_000_000
encoder = "x264"
`);
  const service = await startService(config, httpHandlers);
  const stream = service.streams.get("bench")!;
  // Exact read times, keyed as the players see them (rounded ms + length).
  const readAt = new Map<string, number>();
  const probe = stream.subscribe(10_000);
  (async () => {
    for await (const au of probe) readAt.set(`${Math.round(au.captureMs)}:${au.data.length}`, au.captureMs);
  })();
  // Skip the first seconds: players that just joined get the cached GOP, old frames by design.
  const measureFromMs = performance.timeOrigin + performance.now() + WARM_UP_MS;
  const clients = new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "--allow-net",
      new URL("bench/ws_clients.ts", import.meta.url).pathname,
      `ws://127.0.0.1:${service.addr.port}/ws/bench`,
      String(players),
      String(seconds),
    ],
    stdout: "piped",
  }).output();
  const rows: [number, number, number][] = JSON.parse(new TextDecoder().decode((await clients).stdout));
  probe.close();
  await service.stop();

  const lastArrival = new Map<string, number>();
  const all: number[] = [];
  for (const [captureMs, length, arrivedMs] of rows) {
    const key = `${captureMs}:${length}`;
    const readMs = readAt.get(key);
    if (readMs === undefined || readMs < measureFromMs) continue;
    all.push(arrivedMs - readMs);
    lastArrival.set(key, Math.max(lastArrival.get(key) ?? 0, arrivedMs - readMs));
  }
  const perUnit = [...lastArrival.values()].sort((a, b) => a - b);
  all.sort((a, b) => a - b);
  return [
    `Pipe read → WebSocket delivery, 720p30 x264 ~4 Mbit/s, ${players} player(s) in another process, ` +
    `${seconds} s less ${
      WARM_UP_MS / 1000
    } s warm-up (${perUnit.length} access units, ${all.length} deliveries):`,
    `  to the last of ${players} player(s): p50 ${percentile(perUnit, 50).toFixed(2)} ms, ` +
    `p99 ${percentile(perUnit, 99).toFixed(2)} ms`,
    `  any delivery:                p50 ${percentile(all, 50).toFixed(2)} ms, p99 ${
      percentile(all, 99).toFixed(2)
    } ms`,
  ];
}

const PARTS = [
  "parse",
  "ws",
  "webrtc",
  "whip",
  "shm",
  "recording",
  "metrics",
  "memory",
  "camera",
  "glass",
  "packet",
];
const { values, positionals } = parseArgs({
  args: Deno.args,
  options: {
    viewers: { type: "string" },
    paths: { type: "string" },
    receivers: { type: "string", default: "full" },
    only: { type: "string" },
    kills: { type: "string", default: "100" },
    requests: { type: "string", default: "3000" },
    "fuzz-runs": { type: "string", default: "1000000" },
    "soak-minutes": { type: "string", default: "60" },
    "steady-minutes": { type: "string", default: "1" },
    "memory-variants": { type: "string", default: "start,defaults" },
  },
  allowPositionals: true,
});
const parts = positionals.length ? positionals : PARTS;
for (const part of parts) {
  if (!PARTS.includes(part) && part !== "reliability") {
    throw new Error(`unknown part "${part}": choose from ${[...PARTS, "reliability"].join(", ")}`);
  }
}
const reliabilityParts = (values.only?.split(",") ?? RELIABILITY_PARTS) as ReliabilityPart[];
for (const part of reliabilityParts) {
  if (!RELIABILITY_PARTS.includes(part)) {
    throw new Error(`unknown reliability part "${part}": choose from ${RELIABILITY_PARTS.join(", ")}`);
  }
}
const viewerCounts = values.viewers?.split(",").map(Number) ?? DEFAULT_VIEWER_COUNTS;
if (!viewerCounts.every((n) => Number.isInteger(n) && n > 0)) {
  throw new Error(`--viewers wants positive integers separated by commas, not "${values.viewers}"`);
}
const receivers = values.receivers as Receivers;
if (receivers !== "full" && receivers !== "light") {
  throw new Error(`--receivers is full (decrypt every packet) or light (stop after the first keyframe)`);
}
// The start task's V8 flags (semi-spaces of at most 4 MB, --optimize-for-size), against the semi-space cap
// alone and V8's defaults (16 MB semi-spaces).
const MEMORY_VARIANTS: Record<string, RunVariant> = {
  start: { name: "start task" },
  defaults: { name: "V8 defaults", v8Flags: "" },
  semi: { name: "semi-space only", v8Flags: "--max-semi-space-size=4" },
};
const memoryVariants = values["memory-variants"].split(",").map((name) => {
  if (!MEMORY_VARIANTS[name]) {
    throw new Error(`--memory-variants takes ${Object.keys(MEMORY_VARIANTS).join(", ")}`);
  }
  return MEMORY_VARIANTS[name];
});
const webrtcPaths = (values.paths?.split(",") ?? WEBRTC_PATHS) as WebrtcPath[];
for (const path of webrtcPaths) {
  if (!WEBRTC_PATHS.includes(path)) {
    throw new Error(`unknown path "${path}": choose from ${WEBRTC_PATHS.join(", ")}`);
  }
}

const lines = [
  `edgecam bench, ${
    new Date().toISOString()
  }, Deno ${Deno.version.deno}, ${navigator.hardwareConcurrency} cores`,
  ...parts.includes("parse") ? await parseBench() : [],
  ...parts.includes("ws") ? [...await deliveryBench(1, 12), ...await deliveryBench(10, 12)] : [],
  ...parts.includes("webrtc") ? await webrtcBench(viewerCounts, webrtcPaths, receivers) : [],
  ...parts.includes("shm") ? await shmBench() : [],
  ...parts.includes("whip") ? await whipBench([1, 10]) : [],
  ...parts.includes("recording") ? await recordingBench() : [],
  ...parts.includes("metrics") ? await metricsBench() : [],
  ...parts.includes("memory") ? await memoryBench(memoryVariants, Number(values["steady-minutes"])) : [],
  ...parts.includes("camera") ? await cameraBench() : [],
  ...parts.includes("glass") ? await glassBench() : [],
  ...parts.includes("packet") ? await packetBench() : [],
  ...parts.includes("reliability")
    ? await reliabilityBench(reliabilityParts, {
      kills: Number(values.kills),
      requests: Number(values.requests),
      fuzzRuns: Number(values["fuzz-runs"]),
      soakMinutes: Number(values["soak-minutes"]),
    })
    : [],
];
console.log(lines.join("\n"));
