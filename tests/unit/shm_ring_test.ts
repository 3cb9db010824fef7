import assert from "node:assert/strict";
import {
  FLAG_KEYFRAME,
  FLAG_SKIPPED,
  HEADER,
  HEADER_SIZE,
  MAGIC,
  objectNameProblem,
  type RingGeometry,
  ringSize,
  SLOT,
  SLOT_HEADER_SIZE,
  slotOffset,
  STATE_CLOSED,
} from "../../lib/shm/layout.ts";
import {
  markClosed,
  readHeader,
  RingCursor,
  type RingEvent,
  RingFormatError,
  RingWriter,
} from "../../lib/shm/ring.ts";
import { au, idOf } from "../helpers/access_units.ts";

const IDENTITY = { generation: 7, codec: "h264" as const, writerPid: 1234, createdUs: 1_700_000_000_000_000 };

/** A fresh ring in a plain buffer, the way the service lays one out in /dev/shm. */
function ring(geometry: RingGeometry): { buffer: ArrayBuffer; writer: RingWriter } {
  const buffer = new ArrayBuffer(ringSize(geometry));
  return { buffer, writer: new RingWriter(buffer, geometry, IDENTITY) };
}

/** Every event a cursor has now, frames shown by the id written into them. */
function drain(cursor: RingCursor): (string | number)[] {
  const out: (string | number)[] = [];
  for (let e: RingEvent | undefined = cursor.poll(); e; e = cursor.poll()) {
    if (e.kind === "frame") out.push(idOf({ ...au(0), data: e.data })!);
    else if (e.kind === "lapped") out.push(`lapped ${e.missed}`);
    else out.push(`skipped ${e.seq} (${e.length} bytes)`);
  }
  return out;
}

Deno.test("geometry: sizes and slot offsets", async (t) => {
  const cases: [RingGeometry, number, [number, number][]][] = [
    [{ slotCount: 4, slotSize: 4096 }, 256 + 4 * 4160, [[1, 256], [2, 256 + 4160], [4, 256 + 3 * 4160], [
      5,
      256,
    ]]],
    [{ slotCount: 64, slotSize: 1_048_576 }, 256 + 64 * 1_048_640, [[64, 256 + 63 * 1_048_640], [65, 256]]],
  ];
  for (const [geometry, size, offsets] of cases) {
    await t.step(`${geometry.slotCount} x ${geometry.slotSize}`, () => {
      assert.equal(ringSize(geometry), size);
      for (const [seq, offset] of offsets) assert.equal(slotOffset(geometry, seq), offset, `seq ${seq}`);
    });
  }
});

Deno.test("object names: a file directly in /dev/shm, nothing else", async (t) => {
  const cases: [string, boolean][] = [
    ["edgecam-front", true],
    ["video_stream", true],
    ["_x.v1", true],
    ["a".repeat(255), true],
    ["", false],
    ["a".repeat(256), false],
    ["../etc", false],
    ["..", false],
    [".", false],
    [".hidden", false],
    ["a/b", false],
    ["/video_stream", false],
    ["-flag", false],
    ["sp ace", false],
    ["nul\0", false],
  ];
  for (const [name, ok] of cases) {
    await t.step(JSON.stringify(name.length > 20 ? `${name.slice(0, 8)}…(${name.length})` : name), () => {
      assert.equal(objectNameProblem(name) === undefined, ok);
    });
  }
});

Deno.test("the header a writer lays out reads back, magic and all", () => {
  const { buffer, writer } = ring({ slotCount: 4, slotSize: 4096 });
  writer.setFormat(1920, 1080);
  const view = new DataView(buffer);
  assert.equal(view.getUint32(HEADER.magic, true), MAGIC);
  assert.equal(new TextDecoder().decode(new Uint8Array(buffer, 0, 4)), "ECSM");
  assert.equal(view.getUint32(HEADER.headerSize, true), HEADER_SIZE);
  assert.equal(view.getUint32(HEADER.slotHeaderSize, true), SLOT_HEADER_SIZE);
  assert.deepEqual(readHeader(buffer), {
    slotCount: 4,
    slotSize: 4096,
    ...IDENTITY,
    width: 1920,
    height: 1080,
    state: 1,
  });
});

Deno.test("readHeader says why a buffer is not a readable ring", async (t) => {
  const cases: [string, (b: ArrayBuffer) => ArrayBuffer, RegExp][] = [
    ["too small", () => new ArrayBuffer(100), /smaller than a ring header/],
    ["no magic (still being set up)", () => new ArrayBuffer(4096), /no edgecam ring magic/],
    [
      "another layout version",
      (b) => (new DataView(b).setUint32(HEADER.version, 9, true), b),
      /layout version 9/,
    ],
    [
      "unknown codec",
      (b) => (new DataView(b).setUint32(HEADER.codec, 77, true), b),
      /unknown codec number 77/,
    ],
    ["truncated object", (b) => b.slice(0, 1000), /the object has 1000/],
  ];
  for (const [name, damage, reason] of cases) {
    await t.step(name, () => {
      const result = readHeader(damage(ring({ slotCount: 4, slotSize: 4096 }).buffer));
      assert.equal(typeof result, "string");
      assert.match(result as string, reason);
      assert.throws(
        () => new RingCursor(damage(ring({ slotCount: 4, slotSize: 4096 }).buffer)),
        RingFormatError,
      );
    });
  }
});

