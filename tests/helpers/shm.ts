import { ShmReader } from "../../lib/shm/client.ts";
import type { ShmEvent } from "../../lib/shm/client.ts";
import { nowUs, type RingGeometry, ringSize } from "../../lib/shm/layout.ts";
import { createObject, type Mapping } from "../../lib/shm/libc.ts";
import { RingWriter } from "../../lib/shm/ring.ts";
import { au } from "./access_units.ts";

const ROOT = new URL("../../", import.meta.url).pathname;
const INSTALL =
  "run scripts/bootstrap.sh --test (apt-get install gcc libc6-dev gstreamer1.0-plugins-base-apps)";

/** A ring prefix no other test run (or other checkout on this machine) uses. */
export function uniquePrefix(): string {
  return `edgecam-test-${crypto.randomUUID().slice(0, 8)}`;
}

/** Whether /dev/shm/<name> exists. */
export function ringExists(name: string): boolean {
  try {
    Deno.statSync(`/dev/shm/${name}`);
    return true;
  } catch {
    return false;
  }
}

/** The id of a process that has exited: a ring writer that is gone. */
export async function exitedPid(): Promise<number> {
  const child = new Deno.Command("true").spawn();
  await child.status;
  return child.pid;
}

/** A process that stands in for a ring's writer until it is killed. */
export function standInWriter(): Deno.ChildProcess {
  return new Deno.Command("sleep", { args: ["120"], stdout: "null", stderr: "null" }).spawn();
}

/** Kills a stand-in writer (if it still runs) and waits for it. */
export async function killWriter(writer: Deno.ChildProcess): Promise<void> {
  try {
    writer.kill("SIGKILL");
  } catch {
    // Already exited.
  }
  await writer.status;
}

/** A ring laid out at /dev/shm/<name> as if process `writerPid` wrote it, holding one keyframe. */
export function ringWrittenBy(
  name: string,
  writerPid: number,
  geometry: RingGeometry = { slotCount: 4, slotSize: 4096 },
): { mapping: Mapping; writer: RingWriter } {
  const mapping = createObject(name, ringSize(geometry), 0o600);
  const writer = new RingWriter(mapping.buffer, geometry, {
    generation: nowUs(),
    codec: "h264",
    writerPid,
    createdUs: nowUs(),
  });
  writer.write(au(1, true));
  return { mapping, writer };
}

/** Bytes free on /dev/shm now, as df counts them. */
export async function shmFreeBytes(): Promise<number> {
  const df = await new Deno.Command("df", { args: ["-B1", "--output=avail", "/dev/shm"], stdout: "piped" })
    .output();
  return Number(new TextDecoder().decode(df.stdout).trim().split("\n").at(-1));
}

/** What a Log printed (its lines go to stderr through console.error) while `fn` ran. */
export async function logLines(fn: () => unknown): Promise<string[]> {
  const lines: string[] = [];
  const original = console.error;
  console.error = (line: string) => lines.push(line);
  try {
    await fn();
  } finally {
    console.error = original;
  }
  return lines;
}

let compiled: Promise<string> | undefined;

/** Builds examples/shm/reader.c with gcc, with the README's command, once per test process. */
export function compileCReader(): Promise<string> {
  compiled ??= (async () => {
    await Deno.mkdir(`${ROOT}test-output`, { recursive: true });
    const binary = `${ROOT}test-output/edgecam-shm-reader`;
    let result;
    try {
      result = await new Deno.Command("gcc", {
        args: ["-O2", "-Wall", "-Wextra", "-Werror", "-o", binary, "examples/shm/reader.c"],
        cwd: ROOT,
        stderr: "piped",
      }).output();
    } catch (err) {
      if (err instanceof Deno.errors.NotFound) throw new Error(`gcc not found: ${INSTALL}`);
      throw err;
    }
    if (!result.success) throw new Error(`gcc failed:\n${new TextDecoder().decode(result.stderr)}`);
    return binary;
  })();
  return compiled;
}

