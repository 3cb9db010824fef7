// Readers at the edges of a ring's life: its writer killed under them, and a reader used after it let go
// of the mapping.
import assert from "node:assert/strict";
import { ShmReader, WriterGoneError } from "../../lib/shm/client.ts";
import { unlinkObject } from "../../lib/shm/libc.ts";
import { createRing, removeRing } from "../../lib/shm/object.ts";
import { au } from "../helpers/access_units.ts";
import {
  exitedPid,
  killWriter,
  ReaderProcess,
  ringWrittenBy,
  standInWriter,
  uniquePrefix,
} from "../helpers/shm.ts";

/** Resolves with what `promise` gives, or rejects once `ms` passed: a reader must not wait for ever. */
function within<T>(ms: number, what: string, promise: Promise<T>): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: nothing after ${ms} ms`)), ms);
  });
  return Promise.race([promise, late]).finally(() => clearTimeout(timer));
}

Deno.test("a reader whose writer was killed", async (t) => {
  const cases: [string, boolean][] = [
    ["says so, then gives up with WriterGoneError when no new ring comes", false],
    ["says so, then follows the new ring when one takes the name", true],
  ];
  for (const [name, restarts] of cases) {
    await t.step(name, async () => {
      const ring = `${uniquePrefix()}-cam`;
      const writer = standInWriter();
      const old = ringWrittenBy(ring, writer.pid);
      let next: ReturnType<typeof createRing> | undefined;
      const reader = await ShmReader.attach(ring, { waitMs: 50, retryMs: 20, rejoinMs: 1000 });
      try {
        assert.equal((await reader.next())?.kind, "frame");
        await killWriter(writer);
        const gone = await within(2000, "writer-gone", reader.next());
        assert.deepEqual(gone, { kind: "writer-gone", generation: reader.generation, pid: writer.pid });
        if (restarts) {
          next = createRing(ring, { slotCount: 4, slotSize: 4096 }, 0o600, "h264");
          next.writer.write(au(1, true));
          const followed = await within(2000, "generation", reader.next());
          assert.equal(followed?.kind, "generation");
          assert.equal((await reader.next())?.kind, "frame");
        } else {
          await within(3000, "WriterGoneError", assert.rejects(reader.next(), WriterGoneError));
          assert.equal(await reader.next(), undefined, "a reader that gave up is closed");
        }
      } finally {
        await killWriter(writer);
        await reader.close();
        old.mapping.unmap();
        if (next) removeRing(next);
        unlinkObject(ring);
      }
    });
  }
});

Deno.test("a ring whose writer is gone is not attached to, and the error says why", async () => {
  const ring = `${uniquePrefix()}-cam`;
  const dead = await exitedPid();
  const { mapping } = ringWrittenBy(ring, dead);
  try {
    await assert.rejects(
      ShmReader.attach(ring, { timeoutMs: 200, retryMs: 20 }),
      new RegExp(`no edgecam ring at /dev/shm/${ring}: its writer \\(pid ${dead}\\) is gone`),
    );
  } finally {
    mapping.unmap();
    unlinkObject(ring);
  }
});

Deno.test("the C reader says when the writer was killed, and exits once no new ring came within -r seconds", async () => {
  const ring = `${uniquePrefix()}-cam`;
  const writer = standInWriter();
  const { mapping } = ringWrittenBy(ring, writer.pid);
  const reader = await ReaderProcess.c(ring, ["-r", "1"]);
  try {
    await within(
      5000,
      "the C reader's first frame",
      (async () => {
        while (reader.frames().length === 0) await new Promise((r) => setTimeout(r, 20));
      })(),
    );
    await killWriter(writer);
    const status = await within(5000, "the C reader's exit", reader.done);
    assert.equal(status.code, 4, reader.stderr);
    assert.deepEqual(reader.lines.map((l) => l.kind), ["attached", "frame", "writer_gone", "closed"]);
    assert.equal(reader.lines[2].fields.pid, String(writer.pid));
    assert.match(reader.stderr, new RegExp(`no new ring at /dev/shm/${ring} within 1 s`));
  } finally {
    await reader.stop();
    await killWriter(writer);
    mapping.unmap();
    unlinkObject(ring);
  }
});

Deno.test("after close a reader's getters give the last figures, never touching the unmapped ring", async () => {
  const ring = createRing(`${uniquePrefix()}-cam`, { slotCount: 4, slotSize: 4096 }, 0o600, "h264");
  ring.writer.setFormat(320, 240);
  ring.writer.write(au(1, true));
  const reader = await ShmReader.attach(ring.mapping.name);
  try {
    assert.equal((await reader.next())?.kind, "frame");
    await reader.close();
    ring.writer.write(au(2));
    assert.equal(reader.writeSeq, 1);
    assert.deepEqual(reader.format, { width: 320, height: 240 });
    assert.equal(reader.generation, ring.writer.generation);
    assert.equal(reader.codec, "h264");
    assert.equal(await reader.next(), undefined);
  } finally {
    removeRing(ring);
  }
});