Deno.test("a slot holds the access unit, its flags, timestamps and sequence", () => {
  const { buffer, writer } = ring({ slotCount: 4, slotSize: 4096 });
  const unit = { ...au(42, true, 300), captureMs: 1_700_000_000_123.456 };
  assert.equal(writer.write(unit, 1_700_000_000_200_000), 1);
  const view = new DataView(buffer);
  const slot = slotOffset(writer.geometry, 1);
  assert.equal(view.getBigUint64(slot + SLOT.seq, true), 1n);
  assert.equal(view.getUint32(slot + SLOT.length, true), 300);
  assert.equal(view.getUint32(slot + SLOT.flags, true), FLAG_KEYFRAME);
  assert.equal(view.getBigInt64(slot + SLOT.pts90k, true), BigInt(unit.pts90k));
  assert.equal(view.getBigUint64(slot + SLOT.captureUs, true), 1_700_000_000_123_456n);
  assert.equal(view.getBigUint64(slot + SLOT.publishUs, true), 1_700_000_000_200_000n);
  assert.deepEqual(new Uint8Array(buffer, slot + SLOT_HEADER_SIZE, 300), unit.data);
  assert.equal(view.getBigUint64(HEADER.writeSeq, true), 1n);
  assert.equal(view.getBigUint64(HEADER.keyframeSeq, true), 1n);
});

Deno.test("a reader starts at the latest keyframe and then follows every access unit", () => {
  const { buffer, writer } = ring({ slotCount: 8, slotSize: 4096 });
  for (let id = 1; id <= 5; id++) writer.write(au(id, id === 1 || id === 4));
  const cursor = new RingCursor(buffer);
  assert.deepEqual(drain(cursor), [4, 5]);
  for (let id = 6; id <= 9; id++) writer.write(au(id));
  assert.deepEqual(drain(cursor), [6, 7, 8, 9]);
  assert.equal(cursor.poll(), undefined);
});

Deno.test("a reader attached before any keyframe waits for one", () => {
  const { buffer, writer } = ring({ slotCount: 8, slotSize: 4096 });
  writer.write(au(1));
  const cursor = new RingCursor(buffer);
  writer.write(au(2));
  writer.write(au(3, true));
  writer.write(au(4));
  assert.deepEqual(drain(cursor), [3, 4]);
  assert.equal(cursor.dropped, 1);
});

Deno.test("a lapped reader notices and resumes at a keyframe", async (t) => {
  const cases: [string, number[], (number | string)[]][] = [
    // 4 slots; the reader read 1 and 2, then 10 more were written (keyframes listed).
    ["the latest keyframe is still in the ring", [7, 10], ["lapped 7", 10, 11, 12]],
    ["the latest keyframe was overwritten: wait for the next", [5], ["lapped 10"]],
  ];
  for (const [name, keyframes, expected] of cases) {
    await t.step(name, () => {
      const { buffer, writer } = ring({ slotCount: 4, slotSize: 4096 });
      writer.write(au(1, true));
      const cursor = new RingCursor(buffer);
      writer.write(au(2));
      assert.deepEqual(drain(cursor), [1, 2]);
      for (let id = 3; id <= 12; id++) writer.write(au(id, keyframes.includes(id)));
      assert.deepEqual(drain(cursor), expected);
      writer.write(au(13));
      writer.write(au(14, true));
      assert.deepEqual(drain(cursor).slice(-1), [14]);
    });
  }
});

Deno.test("a slot reused while the reader copied it is reported as a lap, never as a frame", () => {
  const { buffer, writer } = ring({ slotCount: 4, slotSize: 4096 });
  writer.write(au(1, true));
  const cursor = new RingCursor(buffer);
  // The writer has zeroed slot 1's sequence to fill it again: what a reader sees mid-write.
  new DataView(buffer).setBigUint64(slotOffset(writer.geometry, 1) + SLOT.seq, 0n, true);
  const event = cursor.poll();
  assert.equal(event?.kind, "lapped");
});

Deno.test("an access unit larger than a slot is announced, counted and not truncated", () => {
  const { buffer, writer } = ring({ slotCount: 4, slotSize: 4096 });
  writer.write(au(1, true, 100));
  const cursor = new RingCursor(buffer);
  writer.write(au(2, false, 5000));
  writer.write(au(3, false, 100));
  writer.write(au(4, true, 100));
  const slot = slotOffset(writer.geometry, 2);
  assert.equal(new DataView(buffer).getUint32(slot + SLOT.flags, true), FLAG_SKIPPED);
  assert.equal(writer.skipped, 1);
  assert.equal(writer.framesWritten, 3);
  assert.equal(new DataView(buffer).getBigUint64(HEADER.skipped, true), 1n);
  // Frame 3 depends on the skipped one: the reader goes on at the next keyframe.
  assert.deepEqual(drain(cursor), [1, "skipped 2 (5000 bytes)", 4]);
});

Deno.test("closing marks the ring for its readers", () => {
  const { buffer, writer } = ring({ slotCount: 4, slotSize: 4096 });
  const cursor = new RingCursor(buffer);
  assert.equal(cursor.closed, false);
  writer.close();
  assert.equal(cursor.closed, true);
  const other = ring({ slotCount: 4, slotSize: 4096 }).buffer;
  markClosed(other);
  assert.equal(new DataView(other).getUint32(HEADER.state, true), STATE_CLOSED);
});
