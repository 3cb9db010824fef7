// `deno task bench reliability`: the service against faults and bad input, as a user's network would
// treat it. Each part starts its own service on the default settings (two 640x480 test cameras) and
// reports figures, never pass/fail:
//
//   kills   the capture process SIGKILLed at random 1-4 s intervals while 3 WHEP viewers and a WebSocket
//           player watch: how soon frames resume, whether anyone was dropped, the restart count
//   http    mutated offers and malformed requests on every door: statuses, 5xx, resets, slow replies
//   slow    a stalled WHEP viewer and a WebSocket player that stopped reading among 10: the others'
//           frame rate and delay, without and with them
//   floods  1,000 pending WHEP POSTs, 1,000 WebSocket players, 1,000 made-up WHIP names: health, a real
//           viewer's join, peak RSS, and whether everything is reclaimed
//   soak    a viewer joining and leaving every few seconds for --minutes: the RSS slope, leaked sessions,
//           the delay's drift
import { RTCPeerConnection, useH264, useOPUS } from "werift";
import { stalledUpgrade } from "../../tests/helpers/ws_player.ts";
import { healthy, startChurnService, vmRssKb, watchOnce } from "./churn.ts";
import { median, percentile, slope } from "./stats.ts";

/** The parts of the reliability bench, in the order they run. */
export const RELIABILITY_PARTS = ["kills", "http", "fuzz", "slow", "floods", "soak"] as const;
/** One of {@link RELIABILITY_PARTS}. */
export type ReliabilityPart = typeof RELIABILITY_PARTS[number];

/** How much of each part to run. */
export interface ReliabilityOptions {
  kills: number;
  requests: number;
  fuzzRuns: number;
  soakMinutes: number;
}

const ROOT = new URL("../../", import.meta.url);
const SHM_PREFIX = "reliability";
/** The default settings, quieter: the bench reads figures, not the journal. */
const CONFIG = `
[server]
log_level = "error"
[shm]
prefix = "${SHM_PREFIX}"
[[cameras]]
name = "front"
[[cameras]]
name = "rear"
pattern = "ball"
codec = "vp8"
`;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Writes the bench's config inside the repo (where the start task may read) and returns its path. */
async function configPath(): Promise<string> {
  await Deno.mkdir(new URL("test-output/", ROOT), { recursive: true });
  await Deno.writeTextFile(new URL("test-output/reliability.toml", ROOT), CONFIG);
  return "test-output/reliability.toml";
}

async function withService<T>(run: (url: string, pid: number) => Promise<T>): Promise<T> {
  const service = await startChurnService(await configPath());
  try {
    await healthy(service.url);
    return await run(service.url, service.pid);
  } finally {
    await service.stop();
  }
}

async function streamJson(url: string, name = "front"): Promise<Record<string, unknown>> {
  return await (await fetch(`${url}/api/streams/${name}`)).json();
}

/** A werift viewer in this process that records when each frame (RTP marker) arrived. */
class Viewer {
  readonly arrivals: number[] = [];
  readonly pc = new RTCPeerConnection({
    codecs: { video: [useH264()] },
    iceAdditionalHostAddresses: ["127.0.0.1"],
    iceUseIpv6: false,
  });
  location: string | undefined;

  /** POSTs the offer (through `client`, e.g. one bound to another address) and applies the answer. */
  async connect(whepUrl: string, client?: Deno.HttpClient): Promise<void> {
    this.pc.addTransceiver("video", { direction: "recvonly" }).onTrack.subscribe((track) =>
      track.onReceiveRtp.subscribe((rtp) => rtp.header.marker && this.arrivals.push(performance.now()))
    );
    const res = await fetch(whepUrl, {
      method: "POST",
      body: await offerOf(this.pc),
      headers: { "Content-Type": "application/sdp" },
      client,
    });
    const answer = await res.text();
    if (res.status !== 201) throw new Error(`POST ${whepUrl}: ${res.status} ${answer}`);
    this.location = new URL(res.headers.get("location")!, whepUrl).href;
    const { handleClientHandshakesOnce } = await import("../../lib/webrtc/werift_fixes/dtls_server.ts");
    const { receiveAcrossRollovers } = await import("../../lib/webrtc/werift_fixes/srtp_rollover.ts");
    for (const transport of this.pc.dtlsTransports) {
      handleClientHandshakesOnce(transport);
      receiveAcrossRollovers(transport);
    }
    await this.pc.setRemoteDescription({ type: "answer", sdp: answer });
  }

