// Viewer churn against a running service: WHEP sessions opened and closed one after another, with the
// service's resident memory read from /proc after each. A session that leaves something behind shows
// as RSS that climbs with the session count and stays up once the viewers are gone.
//
//   deno run -A scripts/bench/churn.ts [--client werift|chromium] [--sessions 80] [--hold 4000]
//     [--inspect 127.0.0.1:9229 [--snapshots]]
//
// starts edgecam on config.toml (loopback, an ephemeral port), runs the churn on its `front` camera with
// werift viewers (in this process) or headless Chromium ones (which, unlike werift, negotiate AES-CM
// SRTP), and prints one JSON line per sample. With --inspect the service runs under the inspector: each
// sample adds its heap, malloc and cipher-context figures (heap.ts), the settled line the same after a
// full GC, and --snapshots prints what grew on the heap, per constructor.
import { parseArgs } from "node:util";
import { RTCPeerConnection, useH264, useVP8 } from "werift";
import { handleClientHandshakesOnce } from "../../lib/webrtc/werift_fixes/dtls_server.ts";
import { receiveAcrossRollovers } from "../../lib/webrtc/werift_fixes/srtp_rollover.ts";
import { startTaskFlags } from "../start_task.ts";
import { BrowserViewer } from "./churn_browser.ts";
import { heapGrowth, heapSummary, memoryUsage, type ProcessMemory } from "./heap.ts";

/** A session that got no frame in this time fails the churn: it measures nothing. */
const FIRST_FRAMES_TIMEOUT_MS = 15_000;
/** Frames a viewer must have received before its hold starts: it decoded, the send path ran. */
const FIRST_FRAMES = 10;

/** One reading of the service's memory. */
export interface RssSample {
  /** Sessions completed when it was read. */
  sessions: number;
  /** Milliseconds since the churn started. */
  ms: number;
  /** VmRSS of the service, in kB. */
  rssKb: number;
  /** When the service can be asked (see heap.ts): its V8 heap in use, its ArrayBuffers outside it, in kB, */
  heapKb?: number;
  externalKb?: number;
  /** glibc's bytes in use, in kB, */
  mallocKb?: number;
  /** and its open node:crypto cipher contexts. */
  cipherContexts?: number;
}

/** The churn to run: `sessions` viewer lives, one at a time, each as `watch` plays it. */
export interface ChurnOptions {
  /** One viewer's whole life against the service: see watchOnce. */
  watch: () => Promise<void>;
  /** The service's process id, whose /proc/<pid>/status is read. */
  pid: number;
  sessions: number;
  /** Called with each sample as it is taken. */
  onSample?: (sample: RssSample) => void;
  /** The service's own memory figures, e.g. through its inspector. */
  memory?: () => Promise<ProcessMemory>;
}

