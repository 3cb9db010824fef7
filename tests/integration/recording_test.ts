import assert from "node:assert/strict";
import {
  getJson,
  type RunningEdgecam,
  startEdgecam,
  waitFor,
  waitHealthy,
  writeConfig,
} from "../helpers/edgecam.ts";
import { gstDecode, probePackets, probeStreams, requireElements } from "../helpers/media_probe.ts";
import { WhipPublisher } from "../helpers/whip_client.ts";
import { nalUnits } from "../../lib/media/h264/annexb.ts";
import { NAL, nalType } from "../../lib/media/h264/sps.ts";
import type { RecordingStatus } from "../../lib/recording/recorder.ts";

const ROOT = new URL("../../", import.meta.url).pathname;

/** A folder below recordings/ (the one the start task may write), its own per test. */
function recordingDir(): string {
  return `recordings/test-${crypto.randomUUID().slice(0, 8)}`;
}

/** The config of one 320x240 test camera recorded into `dir`; `extra` adds [recording] keys and cameras. */
function config(dir: string, recording = "", cameras = ""): string {
  return `
[shm]
enabled = false
[recording]
dir = "${dir}"
min_free_bytes = 0
${recording}
[[cameras]]
name = "cam"
width = 320
height = 240
keyframe_interval = 5
${cameras}
`;
}

interface Segment {
  start: string;
  duration_s: number;
  bytes: number;
  url: string;
}

async function segments(base: string, stream: string, headers: HeadersInit = {}): Promise<Segment[]> {
  const res = await fetch(`${base}/api/recordings/${stream}`, { headers });
  assert.equal(res.status, 200);
  return (await res.json()).segments;
}

async function streamFrames(base: string, stream: string): Promise<number> {
  return (await getJson<{ frames: number }>(`${base}/api/streams/${stream}`)).body.frames;
}

async function call(base: string, method: string, path: string, token?: string): Promise<Response> {
  return await fetch(`${base}${path}`, {
    method,
    headers: token ? { Authorization: `Bearer ${token}` } : {},
  });
}

async function withService<T>(toml: string, fn: (edgecam: RunningEdgecam) => Promise<T>): Promise<T> {
  const edgecam = await startEdgecam({ toml });
  try {
    await waitHealthy(edgecam.url);
    return await fn(edgecam);
  } finally {
    await edgecam.stop();
  }
}

async function removeDir(dir: string): Promise<void> {
  await Deno.remove(`${ROOT}${dir}`, { recursive: true }).catch(() => {});
}

Deno.test("a recording cut by SIGKILL plays to its last part, and the restarted service lists its real length", async () => {
  await requireElements("qtdemux", "h264parse", "avdec_h264");
  const dir = recordingDir();
  const path = await writeConfig(config(dir, "part_ms = 500"));
  try {
    const edgecam = await startEdgecam({ path });
    await waitHealthy(edgecam.url);
    const before = await streamFrames(edgecam.url, "cam");
    const started = await call(edgecam.url, "POST", "/api/streams/cam/recording");
    assert.equal(started.status, 201);
    const status = await started.json() as RecordingStatus;
    assert.equal(status.recording, true);
    assert.equal(status.format, "fmp4");
    await new Promise((r) => setTimeout(r, 4000));
    const produced = await streamFrames(edgecam.url, "cam") - before;
    const live = (await getJson<RecordingStatus>(`${edgecam.url}/api/streams/cam/recording`)).body;
    assert.ok(live.frame_count > 0 && live.bytes_written > 0, JSON.stringify(live));
    await edgecam.stop("SIGKILL");

    const file = `${ROOT}${live.filename}`;
    const [video] = await probeStreams(file, true);
    assert.equal(video.codec_name, "h264");
    assert.equal(video.width, 320);
    const frames = Number(video.nb_read_frames);
    // Lost: the frames before the first keyframe (at most 5) and at most one part (500 ms, 15 frames),
    // plus the frames between the two readings of the stream's count and the kill.
    assert.ok(frames <= produced + 3 && frames >= produced - 5 - 15 - 6, `${frames} of ${produced} produced`);
    const packets = await probePackets(file);
    assert.ok(packets[0].keyframe, "the first frame is a keyframe");
    const decoded = await gstDecode(
      `filesrc location=${file} ! qtdemux ! h264parse ! avdec_h264 ! fakesink name=v sync=false`,
    );
    assert.equal(decoded.code, 0, decoded.errors);
    assert.equal(decoded.pts.v?.length, frames, "GStreamer decodes every frame ffprobe counts");

    const again = await startEdgecam({ path });
    try {
      const [listed] = await segments(again.url, "cam");
      assert.equal(listed.start, live.start_time && new Date(Date.parse(listed.start)).toISOString());
      const last = packets[packets.length - 1].pts - packets[0].pts + 1 / 30;
      assert.ok(
        Math.abs(listed.duration_s - last) < 0.05,
        `listed ${listed.duration_s} s, file plays ${last} s`,
      );
      assert.equal(listed.bytes, (await Deno.stat(file)).size);
    } finally {
      await again.stop();
    }
  } finally {
    await removeDir(dir);
  }
});

