import assert from "node:assert/strict";
import { DtlsClient } from "werift";
import { repeatFlight4BeforeFinished, sessionOutcomes } from "../helpers/dtls_repeat.ts";
import { startEdgecam, waitFor, waitHealthy } from "../helpers/edgecam.ts";
import { WhepViewer } from "../helpers/whep_client.ts";

/**
 * Sessions opened in a row. Without lib/webrtc/werift_fixes/dtls_client.ts about half of them derive SRTP keys the
 * viewer does not have (the viewer then gets no packet at all), so eight all passing by chance is
 * about 0.4 %; with it none fails.
 */
const SESSIONS = 8;

Deno.test("WHEP: media flows when the viewer's DTLS server sends its flight 4 twice (retransmission)", async () => {
  const edgecam = await startEdgecam({ path: "config.toml" });
  try {
    await waitHealthy(edgecam.url);
    const outcomes = await sessionOutcomes(edgecam.url, "front", SESSIONS, repeatFlight4BeforeFinished);
    assert.deepEqual(outcomes, Array(SESSIONS).fill("frames"));
  } finally {
    await edgecam.stop();
  }
});

Deno.test("WHEP: an offer of a=setup:active is answered passive and the service is the DTLS server", async () => {
  const edgecam = await startEdgecam({ path: "config.toml" });
  try {
    await waitHealthy(edgecam.url);
    for (
      const [offered, answered, viewerRole] of [
        ["active", "passive", "client"],
        ["actpass", "active", "server"],
        ["passive", "active", "server"],
      ] as const
    ) {
      const viewer = new WhepViewer();
      try {
        // werift offers actpass; a client that wants to be the DTLS client says active instead.
        const offer = (await viewer.offer()).replace(/^a=setup:actpass$/m, `a=setup:${offered}`);
        assert.match(offer, new RegExp(`^a=setup:${offered}\r$`, "m"));
        const { res, answer } = await viewer.post(`${edgecam.url}/whep/front`, { offer });
        assert.equal(res.status, 201, answer);
        assert.match(answer, new RegExp(`^a=setup:${answered}\r$`, "m"), offered);
        // werift's offerer takes the role opposite to the answer's, so the viewer really is the DTLS
        // client here only if the service really is the server (else the handshake never completes).
        await viewer.answer(answer);
        await waitFor(
          `frames (offered ${offered})`,
          () => viewer.frames.length >= 10 ? true : undefined,
          15_000,
        );
        const transport = viewer.pc.dtlsTransports[0];
        assert.equal(transport.role, viewerRole, offered);
        assert.equal(transport.dtls instanceof DtlsClient, viewerRole === "client", offered);
        await fetch(new URL(res.headers.get("location")!, edgecam.url), { method: "DELETE" })
          .then((r) => r.body?.cancel());
      } finally {
        await viewer.close();
      }
    }
  } finally {
    await edgecam.stop();
  }
});
