import assert from "node:assert/strict";
import { startEdgecam, waitFor, waitHealthy } from "../helpers/edgecam.ts";
import { startTurnServer, TURN_PASSWORD as PASSWORD, TURN_USER as USER } from "../helpers/turn.ts";
import { WhepViewer } from "../helpers/whep_client.ts";

/** The answer's candidates of one type. */
function candidatesOfType(sdp: string, type: string): string[] {
  return sdp.split("\r\n").filter((l) => l.startsWith("a=candidate:") && l.includes(` typ ${type}`));
}

Deno.test("STUN and TURN from [webrtc]: gathered by the service, announced in Link, and a relay-only viewer plays through TURN", async () => {
  const turn = await startTurnServer();
  const port = turn.port;
  const edgecam = await startEdgecam({
    toml: `${turn.webrtcToml}
[[cameras]]
name = "front"
width = 320
height = 240
`,
  });
  // Relay only: every packet this viewer gets must have come through coturn.
  const viewer = new WhepViewer({
    ice: {
      iceServers: [{ urls: `turn:127.0.0.1:${port}`, username: USER, credential: PASSWORD }],
      iceTransportPolicy: "relay",
    },
  });
  try {
    await waitHealthy(edgecam.url);
    const offer = await viewer.offer();
    assert.ok(
      candidatesOfType(offer, "relay").length > 0,
      `the viewer gathered no relay candidate:\n${offer}`,
    );
    const { res, answer } = await viewer.post(`${edgecam.url}/whep/front`, { offer });
    assert.equal(res.status, 201, answer);
    assert.deepEqual(res.headers.get("link")?.split(", "), [
      `<stun:127.0.0.1:${port}>; rel="ice-server"`,
      `<turn:127.0.0.1:${port}>; rel="ice-server"; username="${USER}"; credential="${PASSWORD}"; credential-type="password"`,
    ]);
    assert.ok(
      candidatesOfType(answer, "srflx").length > 0,
      `no server-reflexive candidate from STUN:\n${answer}`,
    );
    assert.ok(candidatesOfType(answer, "relay").length > 0, `no relay candidate from TURN:\n${answer}`);

    await viewer.answer(answer);
    await waitFor("30 frames through the relay", () => viewer.frames.length >= 30 || undefined, 30_000);
    const pair = viewer.pc.iceTransports[0].connection.nominated;
    assert.equal(pair?.localCandidate.type, "relay", "the viewer's nominated pair is its relay candidate");
  } finally {
    await viewer.close();
    await edgecam.stop();
    await turn.stop();
  }
});
