import assert from "node:assert/strict";
import { getJson, startEdgecam, startTaskFlags, waitFor, waitHealthy } from "../helpers/edgecam.ts";
import { parseExposition } from "../helpers/prometheus.ts";
import { WhepViewer } from "../helpers/whep_client.ts";
import { WhipPublisher } from "../helpers/whip_client.ts";
import { WsPlayer } from "../helpers/ws_player.ts";
import { EVENT_NAMES } from "../../lib/events.ts";

const ROOT = new URL("../../", import.meta.url).pathname;

/** One POST a receiver got: its JSON body, Content-Type and arrival time. */
type Received = Record<string, string | number | null> & { contentType: string | null; receivedMs: number };

/** A webhook receiver in the test process; `answer` decides each response (204 by default). */
function receiver(
  answer: (body: Received) => Promise<Response> | Response = () => new Response(null, { status: 204 }),
) {
  const events: Received[] = [];
  const release = Promise.withResolvers<void>();
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, async (req) => {
    const body: Received = {
      ...await req.json(),
      contentType: req.headers.get("content-type"),
      receivedMs: Date.now(),
    };
    events.push(body);
    return await Promise.race([
      answer(body),
      release.promise.then(() => new Response(null, { status: 503 })),
    ]);
  });
  return {
    url: `http://127.0.0.1:${server.addr.port}/hook`,
    events,
    /** The first event of this name (and stream, and other fields) that arrived. */
    find: (event: string, fields: Record<string, unknown> = {}) =>
      events.find((e) => e.event === event && Object.entries(fields).every(([k, v]) => e[k] === v)),
    async close() {
      release.resolve();
      await server.shutdown();
    },
  };
}

/** The start task's flags with more programs allowed to run, as the README tells users to add theirs. */
function flagsRunning(...programs: string[]): string[] {
  return startTaskFlags().map((f) => f.startsWith("--allow-run=") ? `${f},${programs.join(",")}` : f);
}

