import assert from "node:assert/strict";
import { IngestPath, type Publisher } from "../../lib/ingest/path.ts";
import { Log } from "../../lib/log.ts";
import { Stream } from "../../lib/stream/stream.ts";

const INTERVAL_MS = 60;

/** A publisher that counts the keyframes asked of it. */
class CountingPublisher implements Publisher {
  readonly id = "p1";
  keyframeRequests = 0;
  close(): void {}
  requestKeyframe(): void {
    this.keyframeRequests++;
  }
}

function livePath(): { path: IngestPath; publisher: CountingPublisher; stream: Stream } {
  const stream = new Stream("studio", "h264", 90, true);
  const path = new IngestPath(stream, { codec: "h264", secondPublisher: "replace" }, new Log(), INTERVAL_MS);
  const publisher = new CountingPublisher();
  path.take(publisher);
  return { path, publisher, stream };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

Deno.test("keyframe requests reach the publisher at once, then at most once per interval", async () => {
  const { path, publisher } = livePath();
  path.requestKeyframe();
  assert.equal(publisher.keyframeRequests, 1);
  path.requestKeyframe();
  path.requestKeyframe();
  assert.equal(publisher.keyframeRequests, 1, "held back inside the interval");
  await sleep(INTERVAL_MS * 2);
  assert.equal(
    publisher.keyframeRequests,
    2,
    "the held-back requests are sent as one when the interval ends",
  );
  path.close();
});

Deno.test("a keyframe from the publisher answers a held-back request", async () => {
  const { path, publisher } = livePath();
  path.requestKeyframe();
  path.requestKeyframe();
  path.publishVideo(publisher, { data: new Uint8Array(10), keyframe: true }, null, Date.now());
  await sleep(INTERVAL_MS * 2);
  assert.equal(publisher.keyframeRequests, 1);
  path.close();
});

Deno.test("a reader joining a WHIP stream past its cached GOP asks the publisher for a keyframe", () => {
  const { path, publisher, stream } = livePath();
  for (let i = 0; i < 100; i++) {
    path.publishVideo(publisher, { data: new Uint8Array(10), keyframe: i === 0 }, null, Date.now());
  }
  assert.equal(publisher.keyframeRequests, 0);
  stream.subscribe();
  assert.equal(publisher.keyframeRequests, 1);
  path.close();
});

Deno.test("a publisher that left is asked for nothing, and its held-back request is dropped", async () => {
  const { path, publisher } = livePath();
  path.requestKeyframe();
  path.requestKeyframe();
  path.release(publisher, "DELETE");
  await sleep(INTERVAL_MS * 2);
  path.requestKeyframe();
  assert.equal(publisher.keyframeRequests, 1);
});