/** Compiles a C program next to examples/shm/edgecam_shm.h and returns what it prints. */
export async function compileAndRun(source: string): Promise<string> {
  const dir = await Deno.makeTempDir();
  try {
    await Deno.writeTextFile(`${dir}/main.c`, source);
    let gcc;
    try {
      gcc = await new Deno.Command("gcc", {
        args: ["-Wall", "-Werror", "-I", `${ROOT}examples/shm`, "-o", `${dir}/main`, `${dir}/main.c`],
        stderr: "piped",
      }).output();
    } catch (err) {
      if (err instanceof Deno.errors.NotFound) throw new Error(`gcc not found: ${INSTALL}`);
      throw err;
    }
    if (!gcc.success) throw new Error(`gcc failed:\n${new TextDecoder().decode(gcc.stderr)}`);
    const run = await new Deno.Command(`${dir}/main`, { stdout: "piped" }).output();
    return new TextDecoder().decode(run.stdout);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

/** One line of the C reader (or `deno task shm-read`) output, as key=value fields. */
export interface ReaderLine {
  kind: string;
  fields: Record<string, string>;
}

/** A reader process whose output lines are collected as they come. */
export class ReaderProcess {
  readonly lines: ReaderLine[] = [];
  readonly child: Deno.ChildProcess;
  readonly done: Promise<Deno.CommandStatus>;
  #stderr = "";

  constructor(command: string, args: string[]) {
    const child = new Deno.Command(command, { args, cwd: ROOT, stdout: "piped", stderr: "piped" }).spawn();
    this.child = child;
    const out = (async () => {
      let pending = "";
      for await (const text of child.stdout.pipeThrough(new TextDecoderStream())) {
        pending += text;
        const parts = pending.split("\n");
        pending = parts.pop()!;
        for (const line of parts) this.lines.push(parseLine(line));
      }
    })();
    const err = (async () => {
      for await (const text of child.stderr.pipeThrough(new TextDecoderStream())) this.#stderr += text;
    })();
    this.done = Promise.all([out, err]).then(() => child.status);
  }

  /** The C reader: examples/shm/reader.c, built by {@link compileCReader}. */
  static async c(ring: string, options: string[] = []): Promise<ReaderProcess> {
    return new ReaderProcess(await compileCReader(), [...options, ring]);
  }

  /** `deno task shm-read <stream> --config <path>`, exactly as a user runs it. */
  static task(stream: string, configPath: string): ReaderProcess {
    return new ReaderProcess(Deno.execPath(), ["task", "-q", "shm-read", stream, "--config", configPath]);
  }

  /** What the process wrote to stderr so far. */
  get stderr(): string {
    return this.#stderr;
  }

  /** The `frame` lines, as numbers. */
  frames(): { seq: number; size: number; key: boolean; captureUs: number }[] {
    return this.lines.filter((l) => l.kind === "frame").map(({ fields }) => ({
      seq: Number(fields.seq),
      size: Number(fields.size),
      key: fields.key === "1",
      captureUs: Number(fields.capture_us),
    }));
  }

  /** Stops the process and waits for its output to end. */
  async stop(): Promise<void> {
    try {
      this.child.kill("SIGTERM");
    } catch {
      // Already exited.
    }
    await this.done;
  }
}

function parseLine(line: string): ReaderLine {
  const [kind, ...rest] = line.trim().split(/\s+/);
  return { kind, fields: Object.fromEntries(rest.map((kv) => kv.split("=", 2) as [string, string])) };
}

/** An in-process TypeScript reader that records everything it reads until closed. */
export class RecordingReader {
  readonly events: ShmEvent[] = [];
  readonly #loop: Promise<void>;

  private constructor(readonly reader: ShmReader) {
    this.#loop = (async () => {
      for await (const event of reader) this.events.push(event);
    })();
  }

  /** Attaches to ring `name` (waiting for it to exist). */
  static async attach(name: string): Promise<RecordingReader> {
    return new RecordingReader(await ShmReader.attach(name, { timeoutMs: 20_000 }));
  }

  /** Frames read so far. */
  frames(): Extract<ShmEvent, { kind: "frame" }>[] {
    return this.events.filter((e) => e.kind === "frame");
  }

  /** Detaches and waits for the read loop to end. */
  async close(): Promise<void> {
    await this.reader.close();
    await this.#loop;
  }
}

/** Checks an H.264 file with ffprobe, or gst-discoverer-1.0 when ffprobe is missing; returns its size. */
export async function probeH264(path: string): Promise<{ codec: string; width: number; height: number }> {
  try {
    const out = await new Deno.Command("ffprobe", {
      args: [
        "-v",
        "error",
        "-select_streams",
        "v:0",
        "-show_entries",
        "stream=codec_name,width,height",
        "-of",
        "json",
        path,
      ],
      stdout: "piped",
      stderr: "piped",
    }).output();
    if (!out.success) throw new Error(`ffprobe refused ${path}: ${new TextDecoder().decode(out.stderr)}`);
    const [stream] = JSON.parse(new TextDecoder().decode(out.stdout)).streams;
    return { codec: stream.codec_name, width: stream.width, height: stream.height };
  } catch (err) {
    if (!(err instanceof Deno.errors.NotFound)) throw err;
  }
  let out;
  try {
    out = await new Deno.Command("gst-discoverer-1.0", { args: [path], stdout: "piped", stderr: "piped" })
      .output();
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) {
      throw new Error(`neither ffprobe nor gst-discoverer-1.0 found: ${INSTALL}`);
    }
    throw err;
  }
  const text = new TextDecoder().decode(out.stdout);
  if (!out.success || !/video #\d+: H\.264/.test(text)) {
    throw new Error(`gst-discoverer refused ${path}:\n${text}`);
  }
  return {
    codec: "h264",
    width: Number(/Width: (\d+)/.exec(text)?.[1]),
    height: Number(/Height: (\d+)/.exec(text)?.[1]),
  };
}
