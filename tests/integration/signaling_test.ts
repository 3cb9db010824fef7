import assert from "node:assert/strict";
import {
  freePort,
  getJson,
  type RunningEdgecam,
  startEdgecam,
  waitFor,
  waitHealthy,
} from "../helpers/edgecam.ts";
import { h264StartsKeyframe, SignalChannel, WhepViewer } from "../helpers/whep_client.ts";

/** The viewer gets H.264 video, keyframe first, at the camera's rate (>= 25 of 30 frames/s over 1 s). */
async function assertVideo(viewer: WhepViewer): Promise<void> {
  await waitFor("the first frames", () => viewer.frames.length >= 5 ? true : undefined);
  assert.equal(viewer.mimeType, "video/H264");
  assert.ok(h264StartsKeyframe(viewer.firstPayload!), "the first frame is a keyframe");
  const from = Date.now();
  await new Promise((r) => setTimeout(r, 1000));
  const frames = viewer.frames.filter((f) => f.receivedMs >= from && f.receivedMs < from + 1000).length;
  assert.ok(frames >= 25, `${frames} frames in 1 s`);
}

/** Waits until no viewer reads `stream`: its session is gone. */
async function noViewers(base: string, stream: string): Promise<void> {
  await waitFor(`no viewer on ${stream}`, async () => {
    const { body } = await getJson<{ readers: number }>(`${base}/api/streams/${stream}`);
    return body.readers === 0 ? true : undefined;
  });
}

