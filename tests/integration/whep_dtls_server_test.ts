import assert from "node:assert/strict";
import { repeatFlight5AfterFinished, sessionOutcomes } from "../helpers/dtls_repeat.ts";
import { startEdgecam, waitHealthy } from "../helpers/edgecam.ts";

/**
 * Sessions opened in a row. Without lib/webrtc/werift_fixes/dtls_server.ts in the werift viewer, each of them
 * derives SRTP keys the service does not have and gets no packet; with it all play.
 */
const SESSIONS = 4;

Deno.test("WHEP: a werift viewer that reads the service's flight 5 twice before it is connected still plays", async () => {
  const edgecam = await startEdgecam({ path: "config.toml" });
  try {
    await waitHealthy(edgecam.url);
    const outcomes = await sessionOutcomes(edgecam.url, "front", SESSIONS, repeatFlight5AfterFinished);
    assert.deepEqual(outcomes, Array(SESSIONS).fill("frames"));
  } finally {
    await edgecam.stop();
  }
});
