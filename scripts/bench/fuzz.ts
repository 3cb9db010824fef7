// Property-based fuzzing of the pure parsers that bytes and text from outside reach: a camera pipe's
// H.264 and WebM, a WHIP publisher's RTP, SDP offers and trickle fragments, WebSocket signaling, and the
// config file. fast-check makes each input at random, from the format's own pieces, or as a real fixture
// with a few edits. The property never fails, so every run is counted instead of stopping at the first
// finding; the first escaping throw is then replayed for fast-check to shrink to a small input.
//
//   deno run -A scripts/bench/fuzz.ts [--runs 1000000] [--seed N] [--only sdp,config]
import fc from "fast-check";
import { parseArgs } from "node:util";
import { configTarget } from "./fuzz/config.ts";
import { concat } from "../../lib/media/bytes.ts";
import type { Target } from "./fuzz/inputs.ts";
import { h264Target, rtpTarget, webmTarget } from "./fuzz/media.ts";
import { fragmentTarget, offerTarget, signalTarget } from "./fuzz/sdp.ts";

/** What fuzzing one target found. */
export interface FuzzResult {
  /** The target, named after the modules it feeds. */
  name: string;
  runs: number;
  /** Inputs that threw something other than the errors the target's modules document. */
  escaping: number;
  /** The first escaping throw, replayed and shrunk by fast-check: its error and where in lib/ it came from. */
  firstEscape: { error: string; input: string } | null;
  /** The slowest single input, in ms. */
  maxMs: number;
  /** A preview of that input. */
  slowestInput: string;
  /** Inputs that took over HANG_MS: a parser stuck on crafted input. */
  hangs: number;
  /**
   * heapUsed at the end less after the first tenth of the runs, as V8 reports it (no forced collection:
   * garbage not yet collected counts too, so only growth far beyond a young generation means a leak).
   */
  heapGrowthMb: number;
  seconds: number;
  /** fast-check seed: the same seed and runs replay the same inputs. */
  seed: number;
}

/** What {@link fuzzBench} runs besides the total. */
export interface FuzzOptions {
  /** Base seed (each target adds its index); random when absent. */
  seed?: number;
  /** Names of the targets to run; all when absent. */
  only?: string[];
  /** Called as each target finishes, so a long run shows progress. */
  onResult?: (result: FuzzResult) => void;
}

/** One input slower than this counts as a hang: no parser should spend a second on one request or chunk. */
const HANG_MS = 1000;
/** Characters of an input kept in a result: enough to tell one apart, short enough for one JSON line. */
const PREVIEW_CHARS = 160;
const ESCAPE_PREVIEW_CHARS = 600;

function hex(bytes: Uint8Array, max: number): string {
  const shown = [...bytes.subarray(0, max)].map((b) => b.toString(16).padStart(2, "0")).join("");
  return bytes.length > max ? `${shown}…(${bytes.length} bytes)` : shown;
}

/** A short, readable form of any input: byte arrays in hex, long strings cut with their length. */
function preview(value: unknown, max: number): string {
  if (Array.isArray(value) && value.every((v) => v instanceof Uint8Array)) {
    const bytes = concat(value);
    const sizes = value.slice(0, 8).map((v) => v.length).join("+") + (value.length > 8 ? "+…" : "");
    return `${value.length} chunks (${sizes} bytes): ${hex(bytes, max / 2)}`;
  }
  let text: string;
  try {
    text = JSON.stringify(value, (_, v) => {
      if (v instanceof Uint8Array) return hex(v, 48);
      // Half the room, so that the length still shows when the whole preview is cut at `max`.
      if (typeof v === "string" && v.length > max / 2) return `${v.slice(0, max / 2)}…(${v.length} chars)`;
      return v;
    }) ?? String(value);
  } catch {
    text = Object.prototype.toString.call(value);
  }
  return text.length > max ? `${text.slice(0, max)}…` : text;
}

/** An error's name and message, and the first lib/ frame of its stack: where to look. */
function describe(err: unknown): string {
  if (!(err instanceof Error)) return `non-Error thrown: ${preview(err, 80)}`;
  const where = err.stack?.split("\n").find((l) => l.includes("/lib/"))?.match(/lib\/[^)\s]+/)?.[0];
  return `${err.name}: ${err.message.slice(0, 200)}${where ? ` at ${where}` : ""}`;
}

/** heapUsed as it stands. */
function heapUsed(): number {
  return Deno.memoryUsage().heapUsed;
}

/** The error `input` throws that `target` does not allow, boxed so that a thrown undefined counts too. */
function escapeOf<T>(target: Target<T>, input: T): { error: unknown } | undefined {
  try {
    target.run(input);
  } catch (error) {
    if (!target.allowed(error)) return { error };
  }
  return undefined;
}