  async close(): Promise<void> {
    if (this.location) await fetch(this.location, { method: "DELETE" }).then((r) => r.body?.cancel());
    await this.pc.close();
  }
}

/** A reading WebSocket player: arrival times and capture-to-arrival delays. */
class Player {
  readonly arrivals: number[] = [];
  readonly delays: number[] = [];
  readonly socket: WebSocket;
  readonly opened: Promise<void>;

  constructor(url: string) {
    this.socket = new WebSocket(url);
    this.socket.binaryType = "arraybuffer";
    this.opened = new Promise((resolve, reject) => {
      this.socket.onopen = () => resolve();
      this.socket.onerror = () => reject(new Error(`cannot open ${url}`));
    });
    this.socket.onmessage = (event) => {
      const bytes = event.data as ArrayBuffer;
      const captureMs = Number(new DataView(bytes).getBigUint64(bytes.byteLength - 8, true));
      this.arrivals.push(performance.now());
      this.delays.push(Date.now() - captureMs);
    };
  }
}

/** The offer of a peer with every candidate gathered. */
async function offerOf(pc: RTCPeerConnection): Promise<string> {
  await pc.setLocalDescription(await pc.createOffer());
  if (pc.iceGatheringState !== "complete") {
    await new Promise<void>((r) => pc.iceGatheringStateChange.subscribe((s) => s === "complete" && r()));
  }
  return pc.localDescription!.sdp;
}

/** A WHEP viewer's and a WHIP publisher's offers, as real werift clients write them. */
async function realOffers(): Promise<{ whep: string; whip: string }> {
  const viewer = new RTCPeerConnection({ codecs: { video: [useH264()], audio: [useOPUS()] } });
  viewer.addTransceiver("video", { direction: "recvonly" });
  viewer.addTransceiver("audio", { direction: "recvonly" });
  const publisher = new RTCPeerConnection({ codecs: { video: [useH264()], audio: [useOPUS()] } });
  publisher.addTransceiver("video", { direction: "sendonly" });
  publisher.addTransceiver("audio", { direction: "sendonly" });
  const offers = { whep: await offerOf(viewer), whip: await offerOf(publisher) };
  await viewer.close();
  await publisher.close();
  return offers;
}

/** Time from `killedAt` to the first frame after the gap the kill made; undefined while there is none. */
function resumeMs(arrivals: number[], killedAt: number): number | undefined {
  for (let i = arrivals.length - 1; i > 0 && arrivals[i] > killedAt; i--) {
    if (arrivals[i] - arrivals[i - 1] > 200 && arrivals[i - 1] < killedAt + 200) {
      return arrivals[i] - killedAt;
    }
  }
  return undefined;
}

async function killsPart(kills: number): Promise<string[]> {
  return await withService(async (url) => {
    const viewers = [new Viewer(), new Viewer(), new Viewer()];
    const player = new Player(`${url.replace(/^http/, "ws")}/ws/front`);
    await player.opened;
    for (const viewer of viewers) await viewer.connect(`${url}/whep/front`);
    await sleep(3000);
    const clients = [...viewers.map((v) => v.arrivals), player.arrivals];
    const restartsBefore = (await streamJson(url)).restarts as number;
    const worst: number[] = [];
    let late = 0;
    for (let i = 0; i < kills; i++) {
      await sleep(1000 + Math.random() * 3000);
      const pid = (await streamJson(url)).pid as number;
      const killedAt = performance.now();
      Deno.kill(pid, "SIGKILL");
      const deadline = killedAt + 10_000;
      let resumed: (number | undefined)[] = [];
      while (performance.now() < deadline) {
        resumed = clients.map((arrivals) => resumeMs(arrivals, killedAt));
        if (resumed.every((r) => r !== undefined)) break;
        await sleep(20);
      }
      const slowest = Math.max(...resumed.map((r) => r ?? Infinity));
      if (slowest > 2000) late++;
      worst.push(slowest);
    }
    await sleep(1000);
    const after = await streamJson(url);
    const webrtc = after.webrtc as { viewers: number };
    const figures = [
      `kills: ${kills} SIGKILLs of the capture process at random 1-4 s intervals, 3 WHEP viewers + 1 WebSocket player`,
      `  frames resumed at every client after: median ${Math.round(median(worst))} ms, ` +
      `p95 ${Math.round(percentile([...worst].sort((a, b) => a - b), 95))} ms, max ${
        Math.round(Math.max(...worst))
      } ms; ` +
      `${late} of ${kills} over 2 s`,
      `  restarts counted: ${
        (after.restarts as number) - restartsBefore
      } (kills: ${kills}); WHEP viewers still ` +
      `connected: ${webrtc.viewers} of 3; WebSocket player open: ${
        player.socket.readyState === WebSocket.OPEN
      }`,
    ];
    player.socket.close();
    for (const viewer of viewers) await viewer.close();
    return figures;
  });
}

