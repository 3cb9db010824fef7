import assert from "node:assert/strict";
import { createFramer } from "../../lib/cameras/framer.ts";
import { listElements } from "../../lib/cameras/encoders.ts";
import { UnavailableError } from "../../lib/errors.ts";
import { Log } from "../../lib/log.ts";
import { type Snapshot, snapshotPipeline, Snapshots } from "../../lib/outputs/snapshot.ts";
import type { AccessUnit, Codec } from "../../lib/stream/access_unit.ts";
import { Stream } from "../../lib/stream/stream.ts";
import { startEdgecam, waitHealthy } from "../helpers/edgecam.ts";

const VIEW = "view-0123456789abcdef";
const bearer = { Authorization: `Bearer ${VIEW}` };
const FIXTURES = new URL("../fixtures/", import.meta.url);

/** The first keyframe of a fixture, as a fresh access unit (a new object each call). */
function keyframeOf(codec: Codec, file: string): () => AccessUnit {
  const framer = createFramer(codec);
  const units = [...framer.push(Deno.readFileSync(new URL(file, FIXTURES))), ...framer.flush()];
  const { data } = units.find((u) => u.keyframe)!;
  return () => ({ codec, data, keyframe: true, pts90k: 0, captureMs: Date.now() });
}

function assertJpeg(bytes: Uint8Array, what: string): void {
  assert.ok(bytes.length > 100, `${what}: ${bytes.length} bytes`);
  assert.deepEqual([bytes[0], bytes[1]], [0xff, 0xd8], `${what}: starts with SOI`);
  assert.deepEqual([bytes.at(-2), bytes.at(-1)], [0xff, 0xd9], `${what}: ends with EOI`);
}

