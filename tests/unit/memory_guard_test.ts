import assert from "node:assert/strict";
import { MemoryGuard, pressureLevel } from "../../lib/stream/memory_guard.ts";
import { Stream, StreamRegistry } from "../../lib/stream/stream.ts";
import { au, drain } from "../helpers/access_units.ts";

const MB = 1024 * 1024;

Deno.test("pressure level by share of the limit", () => {
  const cases: [rssMb: number, level: string][] = [
    [0, "normal"],
    [69, "normal"],
    [70, "high"],
    [84, "high"],
    [
      85,
      "critical",
    ],
    [200, "critical"],
  ];
  for (const [rssMb, level] of cases) assert.equal(pressureLevel(rssMb * MB, 100), level, `${rssMb} MB`);
});

Deno.test("under high pressure readers with a backlog are cut back to the next keyframe", () => {
  let rss = 10 * MB;
  const streams = new StreamRegistry();
  const stream = streams.add(new Stream("front", "h264", 100));
  const guard = new MemoryGuard(streams, 100, () => rss);
  stream.publish(au(1, true));
  const lagging = stream.subscribe();
  const current = stream.subscribe();
  for (let id = 2; id <= 5; id++) stream.publish(au(id));
  drain(current);
  stream.publish(au(6));
  rss = 75 * MB;
  const status = guard.check();
  assert.equal(status.level, "high");
  assert.equal(status.cuts, 1, "only the reader with a backlog is cut");
  stream.publish(au(7));
  stream.publish(au(8, true));
  assert.deepEqual(drain(lagging), [8]);
  assert.deepEqual(drain(current), [6, 7, 8]);
});

Deno.test("under critical pressure every reader gets keyframes only, until memory falls back", () => {
  let rss = 90 * MB;
  const streams = new StreamRegistry();
  const stream = streams.add(new Stream("front", "h264", 100));
  const guard = new MemoryGuard(streams, 100, () => rss);
  stream.publish(au(1, true));
  const reader = stream.subscribe();
  drain(reader);
  guard.check();
  for (let id = 2; id <= 6; id++) stream.publish(au(id, id === 4));
  assert.deepEqual(drain(reader), [4]);
  rss = 10 * MB;
  assert.equal(guard.check().level, "normal");
  stream.publish(au(7));
  assert.deepEqual(drain(reader), [7]);
});
