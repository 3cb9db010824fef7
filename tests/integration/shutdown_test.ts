import assert from "node:assert/strict";
import { getJson, startEdgecam, waitFor, waitHealthy } from "../helpers/edgecam.ts";
import { WhepViewer } from "../helpers/whep_client.ts";
import { stalledUpgrade } from "../helpers/ws_player.ts";

const SHM_PREFIX = `stoptest-${crypto.randomUUID().slice(0, 8)}`;

function ringExists(name: string): boolean {
  try {
    Deno.statSync(`/dev/shm/${SHM_PREFIX}-${name}`);
    return true;
  } catch {
    return false;
  }
}

Deno.test("SIGTERM: nothing new is taken; a push target or a player that never answers cannot delay the exit", async () => {
  // The push target: a WHIP server (a second edgecam) behind a proxy that passes everything on except
  // DELETE, which it never answers, as a target that went away mid-session would.
  const target = await startEdgecam({ toml: "" });
  const hung: Promise<void>[] = [];
  const proxy = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, async (req) => {
    if (req.method === "DELETE") {
      const never = Promise.withResolvers<void>();
      hung.push(never.promise);
      req.signal.addEventListener("abort", () => never.resolve());
      await never.promise;
      return new Response(null, { status: 200 });
    }
    const url = new URL(req.url);
    return await fetch(`${target.url}${url.pathname}`, {
      method: req.method,
      headers: req.headers,
      body: req.body,
    });
  });
  const edgecam = await startEdgecam({
    toml: `
[shm]
prefix = "${SHM_PREFIX}"
slot_count = 4
slot_size = 65536
[[cameras]]
name = "front"
width = 320
height = 240
[[cameras.push]]
url = "http://127.0.0.1:${proxy.addr.port}/whip/front"
`,
  });
  const viewer = new WhepViewer();
  const held: Deno.Conn[] = [];
  try {
    await waitHealthy(edgecam.url);
    assert.ok(ringExists("front"));
    await waitFor("the push connected", async () => {
      const { body } = await getJson<{ push: { state: string }[] }>(`${edgecam.url}/api/streams/front`);
      return body.push[0]?.state === "connected" || undefined;
    });
    // A WebSocket player whose client never answers the close: its connection stays open.
    const player = await stalledUpgrade(edgecam.url, "/ws/front");
    held.push(player.conn);
    assert.equal(player.status, 101);
    const offer = await viewer.offer();
    const started = performance.now();
    edgecam.child.kill("SIGTERM");
    await new Promise((r) => setTimeout(r, 300));
    const late = await fetch(`${edgecam.url}/whep/front`, {
      method: "POST",
      headers: { "Content-Type": "application/sdp" },
      body: offer,
    }).then(async (res) => `${res.status} ${await res.text()}`, (err: Error) => `refused: ${err.message}`);
    assert.doesNotMatch(late, /^201/, "a viewer offering after SIGTERM is not answered");
    const status = await edgecam.child.status;
    const tookMs = performance.now() - started;
    assert.equal(status.code, 0, edgecam.log());
    assert.ok(tookMs < 4500, `stopped in ${Math.round(tookMs)} ms, before the forced exit`);
    assert.match(edgecam.log(), /\[main\] stopped/);
    assert.equal(ringExists("front"), false, "the ring was removed");
  } finally {
    await viewer.close();
    await edgecam.stop();
    for (const conn of held) conn.close();
    await proxy.shutdown();
    await target.stop();
  }
});
