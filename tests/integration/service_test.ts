import assert from "node:assert/strict";
import { nalUnits } from "../../lib/media/h264/annexb.ts";
import { NAL } from "../../lib/media/h264/sps.ts";
import { getJson, processExists, startEdgecam, waitFor } from "../helpers/edgecam.ts";
import { WsPlayer } from "../helpers/ws_player.ts";

interface StreamJson {
  name: string;
  state: string;
  codec: string;
  width: number;
  height: number;
  restarts: number;
  pid: number | null;
  last_error: string | null;
}

const nalTypes = (au: Uint8Array) => [...nalUnits(au)].map((nal) => nal[0] & 0x1f);

Deno.test("the default config: both cameras run, the WebSocket player gets live H.264, restarts are seamless", async (t) => {
  const edgecam = await startEdgecam({ path: "config.toml" });
  const gstPids: number[] = [];
  try {
    await t.step("/health turns 200 once both cameras run", async () => {
      const health = await waitFor("healthy", async () => {
        const res = await getJson(`${edgecam.url}/health`);
        return res.status === 200 ? res.body : undefined;
      });
      assert.deepEqual(health, { status: "ok", streams: { front: "running", rear: "running" } });
    });

    await t.step("/status and /api/streams describe each stream from its bitstream", async () => {
      const { body: status } = await getJson<{ version: string; streams: StreamJson[] }>(
        `${edgecam.url}/status`,
      );
      assert.match(status.version, /^\d+\.\d+\.\d+/);
      const byName = Object.fromEntries(status.streams.map((s) => [s.name, s]));
      assert.equal(byName.front.codec, "h264");
      assert.equal(byName.rear.codec, "vp8");
      await waitFor("dimensions", async () => {
        const { body } = await getJson<StreamJson[]>(`${edgecam.url}/api/streams`);
        return body.every((s) => s.width === 640 && s.height === 480) ? true : undefined;
      });
      const one = await getJson<StreamJson>(`${edgecam.url}/api/streams/front`);
      assert.equal(one.status, 200);
      assert.equal(one.body.name, "front");
      gstPids.push(...status.streams.map((s) => s.pid!));
    });

    await t.step("unknown stream: 404 with a one-line text", async () => {
      for (const path of ["/api/streams/nope", "/ws/nope"]) {
        const res = await fetch(`${edgecam.url}${path}`);
        assert.equal(res.status, 404, path);
        assert.equal(await res.text(), 'no stream named "nope"\n');
      }
    });

    await t.step("the WebSocket player refuses a VP8 stream with the reason", async () => {
      const res = await fetch(`${edgecam.url}/ws/rear`, { headers: { upgrade: "websocket" } });
      assert.equal(res.status, 422);
      assert.match(await res.text(), /VP8; the WebSocket player carries H\.264 only/);
    });

    const player = new WsPlayer(`${edgecam.url.replace("http", "ws")}/ws/front`);
    await t.step(
      "a WebSocket player gets >= 25 access units per second, keyframe first, fresh timestamps",
      async () => {
        await player.opened;
        await new Promise((r) => setTimeout(r, 3000));
        const first = player.messages[0];
        assert.ok(first, "no message");
        const types = nalTypes(first.data);
        for (const needed of [NAL.SPS, NAL.PPS, NAL.IDR]) {
          assert.ok(types.includes(needed), `first AU NALs ${types}`);
        }
        const lastTwoSeconds = player.since(Date.now() - 2000);
        assert.ok(lastTwoSeconds.length >= 50, `${lastTwoSeconds.length} access units in 2 s`);
        for (let i = 1; i < player.messages.length; i++) {
          assert.ok(player.messages[i].captureMs >= player.messages[i - 1].captureMs, "timestamps rise");
        }
        for (const m of lastTwoSeconds) {
          assert.ok(Math.abs(m.receivedMs - m.captureMs) < 1000, "within 1 s of now");
        }
      },
    );

    await t.step(
      "killing the camera's gst-launch restarts it while the same player keeps receiving",
      async () => {
        const { body: before } = await getJson<StreamJson>(`${edgecam.url}/api/streams/front`);
        Deno.kill(before.pid!, "SIGKILL");
        const killedAt = Date.now();
        const after = await waitFor("restart", async () => {
          const { body } = await getJson<StreamJson>(`${edgecam.url}/api/streams/front`);
          return body.restarts >= 1 && body.state === "running" ? body : undefined;
        });
        assert.notEqual(after.pid, before.pid);
        assert.match(after.last_error ?? "", /killed by SIGKILL/);
        gstPids.push(after.pid!);
        await waitFor(
          "frames after the restart",
          () => player.since(killedAt + 200).length >= 30 ? true : undefined,
        );
        assert.equal(player.socket.readyState, WebSocket.OPEN, "the player never reconnected");
        // Frames still in the pipe when the old process died may be read just after the kill; the new
        // process starts at least restart_delay_ms (500) later.
        const resumed = player.messages.find((m) => m.captureMs > killedAt + 300)!;
        assert.ok(
          nalTypes(resumed.data).includes(NAL.IDR),
          "the first frame after the restart is a keyframe",
        );
      },
    );
    await player.close();

    await t.step("SIGTERM: exit 0 within 5 s, no camera process left", async () => {
      const t0 = Date.now();
      const status = await edgecam.stop("SIGTERM");
      assert.equal(status.code, 0, edgecam.log());
      assert.ok(Date.now() - t0 < 5000, `took ${Date.now() - t0} ms`);
      for (const pid of gstPids) {
        assert.ok(!processExists(pid), `gst-launch ${pid} still runs`);
      }
    });
  } finally {
    await edgecam.stop("SIGKILL");
  }
});