/** One mutation of an offer's lines, picked at random: what a fuzzer or a broken client sends. */
function mutate(sdp: string): string {
  const lines = sdp.split("\r\n").filter((l) => l !== "");
  const pick = () => Math.floor(Math.random() * lines.length);
  const ops: (() => void)[] = [
    () => lines.splice(pick(), 1),
    () => lines.splice(pick(), 0, lines[pick()]),
    () => lines[pick()] = lines[pick()].replace(/\d+/g, () => String(Math.floor(Math.random() * 1e6))),
    () => lines[pick()] = lines[pick()].slice(0, Math.floor(Math.random() * 20)),
    () => lines.splice(pick(), 0, `a=${"x".repeat(Math.floor(Math.random() * 5000))}`),
    () =>
      lines.push(
        ...Array.from({ length: 1 + Math.floor(Math.random() * 50) }, (_, i) =>
          `m=video 9 UDP/TLS/RTP/SAVPF 96\r\na=mid:z${i}`),
      ),
    () => lines.splice(pick(), 0, `a=candidate:1 1 udp 1 10.${pick()}.0.1 9 typ host`),
    () => lines.sort(() => Math.random() - 0.5),
    () => lines[pick()] = lines[pick()].replace("sendrecv", "inactive").replace("recvonly", "sendonly"),
  ];
  const count = 1 + Math.floor(Math.random() * 3);
  for (let i = 0; i < count; i++) ops[Math.floor(Math.random() * ops.length)]();
  return lines.join("\r\n") + "\r\n";
}

