import assert from "node:assert/strict";
import { ByteQueue } from "../../lib/media/byte_queue.ts";

// ---------------------------------------------------------------------------------------------------------
// Helpers

/** A step of a case: append that many fresh bytes, consume that many, or clear. */
type Op = { append: number } | { consume: number } | "clear";

/** Replays ops on a queue and on a plain array; appended bytes count up, so any misplaced copy shows. */
function replay(capacity: number, ops: Op[]) {
  const queue = new ByteQueue(capacity);
  let model: number[] = [];
  let next = 0;
  const shifts: number[] = [];
  let reallocations = 0;
  for (const op of ops) {
    if (op === "clear") {
      queue.clear();
      model = [];
    } else if ("consume" in op) {
      queue.consume(op.consume);
      model = model.slice(op.consume);
    } else {
      const chunk = Uint8Array.from({ length: op.append }, () => next++ & 0xff);
      const before = queue.bytes;
      shifts.push(queue.append(chunk));
      if (queue.bytes !== before) reallocations++;
      model.push(...chunk);
    }
    assert.deepEqual([...queue.unread()], model);
    assert.equal(queue.length, model.length);
    assert.equal(queue.end - queue.start, model.length);
  }
  return { queue, shifts, reallocations };
}

// ---------------------------------------------------------------------------------------------------------
// Tests

const CASES: {
  name: string;
  capacity: number;
  ops: Op[];
  shifts: number[];
  start: number;
  size: number;
  reallocations: number;
}[] = [
  {
    name: "chunks that fit go behind the unread bytes",
    capacity: 8,
    ops: [{ append: 3 }, { append: 3 }],
    shifts: [0, 0],
    start: 0,
    size: 8,
    reallocations: 0,
  },
  {
    name: "consumed bytes stay in front while the chunk still fits at the end",
    capacity: 8,
    ops: [{ append: 4 }, { consume: 3 }, { append: 4 }],
    shifts: [0, 0],
    start: 3,
    size: 8,
    reallocations: 0,
  },
  {
    name: "an emptied queue starts over at the front",
    capacity: 8,
    ops: [{ append: 5 }, { consume: 5 }, { append: 2 }],
    shifts: [0, 5],
    start: 0,
    size: 8,
    reallocations: 0,
  },
  {
    name: "an emptied queue starts over even for an empty chunk",
    capacity: 8,
    ops: [{ append: 4 }, { consume: 4 }, { append: 0 }],
    shifts: [0, 4],
    start: 0,
    size: 8,
    reallocations: 0,
  },
  {
    name: "a full queue compacts in place when the unread bytes and the chunk fit",
    capacity: 8,
    ops: [{ append: 6 }, { consume: 4 }, { append: 4 }],
    shifts: [0, 4],
    start: 0,
    size: 8,
    reallocations: 0,
  },
  {
    name: "a full queue that cannot hold the chunk doubles",
    capacity: 8,
    ops: [{ append: 6 }, { consume: 1 }, { append: 4 }],
    shifts: [0, 1],
    start: 0,
    size: 16,
    reallocations: 1,
  },
  {
    name: "a chunk larger than double the size grows the queue to fit it exactly",
    capacity: 4,
    ops: [{ append: 3 }, { append: 20 }],
    shifts: [0, 0],
    start: 0,
    size: 23,
    reallocations: 1,
  },
  {
    name: "clear drops unread bytes and keeps the backing array",
    capacity: 8,
    ops: [{ append: 5 }, { consume: 2 }, "clear", { append: 3 }],
    shifts: [0, 0],
    start: 0,
    size: 8,
    reallocations: 0,
  },
];

for (const c of CASES) {
  Deno.test(`ByteQueue: ${c.name}`, () => {
    const { queue, shifts, reallocations } = replay(c.capacity, c.ops);
    assert.deepEqual(shifts, c.shifts);
    assert.equal(queue.start, c.start);
    assert.equal(queue.bytes.length, c.size);
    assert.equal(reallocations, c.reallocations);
  });
}

Deno.test("ByteQueue: the shifts add up to the bytes dropped from the front, whatever the chunk sizes", () => {
  // Callers turn indices into stream offsets with the shifts, so they must account for every byte.
  let x = 7;
  const random = (n: number) => {
    x = (Math.imul(x, 1103515245) + 12345) >>> 0;
    return (x >>> 16) % n;
  };
  const queue = new ByteQueue(16);
  let appended = 0;
  let consumed = 0;
  let dropped = 0;
  for (let i = 0; i < 5000; i++) {
    const chunk = new Uint8Array(random(40)).fill(i & 0xff);
    dropped += queue.append(chunk);
    appended += chunk.length;
    const n = random(queue.length + 1);
    queue.consume(n);
    consumed += n;
    assert.equal(dropped + queue.start, consumed);
    assert.equal(dropped + queue.end, appended);
  }
});

Deno.test("ByteQueue: one-byte chunks move the unread bytes only when the array is full", () => {
  const queue = new ByteQueue(64);
  let moves = 0;
  for (let i = 0; i < 10_000; i++) {
    if (queue.append(Uint8Array.of(i & 0xff)) > 0) moves++;
    // A parser keeping a possible partial start code back, as AnnexBSplitter does.
    queue.consume(Math.max(0, queue.length - 2));
  }
  assert.equal(queue.bytes.length, 64);
  assert.ok(moves <= Math.ceil(10_000 / 62), `${moves} moves`);
});
