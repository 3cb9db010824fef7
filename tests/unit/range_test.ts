import assert from "node:assert/strict";
import { RangeNotSatisfiableError } from "../../lib/errors.ts";
import { parseRange } from "../../routes/range.ts";

Deno.test("a Range header picks one satisfiable byte range, or the whole file", async (t) => {
  const cases: [string, string | undefined, { start: number; end: number } | undefined][] = [
    ["no header: all of it", undefined, undefined],
    ["first 100 bytes", "bytes=0-99", { start: 0, end: 99 }],
    ["from 500 to the end", "bytes=500-", { start: 500, end: 999 }],
    ["the last 200 bytes", "bytes=-200", { start: 800, end: 999 }],
    ["a suffix longer than the file is all of it", "bytes=-5000", { start: 0, end: 999 }],
    ["an end past the file is cut to it", "bytes=900-5000", { start: 900, end: 999 }],
    ["several ranges: all of it", "bytes=0-1,5-6", undefined],
    ["another unit: all of it", "items=0-1", undefined],
    ["end before start: all of it", "bytes=50-10", undefined],
    ["no numbers: all of it", "bytes=-", undefined],
  ];
  for (const [name, header, range] of cases) {
    await t.step(name, () => assert.deepEqual(parseRange(header, 1000), range));
  }
});

Deno.test("a range starting past the end is 416 with the file's size", async (t) => {
  for (const header of ["bytes=1000-", "bytes=5000-6000", "bytes=-0"]) {
    await t.step(header, () => {
      assert.throws(
        () => parseRange(header, 1000),
        (err) => err instanceof RangeNotSatisfiableError && err.size === 1000,
      );
    });
  }
});
