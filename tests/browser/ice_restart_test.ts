import assert from "node:assert/strict";
import { launchChromium } from "../helpers/browser.ts";
import { getJson, startEdgecam, waitHealthy } from "../helpers/edgecam.ts";

/**
 * A WHEP client run in Chromium that plays `front`, then restarts ICE the WHIP §4.3.2 way: restartIce(),
 * a new offer for its own new credentials, a PATCH with them as an sdpfrag, and the server's sdpfrag
 * applied as the new answer (the previous answer with the new credentials and candidates). Resolves
 * with what the test checks. Text, because the tests are type-checked without the DOM's types.
 */
const PAGE_RESTART = `(async () => {
  const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
  const stats = async () => {
    let packets = 0, frames = 0, ufrag;
    (await pc.getStats()).forEach((s) => {
      if (s.type === "inbound-rtp" && s.kind === "video") { packets = s.packetsReceived; frames = s.framesDecoded; }
      if (s.type === "transport") ufrag = s.iceLocalUsernameFragment;
    });
    return { packets, frames, ufrag };
  };
  const gathered = async () => { while (pc.iceGatheringState !== "complete") await sleep(50); };
  const pc = new RTCPeerConnection();
  const video = document.createElement("video");
  video.muted = true;
  document.body.append(video);
  pc.ontrack = (e) => { video.srcObject = new MediaStream([e.track]); video.play().catch(() => {}); };
  pc.addTransceiver("video", { direction: "recvonly" });
  await pc.setLocalDescription(await pc.createOffer());
  await gathered();
  const res = await fetch("/whep/front", {
    method: "POST", headers: { "Content-Type": "application/sdp" }, body: pc.localDescription.sdp,
  });
  let answer = await res.text();
  const session = res.headers.get("location");
  const etag = res.headers.get("etag");
  await pc.setRemoteDescription({ type: "answer", sdp: answer });
  while (pc.connectionState !== "connected") await sleep(50);
  await sleep(1500);
  const before = await stats();

  // iceGatheringState may still say "complete" from the first gathering: wait for this one's end.
  const regathered = new Promise((r) => { pc.onicecandidate = (e) => { if (!e.candidate) r(); }; });
  pc.restartIce();
  await pc.setLocalDescription(await pc.createOffer());
  await regathered;
  const local = pc.localDescription.sdp.split("\\r\\n");
  const fragment = [
    "a=ice-options:trickle",
    local.find((l) => l.startsWith("m=video")),
    "a=mid:0",
    local.find((l) => l.startsWith("a=ice-ufrag:")),
    local.find((l) => l.startsWith("a=ice-pwd:")),
    ...local.filter((l) => l.startsWith("a=candidate:")),
    "a=end-of-candidates",
    "",
  ].join("\\r\\n");
  const patchedAt = Date.now();
  const patch = await fetch(session, {
    method: "PATCH",
    headers: { "Content-Type": "application/trickle-ice-sdpfrag", "If-Match": etag },
    body: fragment,
  });
  const reply = await patch.text();
  const patchMs = Date.now() - patchedAt;
  if (patch.status !== 200) return { status: patch.status, reply };
  const lines = reply.split("\\r\\n");
  const pick = (name) => lines.find((l) => l.startsWith("a=" + name + ":"));
  answer = answer.split("\\r\\n")
    .filter((l) => !l.startsWith("a=candidate:") && l !== "a=end-of-candidates")
    .map((l) => l.startsWith("a=ice-ufrag:") ? pick("ice-ufrag") : l.startsWith("a=ice-pwd:") ? pick("ice-pwd") : l)
    .flatMap((l) => l.startsWith("a=mid:") ? [l, ...lines.filter((c) => c.startsWith("a=candidate:")), "a=end-of-candidates"] : [l])
    .join("\\r\\n");
  // The server dropped its old pair when it answered: whatever is decoded from here on came over the new one.
  const restarted = await stats();
  await pc.setRemoteDescription({ type: "answer", sdp: answer });
  const restartedAt = Date.now();
  let after = await stats();
  while (Date.now() - restartedAt < 10000 && !(after.ufrag !== before.ufrag && after.frames > restarted.frames + 60)) {
    await sleep(200);
    after = await stats();
  }
  const resumedMs = Date.now() - restartedAt;
  globalThis.pc = pc;
  return { status: patch.status, reply, patchMs, before, restarted, after, resumedMs, state: pc.connectionState, etag, newEtag: patch.headers.get("etag") };
})()`;

interface RestartOutcome {
  status: number;
  reply: string;
  before?: { packets: number; frames: number; ufrag: string };
  restarted?: { packets: number; frames: number; ufrag: string };
  after?: { packets: number; frames: number; ufrag: string };
  /** How long the PATCH took to answer. */
  patchMs?: number;
  /** From applying the server's fragment to 60 more decoded frames on the new credentials. */
  resumedMs?: number;
  state?: string;
  etag?: string;
  newEtag?: string;
}

Deno.test("Chromium restarts ICE over WHEP PATCH and keeps playing the same session", async () => {
  const edgecam = await startEdgecam({ path: "config.toml" });
  const browser = await launchChromium();
  try {
    await waitHealthy(edgecam.url);
    const page = await browser.newPage();
    await page.goto(`${edgecam.url}/health`);
    const outcome = await page.evaluate(PAGE_RESTART) as RestartOutcome;
    console.log(
      outcome.patchMs,
      outcome.resumedMs,
      JSON.stringify([outcome.before, outcome.restarted, outcome.after]),
    );
    assert.equal(outcome.status, 200, outcome.reply);
    const { before, restarted, after } = outcome;
    assert.notEqual(after!.ufrag, before!.ufrag, "Chromium uses its new ICE credentials");
    assert.ok(after!.frames > restarted!.frames + 60, `decoded ${restarted!.frames} → ${after!.frames}`);
    assert.equal(outcome.state, "connected");
    // Chromium's candidates are mDNS names werift resolves for up to 10 s: the answer must not wait for that.
    assert.ok(outcome.patchMs! < 2000, `PATCH answered in ${outcome.patchMs} ms`);
    // 60 frames take 2 s at 30 fps: the new pair was up within about a second.
    assert.ok(outcome.resumedMs! < 4000, `${outcome.resumedMs} ms`);
    assert.notEqual(outcome.newEtag, outcome.etag);
    const { body } = await getJson<{ webrtc: { viewers: number } }>(`${edgecam.url}/api/streams/front`);
    assert.equal(body.webrtc.viewers, 1, "still the one session");
    await page.close();
  } finally {
    await browser.close();
    await edgecam.stop();
  }
});