/** VmRSS of a process, in kB, from /proc/<pid>/status. */
export function vmRssKb(pid: number): number {
  const status = Deno.readTextFileSync(`/proc/${pid}/status`);
  const match = status.match(/^VmRSS:\s+(\d+) kB$/m);
  if (!match) throw new Error(`no VmRSS in /proc/${pid}/status`);
  return Number(match[1]);
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * One viewer's whole life, as a WHEP player has it: offer, POST, frames, a hold, DELETE, close. Throws
 * when the service refuses the session or no frame arrives.
 */
export async function watchOnce(whepUrl: string, holdMs: number): Promise<void> {
  const pc = new RTCPeerConnection({
    codecs: { video: [useH264(), useVP8()] },
    iceAdditionalHostAddresses: ["127.0.0.1"],
    iceUseIpv6: false,
  });
  let location: string | undefined;
  try {
    let frames = 0;
    pc.addTransceiver("video", { direction: "recvonly" }).onTrack.subscribe((track) => {
      track.onReceiveRtp.subscribe((rtp) => {
        if (rtp.header.marker) frames++;
      });
    });
    await pc.setLocalDescription(await pc.createOffer());
    if (pc.iceGatheringState !== "complete") {
      await new Promise<void>((resolve) =>
        pc.iceGatheringStateChange.subscribe((state) => state === "complete" && resolve())
      );
    }
    const res = await fetch(whepUrl, {
      method: "POST",
      body: pc.localDescription!.sdp,
      headers: { "Content-Type": "application/sdp" },
    });
    const answer = await res.text();
    if (res.status !== 201) throw new Error(`POST ${whepUrl}: ${res.status} ${answer}`);
    location = new URL(res.headers.get("location")!, whepUrl).href;
    // The viewer is werift's DTLS server and SRTP receiver: see dtls_server.ts and srtp_rollover.ts.
    for (const transport of pc.dtlsTransports) {
      handleClientHandshakesOnce(transport);
      receiveAcrossRollovers(transport);
    }
    await pc.setRemoteDescription({ type: "answer", sdp: answer });
    const deadline = performance.now() + FIRST_FRAMES_TIMEOUT_MS;
    while (frames < FIRST_FRAMES) {
      if (performance.now() > deadline) {
        throw new Error(`${frames} frames after ${FIRST_FRAMES_TIMEOUT_MS} ms`);
      }
      await sleep(50);
    }
    await sleep(holdMs);
  } finally {
    if (location) await fetch(location, { method: "DELETE" }).then((r) => r.body?.cancel());
    await pc.close();
  }
}

/** Runs the churn and returns the service's RSS before it and after each session. */
export async function churn(options: ChurnOptions): Promise<RssSample[]> {
  const startMs = performance.now();
  const samples: RssSample[] = [];
  const sample = async (sessions: number) => {
    const taken: RssSample = {
      sessions,
      ms: Math.round(performance.now() - startMs),
      rssKb: vmRssKb(options.pid),
    };
    const memory = await options.memory?.();
    if (memory) {
      taken.heapKb = Math.round(memory.heapUsed / 1024);
      taken.externalKb = Math.round(memory.external / 1024);
      taken.mallocKb = Math.round(memory.mallocInUse / 1024);
      taken.cipherContexts = memory.cipherContexts;
    }
    samples.push(taken);
    options.onSample?.(taken);
  };
  await sample(0);
  for (let i = 1; i <= options.sessions; i++) {
    await options.watch();
    await sample(i);
  }
  return samples;
}

/** A service started for the churn: its pid, base URL, and how to stop it. */
export interface ChurnService {
  pid: number;
  url: string;
  stop(): Promise<void>;
}

/**
 * Starts main.ts with the start task's permissions on `config`, listening on a loopback ephemeral port;
 * `denoFlags` go before them (e.g. `--inspect=127.0.0.1:9229`).
 */
export async function startChurnService(config: string, denoFlags: string[] = []): Promise<ChurnService> {
  const permissions = startTaskFlags();
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", ...denoFlags, ...permissions, "main.ts", "--config", config, "--listen", "127.0.0.1:0"],
    cwd: new URL("../../", import.meta.url).pathname,
    stdin: "null",
    stdout: "piped",
    stderr: "null",
  }).spawn();
  const stdout = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  let out = "";
  let url: string | undefined;
  while (!url) {
    const { value, done } = await stdout.read();
    if (done) throw new Error(`edgecam exited before listening: ${out}`);
    out += value;
    url = out.match(/viewer: (http:\/\/[^/\s]+)\//)?.[1];
  }
  // Keep draining stdout so the service never blocks on a full pipe.
  void (async () => {
    while (!(await stdout.read()).done);
  })();
  return {
    pid: child.pid,
    url,
    async stop() {
      child.kill("SIGTERM");
      await child.status;
    },
  };
}

/** Resolves once GET /health answers 200 (every camera runs). */
export async function healthy(url: string, timeoutMs = 20_000): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  while ((await fetch(`${url}/health`).then((r) => (r.body?.cancel(), r.status)).catch(() => 0)) !== 200) {
    if (performance.now() > deadline) throw new Error(`${url} not healthy after ${timeoutMs} ms`);
    await sleep(200);
  }
}

if (import.meta.main) {
  const { values } = parseArgs({
    args: Deno.args,
    options: {
      config: { type: "string", default: "config.toml" },
      stream: { type: "string", default: "front" },
      client: { type: "string", default: "werift" },
      sessions: { type: "string", default: "80" },
      hold: { type: "string", default: "4000" },
      inspect: { type: "string" },
      settle: { type: "string", default: "10000" },
      snapshots: { type: "boolean", default: false },
    },
  });
  if (values.client !== "werift" && values.client !== "chromium") {
    throw new Error(`--client is werift or chromium, not "${values.client}"`);
  }
  const service = await startChurnService(
    values.config,
    values.inspect ? [`--inspect=${values.inspect}`] : [],
  );
  const browser = values.client === "chromium" ? await BrowserViewer.launch(service.url) : undefined;
  try {
    await healthy(service.url);
    console.log(JSON.stringify({ event: "ready", pid: service.pid, url: service.url }));
    const whepUrl = `${service.url}/whep/${values.stream}`;
    const holdMs = Number(values.hold);
    const watch = () => browser ? browser.watchOnce(whepUrl, holdMs) : watchOnce(whepUrl, holdMs);
    // One session first: werift's and our modules' one-time allocations are not what churn leaves.
    await watch();
    // A snapshot costs the service tens of MB of RSS itself: only on request.
    const before = values.inspect && values.snapshots ? await heapSummary(values.inspect) : undefined;
    await churn({
      watch,
      pid: service.pid,
      sessions: Number(values.sessions),
      onSample: (s) => console.log(JSON.stringify(s)),
      memory: values.inspect ? () => memoryUsage(values.inspect!) : undefined,
    });
    // With no viewer left, what the service still holds is what the sessions left behind.
    await sleep(Number(values.settle));
    const memory = values.inspect ? await memoryUsage(values.inspect, true) : undefined;
    console.log(JSON.stringify({ event: "settled", rssKb: vmRssKb(service.pid), ...memory }));
    if (before) console.log(heapGrowth(before, await heapSummary(values.inspect!)).join("\n"));
  } finally {
    await browser?.close();
    await service.stop();
  }
}
