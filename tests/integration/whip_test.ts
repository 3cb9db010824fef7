import assert from "node:assert/strict";
import { sendAlert } from "../helpers/dtls_alert.ts";
import { getJson, startEdgecam, waitFor } from "../helpers/edgecam.ts";
import { WhepViewer } from "../helpers/whep_client.ts";
import { WhipPublisher } from "../helpers/whip_client.ts";
import { ShmReader } from "../../lib/shm/client.ts";
import { WsPlayer } from "../helpers/ws_player.ts";

/** TLS alert level and description of a close_notify (RFC 5246 §7.2). */
const WARNING = 1;
const CLOSE_NOTIFY = 0;

const SDP = { "Content-Type": "application/sdp" };
const FRAG = { "Content-Type": "application/trickle-ice-sdpfrag" };

/** Shared-memory rings of this run, apart from any other edgecam on the machine. */
const SHM_PREFIX = `whiptest-${crypto.randomUUID().slice(0, 8)}`;

/**
 * One test-pattern camera; WHIP paths "obs" (H.264, second publisher replaces) and "solo" (second
 * publisher refused); unconfigured paths open (the default).
 */
const CONFIG = `
[shm]
prefix = "${SHM_PREFIX}"

[[cameras]]
name = "cam"
source = "test"
width = 320
height = 240

[[paths]]
name = "obs"
codec = "h264"

[[paths]]
name = "solo"
second_publisher = "refuse"
`;

interface StreamState {
  state: string;
  codec: string;
  frames: number;
  width: number | null;
  b_frames: boolean;
  last_error: string | null;
}

async function streamState(base: string, name: string): Promise<StreamState | undefined> {
  const res = await getJson<StreamState>(`${base}/api/streams/${name}`);
  return res.status === 200 ? res.body : undefined;
}

function waitState(base: string, name: string, state: string): Promise<true> {
  return waitFor(
    `${name} ${state}`,
    async () => (await streamState(base, name))?.state === state || undefined,
  );
}

/** A WHEP viewer of `name`, connected. */
async function watch(
  base: string,
  name: string,
  audio = false,
): Promise<{ viewer: WhepViewer; session: string }> {
  const viewer = new WhepViewer({ audio });
  const res = await fetch(`${base}/whep/${name}`, {
    method: "POST",
    headers: SDP,
    body: await viewer.offer(),
  });
  const body = await res.text();
  assert.equal(res.status, 201, body);
  await viewer.answer(body);
  return { viewer, session: new URL(res.headers.get("location")!, base).href };
}

/** A minimal offer built around one m-section block, to test what is refused. */
/** An offer of these m-sections, each given its own a=mid as every real client does. */
function offerWith(...sections: string[]): string {
  const withMids = sections.map((section, i) => `${section}\r\na=mid:${i}`);
  return ["v=0", "o=- 1 0 IN IP4 0.0.0.0", "s=-", "t=0 0", ...withMids, ""].join("\r\n");
}
const H264_SECTION = [
  "m=video 9 UDP/TLS/RTP/SAVPF 96",
  "c=IN IP4 0.0.0.0",
  "a=ice-ufrag:abcd",
  "a=ice-pwd:0123456789abcdef0123456789",
  "a=sendonly",
  "a=rtpmap:96 H264/90000",
  "a=fmtp:96 profile-level-id=42e01f;packetization-mode=1",
].join("\r\n");

async function status(res: Promise<Response>): Promise<{ status: number; body: string; headers: Headers }> {
  const r = await res;
  return { status: r.status, body: await r.text(), headers: r.headers };
}