Deno.test("every event reaches a webhook, with its fields, and a program gets it in EDGECAM_* variables", async () => {
  const hook = receiver();
  const dir = `recordings/test-${crypto.randomUUID().slice(0, 8)}`;
  const ran = await Deno.makeTempFile({ prefix: "edgecam-hook-" });
  const script =
    'printf "%s|%s|%s|%s\\n" "$EDGECAM_EVENT" "$EDGECAM_STREAM" "$EDGECAM_FILE" "$EDGECAM_EVENT_JSON" >> "$0"';
  const edgecam = await startEdgecam({
    flags: flagsRunning("/bin/sh"),
    toml: `
[shm]
enabled = false
[recording]
dir = "${dir}"
min_free_bytes = 0
part_ms = 300
[[hooks]]
on = ${JSON.stringify(EVENT_NAMES)}
url = "${hook.url}"
[[hooks]]
on = ["stream_ready", "recording_segment_complete"]
run = ["/bin/sh", "-c", ${JSON.stringify(script)}, "${ran}"]
[[cameras]]
name = "cam"
width = 320
height = 240
keyframe_interval = 10
[[cameras]]
name = "cam2"
width = 160
height = 120
`,
  });
  const viewer = new WhepViewer();
  const publisher = new WhipPublisher("h264");
  try {
    await waitHealthy(edgecam.url);
    const ready = await waitFor(
      "stream_ready of both cameras",
      () => hook.find("stream_ready", { stream: "cam" }) && hook.find("stream_ready", { stream: "cam2" }),
    );
    assert.equal(ready.state, "running");
    assert.equal(ready.contentType, "application/json");
    assert.ok(Math.abs(Date.parse(ready.time as string) - ready.receivedMs) < 5000, String(ready.time));

    // A WebRTC viewer joins and leaves; the two events carry its session id.
    const res = await viewer.connect(`${edgecam.url}/whep/cam`);
    const session = res.headers.get("location")!;
    const id = session.split("/").pop()!;
    await waitFor(
      "viewer_joined",
      () => hook.find("viewer_joined", { stream: "cam", protocol: "webrtc", session: id }),
    );
    await fetch(`${edgecam.url}${session}`, { method: "DELETE" });
    const left = await waitFor("viewer_left", () => hook.find("viewer_left", { stream: "cam", session: id }));
    assert.equal(left.protocol, "webrtc");
    assert.equal(typeof left.reason, "string");

    // A WebSocket player does the same.
    const player = new WsPlayer(`${edgecam.url.replace("http", "ws")}/ws/cam`);
    await player.opened;
    const wsJoined = await waitFor("ws viewer_joined", () => hook.find("viewer_joined", { protocol: "ws" }));
    await player.close();
    await waitFor(
      "ws viewer_left",
      () => hook.find("viewer_left", { protocol: "ws", session: wsJoined.session }),
    );

    // A WHIP publisher on a path nobody configured: the path becomes ready, then is lost when it leaves.
    const { res: published } = await publisher.publish(`${edgecam.url}/whip/obs`);
    assert.equal(published.status, 201);
    const publisherId = published.headers.get("location")!.split("/").pop()!;
    await waitFor(
      "publisher_joined",
      () => hook.find("publisher_joined", { stream: "obs", session: publisherId }),
    );
    await waitFor("obs ready", () => hook.find("stream_ready", { stream: "obs" }));
    await fetch(`${edgecam.url}${published.headers.get("location")}`, { method: "DELETE" });
    await waitFor(
      "publisher_left",
      () => hook.find("publisher_left", { stream: "obs", session: publisherId }),
    );
    await waitFor("obs lost", () => hook.find("stream_lost", { stream: "obs" }));

    // A recording starts and its segment completes, with the file's real size.
    assert.equal((await fetch(`${edgecam.url}/api/streams/cam/recording`, { method: "POST" })).status, 201);
    const started = await waitFor(
      "recording_started",
      () => hook.find("recording_started", { stream: "cam" }),
    );
    assert.equal(started.format, "fmp4");
    await new Promise((r) => setTimeout(r, 1500));
    await (await fetch(`${edgecam.url}/api/streams/cam/recording`, { method: "DELETE" })).body?.cancel();
    const done = await waitFor("recording_segment_complete", () => hook.find("recording_segment_complete"));
    assert.match(done.file as string, /^\d{4}-\d\d-\d\dT.*\.mp4$/);
    assert.equal(done.bytes, (await Deno.stat(`${ROOT}${done.path}`)).size);
    assert.ok((done.duration_s as number) > 0.5, `duration_s ${done.duration_s}`);

    // A recording that cannot create its folder reports the error.
    await Deno.writeTextFile(`${ROOT}${dir}/cam2`, "a file where the folder should be");
    await (await fetch(`${edgecam.url}/api/streams/cam2/recording`, { method: "POST" })).body?.cancel();
    const error = await waitFor("recording_error", () => hook.find("recording_error", { stream: "cam2" }));
    assert.match(error.error as string, /cannot create/);

    // A killed camera: restart and lost, then ready again.
    const { body } = await getJson<{ pid: number }>(`${edgecam.url}/api/streams/cam`);
    Deno.kill(body.pid, "SIGKILL");
    const restart = await waitFor("camera_restart", () => hook.find("camera_restart", { stream: "cam" }));
    assert.equal(restart.restarts, 1);
    assert.ok(hook.find("stream_lost", { stream: "cam" }));
    await waitFor(
      "cam ready again",
      () =>
        hook.events.filter((e) => e.event === "stream_ready" && e.stream === "cam").length === 2 || undefined,
    );

    // The program hook ran for what it subscribed to, with the event in its environment.
    const lines = await waitFor("the program's lines", async () => {
      const text = await Deno.readTextFile(ran);
      return text.includes("recording_segment_complete") ? text.trim().split("\n") : undefined;
    });
    const readyLine = lines.find((l) => l.startsWith("stream_ready|cam||"));
    assert.ok(readyLine, lines.join("\n"));
    assert.equal(JSON.parse(readyLine.split("|").slice(3).join("|")).state, "running");
    const segmentLine = lines.find((l) => l.startsWith("recording_segment_complete|"))!.split("|");
    assert.deepEqual(segmentLine.slice(0, 3), ["recording_segment_complete", "cam", done.file]);
    assert.equal(JSON.parse(segmentLine.slice(3).join("|")).bytes, done.bytes);
    assert.ok(!lines.some((l) => l.startsWith("viewer_joined")), "only the events it subscribed to");

    // Every event is in the log at info, one line each.
    assert.match(
      edgecam.log(),
      new RegExp(`INFO  \\[events\\] event viewer_joined cam protocol=webrtc session=${id}`),
    );
    assert.match(edgecam.log(), /INFO {2}\[events\] event recording_segment_complete cam file=/);
  } finally {
    await viewer.close();
    await publisher.close();
    await edgecam.stop();
    await hook.close();
    await Deno.remove(`${ROOT}${dir}`, { recursive: true }).catch(() => {});
    await Deno.remove(ran).catch(() => {});
  }
});