Deno.test("legacy signaling doors: POST /offer (SDP and JSON), WebSocket signaling, max_clients", async (t) => {
  const port = freePort();
  const edgecam: RunningEdgecam = await startEdgecam({
    toml: `
[webrtc]
max_clients = 1
[[cameras]]
name = "front"
width = 320
height = 240
webrtc_port = ${port}
[[cameras]]
name = "side"
width = 320
height = 240
`,
  });
  const base = edgecam.url;
  const wsBase = base.replace(/^http/, "ws");
  try {
    await waitHealthy(base);

    await t.step(
      "POST /offer, application/sdp: a WHEP POST on the first stream; 503 past max_clients",
      async () => {
        const viewer = new WhepViewer();
        const second = new WhepViewer();
        try {
          const { res, answer } = await viewer.post(`${base}/offer`);
          assert.equal(res.status, 201, answer);
          assert.equal(res.headers.get("content-type"), "application/sdp");
          assert.match(res.headers.get("location")!, /^\/whep\/front\/[0-9a-f-]{36}$/);
          assert.match(res.headers.get("etag")!, /^"[0-9a-f]{32}"$/);
          assert.equal(res.headers.get("link"), null, "no ICE server is configured");
          await viewer.answer(answer);
          await assertVideo(viewer);

          for (const url of [`${base}/whep/front`, `${base}/offer?stream=front`]) {
            const { res: refused, answer: text } = await second.post(url);
            assert.equal(refused.status, 503, text);
            assert.match(refused.headers.get("retry-after") ?? "", /^\d+$/);
            assert.match(text, /max_clients/);
          }
          const del = await fetch(`${base}${res.headers.get("location")}`, { method: "DELETE" });
          await del.body?.cancel();
          assert.equal(del.status, 200);
          await noViewers(base, "front");
        } finally {
          await viewer.close();
          await second.close();
        }
      },
    );

    await t.step("POST /offer?stream=side, JSON: 200 with the JSON answer, Location and ETag", async () => {
      const viewer = new WhepViewer();
      try {
        const res = await fetch(`${base}/offer?stream=side`, {
          method: "POST",
          headers: { "Content-Type": "application/json" },
          body: JSON.stringify({ type: "offer", sdp: await viewer.offer() }),
        });
        const body = await res.json();
        assert.equal(res.status, 200, JSON.stringify(body));
        assert.match(res.headers.get("content-type")!, /^application\/json/);
        assert.equal(body.type, "answer");
        assert.match(body.sdp, /a=sendonly/);
        const location = res.headers.get("location")!;
        assert.match(location, /^\/whep\/side\/[0-9a-f-]{36}$/);
        assert.match(res.headers.get("etag")!, /^"[0-9a-f]{32}"$/);
        await viewer.answer(body.sdp);
        await assertVideo(viewer);
        const del = await fetch(`${base}${location}`, { method: "DELETE" });
        await del.body?.cancel();
        assert.equal(del.status, 200);
        await noViewers(base, "side");
      } finally {
        await viewer.close();
      }
    });

    await t.step(
      "POST /offer refusals: bad JSON 400, wrong shape 400, other type 415, unknown stream 404",
      async () => {
        const cases: [string, string, string, number][] = [
          ["/offer", "application/json", "{not json", 400],
          ["/offer", "application/json", `{"type":"answer","sdp":"v=0"}`, 400],
          ["/offer", "text/plain", "v=0", 415],
          [
            "/offer?stream=nope",
            "application/json",
            `{"type":"offer","sdp":"v=0\\r\\nm=video 9 x 96\\r\\n"}`,
            404,
          ],
        ];
        for (const [path, type, body, status] of cases) {
          const res = await fetch(`${base}${path}`, {
            method: "POST",
            headers: { "Content-Type": type },
            body,
          });
          const text = await res.text();
          assert.equal(res.status, status, `${type} ${body}: ${text}`);
          assert.equal(res.headers.get("access-control-allow-origin"), "*");
        }
      },
    );

    for (
      const [door, url] of [
        ["/ws/signal/front", `${wsBase}/ws/signal/front`],
        ["the camera's webrtc_port, /ws", `ws://127.0.0.1:${port}/ws`],
      ]
    ) {
      await t.step(
        `WebSocket signaling on ${door}: trickled offer → answer → video; close ends it`,
        async () => {
          const viewer = new WhepViewer();
          const channel = await SignalChannel.open(url);
          try {
            await channel.watch(viewer);
            await assertVideo(viewer);
            assert.deepEqual(channel.replies.map((r) => r.type), ["answer"], "no error for the candidates");
            const { body } = await getJson<{ readers: number }>(`${base}/api/streams/front`);
            assert.equal(body.readers, 1);
          } finally {
            await channel.close();
            await viewer.close();
          }
          await noViewers(base, "front");
        },
      );
    }

    await t.step("a signaling session that ends elsewhere (DELETE) closes its socket", async () => {
      const viewer = new WhepViewer();
      const channel = await SignalChannel.open(`${wsBase}/ws/signal/front`);
      try {
        await channel.watch(viewer);
        await assertVideo(viewer);
        const answer = channel.replies.find((r) => r.type === "answer")!;
        assert.match(answer.session ?? "", /^\/whep\/front\/[0-9a-f-]{36}$/);
        assert.equal((await fetch(`${base}${answer.session}`, { method: "DELETE" })).status, 200);
        await Promise.race([
          channel.closed,
          new Promise((_, reject) => setTimeout(() => reject(new Error("socket still open")), 15_000)),
        ]);
      } finally {
        await channel.close();
        await viewer.close();
      }
      await noViewers(base, "front");
    });

    await t.step("WebSocket signaling errors are JSON messages and keep the socket open", async () => {
      const channel = await SignalChannel.open(`${wsBase}/ws/signal/front`);
      try {
        const cases: [unknown, RegExp][] = [
          ["{not json", /not JSON/],
          [
            { type: "candidate", candidate: { candidate: "candidate:1 1 udp 1 127.0.0.1 9 typ host" } },
            /before the offer/,
          ],
          [
            { type: "candidate", candidate: { candidate: "candidate:1\r\na=ice-ufrag:x" } },
            /one "candidate:..." line/,
          ],
          [{ type: "offer" }, /"sdp"/],
          [{ type: "offer", sdp: "hello" }, /not an SDP offer/],
          [{ type: "bye" }, /unknown message type "bye"/],
        ];
        for (const [message, expected] of cases) {
          const seen = channel.replies.length;
          channel.send(message);
          const reply = await channel.reply(seen);
          assert.equal(reply.type, "error", JSON.stringify(message));
          assert.match(reply.message!, expected);
        }
        assert.equal(channel.socket.readyState, WebSocket.OPEN);
      } finally {
        await channel.close();
      }
    });

    await t.step("signaling for an unknown stream is 404; a plain GET is 400", async () => {
      const unknown = await fetch(`${base}/ws/signal/nope`, { headers: { Upgrade: "websocket" } });
      await unknown.body?.cancel();
      assert.equal(unknown.status, 404);
      const plain = await fetch(`${base}/ws/signal/front`);
      await plain.body?.cancel();
      assert.equal(plain.status, 400);
    });
  } finally {
    await edgecam.stop();
  }
});

