// What a process started with `--inspect` holds: a heap snapshot taken over the Chrome DevTools protocol
// after a full GC, summed per constructor, and the figures outside V8's heap. Two summaries, before and
// after a load, name what the load left behind on the heap. Deno.memoryUsage() says how much of the RSS
// the heap and the ArrayBuffers outside it account for; glibc's bytes in use (mallinfo2) and Deno's
// open node:crypto cipher contexts show what leaks natively, which no snapshot lists (defect 16: each
// AES-CM SRTP packet left a cipher context behind).

/** Objects of one constructor (or one V8 node type) on the heap. */
export interface HeapGroup {
  count: number;
  /** Bytes of the objects themselves, not of what they point to. */
  selfBytes: number;
}

/** A heap snapshot summed per constructor, and the process's own memory figures at that moment. */
export interface HeapSummary {
  /** "Constructor" for objects, "(type) name" for other nodes (strings, code, closures...). */
  groups: Map<string, HeapGroup>;
  /** Deno.memoryUsage() of the inspected process, taken right after the snapshot. */
  memory: ProcessMemory;
}

/** A process's memory as it sees it. */
export interface ProcessMemory {
  /** Deno.memoryUsage(), in bytes. */
  rss: number;
  heapTotal: number;
  heapUsed: number;
  external: number;
  /** Bytes glibc's malloc has handed out and not had back (mallinfo2's uordblks), every arena. */
  mallocInUse: number;
  /** node:crypto cipher contexts open in Deno's resource table. */
  cipherContexts: number;
}

/**
 * Evaluated in the inspected process (which needs --allow-ffi): its memory figures as JSON. Deno's
 * resource table is reachable only through its internals.
 */
const MEMORY_EXPRESSION = `(() => {
  const libc = Deno.dlopen("libc.so.6", {
    mallinfo2: { parameters: [], result: { struct: Array(10).fill("usize") } },
  });
  const info = libc.symbols.mallinfo2();
  libc.close();
  const resources = Object.values(Deno[Deno.internal].core.resources());
  return JSON.stringify({
    ...Deno.memoryUsage(),
    mallocInUse: Number(new BigUint64Array(info.buffer, info.byteOffset, 10)[7]),
    cipherContexts: resources.filter((name) => name.startsWith("crypto")).length,
  });
})()`;

interface Snapshot {
  snapshot: { meta: { node_fields: string[]; node_types: [string[]] } };
  nodes: number[];
  strings: string[];
}

/** Node types grouped by their constructor name; the rest are grouped by type and name. */
const BY_NAME = new Set(["object", "closure", "native", "hidden", "array"]);

/** Sums a parsed heap snapshot per constructor. */
export function summarize(snapshot: Snapshot): Map<string, HeapGroup> {
  const fields = snapshot.snapshot.meta.node_fields;
  const types = snapshot.snapshot.meta.node_types[0];
  const stride = fields.length;
  const [typeAt, nameAt, sizeAt] = ["type", "name", "self_size"].map((f) => fields.indexOf(f));
  const groups = new Map<string, HeapGroup>();
  const { nodes, strings } = snapshot;
  for (let i = 0; i < nodes.length; i += stride) {
    const type = types[nodes[i + typeAt]];
    // V8 names some internal objects with their node id ("system / Context / scope @1234"): one group.
    const label = strings[nodes[i + nameAt]].replace(/ @\d+$/, "").slice(0, 60);
    const name = type === "object" ? label : `(${type})${BY_NAME.has(type) ? ` ${label}` : ""}`;
    const group = groups.get(name) ?? { count: 0, selfBytes: 0 };
    group.count++;
    group.selfBytes += nodes[i + sizeAt];
    groups.set(name, group);
  }
  return groups;
}

/** A DevTools protocol session over the inspector's WebSocket. */
class Inspector {
  #next = 1;
  readonly #pending = new Map<number, PromiseWithResolvers<Record<string, unknown>>>();
  readonly #events = new Map<string, (params: Record<string, unknown>) => void>();

  private constructor(private readonly socket: WebSocket) {
    socket.addEventListener("message", (e) => {
      const message = JSON.parse(e.data);
      if (message.id !== undefined) {
        const waiting = this.#pending.get(message.id);
        this.#pending.delete(message.id);
        if (message.error) waiting?.reject(new Error(JSON.stringify(message.error)));
        else waiting?.resolve(message.result);
      } else {
        this.#events.get(message.method)?.(message.params);
      }
    });
  }

