import assert from "node:assert/strict";
import { RateLimitedLog } from "../../lib/log.ts";

Deno.test("a rate-limited log lets a burst through, then reports how many lines it held back", () => {
  let now = 0;
  const lines: string[] = [];
  const log = new RateLimitedLog((line) => lines.push(line), 2, 1000, () => now);
  for (const line of ["a", "b", "c", "d"]) log.write(line);
  now = 1000;
  log.write("e");
  assert.deepEqual(lines, ["a", "b", "(2 lines suppressed) e"]);
});
