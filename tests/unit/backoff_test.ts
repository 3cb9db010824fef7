import assert from "node:assert/strict";
import { backoffDelay } from "../../lib/backoff.ts";

Deno.test("restart backoff doubles from the first delay and stops at the cap", () => {
  const cases: [attempt: number, delayMs: number][] = [
    [1, 500],
    [2, 1000],
    [3, 2000],
    [6, 16000],
    [7, 30000],
    [
      50,
      30000,
    ],
  ];
  for (const [attempt, delayMs] of cases) {
    assert.equal(backoffDelay(attempt, 500, 30000), delayMs, `attempt ${attempt}`);
  }
});
