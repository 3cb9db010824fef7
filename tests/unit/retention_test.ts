import assert from "node:assert/strict";
import { expired, overQuota, type StoredSegment, toFree } from "../../lib/recording/retention.ts";

const HOUR = 3_600_000;
const NOW = Date.UTC(2026, 11, 5, 12);

/** Segments of one hour each; `ages` in hours since each one's last byte; the last is being written. */
function segments(stream: string, ages: number[], bytes = 100): StoredSegment[] {
  return ages.map((age, i) => ({
    stream,
    path: `${stream}/${i}`,
    startMs: NOW - (age + 1) * HOUR,
    endMs: NOW - age * HOUR,
    bytes,
    active: i === ages.length - 1,
  }));
}

const paths = (list: StoredSegment[]) => list.map((s) => s.path);

Deno.test("by age: what ended longer ago than delete_after goes, oldest first", async (t) => {
  const cases: [string, number[], number, string[]][] = [
    ["nothing old", [3, 2, 1, 0], 24 * HOUR, []],
    ["two past a day", [50, 30, 10, 0], 24 * HOUR, ["a/0", "a/1"]],
    ["0 keeps everything", [5000, 0], 0, []],
    ["the active segment never goes, however old", [100], HOUR, []],
  ];
  for (const [name, ages, deleteAfter, expected] of cases) {
    await t.step(
      name,
      () => assert.deepEqual(paths(expired(segments("a", ages), NOW, deleteAfter)), expected),
    );
  }
});

Deno.test("by size: the oldest go until the folder fits max_bytes", async (t) => {
  const cases: [string, number, number, string[]][] = [
    ["under the limit", 4, 1000, []],
    ["one over", 4, 300, ["a/0"]],
    ["far over: all but the active one", 4, 50, ["a/0", "a/1", "a/2"]],
    ["0 = no limit", 4, 0, []],
  ];
  for (const [name, count, max, expected] of cases) {
    const list = segments("a", Array.from({ length: count }, (_, i) => count - 1 - i));
    await t.step(name, () => assert.deepEqual(paths(overQuota(list, max)), expected));
  }
});

Deno.test("for free space: the oldest of any stream go until the write fits above min_free_bytes", async (t) => {
  const all = [...segments("a", [9, 5, 0]), ...segments("b", [7, 6, 0])];
  const cases: [string, number, number, number, string[], boolean][] = [
    ["enough already", 10_000, 100, 1000, [], true],
    ["one segment's worth short", 1050, 100, 1000, ["a/0"], true],
    ["three short, across streams by age", 850, 100, 1000, ["a/0", "b/0", "b/1"], true],
    ["not enough even with every closed one gone", 0, 100, 1000, ["a/0", "b/0", "b/1", "a/1"], false],
  ];
  for (const [name, free, need, minFree, expected, enough] of cases) {
    await t.step(name, () => {
      const plan = toFree(all, free, need, minFree);
      assert.deepEqual(paths(plan.remove), expected);
      assert.equal(plan.enough, enough);
    });
  }
});