Deno.test("WHIP: every checklist row at the HTTP level, with live media to WHEP viewers", async (t) => {
  const edgecam = await startEdgecam({ toml: CONFIG });
  const base = edgecam.url;
  const closers: (() => Promise<unknown>)[] = [];
  const publisher = async (codec: "h264" | "vp8", path: string, options = {}) => {
    const p = new WhipPublisher(codec, options);
    closers.push(() => p.close());
    return { p, ...(await p.publish(`${base}/whip/${path}`)) };
  };
  const viewerOf = async (name: string, audio = false) => {
    const v = await watch(base, name, audio);
    closers.push(() => v.viewer.close());
    return v;
  };
  try {
    const offer = await (async () => {
      const p = new WhipPublisher("h264", { audio: true });
      const sdp = await p.offer();
      await p.close();
      return sdp;
    })();

    await t.step(
      "a configured path waits for its publisher; WHEP on it is 409 with Retry-After",
      async () => {
        assert.equal((await streamState(base, "obs"))?.state, "waiting");
        const res = await status(fetch(`${base}/whep/obs`, { method: "POST", headers: SDP, body: offer }));
        assert.equal(res.status, 409, res.body);
        assert.ok(res.headers.get("retry-after"));
      },
    );

    await t.step("POST refusals: 415, 413, 400, 422, 404", async () => {
      const cases: [string, RequestInit, number][] = [
        ["/whip/obs", { method: "POST", body: offer, headers: { "Content-Type": "text/plain" } }, 415],
        ["/whip/obs", { method: "POST", body: "v=0\r\n" + "a".repeat(129 * 1024), headers: SDP }, 413],
        ["/whip/obs", { method: "POST", body: "hello", headers: SDP }, 400],
        ["/whip/obs", { method: "POST", body: offerWith("m=audio 9 RTP/AVP 0"), headers: SDP }, 400],
        // An m-line we cannot take refuses the whole offer, never half of it (§4.4).
        ["/whip/obs", { method: "POST", body: offerWith(H264_SECTION, H264_SECTION), headers: SDP }, 422],
        [
          "/whip/obs",
          {
            method: "POST",
            body: offerWith(H264_SECTION, "m=application 9 UDP/DTLS/SCTP webrtc-datachannel"),
            headers: SDP,
          },
          422,
        ],
        [
          "/whip/obs",
          {
            method: "POST",
            body: offerWith(H264_SECTION, "m=audio 9 UDP/TLS/RTP/SAVPF 0\r\na=rtpmap:0 PCMU/8000"),
            headers: SDP,
          },
          422,
        ],
        ["/whip/obs", {
          method: "POST",
          body: offerWith(H264_SECTION.replaceAll("H264", "VP9")),
          headers: SDP,
        }, 422],
        // "obs" is fixed to H.264: a VP8-only publisher is refused.
        ["/whip/obs", {
          method: "POST",
          body: offerWith(H264_SECTION.replaceAll("H264", "VP8")),
          headers: SDP,
        }, 422],
        ["/whip/cam", { method: "POST", body: offer, headers: SDP }, 404],
      ];
      for (const [path, init, expected] of cases) {
        const res = await status(fetch(`${base}${path}`, init));
        assert.equal(res.status, expected, `${path} ${res.body}`);
        assert.match(res.body, /^[^\n]+\n$/, "one line of text");
      }
      assert.equal((await streamState(base, "obs"))?.state, "waiting", "nothing was half-accepted");
    });

    await t.step("GET and OPTIONS on the endpoint; CORS preflight without ICE servers", async () => {
      for (const path of ["/whip/obs", "/obs/whip", "/whip/anything-new"]) {
        assert.equal((await status(fetch(`${base}${path}`))).status, 204, path);
        const options = await status(fetch(`${base}${path}`, { method: "OPTIONS" }));
        assert.equal(options.status, 200, path);
        assert.equal(options.headers.get("accept-post"), "application/sdp");
      }
      const preflight = await status(fetch(`${base}/whip/obs`, {
        method: "OPTIONS",
        headers: { Origin: "http://example.org", "Access-Control-Request-Method": "POST" },
      }));
      assert.equal(preflight.status, 200);
      assert.match(
        preflight.headers.get("access-control-allow-headers")!,
        /Authorization.*If-Match.*Content-Type/,
      );
      assert.match(preflight.headers.get("access-control-expose-headers")!, /Location.*ETag.*Link/);
      assert.equal(preflight.headers.get("link"), null);
    });

    let first: Awaited<ReturnType<typeof publisher>>;
    let watcher: Awaited<ReturnType<typeof viewerOf>>;
    await t.step(
      "POST 201: answer with every candidate, Location, strong ETag; media reaches viewers",
      async () => {
        // Audio m-line first, as OBS sends it.
        first = await publisher("h264", "obs", { audio: "first" });
        assert.match(first.answer, /^m=audio[^]*^m=video/m, "the answer keeps the offer's order");
        assert.equal(first.res.status, 201, first.answer);
        assert.equal(first.res.headers.get("content-type"), "application/sdp");
        assert.match(first.res.headers.get("location")!, /^\/whip\/obs\/[0-9a-f-]{36}$/);
        assert.match(first.res.headers.get("etag")!, /^"[0-9a-f]{32}"$/);
        assert.match(first.answer, /^a=candidate:/m);
        assert.match(first.answer, /^a=group:BUNDLE 0 1/m);
        assert.match(first.answer, /^a=rtcp-mux/m);
        assert.match(first.answer, /^a=recvonly/m);
        await waitState(base, "obs", "running");
        const state = await streamState(base, "obs");
        assert.equal(state?.codec, "h264");
        assert.equal(state?.width, 320);
        assert.equal(state?.b_frames, false);
        watcher = await viewerOf("obs", true);
        await waitFor("video at the viewer", () => watcher.viewer.frames.length >= 30 || undefined, 20_000);
        await waitFor("Opus at the viewer", () => watcher.viewer.audioPackets >= 20 || undefined);
        assert.equal(watcher.viewer.mimeType, "video/H264");
        const player = new WsPlayer(`${base.replace("http", "ws")}/ws/obs`);
        closers.push(() => Promise.resolve(player.socket.close()));
        await player.opened;
        await waitFor(
          "access units at the WebSocket player",
          () => player.messages.length >= 10 || undefined,
        );
      },
    );

    await t.step(
      "the ingested stream has its shared-memory ring: a reader gets access units from a keyframe",
      async () => {
        const shm = (await getJson<{ shm: { name: string } | null }>(`${base}/api/streams/obs`)).body.shm;
        assert.equal(shm?.name, `${SHM_PREFIX}-obs`);
        const reader = await ShmReader.attach(shm.name);
        try {
          const frames: { keyframe: boolean; length: number }[] = [];
          const deadline = Date.now() + 20_000;
          for await (const event of reader) {
            if (event.kind === "frame") frames.push({ keyframe: event.keyframe, length: event.data.length });
            if (frames.length === 45) break;
            assert.ok(Date.now() < deadline, `only ${frames.length} access units in the ring after 20 s`);
          }
          assert.ok(frames[0].keyframe, "the first access unit read is a keyframe");
          assert.ok(frames.every((f) => f.length > 0));
          assert.equal(reader.codec, "h264");
        } finally {
          await reader.close();
        }
      },
    );

    await t.step("GET and OPTIONS on the session", async () => {
      assert.equal((await status(fetch(first.session))).status, 204);
      const options = await status(fetch(first.session, { method: "OPTIONS" }));
      assert.equal(options.headers.get("accept-patch"), "application/trickle-ice-sdpfrag");
    });

    await t.step("PATCH: 428 without If-Match, 415, 412, 400, 404; trickle 204", async () => {
      const etag = first.res.headers.get("etag")!;
      const candidate = "a=candidate:1 1 udp 2130706431 127.0.0.1 9 typ host\r\n";
      const cases: [string, RequestInit, number][] = [
        [first.session, { method: "PATCH", headers: FRAG, body: candidate }, 428],
        [first.session, { method: "PATCH", headers: { "If-Match": etag, ...SDP }, body: candidate }, 415],
        [
          first.session,
          { method: "PATCH", headers: { "If-Match": '"nope"', ...FRAG }, body: candidate },
          412,
        ],
        [first.session, { method: "PATCH", headers: { "If-Match": etag, ...FRAG }, body: "hello" }, 400],
        [`${base}/whip/obs/unknown`, {
          method: "PATCH",
          headers: { "If-Match": "*", ...FRAG },
          body: candidate,
        }, 404],
        [first.session, { method: "PATCH", headers: { "If-Match": etag, ...FRAG }, body: candidate }, 204],
        [first.session, { method: "PATCH", headers: { "If-Match": "*", ...FRAG }, body: candidate }, 204],
      ];
      for (const [url, init, expected] of cases) {
        const res = await status(fetch(url, init));
        assert.equal(res.status, expected, `${init.headers && JSON.stringify(init.headers)} ${res.body}`);
      }
    });

    await t.step("ICE restart: 200, the server's sdpfrag, a new ETag; media goes on", async () => {
      const etag = first.res.headers.get("etag")!;
      const res = await status(fetch(first.session, {
        method: "PATCH",
        headers: { "If-Match": etag, ...FRAG },
        body: await first.p.iceRestartFragment(),
      }));
      assert.equal(res.status, 200, res.body);
      assert.equal(res.headers.get("content-type"), "application/trickle-ice-sdpfrag");
      assert.match(res.body, /^a=ice-ufrag:/m);
      assert.match(res.body, /^a=candidate:/m);
      assert.notEqual(res.headers.get("etag"), etag);
      await first.p.applyIceRestart(res.body);
      const since = Date.now();
      await waitFor(
        "frames after the restart",
        () => watcher.viewer.since(since).length >= 15 || undefined,
        20_000,
      );
    });

    await t.step("a viewer's PLI reaches the publisher, rate-limited", async () => {
      const before = first.p.plis;
      for (let i = 0; i < 5; i++) await watcher.viewer.sendPli();
      await waitFor("a PLI at the publisher", () => first.p.plis > before || undefined);
      await new Promise((r) => setTimeout(r, 300));
      assert.ok(first.p.plis - before <= 2, `5 PLIs in a burst became ${first.p.plis - before}`);
    });

    await t.step("a viewer's FIR reaches the publisher too; a repeated one counts once", async () => {
      await new Promise((r) => setTimeout(r, 600));
      const before = first.p.plis;
      await watcher.viewer.sendFir(1);
      await watcher.viewer.sendFir(1);
      await waitFor("a keyframe request at the publisher", () => first.p.plis > before || undefined);
      const { body } = await getJson<{ webrtc: { firs: number } }>(`${base}/api/streams/obs`);
      assert.equal(body.webrtc.firs, 1, "a repeated FIR (same sequence number) is one request");
    });

    await t.step("a second publisher replaces the first; the viewer stays and plays on", async () => {
      const second = await publisher("h264", "obs");
      assert.equal(second.res.status, 201, second.answer);
      assert.equal((await status(fetch(first.session))).status, 404, "the first session ended");
      const since = Date.now();
      await waitFor(
        "frames from the second publisher",
        () => watcher.viewer.since(since).length >= 30 || undefined,
        20_000,
      );
      assert.equal((await status(fetch(watcher.session))).status, 204, "same WHEP session");
      first = second;
    });

    await t.step("DELETE: 200, the stream waits, the viewer stays; a new publisher resumes it", async () => {
      assert.equal((await status(fetch(first.session, { method: "DELETE" }))).status, 200);
      await waitState(base, "obs", "waiting");
      assert.match((await streamState(base, "obs"))!.last_error!, /DELETE/);
      assert.equal((await status(fetch(first.session, { method: "DELETE" }))).status, 404);
      await new Promise((r) => setTimeout(r, 500));
      assert.equal((await status(fetch(watcher.session))).status, 204, "the viewer is still connected");
      const again = await publisher("h264", "obs", { audio: true });
      assert.equal(again.res.status, 201, again.answer);
      const since = Date.now();
      await waitFor(
        "frames after the reconnect",
        () => watcher.viewer.since(since).length >= 30 || undefined,
        20_000,
      );
      first = again;
    });

    await t.step("a publisher that closes without DELETE (DTLS close_notify): the stream waits", async () => {
      // What a browser's RTCPeerConnection.close() sends (werift's own close sends nothing).
      await sendAlert(first.p, WARNING, CLOSE_NOTIFY);
      await first.p.close();
      await waitState(base, "obs", "waiting");
      assert.match((await streamState(base, "obs"))!.last_error!, /DTLS alert 1\/0/);
      assert.equal((await status(fetch(first.session))).status, 404);
    });

    await t.step('second_publisher = "refuse": 409 with Retry-After while the first publishes', async () => {
      const solo = await publisher("h264", "solo");
      assert.equal(solo.res.status, 201, solo.answer);
      const refused = await publisher("h264", "solo");
      assert.equal(refused.res.status, 409, refused.answer);
      assert.ok(refused.res.headers.get("retry-after"));
      assert.equal((await status(fetch(solo.session))).status, 204, "the first keeps publishing");
    });

    await t.step("an unconfigured path takes the first publisher's codec: VP8", async () => {
      const vp8 = await publisher("vp8", "live");
      assert.equal(vp8.res.status, 201, vp8.answer);
      await waitState(base, "live", "running");
      assert.equal((await streamState(base, "live"))?.codec, "vp8");
      const ring = (await getJson<{ shm: { name: string } | null }>(`${base}/api/streams/live`)).body.shm;
      assert.equal(ring?.name, `${SHM_PREFIX}-live`, "a path a publisher made up gets [shm]'s default ring");
      const { viewer } = await viewerOf("live");
      await waitFor("VP8 at the viewer", () => viewer.frames.length >= 30 || undefined, 20_000);
      assert.equal(viewer.mimeType, "video/VP8");
    });

    await t.step(
      "a High-profile 1080p publisher is taken as it is; a viewer offering High decodes it",
      async () => {
        const high = await publisher("h264", "high", {
          fixture: "testsrc_h264_high_1920x1080.h264",
          profileLevelId: "640028",
        });
        assert.equal(high.res.status, 201, high.answer);
        assert.match(high.answer, /profile-level-id=640028/);
        await waitFor(
          "1080p in status",
          async () => (await streamState(base, "high"))?.width === 1080 * 16 / 9 || undefined,
        );
        const { body } = await getJson<{ profile_level_id: string; height: number }>(
          `${base}/api/streams/high`,
        );
        assert.equal(body.profile_level_id, "640028", "from the publisher's SPS");
        assert.equal(body.height, 1080);
        const viewer = new WhepViewer({ profileLevelId: "64001f" });
        closers.push(() => viewer.close());
        await viewer.connect(`${base}/whep/high`);
        await waitFor("High 1080p at the viewer", () => viewer.frames.length >= 30 || undefined, 20_000);
        const baselineOnly = await fetch(`${base}/whep/high`, {
          method: "POST",
          headers: SDP,
          body: await new WhepViewer().offer(),
        });
        assert.equal(
          baselineOnly.status,
          422,
          "a viewer without High is refused, not sent what it cannot decode",
        );
        await baselineOnly.body?.cancel();
      },
    );

    await t.step("B-frames are flagged in status and the log, with the fix", async () => {
      const b = await publisher("h264", "bframes", { fixture: "testsrc_h264_bframes_320x240.h264" });
      assert.equal(b.res.status, 201, b.answer);
      await waitFor(
        "b_frames in status",
        async () => (await streamState(base, "bframes"))?.b_frames || undefined,
      );
      assert.match((await streamState(base, "bframes"))!.last_error!, /disable B-frames in the encoder/);
      assert.match(edgecam.log(), /WARN .*bframes.*disable B-frames in the encoder/);
    });
  } catch (err) {
    console.error(edgecam.log());
    throw err;
  } finally {
    for (const close of closers) await close().catch(() => {});
    await edgecam.stop();
  }
});

Deno.test("WHIP: the 201 announces configured ICE servers in Link headers; unconfigured paths can be refused", async () => {
  const edgecam = await startEdgecam({
    toml: `
[ingest]
unconfigured_paths = false

[[webrtc.ice_servers]]
urls = "stun:127.0.0.1:3478"

[[paths]]
name = "obs"
`,
  });
  const p = new WhipPublisher("h264");
  try {
    const { res, answer } = await p.publish(`${edgecam.url}/obs/whip`);
    assert.equal(res.status, 201, answer);
    assert.equal(res.headers.get("link"), `<stun:127.0.0.1:3478>; rel="ice-server"`);
    const refused = await new WhipPublisher("h264").publish(`${edgecam.url}/whip/other`);
    assert.equal(refused.res.status, 404, refused.answer);
    assert.match(refused.answer, /unconfigured paths are refused/);
  } finally {
    await p.close();
    await edgecam.stop();
  }
});