Deno.test("segments rotate on keyframes and a range across two of them plays as one MP4 without a jump", async () => {
  await requireElements("qtdemux", "h264parse", "avdec_h264", "vp8dec");
  const dir = recordingDir();
  try {
    await withService(
      config(
        dir,
        "segment_s = 2\npart_ms = 500",
        `record = true\n[[cameras]]\nname = "vp"\ncodec = "vp8"\nwidth = 320\nheight = 240\nrecord = true`,
      ),
      async ({ url }) => {
        await waitFor("three segments", async () => (await segments(url, "cam")).length >= 3 || undefined);
        const list = await segments(url, "cam");
        for (const s of list.slice(0, -1)) {
          assert.ok(Math.abs(s.duration_s - 2) < 0.1, `segment of ${s.duration_s} s`);
        }
        const start = new Date(Date.parse(list[0].start) + 1500).toISOString();
        for (const [stream, decoder] of [["cam", "h264parse ! avdec_h264"], ["vp", "vp8dec"]]) {
          const res = await fetch(`${url}/playback/${stream}?start=${start}&duration=2`);
          assert.equal(res.status, 200);
          assert.equal(res.headers.get("content-type"), "video/mp4");
          const file = `${ROOT}${dir}/playback-${stream}.mp4`;
          await Deno.writeFile(file, new Uint8Array(await res.arrayBuffer()));
          const packets = await probePackets(file);
          assert.ok(packets[0].keyframe && packets[0].pts === 0, "starts at 0 on a keyframe");
          // The cut keyframe lies at most 5 frames before the start; 2 s asked, parts of 500 ms.
          // Until the last frame has shown: its start plus its duration (the step before it).
          const length = 2 * packets.at(-1)!.pts - packets.at(-2)!.pts - packets[0].pts;
          assert.ok(length >= 2 && length <= 2 + 0.2 + 0.5, `${stream} plays ${length} s`);
          for (let i = 1; i < packets.length; i++) {
            const step = packets[i].pts - packets[i - 1].pts;
            assert.ok(step > 0.02 && step < 0.05, `${stream}: a ${step} s step at ${packets[i].pts} s`);
          }
          // GStreamer 1.22's qtdemux guesses a frame rate per fragment from the real (jittering) frame
          // durations and sends new caps when it differs, on which vp8dec resets until the next keyframe, a
          // varying number of frames: for VP8, GStreamer must demux every frame and FFmpeg decode every one.
          const tail = stream === "cam"
            ? `${decoder} ! fakesink name=v sync=false`
            : "fakesink name=v sync=false";
          const decoded = await gstDecode(`filesrc location=${file} ! qtdemux ! ${tail}`);
          assert.equal(decoded.code, 0, decoded.errors);
          assert.equal(decoded.pts.v?.length, packets.length, "every frame through GStreamer");
          const [probed] = await probeStreams(file);
          assert.equal(Number(probed.nb_read_frames), packets.length, "every frame decoded by FFmpeg");
        }
        const bad = [
          ["/playback/cam", 400],
          ["/playback/cam?start=yesterday", 400],
          [`/playback/cam?start=${start}&duration=-1`, 400],
          ["/playback/cam?start=2001-01-01T00:00:00Z&duration=5", 404],
          [`/playback/nope?start=${start}`, 404],
        ] as const;
        for (const [path, status] of bad) {
          const res = await fetch(`${url}${path}`);
          assert.equal(res.status, status, path);
          assert.match(await res.text(), /^[^\n]+\n$/, "a one-line reason");
        }
      },
    );
  } finally {
    await removeDir(dir);
  }
});