Deno.test("a webhook that never answers, one that fails and a program that hangs do not hold up frames", async () => {
  const silent = receiver(() => new Promise<Response>(() => {}));
  const failing = receiver(() => new Response("down", { status: 500 }));
  const events = '["viewer_joined", "viewer_left"]';
  const edgecam = await startEdgecam({
    flags: flagsRunning("sleep"),
    toml: `
[shm]
enabled = false
[[hooks]]
on = ${events}
url = "${silent.url}"
timeout_ms = 60000
[[hooks]]
on = ${events}
url = "${failing.url}"
retries = 2
[[hooks]]
on = ${events}
run = ["sleep", "30"]
timeout_ms = 60000
[[cameras]]
name = "cam"
width = 320
height = 240
`,
  });
  const viewer = new WhepViewer();
  try {
    await waitHealthy(edgecam.url);
    await viewer.connect(`${edgecam.url}/whep/cam`);
    await waitFor("frames", () => viewer.frames.length >= 30 || undefined);
    const before = parseExposition(await (await fetch(`${edgecam.url}/metrics`)).text());
    // Players come and go while every hook is stuck: 2 events each, queued behind the first.
    const from = Date.now();
    for (let i = 0; i < 40; i++) {
      const player = new WsPlayer(`${edgecam.url.replace("http", "ws")}/ws/cam`);
      await player.opened;
      await player.close();
    }
    while (Date.now() - from < 3000) await new Promise((r) => setTimeout(r, 100));
    const seconds = (Date.now() - from) / 1000;
    const fps = viewer.since(from).length / seconds;
    assert.ok(fps >= 25, `the viewer got ${fps.toFixed(1)} fps while the hooks were stuck`);
    const after = parseExposition(await (await fetch(`${edgecam.url}/metrics`)).text());
    const delta = (name: string) => after.get(name)! - before.get(name)!;
    const quick = delta('edgecam_frame_send_delay_seconds_bucket{stream="cam",le="0.05"}') /
      delta('edgecam_frame_send_delay_seconds_count{stream="cam"}');
    assert.ok(quick > 0.9, `${(quick * 100).toFixed(0)} % of frames sent within 50 ms of the pipe read`);
    // The silent receiver holds its hook at the first event; the failing one got it 1 + 2 retries times.
    assert.equal(silent.events.length, 1);
    await waitFor("the retries", () => failing.events.length >= 3 || undefined);
    assert.equal(
      failing.events.filter((e) =>
        e.session === failing.events[0].session && e.event === failing.events[0].event
      ).length,
      3,
    );
    assert.match(edgecam.log(), /hooks\[1\]: viewer_joined to .* failed after 3 attempt\(s\): HTTP 500/);
  } finally {
    await viewer.close();
    await edgecam.stop();
    await silent.close();
    await failing.close();
  }
});
