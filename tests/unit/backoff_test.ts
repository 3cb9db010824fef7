import assert from "node:assert/strict";
import { backoffDelay, nextRestart, RESTART_WINDOW_MS, type RestartPolicy } from "../../lib/backoff.ts";

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

const POLICY: RestartPolicy = { initialMs: 500, maxMs: 30000, maxPerMinute: 3 };

Deno.test("nextRestart: the wait before a camera's next run", async (t) => {
  const now = 100_000;
  const cases: [
    name: string,
    runsWithoutFrames: number,
    restartTimes: number[],
    delayMs: number,
    rateLimited: boolean,
  ][] = [
    ["the first run delivered frames: the initial delay", 0, [], 500, false],
    ["a run with frames after two quick restarts: still the initial delay", 0, [91_000, 95_000], 500, false],
    ["the first run without frames: the initial delay", 1, [], 500, false],
    ["two runs in a row without frames: doubled", 2, [99_000], 1000, false],
    ["three in a row: doubled again", 3, [98_000, 99_000], 2000, false],
    ["many in a row: at the ceiling", 8, [], 30000, false],
    [
      "3 restarts within the minute: wait for the oldest to be a minute old",
      0,
      [50_000, 60_000, 70_000],
      10_000,
      true,
    ],
    ["restarts over a minute old do not count", 0, [30_000, 60_000, 70_000], 500, false],
    ["only the last 3 restarts count", 0, [10_000, 50_000, 60_000, 70_000], 10_000, true],
    ["a backoff longer than the window's wait wins", 6, [50_000, 60_000, 70_000], 16000, false],
    ["the window opens just as the backoff ends: no hold-back", 0, [40_500, 60_000, 70_000], 500, false],
    ["a failing camera is held back by the window too", 2, [45_000, 60_000, 70_000], 5000, true],
  ];
  for (const [name, runsWithoutFrames, restartTimes, delayMs, rateLimited] of cases) {
    await t.step(name, () => {
      assert.deepEqual(nextRestart(POLICY, { runsWithoutFrames, restartTimes, now }), {
        delayMs,
        rateLimited,
      });
    });
  }
  await t.step("a wait in fractions of a millisecond is rounded up, never early", () => {
    const decision = nextRestart(POLICY, {
      runsWithoutFrames: 0,
      restartTimes: [50_000, 60_000, 70_000],
      now: now + 0.4,
    });
    assert.deepEqual(decision, { delayMs: 10_000, rateLimited: true });
  });
});

/**
 * Runs a camera through `runs` runs of `runMs` each (all delivering frames unless `delivers` says not),
 * restarted as nextRestart says; returns each run's delay and when each restart began.
 */
function simulate(policy: RestartPolicy, runs: number, runMs: number, delivers = true) {
  const restartTimes: number[] = [];
  const delays: number[] = [];
  let now = 0;
  let runsWithoutFrames = 0;
  for (let run = 0; run < runs; run++) {
    now += runMs;
    runsWithoutFrames = delivers ? 0 : runsWithoutFrames + 1;
    const { delayMs } = nextRestart(policy, { runsWithoutFrames, restartTimes, now });
    delays.push(delayMs);
    now += delayMs;
    restartTimes.push(now);
  }
  return { delays, restartTimes };
}

/** The most restarts that began within any one window. */
function busiestWindow(restartTimes: number[]): number {
  return Math.max(
    ...restartTimes.map((t) => restartTimes.filter((u) => u >= t && u < t + RESTART_WINDOW_MS).length),
  );
}

Deno.test("the restart policy over a camera's life (a ceiling of 20 a minute)", async (t) => {
  const policy: RestartPolicy = { initialMs: 500, maxMs: 30000, maxPerMinute: 20 };
  await t.step(
    "killed 2.5 s into every run: each restart after the initial delay, the ceiling never reached",
    () => {
      const { delays } = simulate(policy, 40, 2500);
      assert.deepEqual(new Set(delays), new Set([500]));
    },
  );
  await t.step("killed 6 s into every run: the same", () => {
    assert.deepEqual(new Set(simulate(policy, 40, 6000).delays), new Set([500]));
  });
  await t.step("crashing 100 ms into every run: 20 restarts, then held to 20 a minute", () => {
    const { delays, restartTimes } = simulate(policy, 100, 100);
    assert.deepEqual(new Set(delays.slice(0, 20)), new Set([500]));
    assert.equal(
      restartTimes[20],
      restartTimes[0] + RESTART_WINDOW_MS,
      "the 21st waits a minute from the 1st",
    );
    assert.equal(busiestWindow(restartTimes), 20);
  });
  await t.step("a camera that cannot start: the backoff grows to its ceiling", () => {
    const { delays } = simulate(policy, 9, 50, false);
    assert.deepEqual(delays, [500, 1000, 2000, 4000, 8000, 16000, 30000, 30000, 30000]);
  });
});