Deno.test('format = "h264": SPS and PPS before every IDR, VP8 as IVF, both play in ffprobe', async () => {
  const dir = recordingDir();
  try {
    await withService(
      config(
        dir,
        'format = "h264"',
        `record = true\n[[cameras]]\nname = "vp"\ncodec = "vp8"\nwidth = 320\nheight = 240\nrecord = true`,
      ),
      async ({ url }) => {
        await waitFor("a second of each", async () => {
          const [cam, vp] = await Promise.all([segments(url, "cam"), segments(url, "vp")]);
          return cam[0]?.bytes > 0 && vp[0]?.bytes > 0 && cam[0].duration_s > 1 || undefined;
        });
        const stopped = await (await call(url, "DELETE", "/api/streams/cam/recording"))
          .json() as RecordingStatus;
        assert.equal(stopped.recording, false);
        assert.match(stopped.filename!, /\/cam\/\d{4}-\d\d-\d\dT\d\d-\d\d-\d\d\.\d{3}Z\.h264$/);
        const bytes = await Deno.readFile(`${ROOT}${stopped.filename}`);
        let sps = false, pps = false, idrs = 0;
        for (const nal of nalUnits(bytes)) {
          const type = nalType(nal);
          if (type === NAL.SPS) sps = true;
          if (type === NAL.PPS) pps = true;
          if (type === NAL.IDR) {
            assert.ok(sps && pps, `IDR ${idrs} comes after an SPS and a PPS`);
            idrs++;
          }
          if (type === NAL.SLICE || type === NAL.IDR) sps = pps = false;
        }
        assert.ok(idrs >= 2, `${idrs} IDRs`);
        const [h264] = await probeStreams(`${ROOT}${stopped.filename}`);
        assert.equal(h264.codec_name, "h264");
        assert.equal(Number(h264.nb_read_frames), stopped.frame_count);
        const [vp] = await segments(url, "vp");
        assert.match(vp.url, /\.ivf$/);
        const res = await fetch(`${url}${vp.url}`);
        assert.equal(res.headers.get("content-type"), "video/x-ivf");
        const ivf = `${ROOT}${dir}/vp.ivf`;
        await Deno.writeFile(ivf, new Uint8Array(await res.arrayBuffer()));
        const [vp8] = await probeStreams(ivf, true);
        assert.equal(vp8.codec_name, "vp8");
        assert.ok(Number(vp8.nb_read_frames) > 20);
      },
    );
  } finally {
    await removeDir(dir);
  }
});

Deno.test("retention deletes segments past delete_after and past max_bytes, oldest first, never the open one", async () => {
  const aged = recordingDir();
  const sized = recordingDir();
  try {
    const byAge = withService(
      config(aged, 'segment_s = 1\ndelete_after = "3s"', "record = true"),
      async ({ url }) => {
        const first = await waitFor("a segment", async () => (await segments(url, "cam"))[0]);
        await new Promise((r) => setTimeout(r, 6500));
        const left = await segments(url, "cam");
        assert.ok(!left.some((s) => s.start === first.start), "the first segment was deleted");
        for (const s of left) {
          const end = Date.parse(s.start) + s.duration_s * 1000;
          assert.ok(Date.now() - end < 3000 + 1500, `${s.start} ended ${Date.now() - end} ms ago`);
        }
      },
    );
    const bySize = withService(
      config(sized, 'segment_s = 1\nmax_bytes = "250KB"', "record = true"),
      async ({ url }) => {
        const first = await waitFor("a segment", async () => (await segments(url, "cam"))[0]);
        await waitFor("six seconds recorded", async () => {
          const status = (await getJson<RecordingStatus>(`${url}/api/streams/cam/recording`)).body;
          return status.bytes_written > 3 * 250_000 || status.duration_ms > 6000 || undefined;
        }, 20_000);
        const left = await segments(url, "cam");
        assert.ok(!left.some((s) => s.start === first.start), "the first segment was deleted");
        const closed = left.slice(0, -1).reduce((sum, s) => sum + s.bytes, 0);
        assert.ok(closed <= 250_000, `${closed} bytes in closed segments`);
        const status = (await getJson<RecordingStatus>(`${url}/api/streams/cam/recording`)).body;
        assert.ok(status.recording && status.error === null);
      },
    );
    await Promise.all([byAge, bySize]);
  } finally {
    await removeDir(aged);
    await removeDir(sized);
  }
});