async function httpPart(requests: number): Promise<string[]> {
  const offers = await realOffers();
  return await withService(async (url) => {
    const statuses = new Map<number, number>();
    const durations: number[] = [];
    let resets = 0;
    let slow = 0;
    const examples: string[] = [];
    const send = async (path: string, init: RequestInit) => {
      const started = performance.now();
      try {
        const res = await fetch(`${url}${path}`, { ...init, signal: AbortSignal.timeout(10_000) });
        const text = await res.text();
        if (res.status >= 500 && res.status !== 503 && examples.length < 3) {
          examples.push(`${init.method ?? "GET"} ${path} → ${res.status} ${text.trim()}`);
        }
        const tookMs = performance.now() - started;
        if (tookMs > 1000 && examples.length < 6) {
          examples.push(`${init.method ?? "GET"} ${path} → ${res.status} after ${Math.round(tookMs)} ms`);
        }
        statuses.set(res.status, (statuses.get(res.status) ?? 0) + 1);
        const location = res.headers.get("location");
        if (res.status === 201 && location) {
          await fetch(`${url}${location}`, { method: "DELETE" }).then((r) => r.body?.cancel());
        }
      } catch {
        resets++;
      }
      const ms = performance.now() - started;
      durations.push(ms);
      if (ms > 1000) slow++;
    };
    const sdp = { "Content-Type": "application/sdp" };
    const doors: (() => [string, RequestInit])[] = [
      () => ["/whep/front", { method: "POST", headers: sdp, body: mutate(offers.whep) }],
      () => ["/rear/whep", { method: "POST", headers: sdp, body: mutate(offers.whep) }],
      () => ["/whip/bench", { method: "POST", headers: sdp, body: mutate(offers.whip) }],
      () => ["/offer", { method: "POST", headers: sdp, body: mutate(offers.whep) }],
      () => ["/offer", {
        method: "POST",
        headers: { "Content-Type": "application/json" },
        body: Math.random() < 0.5 ? JSON.stringify({ type: "offer", sdp: mutate(offers.whep) }) : '{"type":',
      }],
      () => [`/whep/front/${crypto.randomUUID()}`, {
        method: "PATCH",
        headers: { "Content-Type": "application/trickle-ice-sdpfrag", "If-Match": "*" },
        body: "a=ice-ufrag:x\r\na=candidate:garbage\r\n",
      }],
      () => ["/static/%E0%A4%A.js", {}],
      () => [`/whep/${"%ff".repeat(40)}`, { method: "POST", headers: sdp, body: offers.whep }],
      () => ["/whep/front", { method: "POST", headers: { "Content-Type": "text/plain" }, body: offers.whep }],
      () => ["/whep/front", { method: "POST", headers: sdp, body: "v=0\r\n" + "a".repeat(200_000) }],
      () => ["/api/streams/nope", {}],
      () => ["/whip/a%0D%0Ab", { method: "POST", headers: sdp, body: offers.whip }],
      () => ["/ws/front", { headers: { Upgrade: "websocket" } }],
    ];
    const started = performance.now();
    // Eight clients at once, as a small crowd of broken players would be.
    let next = 0;
    await Promise.all(Array.from({ length: 8 }, async () => {
      while (next < requests) {
        next++;
        await send(...doors[Math.floor(Math.random() * doors.length)]());
      }
    }));
    const seconds = (performance.now() - started) / 1000;
    const errors = [...statuses].filter(([s]) => s >= 500 && s !== 503).reduce((n, [, c]) => n + c, 0);
    const sorted = [...durations].sort((a, b) => a - b);
    const health = await fetch(`${url}/health`).then((r) => (r.body?.cancel(), r.status));
    return [
      `http: ${requests} mutated offers and malformed requests on every door, 8 at a time, in ${
        seconds.toFixed(0)
      } s`,
      `  statuses: ${[...statuses].sort(([a], [b]) => a - b).map(([s, c]) => `${s}×${c}`).join(", ")}`,
      `  5xx other than 503: ${errors}; resets: ${resets}; replies over 1 s: ${slow}; ` +
      `reply p50 ${sorted[Math.floor(sorted.length / 2)].toFixed(1)} ms, p99 ${
        percentile(sorted, 99).toFixed(0)
      } ms, ` +
      `max ${sorted.at(-1)!.toFixed(0)} ms; /health afterwards: ${health}`,
      ...examples.map((e) => `  e.g. ${e}`),
    ];
  });
}

async function fuzzPart(runs: number): Promise<string[]> {
  // Loaded only when asked for: it brings fast-check, which the other parts do not need.
  const { fuzzBench } = await import("./fuzz.ts");
  const results = await fuzzBench(runs);
  return [
    `fuzz: ${runs} property-based inputs (fast-check) to the pure parsers`,
    ...results.map((r) => `  ${JSON.stringify(r)}`),
  ];
}

/** Frames per second of each arrival list over [from, to). */
function rates(lists: number[][], from: number, to: number): number[] {
  return lists.map((a) => a.filter((t) => t >= from && t < to).length / ((to - from) / 1000));
}

async function slowPart(): Promise<string[]> {
  return await withService(async (url) => {
    const ws = url.replace(/^http/, "ws");
    const viewers = Array.from({ length: 8 }, () => new Viewer());
    for (const viewer of viewers) await viewer.connect(`${url}/whep/front`);
    const player = new Player(`${ws}/ws/front`);
    await player.opened;
    await sleep(3000);
    const windowMs = 30_000;
    const measure = async () => {
      const from = performance.now();
      const firstDelay = player.delays.length;
      await sleep(windowMs);
      const fps = rates([...viewers.map((v) => v.arrivals), player.arrivals], from, from + windowMs);
      return { fps: median(fps), minFps: Math.min(...fps), delay: median(player.delays.slice(firstDelay)) };
    };
    const alone = await measure();
    // A WHEP viewer in its own process, then frozen (SIGSTOP): its receive side stalls entirely.
    const frozen = new Deno.Command(Deno.execPath(), {
      args: [
        "eval",
        `import { watchOnce } from "./scripts/bench/churn.ts"; await watchOnce("${url}/whep/front", 600000);`,
      ],
      cwd: ROOT.pathname,
      stdout: "null",
      stderr: "null",
    }).spawn();
    await sleep(5000);
    const watching = ((await streamJson(url)).webrtc as { viewers: number }).viewers;
    Deno.kill(frozen.pid, "SIGSTOP");
    const stalled = await stalledUpgrade(url, "/ws/front");
    await sleep(3000);
    const withSlow = await measure();
    Deno.kill(frozen.pid, "SIGKILL");
    await frozen.status;
    stalled.conn.close();
    player.socket.close();
    for (const viewer of viewers) await viewer.close();
    const pct = (a: number, b: number) => `${((b / a - 1) * 100).toFixed(1)} %`;
    return [
      "slow: 8 WHEP viewers and 1 WebSocket player measured over 30 s, alone and then beside a frozen WHEP " +
      "viewer (SIGSTOP) and a WebSocket player that never reads",
      `  frame rate median ${alone.fps.toFixed(1)} → ${withSlow.fps.toFixed(1)} fps (${
        pct(alone.fps, withSlow.fps)
      }), ` +
      `slowest client ${alone.minFps.toFixed(1)} → ${withSlow.minFps.toFixed(1)} fps`,
      `  capture → WebSocket player delay median ${alone.delay.toFixed(1)} → ${withSlow.delay.toFixed(1)} ms`,
      `  WHEP viewers connected before the freeze: ${watching} (8 + the frozen one); the stalled player's ` +
      `upgrade: ${stalled.status}`,
    ];
  });
}

