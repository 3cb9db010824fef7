import assert from "node:assert/strict";
import { GOP_FRESH_MS, Stream, StreamRegistry } from "../../lib/stream/stream.ts";
import { au, drain, idOf } from "../helpers/access_units.ts";

/** Publishes ids in order; the ids listed in `keys` are keyframes. */
function publish(stream: Stream, ids: number[], keys: number[]): void {
  for (const id of ids) stream.publish(au(id, keys.includes(id)));
}

Deno.test("a new reader starts at the cached keyframe and gets the whole GOP at once", () => {
  const stream = new Stream("front", "h264", 100);
  publish(stream, [1, 2, 3, 4, 5, 6], [1, 4]);
  const reader = stream.subscribe();
  assert.deepEqual(drain(reader), [4, 5, 6]);
  publish(stream, [7], []);
  assert.deepEqual(drain(reader), [7]);
});

Deno.test("with no keyframe cached a reader waits for the next one, and that wait is not a drop", () => {
  const stream = new Stream("front", "h264", 100);
  const reader = stream.subscribe();
  publish(stream, [1, 2, 3, 4], [3]);
  assert.deepEqual(drain(reader), [3, 4]);
  assert.equal(reader.drops, 0);
});

Deno.test("a reader that overflows skips to the next keyframe and counts every drop", () => {
  const stream = new Stream("front", "h264", 3);
  publish(stream, [1], [1]);
  const slow = stream.subscribe();
  publish(stream, [2, 3, 4, 5, 6], [6]);
  // Queue held 1,2,3; 4 overflowed it: 1-3 and 4 dropped, 5 dropped while skipping, 6 is a keyframe.
  assert.deepEqual(drain(slow), [6]);
  assert.equal(slow.drops, 5);
  assert.equal(stream.stats().drops, 5);
});

Deno.test("an overflow that coincides with a keyframe resumes on that keyframe", () => {
  const stream = new Stream("front", "h264", 2);
  publish(stream, [1], [1]);
  const slow = stream.subscribe();
  publish(stream, [2, 3], [3]);
  assert.deepEqual(drain(slow), [3]);
  assert.equal(slow.drops, 2);
});

Deno.test("one slow reader never costs another reader a frame", () => {
  const stream = new Stream("front", "h264", 2);
  publish(stream, [1], [1]);
  const slow = stream.subscribe();
  const fast = stream.subscribe();
  const seen: number[] = [];
  for (let id = 2; id <= 40; id++) {
    stream.publish(au(id, id % 10 === 0));
    seen.push(...drain(fast));
  }
  assert.deepEqual(seen, Array.from({ length: 40 }, (_, i) => i + 1));
  assert.equal(fast.drops, 0);
  assert.ok(slow.drops > 30);
  assert.equal(idOf(slow.tryNext()), 40, "the slow reader resumed on the last keyframe");
});

Deno.test("next() waits for a frame and resolves undefined when the reader closes", async () => {
  const stream = new Stream("front", "h264", 10);
  const reader = stream.subscribe();
  const pending = reader.next();
  stream.publish(au(1, true));
  assert.equal(idOf(await pending), 1);
  const waiting = reader.next();
  reader.close();
  assert.equal(await waiting, undefined);
  assert.equal(stream.stats().readers, 0);
});

Deno.test("drops of a reader that left still count in the stream's total", () => {
  const stream = new Stream("front", "h264", 1);
  publish(stream, [1], [1]);
  const reader = stream.subscribe();
  publish(stream, [2, 3], []);
  reader.close();
  assert.equal(stream.stats().drops, 3);
});

Deno.test("stats count frames, keyframes, bytes and the last second's fps and bitrate", () => {
  const stream = new Stream("front", "h264", 10);
  for (let id = 1; id <= 30; id++) stream.publish(au(id, id === 1, 1000));
  const stats = stream.stats();
  assert.equal(stats.frames, 30);
  assert.equal(stats.keyframes, 1);
  assert.equal(stats.bytes, 30_000);
  assert.equal(stats.fps, 30);
  assert.equal(stats.bitrate, 240_000);
  assert.equal(stream.stats(Date.now() + 5000).fps, 0, "old frames leave the window");
});