Deno.test("a WHIP publisher's Opus is recorded as a second track", async () => {
  await requireElements("qtdemux", "opusdec");
  const dir = recordingDir();
  try {
    await withService(
      config(dir, "part_ms = 500", '[[paths]]\nname = "obs"\nrecord = true'),
      async ({ url }) => {
        const publisher = new WhipPublisher("h264", { audio: true });
        try {
          const { res } = await publisher.publish(`${url}/whip/obs`);
          assert.equal(res.status, 201);
          await waitFor("two seconds of obs", async () => {
            const status = (await getJson<RecordingStatus>(`${url}/api/streams/obs/recording`)).body;
            return status.duration_ms > 2000 || undefined;
          });
        } finally {
          await publisher.close();
        }
        const stopped = await (await call(url, "DELETE", "/api/streams/obs/recording"))
          .json() as RecordingStatus;
        const file = `${ROOT}${stopped.filename}`;
        const streams = await probeStreams(file);
        assert.deepEqual(streams.map((s) => s.codec_name).sort(), ["h264", "opus"]);
        const audio = await probePackets(file, "a");
        assert.ok(audio.length >= 50, `${audio.length} Opus packets`);
        const decoded = await gstDecode(
          `filesrc location=${file} ! qtdemux ! opusdec ! fakesink name=a sync=false`,
        );
        assert.equal(decoded.code, 0, decoded.errors);
      },
    );
  } finally {
    await removeDir(dir);
  }
});

Deno.test("start, stop and status through both API forms, with and without tokens", async () => {
  const dir = recordingDir();
  const change = "change-0123456789abcdef";
  const view = "view-0123456789abcdef01";
  const tokens = `[auth]\napi_change_tokens = ["${change}"]\nview_tokens = ["${view}"]\n`;
  try {
    await withService(tokens + config(dir, "part_ms = 500"), async ({ url }) => {
      assert.equal((await call(url, "POST", "/api/streams/cam/recording")).status, 401);
      assert.equal((await call(url, "POST", "/start")).status, 401);
      assert.equal((await call(url, "POST", "/api/streams/cam/recording", view)).status, 401);
      assert.equal((await call(url, "POST", "/api/streams/nope/recording", change)).status, 404);
      assert.equal((await call(url, "POST", "/api/streams/cam/recording", change)).status, 201);
      assert.equal((await call(url, "POST", "/start", change)).status, 200, "already recording");
      const status = await (await call(url, "GET", "/api/streams/cam/recording", change))
        .json() as RecordingStatus;
      assert.equal(status.recording, true);
      const inStatus = await (await call(url, "GET", "/status", change)).json();
      assert.equal(inStatus.streams[0].recording.recording, true);
      await waitFor("a written part", async () => {
        const s = await (await call(url, "GET", "/api/streams/cam/recording", change))
          .json() as RecordingStatus;
        return s.bytes_written > 0 || undefined;
      });
      const list = await segments(url, "cam", { Authorization: `Bearer ${view}` });
      assert.equal((await call(url, "GET", "/api/recordings/cam")).status, 401);
      assert.equal((await call(url, "DELETE", list[0].url, change)).status, 409, "the open segment stays");
      const stopped = await (await call(url, "POST", "/stop?stream=cam", change)).json() as RecordingStatus;
      assert.equal(stopped.recording, false);
      assert.ok(stopped.frame_count > 0 && stopped.duration_ms > 0);
      assert.equal(
        (await call(url, "POST", "/api/streams/cam/recording", change)).status,
        201,
        "started again",
      );
      assert.equal((await call(url, "DELETE", "/api/streams/cam/recording", change)).status, 200);

      const file = await fetch(`${url}${list[0].url}?token=${view}`);
      assert.equal(file.status, 200);
      assert.equal(file.headers.get("accept-ranges"), "bytes");
      assert.match(file.headers.get("content-disposition")!, /^attachment; filename="cam-.*\.mp4"$/);
      const whole = new Uint8Array(await file.arrayBuffer());
      const part = await fetch(`${url}${list[0].url}`, {
        headers: { Authorization: `Bearer ${view}`, Range: "bytes=4-11" },
      });
      assert.equal(part.status, 206);
      assert.equal(part.headers.get("content-range"), `bytes 4-11/${whole.length}`);
      assert.equal(
        new TextDecoder().decode(new Uint8Array(await part.arrayBuffer())),
        "ftypiso6".slice(0, 8),
      );
      const past = await fetch(`${url}${list[0].url}`, {
        headers: { Authorization: `Bearer ${view}`, Range: `bytes=${whole.length}-` },
      });
      assert.equal(past.status, 416);
      assert.equal(past.headers.get("content-range"), `bytes */${whole.length}`);
      await past.text();
      assert.equal((await call(url, "DELETE", list[0].url, view)).status, 401);
      assert.equal((await call(url, "DELETE", list[0].url, change)).status, 204);
      assert.equal((await call(url, "GET", list[0].url, view)).status, 404);
      assert.equal((await call(url, "GET", "/api/recordings/cam/..%2F..%2Fdeno.json", view)).status, 404);
    });
  } finally {
    await removeDir(dir);
  }
});