function ringsInShm(): number {
  return [...Deno.readDirSync("/dev/shm")].filter((e) => e.name.startsWith(`${SHM_PREFIX}-`)).length;
}

/** Runs `count` calls of `one`, `concurrency` at a time; returns how often each result came. */
async function flood(count: number, concurrency: number, one: (i: number) => Promise<string>) {
  const results = new Map<string, number>();
  let next = 0;
  await Promise.all(Array.from({ length: concurrency }, async () => {
    while (next < count) {
      const result = await one(next++).catch((err: Error) => `error ${err.name}`);
      results.set(result, (results.get(result) ?? 0) + 1);
    }
  }));
  return [...results].map(([r, n]) => `${r}×${n}`).join(", ");
}

async function floodsPart(): Promise<string[]> {
  const offers = await realOffers();
  return await withService(async (url, pid) => {
    const lines: string[] = ["floods (default limits; RSS from /proc, memory guard at 512 MB)"];
    const startRings = ringsInShm();
    const startKb = vmRssKb(pid);
    let peakKb = startKb;
    const sampler = setInterval(() => peakKb = Math.max(peakKb, vmRssKb(pid)), 100);
    // The flood comes from four addresses, a real viewer from a fifth (loopback has them all).
    const floodClients = [10, 11, 12, 13].map((n) => Deno.createHttpClient({ localAddress: `127.0.0.${n}` }));
    const viewerClient = Deno.createHttpClient({ localAddress: "127.0.0.20" });
    const realViewer = async () => {
      const viewer = new Viewer();
      const started = performance.now();
      try {
        await viewer.connect(`${url}/whep/front`, viewerClient);
        while (viewer.arrivals.length < 10) {
          if (performance.now() - started > 15_000) {
            throw new Error(`${viewer.arrivals.length} frames in 15 s`);
          }
          await sleep(20);
        }
        return `a real viewer got 10 frames ${Math.round(performance.now() - started)} ms after its POST`;
      } catch (err) {
        return `a real viewer failed: ${(err as Error).message}`;
      } finally {
        await viewer.close();
      }
    };
    const health = () => fetch(`${url}/health`).then((r) => (r.body?.cancel(), r.status));
    const post = (path: string, body: string, i: number) =>
      fetch(`${url}${path}`, {
        method: "POST",
        headers: { "Content-Type": "application/sdp" },
        body,
        client: floodClients[i % floodClients.length],
      }).then(async (r) => (await r.body?.cancel(), String(r.status)));
    const pending = async () => {
      let sum = 0;
      for (const name of ["front", "rear"]) {
        sum += ((await streamJson(url, name)).webrtc as { pending: number }).pending;
      }
      return sum;
    };

    const whep = flood(1000, 16, (i) => post("/whep/front", offers.whep, i));
    const joined = await realViewer();
    lines.push(
      `  1,000 WHEP POSTs never completed, from 4 addresses: ${await whep}; health ${await health()}; ${joined}`,
    );
    await sleep(11_000);
    lines.push(`    connecting sessions 11 s later: ${await pending()}`);

    const held: Deno.TcpConn[] = [];
    const players = await flood(1000, 16, async () => {
      const { conn, status } = await stalledUpgrade(url, "/ws/front");
      held.push(conn);
      return String(status);
    });
    lines.push(
      `  1,000 WebSocket players that never read: ${players}; health ${await health()}; ${await realViewer()}`,
    );
    for (const conn of held) conn.close();
    await sleep(2000);
    lines.push(`    players left after they went: ${(await streamJson(url)).ws_players}`);

    const names = await flood(1000, 16, (i) => post(`/whip/flood-${i}`, offers.whip, i));
    lines.push(`  1,000 made-up WHIP names: ${names}; health ${await health()}; ${await realViewer()}`);
    const streams = async () => ((await (await fetch(`${url}/api/streams`)).json()) as unknown[]).length;
    lines.push(`    streams ${await streams()}, rings in /dev/shm ${ringsInShm()} (at start ${startRings})`);
    await sleep(50_000);
    lines.push(`    50 s later: streams ${await streams()}, rings ${ringsInShm()}`);
    clearInterval(sampler);
    lines.push(
      `  RSS ${Math.round(startKb / 1024)} MB before, peak ${Math.round(peakKb / 1024)} MB, ` +
        `${Math.round(vmRssKb(pid) / 1024)} MB after`,
    );
    for (const client of [...floodClients, viewerClient]) client.close();
    return lines;
  });
}