/** Decodes a JPEG with GStreamer's own decoder and returns its size as gst-discoverer-1.0 reports it. */
async function decodedSize(jpeg: Uint8Array): Promise<{ width: number; height: number }> {
  const path = await Deno.makeTempFile({ suffix: ".jpg" });
  try {
    await Deno.writeFile(path, jpeg);
    const decode = await new Deno.Command("gst-launch-1.0", {
      args: ["-q", "filesrc", `location=${path}`, "!", "jpegdec", "!", "fakesink"],
      stdout: "null",
      stderr: "piped",
    }).output();
    assert.ok(decode.success, `jpegdec: ${new TextDecoder().decode(decode.stderr)}`);
    const probe = await new Deno.Command("gst-discoverer-1.0", { args: [path], stdout: "piped" }).output();
    const text = new TextDecoder().decode(probe.stdout);
    const width = Number(/Width: (\d+)/.exec(text)?.[1]);
    const height = Number(/Height: (\d+)/.exec(text)?.[1]);
    return { width, height };
  } finally {
    await Deno.remove(path);
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const quiet = new Log("error").logger("snapshot");

Deno.test("Snapshots: one shared decode, at most one a second, none for the same keyframe, a failure retried after the interval", async (t) => {
  const elements = await listElements();
  const h264 = keyframeOf("h264", "testsrc_h264_320x240.h264");

  await t.step("no keyframe yet: UnavailableError, retry in 1 s, nothing decoded", async () => {
    const snapshots = new Snapshots(elements, quiet);
    const stream = new Stream("front", "h264", 90);
    await assert.rejects(snapshots.jpeg(stream), (err: Error) => {
      assert.ok(err instanceof UnavailableError);
      assert.equal(err.retryAfterSeconds, 1);
      assert.equal(err.message, 'stream "front" has no keyframe yet');
      return true;
    });
    assert.equal(snapshots.decodes, 0);
  });

  await t.step("10 concurrent requests share one decode and get the same picture", async () => {
    const snapshots = new Snapshots(elements, quiet);
    const stream = new Stream("front", "h264", 90);
    const keyframe = h264();
    stream.publish(keyframe);
    const images = await Promise.all(Array.from({ length: 10 }, () => snapshots.jpeg(stream)));
    assert.equal(snapshots.decodes, 1);
    for (const image of images) assert.equal(image, images[0]);
    assertJpeg(images[0].jpeg, "h264");
    assert.equal(images[0].captureMs, keyframe.captureMs);
    assert.deepEqual(await decodedSize(images[0].jpeg), { width: 320, height: 240 });
  });

  await t.step(
    "within the interval: the cached image though a new keyframe came; after it, a new decode",
    async () => {
      const snapshots = new Snapshots(elements, quiet, { intervalMs: 400 });
      const stream = new Stream("front", "h264", 90);
      stream.publish(h264());
      const first = await snapshots.jpeg(stream);
      stream.publish(h264());
      assert.equal(await snapshots.jpeg(stream), first);
      assert.equal(snapshots.decodes, 1);
      await sleep(450);
      const second = await snapshots.jpeg(stream);
      assert.notEqual(second, first);
      assert.equal(snapshots.decodes, 2);
    },
  );

  await t.step("after the interval, the same keyframe is not decoded again", async () => {
    const snapshots = new Snapshots(elements, quiet, { intervalMs: 100 });
    const stream = new Stream("front", "h264", 90);
    stream.publish(h264());
    const first = await snapshots.jpeg(stream);
    await sleep(150);
    assert.equal(await snapshots.jpeg(stream), first);
    assert.equal(snapshots.decodes, 1);
  });

  await t.step("VP8: a keyframe wrapped in IVF decodes to a JPEG of its size", async () => {
    const snapshots = new Snapshots(elements, quiet);
    const stream = new Stream("rear", "vp8", 90);
    stream.publish(keyframeOf("vp8", "testsrc_vp8_320x240.webm")());
    const { jpeg } = await snapshots.jpeg(stream);
    assertJpeg(jpeg, "vp8");
    assert.deepEqual(await decodedSize(jpeg), { width: 320, height: 240 });
  });

  await t.step(
    "a failed decode is an UnavailableError, not cached: the next one after the interval decodes",
    async () => {
      let broken = true;
      const pipeline = (codec: Codec, set: Set<string>) =>
        broken ? ["-q", "fdsrc", "fd=0", "!", "nosuchelement"] : snapshotPipeline(codec, set);
      const snapshots = new Snapshots(elements, quiet, { intervalMs: 300, pipeline });
      const stream = new Stream("front", "h264", 90);
      stream.publish(h264());
      const failed = (err: Error) => {
        assert.ok(err instanceof UnavailableError, err.message);
        assert.match(
          err.message,
          /^snapshot of "front" failed: gst-launch-1\.0 exited with code 1: .*nosuchelement/,
        );
        return true;
      };
      await assert.rejects(snapshots.jpeg(stream), failed);
      // Inside the interval the failure is answered without a new process.
      await assert.rejects(snapshots.jpeg(stream), failed);
      assert.equal(snapshots.decodes, 1);
      broken = false;
      await sleep(350);
      assertJpeg((await snapshots.jpeg(stream)).jpeg, "after the failure");
      assert.equal(snapshots.decodes, 2);
    },
  );

  await t.step("a decode that hangs is killed at the timeout", async () => {
    const hang = () => ["-q", "videotestsrc", "is-live=true", "!", "fakesink"];
    const snapshots = new Snapshots(elements, quiet, { timeoutMs: 300, pipeline: hang });
    const stream = new Stream("front", "h264", 90);
    stream.publish(h264());
    const started = performance.now();
    await assert.rejects(snapshots.jpeg(stream), /no picture within 300 ms/);
    const took = performance.now() - started;
    assert.ok(took >= 300 && took < 3000, `${took} ms`);
  });

  await t.step("forget drops a stream's image: the next request decodes again", async () => {
    const snapshots = new Snapshots(elements, quiet);
    const stream = new Stream("front", "h264", 90);
    stream.publish(h264());
    const first: Snapshot = await snapshots.jpeg(stream);
    snapshots.forget("front");
    assert.notEqual(await snapshots.jpeg(stream), first);
    assert.equal(snapshots.decodes, 2);
  });
});

Deno.test("GET /snapshot/<name>.jpg: a JPEG of the latest keyframe, behind the view token", async (t) => {
  const edgecam = await startEdgecam({
    toml: `
[auth]
view_tokens = ["${VIEW}"]

[[cameras]]
name = "front"
width = 320
height = 240

[[cameras]]
name = "rear"
codec = "vp8"
width = 352
height = 288

[[paths]]
name = "studio"
codec = "h264"
`,
  });
  const base = edgecam.url;
  const get = (path: string, headers: Record<string, string> = bearer) =>
    fetch(`${base}${path}`, { headers });
  try {
    await waitHealthy(base);

    await t.step("10 concurrent requests: all 200, the same bytes, a JPEG of the camera's size", async () => {
      const responses = await Promise.all(Array.from({ length: 10 }, () => get("/snapshot/front.jpg")));
      const bodies = await Promise.all(responses.map(async (r) => new Uint8Array(await r.arrayBuffer())));
      for (const res of responses) {
        assert.equal(res.status, 200);
        assert.equal(res.headers.get("content-type"), "image/jpeg");
        assert.equal(res.headers.get("cache-control"), "no-store");
        assert.match(
          res.headers.get("content-disposition")!,
          /^inline; filename="front-\d{8}T\d{6}Z\.jpg"$/,
        );
      }
      for (const body of bodies) assert.deepEqual(body, bodies[0]);
      assertJpeg(bodies[0], "front");
      assert.deepEqual(await decodedSize(bodies[0]), { width: 320, height: 240 });

      // Within a second: the same image again.
      const again = await get("/snapshot/front.jpg");
      assert.equal(again.status, 200);
      assert.deepEqual(new Uint8Array(await again.arrayBuffer()), bodies[0]);
    });

    await t.step("a VP8 camera: a JPEG too", async () => {
      const res = await get("/snapshot/rear.jpg");
      assert.equal(res.status, 200);
      const jpeg = new Uint8Array(await res.arrayBuffer());
      assertJpeg(jpeg, "rear");
      assert.deepEqual(await decodedSize(jpeg), { width: 352, height: 288 });
    });

    await t.step("a WHIP path with no publisher yet: 503, Retry-After: 1, one line", async () => {
      const res = await get("/snapshot/studio.jpg");
      assert.equal(res.status, 503);
      assert.equal(res.headers.get("retry-after"), "1");
      assert.equal(await res.text(), 'stream "studio" has no keyframe yet\n');
    });

    await t.step("unknown stream, or no .jpg: 404 with one line", async () => {
      const unknown = await get("/snapshot/nope.jpg");
      assert.equal(unknown.status, 404);
      assert.equal(await unknown.text(), 'no stream named "nope"\n');
      const png = await get("/snapshot/front.png");
      assert.equal(png.status, 404);
      assert.equal(await png.text(), "no route for GET /snapshot/front.png\n");
    });

    await t.step("without the view token: 401; ?token= works as for the other viewer doors", async () => {
      const refused = await get("/snapshot/front.jpg", {});
      assert.equal(refused.status, 401);
      assert.equal(refused.headers.get("www-authenticate"), 'Bearer realm="edgecam"');
      await refused.body?.cancel();
      const wrong = await get("/snapshot/nope.jpg", { Authorization: "Bearer wrong-0123456789abcdef" });
      assert.equal(wrong.status, 401);
      await wrong.body?.cancel();
      const query = await fetch(`${base}/snapshot/front.jpg?token=${VIEW}`);
      assert.equal(query.status, 200);
      assertJpeg(new Uint8Array(await query.arrayBuffer()), "?token=");
    });
  } finally {
    await edgecam.stop();
  }
});