/** Runs `target` on `runs` inputs from `seed`; see {@link FuzzResult}. */
function fuzz<T>(target: Target<T>, runs: number, seed: number): FuzzResult {
  const started = performance.now();
  const warmUp = Math.floor(runs / 10);
  let heapBefore = heapUsed();
  let escaping = 0;
  let firstEscapeRun = -1;
  let maxMs = 0;
  let slowest: T | undefined;
  let hangs = 0;
  let run = 0;
  fc.assert(
    fc.property(target.arbitrary, (input) => {
      if (run === warmUp) heapBefore = heapUsed();
      const t0 = performance.now();
      const escape = escapeOf(target, input);
      const ms = performance.now() - t0;
      if (escape && escaping++ === 0) firstEscapeRun = run;
      if (ms > maxMs) {
        maxMs = ms;
        slowest = input;
      }
      if (ms > HANG_MS) hangs++;
      run++;
    }),
    { numRuns: runs, seed },
  );
  const slowestInput = preview(slowest, PREVIEW_CHARS);
  slowest = undefined;
  const heapGrowthMb = (heapUsed() - heapBefore) / 2 ** 20;
  let firstEscape: FuzzResult["firstEscape"] = null;
  if (firstEscapeRun >= 0) {
    // The same seed generates the same inputs, so this run fails at the first escape and shrinks it. The
    // error is the one the shrunk input threw there: a stack overflow may not recur from a shallower stack.
    const details = fc.check(
      fc.property(target.arbitrary, (input) => {
        const escape = escapeOf(target, input);
        if (escape) throw escape.error;
      }),
      { numRuns: firstEscapeRun + 1, seed },
    );
    firstEscape = {
      error: details.failed ? describe(details.errorInstance) : "(not reproduced)",
      input: preview(details.counterexample?.[0], ESCAPE_PREVIEW_CHARS),
    };
  }
  return {
    name: target.name,
    runs,
    escaping,
    firstEscape,
    maxMs: Number(maxMs.toFixed(2)),
    slowestInput,
    hangs,
    heapGrowthMb: Number(heapGrowthMb.toFixed(2)),
    seconds: Number(((performance.now() - started) / 1000).toFixed(1)),
    seed,
  };
}

/**
 * Fuzzes each target in turn with an even share of `totalRuns` inputs; returns one result per target.
 * Reads the fixtures under tests/fixtures/ and config.toml. Measured on one core, an input costs 0.07 ms
 * (SDP) to 0.3 ms (config), so 10^6 inputs take about two minutes.
 */
export async function fuzzBench(totalRuns = 1_000_000, options: FuzzOptions = {}): Promise<FuzzResult[]> {
  const read = (path: string) => Deno.readFile(new URL(`../../${path}`, import.meta.url));
  const [h264, h264High, webm, example] = await Promise.all([
    read("tests/fixtures/testsrc_h264_320x240.h264"),
    read("tests/fixtures/testsrc_h264_high_1920x1080.h264"),
    read("tests/fixtures/testsrc_vp8_320x240.webm"),
    read("config.toml"),
  ]);
  const all: Target<unknown>[] = [
    h264Target(h264, h264High),
    webmTarget(webm),
    rtpTarget(h264, webm),
    offerTarget(),
    fragmentTarget(),
    signalTarget(),
    configTarget(new TextDecoder().decode(example)),
  ];
  const targets = all.filter((t) => !options.only || options.only.some((name) => t.name.startsWith(name)));
  const seed = options.seed ?? Math.floor(Math.random() * 2 ** 31);
  const results: FuzzResult[] = [];
  for (const [i, target] of targets.entries()) {
    // The first targets take the remainder, so that the shares add up to totalRuns.
    const runs = Math.floor(totalRuns / targets.length) + (i < totalRuns % targets.length ? 1 : 0);
    // Seeded by its place in the full list, so a run of one target (--only) replays the same inputs.
    results.push(fuzz(target, runs, (seed + all.indexOf(target)) | 0));
    options.onResult?.(results.at(-1)!);
  }
  return results;
}

if (import.meta.main) {
  const { values } = parseArgs({
    options: {
      runs: { type: "string", default: "1000000" },
      seed: { type: "string" },
      only: { type: "string" },
    },
  });
  const started = performance.now();
  await fuzzBench(Number(values.runs), {
    seed: values.seed === undefined ? undefined : Number(values.seed),
    only: values.only?.split(","),
    onResult: (result) => console.log(JSON.stringify(result)),
  });
  console.error(`fuzz: ${values.runs} runs in ${((performance.now() - started) / 1000).toFixed(0)} s`);
}
