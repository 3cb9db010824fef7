import assert from "node:assert/strict";
import { RTCPeerConnection, useH264 } from "werift";
import { ConflictError } from "../../lib/errors.ts";
import { remoteCredentials, restartIce } from "../../lib/webrtc/ice_restart.ts";
import { getJson, startEdgecam, waitFor, waitHealthy } from "../helpers/edgecam.ts";
import { WhepViewer } from "../helpers/whep_client.ts";

const SDP = { "Content-Type": "application/sdp" };
const SDPFRAG = "application/trickle-ice-sdpfrag";

/** The value of an `a=<name>:` attribute in SDP text. */
function attribute(sdp: string, name: string): string | undefined {
  return sdp.match(new RegExp(`^a=${name}:(.+?)\\r?$`, "m"))?.[1];
}

Deno.test("WHEP: ICE restart over PATCH keeps the session and its media (WHIP §4.3.2)", async (t) => {
  const edgecam = await startEdgecam({ path: "config.toml" });
  const base = edgecam.url;
  const viewer = new WhepViewer();
  try {
    await waitHealthy(base);
    const res = await fetch(`${base}/whep/front`, {
      method: "POST",
      headers: SDP,
      body: await viewer.offer(),
    });
    const answer = await res.text();
    assert.equal(res.status, 201, answer);
    const url = new URL(res.headers.get("location")!, base);
    let etag = res.headers.get("etag")!;
    const patch = (body: string, headers: Record<string, string>) =>
      fetch(url, { method: "PATCH", body, headers: { "Content-Type": SDPFRAG, ...headers } });

    await t.step("a restart before the session connected: 409, the session stays", async () => {
      const early = await patch(
        "a=ice-ufrag:zzzz\r\na=ice-pwd:0123456789abcdef012345\r\n",
        { "If-Match": etag },
      );
      await early.body?.cancel();
      assert.equal(early.status, 409);
      assert.equal(early.headers.get("etag"), null);
      await viewer.answer(answer);
      await waitFor("frames", () => viewer.frames.length >= 10 ? true : undefined, 15_000);
    });

    const dtls = viewer.pc.dtlsTransports[0];
    let serverUfrag = attribute(answer, "ice-ufrag")!;
    for (
      const [round, ifMatch, munge] of [
        [1, "etag", "none"],
        // A client whose restart count differs from ours (one that writes 0 always, or a browser that
        // restarted once more than we did).
        [2, "*", "generation 0"],
        // A browser hiding its addresses behind mDNS names werift may not resolve: the server then only
        // learns the viewer's address from its checks (peer-reflexive).
        [3, "etag", "no candidates"],
      ] as const
    ) {
      await t.step(
        `restart ${round} (If-Match: ${ifMatch}, ${munge}): 200, new ETag, frames go on`,
        async () => {
          let fragment = await viewer.iceRestartFragment();
          if (munge === "generation 0") fragment = fragment.replace(/ generation \d+/g, " generation 0");
          if (munge === "no candidates") fragment = fragment.replace(/^a=candidate:.*\r\n/gm, "");
          assert.equal((await patch(fragment, {})).status, 428);
          const stale = await patch(fragment, { "If-Match": '"0123"' });
          await stale.body?.cancel();
          assert.equal(stale.status, 412);

          const restarted = await patch(fragment, { "If-Match": ifMatch === "*" ? "*" : etag });
          const body = await restarted.text();
          assert.equal(restarted.status, 200, body);
          assert.equal(restarted.headers.get("content-type"), SDPFRAG);
          const newEtag = restarted.headers.get("etag")!;
          assert.match(newEtag, /^"[0-9a-f]{32}"$/);
          assert.notEqual(newEtag, etag);
          const ufrag = attribute(body, "ice-ufrag")!;
          assert.ok(ufrag && ufrag !== serverUfrag, `a new server ufrag: ${ufrag} after ${serverUfrag}`);
          assert.ok(attribute(body, "ice-pwd")!.length >= 22);
          assert.match(body, /^a=ice-options:trickle\r$/m);
          assert.match(body, /^m=video 9 UDP\/TLS\/RTP\/SAVPF \d+\r\na=mid:0\r$/m);
          assert.match(body, /^a=candidate:.* 127\.0\.0\.1 \d+ typ host/m);
          assert.match(body, /a=end-of-candidates\r\n$/);

          const before = viewer.frames.length;
          const at = Date.now();
          await viewer.applyIceRestart(body);
          await waitFor(
            "frames after the restart",
            () => viewer.since(at).length >= 30 ? true : undefined,
            10_000,
          );
          assert.ok(viewer.frames.length > before);
          assert.equal(viewer.pc.dtlsTransports[0], dtls, "the same DTLS transport");
          assert.equal(dtls.state, "connected");
          assert.equal(viewer.pc.iceTransports[0].getRemoteParameters()!.usernameFragment, ufrag);
          // Still one session: the restart made no second reader.
          const { body: stream } = await getJson<{ readers: number }>(`${base}/api/streams/front`);
          assert.equal(stream.readers, 1);

          // The old ETag is stale now; the new one trickles.
          const candidate = "a=candidate:1 1 udp 2113937151 127.0.0.1 9 typ host\r\n";
          const old = await patch(candidate, { "If-Match": etag });
          await old.body?.cancel();
          assert.equal(old.status, 412);
          etag = newEtag;
          const trickle = await patch(`a=ice-ufrag:${attribute(fragment, "ice-ufrag")}\r\n${candidate}`, {
            "If-Match": etag,
          });
          await trickle.body?.cancel();
          assert.equal(trickle.status, 204);
          serverUfrag = ufrag;
        },
      );
    }

    await t.step("an ICE restart with a ufrag but no password: 400, the session plays on", async () => {
      const bad = await patch("a=ice-ufrag:qqqq\r\n", { "If-Match": etag });
      await bad.body?.cancel();
      assert.equal(bad.status, 400);
      const at = Date.now();
      await waitFor("frames", () => viewer.since(at).length >= 10 ? true : undefined, 5000);
    });

    const del = await fetch(url, { method: "DELETE" });
    await del.body?.cancel();
    assert.equal(del.status, 200);
  } finally {
    await viewer.close();
    await edgecam.stop();
  }
});

