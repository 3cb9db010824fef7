import assert from "node:assert/strict";
import { freePort, getJson, startEdgecam, waitFor, waitHealthy } from "../helpers/edgecam.ts";
import { familyTypes, promtoolCheck, scrape } from "../helpers/prometheus.ts";
import { WhepViewer } from "../helpers/whep_client.ts";
import { WsPlayer } from "../helpers/ws_player.ts";

/** Every family the issue and the README promise, with its type. */
const FAMILIES: Record<string, string> = {
  edgecam_build_info: "gauge",
  edgecam_stream_up: "gauge",
  edgecam_stream_frames_total: "counter",
  edgecam_stream_keyframes_total: "counter",
  edgecam_stream_bytes_total: "counter",
  edgecam_stream_dropped_frames_total: "counter",
  edgecam_camera_restarts_total: "counter",
  edgecam_viewers: "gauge",
  edgecam_webrtc_packets_sent_total: "counter",
  edgecam_webrtc_retransmits_total: "counter",
  edgecam_webrtc_nacks_total: "counter",
  edgecam_webrtc_plis_total: "counter",
  edgecam_reader_queue_fill_ratio: "gauge",
  edgecam_frame_send_delay_seconds: "histogram",
  edgecam_recording_active: "gauge",
  edgecam_recording_bytes_total: "counter",
  edgecam_ingest_packets_lost_total: "counter",
  edgecam_push_up: "gauge",
  edgecam_memory_pressure: "gauge",
  process_cpu_seconds_total: "counter",
  process_resident_memory_bytes: "gauge",
  process_start_time_seconds: "gauge",
  process_open_fds: "gauge",
};

function config(metricsPort: number, auth = ""): string {
  return `
[shm]
prefix = "metrics-${crypto.randomUUID().slice(0, 8)}"
[metrics]
listen = "127.0.0.1:${metricsPort}"
${auth}
[[cameras]]
name = "cam"
width = 320
height = 240
keyframe_interval = 10
`;
}

Deno.test("/metrics passes promtool, and its series follow a real camera, viewers and a camera kill", async () => {
  const metricsPort = freePort();
  const edgecam = await startEdgecam({ toml: config(metricsPort) });
  const viewer = new WhepViewer();
  let player: WsPlayer | undefined;
  try {
    await waitHealthy(edgecam.url);
    const metrics = `${edgecam.url}/metrics`;
    const first = await scrape(metrics);
    const verdict = await promtoolCheck(first.text);
    assert.deepEqual(verdict, { code: 0, output: "" }, `promtool on:\n${first.text}`);
    const types = familyTypes(first.text);
    for (const [name, type] of Object.entries(FAMILIES)) assert.equal(types.get(name), type, name);
    assert.equal(first.series.get('edgecam_stream_up{stream="cam"}'), 1);
    assert.equal(first.series.get(`edgecam_build_info{version="0.1.0",deno="${Deno.version.deno}"}`), 1);
    assert.ok(first.series.get("process_open_fds")! > 3);
    assert.ok(Math.abs(first.series.get("process_start_time_seconds")! - Date.now() / 1000) < 120);

    // Frames flow: the counter grows between scrapes.
    const frames = (text: Map<string, number>) => text.get('edgecam_stream_frames_total{stream="cam"}')!;
    await waitFor(
      "frames counted",
      async () => frames((await scrape(metrics)).series) > frames(first.series) + 10 || undefined,
    );

    // A WebRTC viewer and a WebSocket player appear, by protocol, and their sends are counted.
    const res = await viewer.connect(`${edgecam.url}/whep/cam`);
    player = new WsPlayer(`${edgecam.url.replace("http", "ws")}/ws/cam`);
    await player.opened;
    const withViewers = await waitFor("both viewers counted", async () => {
      const { series } = await scrape(metrics);
      return series.get('edgecam_viewers{stream="cam",protocol="webrtc"}') === 1 &&
          series.get('edgecam_viewers{stream="cam",protocol="ws"}') === 1 &&
          series.get('edgecam_frame_send_delay_seconds_count{stream="cam"}')! >= 30
        ? series
        : undefined;
    });
    assert.ok(withViewers.get('edgecam_webrtc_packets_sent_total{stream="cam"}')! >= 30);
    assert.ok(viewer.frames.length >= 30, `the viewer got ${viewer.frames.length} frames`);
    // Loopback and an idle machine: nearly every frame is in the socket within 50 ms of the pipe read.
    const within50ms = withViewers.get('edgecam_frame_send_delay_seconds_bucket{stream="cam",le="0.05"}')!;
    assert.ok(within50ms / withViewers.get('edgecam_frame_send_delay_seconds_count{stream="cam"}')! > 0.9);

    // They leave: the gauges go back to 0.
    await fetch(`${edgecam.url}${res.headers.get("location")}`, { method: "DELETE" });
    await player.close();
    await waitFor("viewers gone", async () => {
      const { series } = await scrape(metrics);
      return series.get('edgecam_viewers{stream="cam",protocol="webrtc"}') === 0 &&
          series.get('edgecam_viewers{stream="cam",protocol="ws"}') === 0 || undefined;
    });

    // A killed camera is counted once restarted, and the stream is up again.
    const { body } = await getJson<{ pid: number }>(`${edgecam.url}/api/streams/cam`);
    Deno.kill(body.pid, "SIGKILL");
    await waitFor("the restart counted and the stream up again", async () => {
      const { series } = await scrape(metrics);
      return series.get('edgecam_camera_restarts_total{stream="cam"}') === 1 &&
          series.get('edgecam_stream_up{stream="cam"}') === 1 || undefined;
    });

    // The same exposition on [metrics] listen's own port.
    const own = await scrape(`http://127.0.0.1:${metricsPort}/metrics`);
    assert.deepEqual(await promtoolCheck(own.text), { code: 0, output: "" });
    assert.deepEqual([...familyTypes(own.text)], [...types]);
    assert.equal(
      await fetch(`http://127.0.0.1:${metricsPort}/status`).then((r) =>
        r.body?.cancel().then(() => r.status)
      ),
      404,
    );
  } finally {
    await player?.close().catch(() => {});
    await viewer.close();
    await edgecam.stop();
  }
});

Deno.test("with API tokens configured, /metrics on either port needs an API-read (or change) token", async () => {
  const metricsPort = freePort();
  const read = "read-0123456789abcdef";
  const change = "change-0123456789abcdef";
  const view = "view-0123456789abcdef";
  const edgecam = await startEdgecam({
    toml: config(
      metricsPort,
      `[auth]\napi_read_tokens = ["${read}"]\napi_change_tokens = ["${change}"]\nview_tokens = ["${view}"]`,
    ),
  });
  try {
    for (const base of [edgecam.url, `http://127.0.0.1:${metricsPort}`]) {
      const status = async (token?: string) => {
        const res = await fetch(`${base}/metrics`, {
          headers: token ? { Authorization: `Bearer ${token}` } : {},
        });
        await res.body?.cancel();
        return res.status;
      };
      assert.equal(await status(), 401, base);
      assert.equal(await status(view), 401, base);
      assert.equal(await status("wrong-0123456789abcdef"), 401, base);
      assert.equal(await status(read), 200, base);
      assert.equal(await status(change), 200, base);
    }
  } finally {
    await edgecam.stop();
  }
});