async function soakPart(minutes: number): Promise<string[]> {
  return await withService(async (url, pid) => {
    const player = new Player(`${url.replace(/^http/, "ws")}/ws/front`);
    await player.opened;
    const started = performance.now();
    const endAt = started + minutes * 60_000;
    // [minutes since start, RSS kB] after each session, and the player's delays by time.
    const rss: [number, number][] = [[0, vmRssKb(pid)]];
    const delayAt: [number, number][] = [];
    let seen = 0;
    let sessions = 0;
    let failures = 0;
    while (performance.now() < endAt) {
      await watchOnce(`${url}/whep/front`, 2000 + Math.random() * 3000).catch(() => failures++);
      sessions++;
      const at = (performance.now() - started) / 60_000;
      rss.push([at, vmRssKb(pid)]);
      for (; seen < player.delays.length; seen++) delayAt.push([at, player.delays[seen]]);
    }
    await sleep(5000);
    const webrtc = (await streamJson(url)).webrtc as { viewers: number; pending: number };
    // The first tenth is warm-up (lazy allocations, JIT); the slope is over the rest.
    const steady = rss.filter(([m]) => m >= minutes / 10);
    const tenth = (from: number, to: number) =>
      median(delayAt.filter(([m]) => m >= from && m < to).map(([, d]) => d));
    const mb = (kb: number) => (kb / 1024).toFixed(1);
    return [
      `soak: ${minutes} min, a WHEP viewer joining and leaving every 2-5 s (${sessions} sessions, ` +
      `${failures} failed), a WebSocket player throughout`,
      `  RSS ${mb(rss[0][1])} MB at start, ${mb(steady[0]?.[1] ?? NaN)} MB after warm-up, ` +
      `${mb(rss.at(-1)![1])} MB at the end; slope after warm-up ${
        (slope(steady) * 60 / 1024).toFixed(2)
      } MB/h`,
      `  sessions left at the end: ${webrtc.viewers} connected, ${webrtc.pending} connecting`,
      `  capture → WebSocket delay median, first tenth ${tenth(0, minutes / 10).toFixed(1)} ms, last tenth ` +
      `${tenth(minutes * 0.9, minutes + 1).toFixed(1)} ms`,
    ];
  });
}

/** Runs the named parts and returns their figures, a line each, for BENCHMARKS.md. */
export async function reliabilityBench(
  parts: ReliabilityPart[],
  options: ReliabilityOptions,
): Promise<string[]> {
  const out: string[] = [];
  for (const part of parts) {
    const lines = part === "kills"
      ? await killsPart(options.kills)
      : part === "http"
      ? await httpPart(options.requests)
      : part === "fuzz"
      ? await fuzzPart(options.fuzzRuns)
      : part === "slow"
      ? await slowPart()
      : part === "floods"
      ? await floodsPart()
      : await soakPart(options.soakMinutes);
    out.push(...lines);
  }
  return out;
}