  /** Connects to the first target of the inspector at `hostPort` (e.g. 127.0.0.1:9229). */
  static async connect(hostPort: string): Promise<Inspector> {
    const [target] = await (await fetch(`http://${hostPort}/json/list`)).json();
    const socket = new WebSocket(target.webSocketDebuggerUrl);
    await new Promise((resolve, reject) => {
      socket.addEventListener("open", resolve);
      socket.addEventListener("error", () => reject(new Error(`cannot open ${target.webSocketDebuggerUrl}`)));
    });
    return new Inspector(socket);
  }

  on(event: string, handler: (params: Record<string, unknown>) => void): void {
    this.#events.set(event, handler);
  }

  call(method: string, params: Record<string, unknown> = {}): Promise<Record<string, unknown>> {
    const id = this.#next++;
    const waiting = Promise.withResolvers<Record<string, unknown>>();
    this.#pending.set(id, waiting);
    this.socket.send(JSON.stringify({ id, method, params }));
    return waiting.promise;
  }

  close(): void {
    this.socket.close();
  }
}

/**
 * The memory figures of the process whose inspector listens at `hostPort`, after a full GC when
 * `collectGarbage` (what is still in use then is what is held, not garbage).
 */
export async function memoryUsage(hostPort: string, collectGarbage = false): Promise<ProcessMemory> {
  const inspector = await Inspector.connect(hostPort);
  try {
    if (collectGarbage) {
      await inspector.call("HeapProfiler.enable");
      await inspector.call("HeapProfiler.collectGarbage");
    }
    return await evaluateMemory(inspector);
  } finally {
    inspector.close();
  }
}

async function evaluateMemory(inspector: Inspector): Promise<ProcessMemory> {
  const evaluated = await inspector.call("Runtime.evaluate", {
    expression: MEMORY_EXPRESSION,
    returnByValue: true,
  });
  return JSON.parse((evaluated.result as { value: string }).value);
}

/**
 * Takes a heap snapshot of the process whose inspector listens at `hostPort` (a full GC comes first) and
 * sums it per constructor; `saveTo`, if given, keeps the raw snapshot for DevTools.
 */
export async function heapSummary(hostPort: string, saveTo?: string): Promise<HeapSummary> {
  const inspector = await Inspector.connect(hostPort);
  try {
    const chunks: string[] = [];
    inspector.on("HeapProfiler.addHeapSnapshotChunk", (p) => chunks.push(p.chunk as string));
    await inspector.call("HeapProfiler.enable");
    await inspector.call("HeapProfiler.collectGarbage");
    await inspector.call("HeapProfiler.takeHeapSnapshot", { reportProgress: false });
    const text = chunks.join("");
    if (saveTo) await Deno.writeTextFile(saveTo, text);
    return { groups: summarize(JSON.parse(text)), memory: await evaluateMemory(inspector) };
  } finally {
    inspector.close();
  }
}

/** The groups that grew most from `before` to `after`, by bytes, as lines for a report. */
export function heapGrowth(before: HeapSummary, after: HeapSummary, top = 30): string[] {
  const rows = [...after.groups].map(([name, a]) => {
    const b = before.groups.get(name) ?? { count: 0, selfBytes: 0 };
    return { name, count: a.count - b.count, bytes: a.selfBytes - b.selfBytes, total: a.count };
  });
  rows.sort((x, y) => y.bytes - x.bytes);
  const mb = (n: number) => (n / 1e6).toFixed(1);
  const [b, a] = [before.memory, after.memory];
  return [
    `heap used ${mb(b.heapUsed)} -> ${mb(a.heapUsed)} MB, external ${mb(b.external)} -> ${
      mb(a.external)
    } MB, ` +
    `malloc in use ${mb(b.mallocInUse)} -> ${mb(a.mallocInUse)} MB, cipher contexts ${b.cipherContexts} -> ` +
    `${a.cipherContexts}, rss ${mb(b.rss)} -> ${mb(a.rss)} MB`,
    ...rows.slice(0, top).map((r) =>
      `  ${r.bytes >= 0 ? "+" : ""}${(r.bytes / 1e3).toFixed(0).padStart(8)} kB ` +
      `${(r.count >= 0 ? "+" : "") + r.count} (now ${r.total})  ${r.name}`
    ),
  ];
}
