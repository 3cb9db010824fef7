// The camera part of `deno task bench`: edgecam's own CPU for one camera with no viewer and its shm ring on,
// the service process run as `deno task start` runs it (its gst-launch child, the encoder, not counted).
// A service with no camera is the floor; it and the 720p30 (4 Mbit/s) and 1080p30 (8 Mbit/s) services run
// side by side and are measured over the same windows, so the machine's noise falls on all three alike.
import { BENCH_CAMERAS, benchCamera, benchService } from "./config.ts";
import { ServiceProcess } from "./service_process.ts";
import { median } from "./stats.ts";

const ROOT = new URL("../../", import.meta.url).pathname;
const WINDOW_MS = 10_000;
const WINDOWS = 6;
const SETTLE_MS = 5000;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

type Setup = "no camera" | keyof typeof BENCH_CAMERAS;
const SETUPS: Setup[] = ["no camera", "720p", "1080p"];

/** Starts one service per setup, waits until each camera delivers frames, settles. */
async function startAll(): Promise<Map<Setup, ServiceProcess>> {
  const services = new Map<Setup, ServiceProcess>();
  await Deno.mkdir(`${ROOT}test-output`, { recursive: true });
  for (const setup of SETUPS) {
    const port = 20000 + Math.floor(Math.random() * 2000);
    const path = `test-output/bench-camera-${setup.replace(" ", "-")}.toml`;
    await Deno.writeTextFile(
      `${ROOT}${path}`,
      `${benchService(port, { guard: true })}[shm]\nprefix = "bench-camera-${port}"\n` +
        (setup === "no camera" ? "" : benchCamera(setup)),
    );
    const service = await ServiceProcess.start(path, port);
    services.set(setup, service);
    if (setup === "no camera") continue;
    for (let i = 0; i < 100; i++) {
      const { streams } = await service.status() as { streams: { frames: number }[] };
      if (streams[0]?.frames > 30) break;
      await sleep(200);
    }
  }
  await sleep(SETTLE_MS);
  return services;
}

/** Runs the windows; the report lines. */
export async function cameraBench(): Promise<string[]> {
  const services = await startAll();
  const cpu = new Map<Setup, number[]>(SETUPS.map((s) => [s, []]));
  let fps1080 = 0;
  try {
    // Every service runs through every window; each window measures all three at once, over the same time.
    for (let w = 0; w < WINDOWS; w++) {
      const before = new Map([...services].map(([s, p]) => [s, p.cpuSeconds()]));
      const t0 = performance.now();
      await sleep(WINDOW_MS);
      const seconds = (performance.now() - t0) / 1000;
      for (const [setup, service] of services) {
        cpu.get(setup)!.push((service.cpuSeconds() - before.get(setup)!) / seconds * 100);
      }
    }
    const status = await services.get("1080p")!.status() as { streams: { fps: number }[] };
    fps1080 = status.streams[0].fps;
  } finally {
    for (const service of services.values()) await service.stop();
  }
  const f = (v: number) => v.toFixed(2);
  const floor = cpu.get("no camera")!;
  return [
    `Camera, the service process's CPU (utime + stime of every thread from /proc/<pid>/stat, the gst-launch ` +
    `child not counted), no viewer, shm ring on, ${WINDOWS} windows of ${
      WINDOW_MS / 1000
    } s with the three ` +
    `services running side by side; % of a core:`,
    ...SETUPS.map((setup) => {
      const values = cpu.get(setup)!;
      const over = values.map((v, i) => v - floor[i]);
      const camera = setup === "no camera" ? "" : ` (${BENCH_CAMERAS[setup].bitrate / 1e6} Mbit/s)`;
      return `  ${(setup + camera).padEnd(22)} median ${f(median(values))} (${values.map(f).join(" ")})` +
        (setup === "no camera" ? "" : `, over no camera ${f(median(over))}`);
    }),
    `  1080p stream at the end: ${fps1080} fps`,
  ];
}