Deno.test("restartIce: a second restart while the first is checking is refused; a silent peer times out", async () => {
  const options = { iceAdditionalHostAddresses: ["127.0.0.1"], iceUseIpv4: false, iceUseIpv6: false };
  const server = new RTCPeerConnection({ codecs: { video: [useH264()] }, ...options });
  const viewer = new WhepViewer();
  try {
    server.addTransceiver("video", { direction: "sendonly" });
    await server.setRemoteDescription({ type: "offer", sdp: await viewer.offer() });
    await server.setLocalDescription(await server.createAnswer());
    await waitFor("gathered", () => server.iceGatheringState === "complete" ? true : undefined);
    await viewer.answer(server.localDescription!.sdp);
    await waitFor("connected", () => server.connectionState === "connected" ? true : undefined);
    const ice = server.iceTransports[0];
    const remote = { pwd: "0123456789abcdef012345", candidates: [] };
    let timedOut = 0;
    const restarted = await restartIce(ice, true, { ufrag: "one1", ...remote }, () => timedOut++, 300);
    assert.equal(restarted.ufrag, ice.localParameters.usernameFragment);
    assert.match(restarted.candidates[0], /^candidate:.* 127\.0\.0\.1 \d+ typ host/);
    await assert.rejects(restartIce(ice, true, { ufrag: "two2", ...remote }, () => {}), ConflictError);
    assert.equal(remoteCredentials(ice).ufrag, "one1", "the refused restart changed nothing");
    await waitFor("timed out", () => timedOut === 1 ? true : undefined, 3000);
  } finally {
    await viewer.close();
    await server.close();
  }
});
