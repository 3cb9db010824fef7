import assert from "node:assert/strict";
import { waitFor } from "../helpers/edgecam.ts";
import { fixtureFrames } from "../helpers/whip_client.ts";
import { run } from "../helpers/media_probe.ts";
import type { RecordingConfig } from "../../lib/config/schema.ts";
import { Log } from "../../lib/log.ts";
import { freeBytes } from "../../lib/recording/disk.ts";
import { Recordings } from "../../lib/recording/recordings.ts";
import { Stream, StreamRegistry } from "../../lib/stream/stream.ts";

const MIN_FREE = 10_000_000;

/** Publishes the H.264 fixture into `stream` at 30 fps, looped, until the returned stop is called. */
function feed(stream: Stream): () => void {
  const frames = fixtureFrames("testsrc_h264_320x240.h264");
  let i = 0;
  const timer = setInterval(() => {
    const frame = frames[i++ % frames.length];
    const now = performance.timeOrigin + performance.now();
    stream.publish({
      codec: "h264",
      data: frame.data,
      keyframe: frame.keyframe,
      pts90k: performance.now() * 90,
      captureMs: now,
    });
  }, 33);
  return () => clearInterval(timer);
}

Deno.test("a volume short of min_free_bytes loses its oldest segments first, then the recording pauses and resumes by itself", async () => {
  const dir = await Deno.makeTempDir({ prefix: "edgecam-space-" });
  await Deno.mkdir(`${dir}/old`);
  const old = [
    "2020-01-01T00-00-00.000Z.mp4",
    "2020-01-02T00-00-00.000Z.mp4",
    "2020-01-03T00-00-00.000Z.mp4",
  ];
  for (const name of old) await Deno.writeFile(`${dir}/old/${name}`, new Uint8Array(1000));
  let free = 1e9;
  const config: RecordingConfig = {
    dir,
    format: "fmp4",
    partMs: 300,
    segmentS: 600,
    deleteAfterMs: 0,
    maxBytes: 0,
    minFreeBytes: MIN_FREE,
    fsync: "never",
  };
  const streams = new StreamRegistry();
  const stream = streams.add(new Stream("cam", "h264", 90));
  const recordings = new Recordings(config, streams, new Log("error"), () => free);
  const stop = feed(stream);
  try {
    assert.equal(recordings.start("cam").started, true);
    await waitFor("a part written", () => recordings.status("cam").bytes_written > 0 || undefined);
    const first = recordings.status("cam").filename!;

    free = MIN_FREE + 1000;
    const paused = await waitFor("the pause", () => recordings.status("cam").error ?? undefined);
    assert.match(
      paused,
      /^not enough free space: 10001000 bytes free, recording\.min_free_bytes = 10000000$/,
    );
    assert.equal(recordings.status("cam").recording, true, "still recording, paused");
    assert.deepEqual([...Deno.readDirSync(`${dir}/old`)], [], "the old segments went first");
    assert.ok((await Deno.stat(first)).size > 0, "the segment written so far is kept");
    const written = recordings.status("cam").bytes_written;
    await new Promise((r) => setTimeout(r, 1000));
    assert.equal(recordings.status("cam").bytes_written, written, "nothing written while paused");

    free = 1e9;
    await waitFor("the resumption", () => recordings.status("cam").error === null || undefined);
    await waitFor("a new segment", () => {
      const status = recordings.status("cam");
      return status.filename !== first && status.bytes_written > written || undefined;
    });
    assert.equal([...Deno.readDirSync(`${dir}/cam`)].length, 2);
  } finally {
    stop();
    await recordings.stopAll();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("free space is what statvfs says and df shows as available", async () => {
  const { stdout } = await run("df", ["-B1", "--output=avail", "."]);
  const df = Number(stdout.trim().split("\n")[1]);
  // Other processes write meanwhile: the two readings agree within a few MB.
  assert.ok(Math.abs(freeBytes(".") - df) < 64 * 2 ** 20, `statvfs ${freeBytes(".")} vs df ${df}`);
  assert.throws(() => freeBytes("/no/such/folder"), /cannot measure the free space of \/no\/such\/folder/);
});
