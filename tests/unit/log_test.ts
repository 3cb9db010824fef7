import assert from "node:assert/strict";
import { Log, RateLimitedLog } from "../../lib/log.ts";

Deno.test("a rate-limited log lets a burst through, then reports how many lines it held back", () => {
  let now = 0;
  const lines: string[] = [];
  const log = new RateLimitedLog((line) => lines.push(line), 2, 1000, () => now);
  for (const line of ["a", "b", "c", "d"]) log.write(line);
  now = 1000;
  log.write("e");
  assert.deepEqual(lines, ["a", "b", "(2 lines suppressed) e"]);
});

Deno.test("each service's log keeps its own level: two in one process do not share it", () => {
  const printed: string[] = [];
  const original = console.error;
  console.error = (line: string) => printed.push(line);
  try {
    const quiet = new Log("warn");
    const verbose = new Log("debug");
    quiet.logger("a").info("hidden");
    verbose.logger("b").debug("shown");
    quiet.setLevel("info");
    quiet.logger("a").info("now shown");
  } finally {
    console.error = original;
  }
  assert.equal(printed.length, 2);
  assert.match(printed[0], /DEBUG \[b\] shown$/);
  assert.match(printed[1], /INFO {2}\[a\] now shown$/);
});
