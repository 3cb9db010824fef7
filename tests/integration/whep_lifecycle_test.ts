import assert from "node:assert/strict";
import { sendAlert } from "../helpers/dtls_alert.ts";
import { getJson, startEdgecam, waitFor, waitHealthy } from "../helpers/edgecam.ts";
import { WhepViewer } from "../helpers/whep_client.ts";

interface StreamJson {
  state: string;
  readers: number;
  restarts: number;
  pid: number;
  webrtc: { viewers: number };
}

/** DTLS alert levels and descriptions (RFC 5246 §7.2). */
const WARNING = 1;
const FATAL = 2;
const CLOSE_NOTIFY = 0;
const INTERNAL_ERROR = 80;
const NO_RENEGOTIATION = 100;

/** Resolves once the stream has no reader and no WebRTC viewer; returns when, in ms since the epoch. */
async function freed(base: string, stream: string, timeoutMs: number): Promise<number> {
  return await waitFor("the session to be freed", async () => {
    const { body } = await getJson<StreamJson>(`${base}/api/streams/${stream}`);
    return body.readers === 0 && body.webrtc.viewers === 0 ? Date.now() : undefined;
  }, timeoutMs);
}

/** Opens a WHEP session for `stream` with an in-process viewer; returns the viewer and session URL. */
async function watch(base: string, stream: string): Promise<{ viewer: WhepViewer; session: string }> {
  const viewer = new WhepViewer();
  const res = await viewer.connect(`${base}/whep/${stream}`);
  return { viewer, session: `${base}${res.headers.get("location")}` };
}

Deno.test("a camera restart does not end a WHEP session: frames resume with no renegotiation", async () => {
  const edgecam = await startEdgecam({ path: "config.toml" });
  try {
    await waitHealthy(edgecam.url);
    const { viewer, session } = await watch(edgecam.url, "front");
    await waitFor("first frames", () => viewer.frames.length >= 30 ? true : undefined);
    const { body: before } = await getJson<StreamJson>(`${edgecam.url}/api/streams/front`);
    Deno.kill(before.pid, "SIGKILL");
    const killedAt = Date.now();
    await waitFor("restart", async () => {
      const { body } = await getJson<StreamJson>(`${edgecam.url}/api/streams/front`);
      return body.restarts >= 1 && body.state === "running" ? true : undefined;
    });
    // The new process starts at least restart_delay_ms (500) after the kill.
    await waitFor(
      "frames from the new process",
      () => viewer.since(killedAt + 500).length >= 30 ? true : undefined,
    );
    assert.equal((await fetch(session)).status, 204, "the session still exists");
    assert.equal(viewer.pc.connectionState, "connected");
    await viewer.close();
    await fetch(session, { method: "DELETE" });
  } finally {
    await edgecam.stop();
  }
});

Deno.test("a viewer that vanishes without DELETE is freed by ICE consent expiry", async () => {
  const edgecam = await startEdgecam({ path: "config.toml" });
  const client = new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "-A",
      new URL("../clients/werift_viewer.ts", import.meta.url).pathname,
      `${edgecam.url}/whep/front`,
    ],
    stdout: "piped",
    stderr: "inherit",
  }).spawn();
  try {
    await waitHealthy(edgecam.url);
    const lines = client.stdout.pipeThrough(new TextDecoderStream()).getReader();
    let out = "";
    while (!/frames 30/.test(out)) {
      const { value, done } = await lines.read();
      assert.ok(!done, `the viewer process ended early: ${out}`);
      out += value;
    }
    const session = out.match(/session (\S+)/)![1];
    assert.equal((await getJson<StreamJson>(`${edgecam.url}/api/streams/front`)).body.readers, 1);
    // A killed process sends no DTLS close_notify: only consent expiry can tell.
    client.kill("SIGKILL");
    const killedAt = Date.now();
    // RFC 7675: consent expires 30 s after the last answered check.
    await waitFor("the session to be freed", async () => {
      const { body } = await getJson<StreamJson>(`${edgecam.url}/api/streams/front`);
      return body.readers === 0 ? true : undefined;
    }, 45_000);
    assert.ok(Date.now() - killedAt >= 20_000, "freed by consent expiry, not by anything sooner");
    assert.equal((await fetch(session)).status, 404);
    await lines.cancel();
  } finally {
    try {
      client.kill("SIGKILL");
    } catch {
      // Already gone.
    }
    await client.status;
    await edgecam.stop();
  }
});

Deno.test("a viewer that closes its peer connection without DELETE is freed at once by its DTLS close_notify", async () => {
  const edgecam = await startEdgecam({ path: "config.toml" });
  try {
    await waitHealthy(edgecam.url);
    const { viewer, session } = await watch(edgecam.url, "front");
    await waitFor("first frames", () => viewer.frames.length >= 30 ? true : undefined);
    assert.equal((await getJson<StreamJson>(`${edgecam.url}/api/streams/front`)).body.webrtc.viewers, 1);
    // What a browser does on pc.close(): close_notify, then nothing (no DELETE, no more consent replies).
    await sendAlert(viewer, WARNING, CLOSE_NOTIFY);
    const closedAt = Date.now();
    await viewer.close();
    // Consent expiry would take 30 s; the deadline is generous for a loaded machine, the bound is not.
    const freedAt = await freed(edgecam.url, "front", 10_000);
    assert.ok(freedAt - closedAt < 5_000, `freed ${freedAt - closedAt} ms after the close_notify`);
    assert.equal((await fetch(session)).status, 404);
    assert.match(edgecam.log(), /viewer closed \(DTLS alert 1\/0\)/);
  } finally {
    await edgecam.stop();
  }
});

Deno.test("alerts that are not the viewer's own closing leave its session and video alone; a fatal one ends it", async () => {
  const edgecam = await startEdgecam({ path: "config.toml" });
  try {
    await waitHealthy(edgecam.url);
    const { viewer, session } = await watch(edgecam.url, "front");
    await waitFor("first frames", () => viewer.frames.length >= 30 ? true : undefined);
    // Unauthenticated or not a closure: werift alone would set the transport "closed" on the first two,
    // which stops the video of a viewer that is still there.
    await sendAlert(viewer, WARNING, CLOSE_NOTIFY, "plaintext");
    await sendAlert(viewer, WARNING, CLOSE_NOTIFY, "unknown-type");
    await sendAlert(viewer, WARNING, CLOSE_NOTIFY, "bad-tag");
    await sendAlert(viewer, FATAL, INTERNAL_ERROR, "bad-tag");
    await sendAlert(viewer, WARNING, NO_RENEGOTIATION);
    const sentAt = Date.now();
    await waitFor(
      "frames after the alerts",
      () => viewer.since(sentAt + 500).length >= 30 ? true : undefined,
    );
    assert.equal((await fetch(session)).status, 204, "the session still exists");
    assert.equal((await getJson<StreamJson>(`${edgecam.url}/api/streams/front`)).body.webrtc.viewers, 1);

    await sendAlert(viewer, FATAL, INTERNAL_ERROR);
    const fatalAt = Date.now();
    const freedAt = await freed(edgecam.url, "front", 10_000);
    assert.ok(freedAt - fatalAt < 5_000, `freed ${freedAt - fatalAt} ms after the fatal alert`);
    assert.equal((await fetch(session)).status, 404);
    assert.match(edgecam.log(), /viewer closed \(DTLS alert 2\/80\)/);
    await viewer.close();
  } finally {
    await edgecam.stop();
  }
});