Deno.test("keyframes-only mode queues keyframes alone and counts the rest as drops", () => {
  const stream = new Stream("front", "h264", 10);
  publish(stream, [1], [1]);
  const reader = stream.subscribe();
  reader.setKeyframesOnly(true);
  publish(stream, [2, 3, 4, 5], [4]);
  assert.deepEqual(drain(reader), [1, 4]);
  assert.equal(reader.drops, 3);
});

Deno.test("the registry refuses a second stream of the same name", () => {
  const registry = new StreamRegistry();
  registry.add(new Stream("front", "h264", 10));
  assert.throws(() => registry.add(new Stream("front", "vp8", 10)), /already exists/);
  assert.deepEqual(registry.all().map((s) => s.name), ["front"]);
});

Deno.test("an output reader gets every access unit but is not listed among the readers", () => {
  const stream = new Stream("front", "h264", 100);
  publish(stream, [1, 2], [1]);
  const output = stream.subscribe(100, { output: true });
  const viewer = stream.subscribe();
  publish(stream, [3, 4], []);
  assert.deepEqual(drain(output), [1, 2, 3, 4]);
  assert.deepEqual(drain(viewer), [1, 2, 3, 4]);
  assert.deepEqual([...stream.readers], [viewer]);
  assert.equal(stream.stats().readers, 1);
  stream.close();
  assert.equal(output.closed, true);
});

/** A stream whose source counts the keyframes asked of it (as a WHIP publisher would answer them). */
function withRequestCount(queueFrames: number): { stream: Stream; requests: () => number } {
  const stream = new Stream("studio", "h264", queueFrames);
  let requests = 0;
  stream.setKeyframeRequester(() => requests++);
  return { stream, requests: () => requests };
}

Deno.test("when a new reader can start from the cached GOP, the source is asked for nothing", () => {
  const { stream, requests } = withRequestCount(10);
  const now = Date.now();
  for (let id = 1; id <= 5; id++) stream.publish(au(id, id === 1, 100, now));
  const reader = stream.subscribe();
  assert.deepEqual(drain(reader), [1, 2, 3, 4, 5]);
  assert.equal(requests(), 0);
});

Deno.test("a reader that joins when the cached GOP is longer than its queue waits for a keyframe it asks for", () => {
  const { stream, requests } = withRequestCount(3);
  const now = Date.now();
  for (let id = 1; id <= 6; id++) stream.publish(au(id, id === 1, 100, now));
  const reader = stream.subscribe();
  assert.equal(requests(), 1, "the source is asked at once, not when a viewer's PLI arrives");
  assert.deepEqual(drain(reader), [], "the GOP is not replayed into a queue it would overflow");
  assert.equal(reader.drops, 0, "frames never queued are not drops");
  publish(stream, [7, 8], [8]);
  assert.deepEqual(drain(reader), [8]);
  assert.equal(reader.drops, 0);
});

Deno.test("a reader that joins with no GOP cached asks the source for a keyframe", () => {
  const { stream, requests } = withRequestCount(10);
  stream.subscribe();
  assert.equal(requests(), 1);
});

Deno.test("a GOP older than GOP_FRESH_MS is replayed and a fresh keyframe asked for", () => {
  const { stream, requests } = withRequestCount(10);
  const old = Date.now() - GOP_FRESH_MS - 500;
  for (let id = 1; id <= 3; id++) stream.publish(au(id, id === 1, 100, old));
  const reader = stream.subscribe();
  assert.deepEqual(drain(reader), [1, 2, 3]);
  assert.equal(requests(), 1);
});

Deno.test("a reader that overflows asks for a keyframe; one that overflows on a keyframe resumes without asking", () => {
  const { stream, requests } = withRequestCount(2);
  stream.publish(au(1, true, 100, Date.now()));
  const slow = stream.subscribe();
  assert.equal(requests(), 0);
  publish(stream, [2, 3], []);
  assert.equal(requests(), 1, "overflow on a delta frame");
  publish(stream, [4, 5], [4]);
  assert.deepEqual(drain(slow), [4, 5]);
  publish(stream, [6, 7, 8], [8]);
  assert.equal(requests(), 1, "overflow on a keyframe needs no request");
  assert.deepEqual(drain(slow), [8]);
});

Deno.test("a memory-pressure cut asks the source for a keyframe", () => {
  const { stream, requests } = withRequestCount(10);
  stream.publish(au(1, true, 100, Date.now()));
  const reader = stream.subscribe();
  reader.cutToKeyframe();
  assert.equal(requests(), 1);
});
