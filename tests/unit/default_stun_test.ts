import assert from "node:assert/strict";
import { RTCPeerConnection } from "werift";
import { withoutImplicitStun } from "../../lib/webrtc/werift_fixes/default_stun.ts";

Deno.test("werift queries no STUN server that was not configured", async (t) => {
  const cases: [string, { urls: string }[], boolean][] = [
    ["none configured: werift's Google default is dropped", [], false],
    ["a TURN server only: still no STUN query", [{ urls: "turn:turn.example.org:3478" }], false],
    ["a STUN server configured: kept", [{ urls: "stun:stun.example.org:3478" }], true],
  ];
  for (const [what, iceServers, kept] of cases) {
    await t.step(what, async () => {
      const pc = new RTCPeerConnection({ iceServers });
      try {
        pc.addTransceiver("video", { direction: "sendonly" });
        withoutImplicitStun(pc, iceServers);
        const [transport] = pc.iceTransports;
        const { stunServer } = transport.connection as unknown as { stunServer?: [string, number] };
        assert.equal(stunServer !== undefined, kept, JSON.stringify(stunServer));
      } finally {
        await pc.close();
      }
    });
  }
});