Deno.test("a camera whose encoder is missing fails alone; the others run", async () => {
  const edgecam = await startEdgecam({
    toml: `
[[cameras]]
name = "hw"
encoder = "v4l2"

[[cameras]]
name = "sw"
encoder = "x264"
`,
  });
  try {
    const streams = await waitFor("sw running", async () => {
      const { body } = await getJson<StreamJson[]>(`${edgecam.url}/api/streams`);
      return body.find((s) => s.name === "sw")?.state === "running" ? body : undefined;
    });
    const hw = streams.find((s) => s.name === "hw")!;
    assert.equal(hw.state, "failed");
    assert.match(hw.last_error ?? "", /v4l2h264enc/);
    const health = await fetch(`${edgecam.url}/health`);
    assert.equal(health.status, 503);
    assert.deepEqual(await health.json(), { status: "unhealthy", streams: { hw: "failed", sw: "running" } });
  } finally {
    await edgecam.stop();
  }
});

Deno.test("a camera that stops sending frames is killed and restarted after the stall timeout", async () => {
  const edgecam = await startEdgecam({
    toml: `
[supervisor]
stall_timeout_ms = 1000
restart_delay_ms = 100

[[cameras]]
name = "front"
`,
  });
  try {
    const before = await waitFor("running", async () => {
      const { body } = await getJson<StreamJson>(`${edgecam.url}/api/streams/front`);
      return body.state === "running" ? body : undefined;
    });
    // A stopped process keeps its pipe open but writes nothing: exactly what a hung driver looks like.
    Deno.kill(before.pid!, "SIGSTOP");
    const after = await waitFor("restart after the stall", async () => {
      const { body } = await getJson<StreamJson>(`${edgecam.url}/api/streams/front`);
      return body.restarts >= 1 && body.state === "running" ? body : undefined;
    });
    assert.match(after.last_error ?? "", /stalled: no frame for 1000 ms/);
    assert.ok(!processExists(before.pid!), "the stalled process was killed");
  } finally {
    await edgecam.stop();
  }
});