Deno.test("configured STUN and TURN servers are announced in Link headers on the 201, not on a preflight", async () => {
  // Nothing answers on these ports: gathering gives up on them after werift's STUN timeout.
  const edgecam = await startEdgecam({
    toml: `
[[webrtc.ice_servers]]
urls = "stun:127.0.0.1:3478"
[[webrtc.ice_servers]]
urls = ["turn:127.0.0.1:3478?transport=udp", "turns:127.0.0.1:5349"]
username = "edgecam"
credential = "s3cret"
[[cameras]]
name = "front"
width = 320
height = 240
`,
  });
  const viewer = new WhepViewer();
  try {
    const base = edgecam.url;
    await waitHealthy(base);
    const { res, answer } = await viewer.post(`${base}/whep/front`);
    assert.equal(res.status, 201, answer);
    const turn = `username="edgecam"; credential="s3cret"; credential-type="password"`;
    assert.equal(
      res.headers.get("link"),
      [
        `<stun:127.0.0.1:3478>; rel="ice-server"`,
        `<turn:127.0.0.1:3478?transport=udp>; rel="ice-server"; ${turn}`,
        `<turns:127.0.0.1:5349>; rel="ice-server"; ${turn}`,
      ].join(", "),
    );
    await viewer.answer(answer);
    await waitFor("the first frames", () => viewer.frames.length >= 5 ? true : undefined);
    await fetch(`${base}${res.headers.get("location")}`, { method: "DELETE" }).then((r) => r.body?.cancel());

    const preflight = await fetch(`${base}/whep/front`, {
      method: "OPTIONS",
      headers: { Origin: "http://example.org", "Access-Control-Request-Method": "POST" },
    });
    await preflight.body?.cancel();
    assert.equal(preflight.status, 200);
    assert.equal(preflight.headers.get("link"), null);
  } finally {
    await viewer.close();
    await edgecam.stop();
  }
});

/** Opens the signaling socket of `stream`; resolves once open, with every message and the close kept. */
async function rawSignalSocket(base: string, stream: string) {
  const socket = new WebSocket(`${base.replace("http", "ws")}/ws/signal/${stream}`);
  const messages: { type: string; message?: string }[] = [];
  const closed = new Promise<CloseEvent>((resolve) => socket.addEventListener("close", resolve));
  socket.addEventListener("message", (e) => messages.push(JSON.parse(e.data)));
  await new Promise((resolve) => socket.addEventListener("open", resolve));
  return { socket, messages, closed };
}

Deno.test("WebSocket signaling refuses oversize messages and floods by closing the socket", async (t) => {
  const edgecam = await startEdgecam({ path: "config.toml" });
  try {
    await waitHealthy(edgecam.url);
    await t.step("a message over 128 KiB: an error, then close 1009", async () => {
      const { socket, messages, closed } = await rawSignalSocket(edgecam.url, "front");
      socket.send(JSON.stringify({ type: "offer", sdp: "v=0\r\n" + "a".repeat(200 * 1024) }));
      const close = await closed;
      assert.equal(close.code, 1009);
      assert.match(messages[0]?.message ?? "", /over 131072 bytes/);
    });
    await t.step("a binary message over 128 KiB: closed the same way", async () => {
      const { socket, closed } = await rawSignalSocket(edgecam.url, "front");
      socket.send(new Uint8Array(200 * 1024));
      assert.equal((await closed).code, 1009);
    });
    await t.step(
      "200 messages queued behind an offer: the socket is closed, the service stays healthy",
      async () => {
        const viewer = new WhepViewer();
        const sdp = await viewer.offer();
        await viewer.close();
        const { socket, closed } = await rawSignalSocket(edgecam.url, "front");
        socket.send(JSON.stringify({ type: "offer", sdp }));
        for (let i = 0; i < 200; i++) socket.send(JSON.stringify({ type: "candidate", candidate: "x" }));
        // Deno's client reports a close that lands mid-send as code 0; the service's log says why it closed.
        await closed;
        assert.match(edgecam.log(), /front: over 64 messages waiting; closing the socket/);
        assert.equal((await getJson(`${edgecam.url}/health`)).status, 200);
      },
    );
    await t.step("a bad message is answered with an error and the socket stays open", async () => {
      const { socket, messages } = await rawSignalSocket(edgecam.url, "front");
      socket.send("not json");
      await waitFor("the error reply", () => messages.length > 0 || undefined);
      assert.equal(messages[0].type, "error");
      assert.equal(socket.readyState, WebSocket.OPEN);
      socket.close();
    });
  } finally {
    await edgecam.stop();
  }
});
