import assert from "node:assert/strict";
import { Buffer } from "node:buffer";
import { Vp8RtpPayload } from "werift";
import { getJson, startEdgecam, waitFor } from "../helpers/edgecam.ts";
import { h264StartsKeyframe, WhepViewer } from "../helpers/whep_client.ts";

const SDP = { "Content-Type": "application/sdp" };

/** A minimal offer that parses but carries only a codec no stream of ours is sent as. */
const VP9_ONLY_OFFER = [
  "v=0",
  "o=- 1 0 IN IP4 0.0.0.0",
  "s=-",
  "t=0 0",
  "m=video 9 UDP/TLS/RTP/SAVPF 98",
  "c=IN IP4 0.0.0.0",
  "a=ice-ufrag:abcd",
  "a=ice-pwd:0123456789abcdef0123456789",
  "a=mid:0",
  "a=recvonly",
  "a=rtpmap:98 VP9/90000",
  "",
].join("\r\n");

Deno.test("WHEP: every status of the HTTP surface, and live H.264 and VP8 to a werift viewer", async (t) => {
  const edgecam = await startEdgecam({ path: "config.toml" });
  const base = edgecam.url;
  try {
    await waitFor("both cameras running", async () => {
      const res = await getJson(`${base}/health`);
      return res.status === 200 ? true : undefined;
    });
    const offer = await (async () => {
      const viewer = new WhepViewer();
      const sdp = await viewer.offer();
      await viewer.close();
      return sdp;
    })();

    await t.step("POST refusals: 415, 413, 400, 404, 422", async () => {
      const cases: [string, RequestInit, number][] = [
        ["/whep/front", { method: "POST", body: offer, headers: { "Content-Type": "text/plain" } }, 415],
        ["/whep/front", { method: "POST", body: "v=0\r\n" + "a".repeat(129 * 1024), headers: SDP }, 413],
        ["/whep/front", { method: "POST", body: "hello", headers: SDP }, 400],
        ["/whep/front", { method: "POST", body: "v=0\r\ns=-\r\nm=audio 9 RTP/AVP 0\r\n", headers: SDP }, 400],
        ["/whep/nope", { method: "POST", body: offer, headers: SDP }, 404],
        ["/whep/front", { method: "POST", body: VP9_ONLY_OFFER, headers: SDP }, 422],
        ["/whep/rear", { method: "POST", body: VP9_ONLY_OFFER, headers: SDP }, 422],
      ];
      for (const [path, init, status] of cases) {
        const res = await fetch(`${base}${path}`, init);
        const body = await res.text();
        assert.equal(res.status, status, `${path} ${body}`);
        assert.equal(res.headers.get("access-control-allow-origin"), "*");
      }
    });

    await t.step("OPTIONS 200 with Accept-Post and CORS; GET 204", async () => {
      for (const path of ["/whep/front", "/front/whep"]) {
        const options = await fetch(`${base}${path}`, { method: "OPTIONS" });
        await options.body?.cancel();
        assert.equal(options.status, 200);
        assert.equal(options.headers.get("accept-post"), "application/sdp");
        assert.equal(options.headers.get("access-control-allow-origin"), "*");
        assert.match(
          options.headers.get("access-control-allow-headers")!,
          /Authorization.*If-Match.*Content-Type/,
        );
        assert.match(
          options.headers.get("access-control-expose-headers")!,
          /Location.*ETag.*Link.*Accept-Patch/,
        );
        const get = await fetch(`${base}${path}`);
        await get.body?.cancel();
        assert.equal(get.status, 204);
      }
    });

    for (
      const [name, codec, keyframe] of [
        ["front", "video/H264", h264StartsKeyframe],
        ["rear", "video/VP8", (p: Uint8Array) => Vp8RtpPayload.deSerialize(Buffer.from(p)).isKeyframe],
      ] as const
    ) {
      await t.step(`${name}: 201, >= 25 frames/s over 2 s to a werift viewer, keyframe first`, async () => {
        const viewer = new WhepViewer();
        try {
          const res = await fetch(`${base}/whep/${name}`, {
            method: "POST",
            body: await viewer.offer(),
            headers: SDP,
          });
          const answer = await res.text();
          assert.equal(res.status, 201, answer);
          assert.equal(res.headers.get("content-type"), "application/sdp");
          const location = res.headers.get("location")!;
          assert.match(location, new RegExp(`^/whep/${name}/[0-9a-f-]{36}$`));
          const etag = res.headers.get("etag")!;
          assert.match(etag, /^"[0-9a-f]{32}"$/, "a strong, unique ETag");
          assert.equal(res.headers.get("access-control-allow-origin"), "*");
          assert.match(res.headers.get("access-control-expose-headers")!, /Location/);
          assert.match(answer, /a=candidate:.* 127\.0\.0\.1 /, "the answer holds the loopback candidate");
          assert.match(answer, /a=sendonly/);
          if (name === "front") {
            const { body } = await getJson<{ profile_level_id: string }>(`${base}/api/streams/front`);
            assert.match(
              answer,
              new RegExp(`profile-level-id=${body.profile_level_id}`),
              "the stream's real level",
            );
          }
          await viewer.answer(answer);

          await waitFor("the first frames", () => viewer.frames.length >= 5 ? true : undefined);
          assert.equal(viewer.mimeType, codec);
          assert.ok(keyframe(viewer.firstPayload!), "the first frame is a keyframe");
          const from = Date.now();
          await new Promise((r) => setTimeout(r, 2000));
          const frames = viewer.frames.filter((f) => f.receivedMs >= from && f.receivedMs < from + 2000);
          assert.ok(frames.length >= 50, `${frames.length} frames in 2 s`);

          const session = await fetch(`${base}${location}`);
          await session.body?.cancel();
          assert.equal(session.status, 204);
          const readers = await getJson<{ readers: number }>(`${base}/api/streams/${name}`);
          assert.equal(readers.body.readers, 1);

          const patch = (headers: Record<string, string>) =>
            fetch(`${base}${location}`, {
              method: "PATCH",
              body: "a=candidate:1 1 udp 2113937151 127.0.0.1 9 typ host\r\n",
              headers: { "Content-Type": "application/trickle-ice-sdpfrag", ...headers },
            }).then(async (r) => (await r.body?.cancel(), r.status));
          assert.equal(await patch({}), 428);
          assert.equal(await patch({ "If-Match": '"other"' }), 412);
          assert.equal(await patch({ "If-Match": etag, "Content-Type": "text/plain" }), 415);
          assert.equal(await patch({ "If-Match": etag }), 204);

          const del = await fetch(`${base}${location}`, { method: "DELETE" });
          await del.body?.cancel();
          assert.equal(del.status, 200);
          const again = await fetch(`${base}${location}`, { method: "DELETE" });
          await again.body?.cancel();
          assert.equal(again.status, 404);
          await waitFor("the reader freed", async () => {
            const { body } = await getJson<{ readers: number }>(`${base}/api/streams/${name}`);
            return body.readers === 0 ? true : undefined;
          });
        } finally {
          await viewer.close();
        }
      });
    }

    await t.step("a stream whose camera is not running: 409 with Retry-After", async () => {
      const { body } = await getJson<{ pid: number }>(`${base}/api/streams/front`);
      Deno.kill(body.pid, "SIGKILL");
      const res = await waitFor("409", async () => {
        const r = await fetch(`${base}/whep/front`, { method: "POST", body: offer, headers: SDP });
        const text = await r.text();
        return r.status === 409 ? { r, text } : undefined;
      }, 5000);
      assert.match(res.r.headers.get("retry-after") ?? "", /^\d+$/);
      assert.match(res.text, /front/);
    });
  } finally {
    await edgecam.stop();
  }
});
