import assert from "node:assert/strict";
import { repeatFlight5AfterFinished } from "../helpers/dtls_repeat.ts";
import { getJson, startEdgecam, waitFor } from "../helpers/edgecam.ts";
import { WhepViewer } from "../helpers/whep_client.ts";

/**
 * Sessions opened in a row. Without lib/webrtc/dtls_server.ts in the werift viewer, each of them
 * derives SRTP keys the service does not have and gets no packet; with it all play.
 */
const SESSIONS = 4;

Deno.test("WHEP: a werift viewer that reads the service's flight 5 twice before it is connected still plays", async () => {
  const edgecam = await startEdgecam({ path: "config.toml" });
  try {
    await waitFor(
      "healthy",
      async () => (await getJson(`${edgecam.url}/health`)).status === 200 ? true : undefined,
    );
    const outcomes: string[] = [];
    for (let i = 0; i < SESSIONS; i++) {
      const viewer = new WhepViewer();
      const res = await fetch(`${edgecam.url}/whep/front`, {
        method: "POST",
        headers: { "Content-Type": "application/sdp" },
        body: await viewer.offer(),
      });
      assert.equal(res.status, 201, await res.clone().text());
      repeatFlight5AfterFinished(viewer);
      await viewer.answer(await res.text());
      await waitFor("DTLS connected", () => viewer.pc.connectionState === "connected" ? true : undefined);
      // Keyframes come every second; a viewer with other SRTP keys gets no frame however long it waits.
      const playing = await waitFor("frames", () => viewer.frames.length >= 10 ? true : undefined, 10_000)
        .then(() => true, () => false);
      outcomes.push(playing ? "frames" : "connected, no frames");
      await fetch(new URL(res.headers.get("location")!, edgecam.url), { method: "DELETE" })
        .then((r) => r.body?.cancel());
      await viewer.close();
    }
    assert.deepEqual(outcomes, Array(SESSIONS).fill("frames"));
  } finally {
    await edgecam.stop();
  }
});
