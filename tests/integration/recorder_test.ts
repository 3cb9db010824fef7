import assert from "node:assert/strict";
import { probePackets, probeStreams } from "../helpers/media_probe.ts";
import { fixtureFrames } from "../helpers/whip_client.ts";
import type { RecordingConfig } from "../../lib/config/schema.ts";
import { Log } from "../../lib/log.ts";
import { Recordings } from "../../lib/recording/recordings.ts";
import { Stream, StreamRegistry } from "../../lib/stream/stream.ts";

const FRAME = 3000;

Deno.test("new codec parameters start a new segment, and a gap in the timestamps stays a gap", async () => {
  const dir = await Deno.makeTempDir({ prefix: "edgecam-recorder-" });
  const config: RecordingConfig = {
    dir,
    format: "fmp4",
    partMs: 500,
    segmentS: 600,
    deleteAfterMs: 0,
    maxBytes: 0,
    minFreeBytes: 0,
    fsync: "never",
  };
  const streams = new StreamRegistry();
  const stream = streams.add(new Stream("cam", "h264", 90));
  const recordings = new Recordings(config, streams, new Log("error"));
  try {
    recordings.start("cam");
    const small = fixtureFrames("testsrc_h264_320x240.h264").slice(0, 30);
    const large = fixtureFrames("testsrc_h264_high_1920x1080.h264"); // 10 frames
    let pts = 0;
    const publish = (frames: typeof small) => {
      for (const f of frames) {
        stream.publish({
          codec: "h264",
          data: f.data,
          keyframe: f.keyframe,
          pts90k: pts,
          captureMs: 1e12 + pts / 90,
        });
        pts += FRAME;
      }
    };
    publish(small.slice(0, 15));
    pts += 90_000; // the camera stalled a second
    publish(small.slice(15));
    publish(large);
    await new Promise((r) => setTimeout(r, 200));
    const final = await recordings.stop("cam");
    assert.equal(final.frame_count, 40);
    const files = [...Deno.readDirSync(`${dir}/cam`)].map((e) => `${dir}/cam/${e.name}`).sort();
    assert.equal(files.length, 2, "one segment per set of parameters");
    const [first, second] = await Promise.all(files.map((f) => probeStreams(f)));
    assert.deepEqual([first[0].width, first[0].height, first[0].nb_read_frames], [320, 240, "30"]);
    assert.deepEqual([second[0].width, second[0].height, second[0].nb_read_frames], [1920, 1080, "10"]);
    const times = (await probePackets(files[0])).map((p) => Math.round(p.pts * 90_000));
    assert.equal(times[15] - times[14], FRAME + 90_000, "the stall shows as a one-second gap");
    assert.equal(times[14] - times[13], FRAME);
  } finally {
    await recordings.stopAll();
    await Deno.remove(dir, { recursive: true });
  }
});
