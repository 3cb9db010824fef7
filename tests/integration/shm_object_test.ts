// Rings as objects in /dev/shm: a ring /dev/shm has no room for, the mode a ring gets, and the rings a
// killed run left behind.
import assert from "node:assert/strict";
import { parseConfig } from "../../lib/config/load.ts";
import { Log } from "../../lib/log.ts";
import { removeStaleRings, ShmOutput } from "../../lib/outputs/shm.ts";
import { type RingGeometry, ringSize, SLOT_ALIGN } from "../../lib/shm/layout.ts";
import { createObject, openObject, ShmSpaceError, unlinkObject } from "../../lib/shm/libc.ts";
import { createRing } from "../../lib/shm/object.ts";
import { RingCursor } from "../../lib/shm/ring.ts";
import { Stream } from "../../lib/stream/stream.ts";
import { au } from "../helpers/access_units.ts";
import {
  exitedPid,
  killWriter,
  logLines,
  ringExists,
  ringWrittenBy,
  shmFreeBytes,
  standInWriter,
  uniquePrefix,
} from "../helpers/shm.ts";

const MAX_SLOT_SIZE = 268_435_456;

/** A ring geometry whose object is larger than what /dev/shm has free now. */
async function largerThanFree(): Promise<RingGeometry> {
  const free = await shmFreeBytes();
  return { slotCount: Math.ceil(free / MAX_SLOT_SIZE) + 1, slotSize: MAX_SLOT_SIZE };
}

Deno.test("a ring larger than the free space of /dev/shm is refused at once, with nothing left behind", async () => {
  const name = `${uniquePrefix()}-huge`;
  const geometry = await largerThanFree();
  try {
    let error: unknown;
    try {
      createRing(name, geometry, 0o600, "h264");
    } catch (err) {
      error = err;
    }
    assert.ok(error instanceof ShmSpaceError, `refused with ShmSpaceError, not ${error}`);
    const { message, size, free } = error;
    assert.equal(size, ringSize(geometry));
    assert.ok(free < size);
    assert.match(message, new RegExp(`/dev/shm/${name}: it needs ${size} bytes .* /dev/shm has \\d+ bytes`));
    assert.ok(!ringExists(name), "no object is left");
  } finally {
    unlinkObject(name);
  }
});

Deno.test("the shared-memory output without room: one clear error, no ring in the status, the stream runs on", async () => {
  const name = `${uniquePrefix()}-cam`;
  const geometry = await largerThanFree();
  const stream = new Stream("cam", "h264", 8);
  let output: ShmOutput | undefined;
  const lines = await logLines(() => {
    output = new ShmOutput(stream, { name, ...geometry, mode: 0o600 }, new Log());
  });
  try {
    assert.equal(lines.length, 1, lines.join("\n"));
    assert.match(lines[0], /ERROR/);
    assert.match(lines[0], new RegExp(`cam: no shared-memory ring /dev/shm/${name}`));
    assert.match(lines[0], new RegExp(`needs ${ringSize(geometry)} bytes`));
    assert.match(lines[0], /has \d+ bytes .*free/);
    const status = output!.status();
    assert.equal(status.generation, null);
    assert.match(status.error!, /no room/);
    assert.ok(!ringExists(name));
    const reader = stream.subscribe();
    stream.publish(au(1, true));
    assert.equal(reader.tryNext()?.data.length, 100, "the stream's other readers go on");
    reader.close();
  } finally {
    output?.close();
    unlinkObject(name);
  }
});

Deno.test("in a full /dev/shm the service refuses the ring instead of dying of SIGBUS on a write", async () => {
  const helper = new URL("../helpers/shm_full_dev_shm.ts", import.meta.url).pathname;
  // A private mount namespace with its own 1 MiB /dev/shm: the machine's /dev/shm is never filled.
  const script = 'mount -t tmpfs -o size=1m tmpfs /dev/shm && exec "$0" run -A "$1"';
  let run;
  try {
    run = await new Deno.Command("unshare", {
      args: [
        "--map-root-user",
        "--mount",
        "--propagation",
        "private",
        "sh",
        "-c",
        script,
        Deno.execPath(),
        helper,
      ],
      stdout: "piped",
      stderr: "piped",
    }).output();
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) throw new Error("unshare not found: apt-get install util-linux");
    throw err;
  }
  const stderr = new TextDecoder().decode(run.stderr);
  assert.equal(run.signal, null, `the writer died of ${run.signal}; stderr:\n${stderr}`);
  assert.equal(run.code, 0, stderr);
  const { status, frames, left } = JSON.parse(new TextDecoder().decode(run.stdout));
  assert.equal(frames, 16, "the stream ran on");
  const size = ringSize({ slotCount: 8, slotSize: 262_144 });
  assert.match(status.error, new RegExp(`no room for /dev/shm/edgecam-cam: it needs ${size} bytes`));
  assert.deepEqual(left, [], "nothing left in /dev/shm");
  assert.match(stderr, /ERROR .*no shared-memory ring \/dev\/shm\/edgecam-cam/);
});

Deno.test("with the default [shm] mode a ring is readable and writable by the service's user alone", () => {
  const prefix = uniquePrefix();
  const { shm } = parseConfig(`[shm]\nprefix = "${prefix}"\nslot_count = 4\nslot_size = ${64 * SLOT_ALIGN}`);
  const name = `${prefix}-cam`;
  const output = new ShmOutput(new Stream("cam", "h264", 8), { name, ...shm }, new Log("error"));
  try {
    assert.equal(Deno.statSync(`/dev/shm/${name}`).mode! & 0o777, 0o600);
  } finally {
    output.close();
  }
});

Deno.test("at start, rings whose writer is gone are removed; rings of live writers and other objects stay", async () => {
  const prefix = uniquePrefix();
  const dead = await exitedPid();
  const live = standInWriter();
  const names = {
    stale: `${prefix}-stale`,
    live: `${prefix}-live`,
    ours: `${prefix}-ours`,
    notRing: `${prefix}-not-a-ring`,
    otherPrefix: `${uniquePrefix()}-stale`,
  };
  const rings = [
    ringWrittenBy(names.stale, dead),
    ringWrittenBy(names.live, live.pid),
    ringWrittenBy(names.ours, Deno.pid),
    ringWrittenBy(names.otherPrefix, dead),
  ];
  createObject(names.notRing, 4096, 0o600).unmap();
  const staleMapping = openObject(names.stale, false)!;
  const readerOfStale = new RingCursor(staleMapping.buffer);
  try {
    const lines = await logLines(() => removeStaleRings(prefix, new Log()));
    assert.ok(!ringExists(names.stale), "the ring of a dead writer is removed");
    for (const kept of [names.live, names.ours, names.notRing, names.otherPrefix]) {
      assert.ok(ringExists(kept), `${kept} is kept`);
    }
    assert.ok(readerOfStale.closed, "a reader still on the stale ring is told it closed");
    assert.equal(lines.length, 1, lines.join("\n"));
    assert.match(
      lines[0],
      new RegExp(`INFO .*removed /dev/shm/${names.stale}: .*writer \\(pid ${dead}\\) is gone`),
    );
  } finally {
    staleMapping.unmap();
    await killWriter(live);
    for (const { mapping } of rings) mapping.unmap();
    for (const name of Object.values(names)) unlinkObject(name);
  }
});
