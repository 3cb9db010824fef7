import assert from "node:assert/strict";
import { getJson, startEdgecam, waitFor, waitHealthy } from "../helpers/edgecam.ts";
import { WhepViewer } from "../helpers/whep_client.ts";

interface WebrtcJson {
  webrtc: { viewers: number; pending: number };
}

/** An HTTP client whose connections come from this loopback address, as a second machine's would. */
function clientFrom(localAddress: string): Deno.HttpClient {
  return Deno.createHttpClient({ localAddress });
}

/** POSTs a fresh viewer's offer from `client` and never answers it: a session that never connects. */
async function abandonedOffer(
  url: string,
  client?: Deno.HttpClient,
): Promise<{ status: number; location: string | null }> {
  const viewer = new WhepViewer();
  try {
    const res = await fetch(url, {
      method: "POST",
      headers: { "Content-Type": "application/sdp" },
      body: await viewer.offer(),
      client,
    });
    await res.body?.cancel();
    return { status: res.status, location: res.headers.get("location") };
  } finally {
    await viewer.close();
  }
}

const CONFIG = `
[webrtc]
max_clients = 1
max_pending = 3
max_pending_per_address = 2
handshake_timeout_ms = 3000
[[cameras]]
name = "front"
width = 320
height = 240
`;

Deno.test("sessions that never connect: bounded per address and in all, oldest first, expired; only connected viewers count", async (t) => {
  const edgecam = await startEdgecam({ toml: CONFIG });
  const base = edgecam.url;
  const webrtc = async () => (await getJson<WebrtcJson>(`${base}/api/streams/front`)).body.webrtc;
  const clients = ["127.0.0.2", "127.0.0.3"].map(clientFrom);
  const viewer = new WhepViewer();
  try {
    await waitHealthy(base);

    await t.step("three abandoned offers from one address: each 201, two left connecting", async () => {
      const first = await abandonedOffer(`${base}/whep/front`);
      for (let i = 0; i < 2; i++) assert.equal((await abandonedOffer(`${base}/whep/front`)).status, 201);
      assert.equal(first.status, 201);
      const { viewers, pending } = await webrtc();
      assert.deepEqual({ viewers, pending }, { viewers: 0, pending: 2 });
      const gone = await fetch(`${base}${first.location}`);
      await gone.body?.cancel();
      assert.equal(gone.status, 404, "the oldest gave way");
    });

    await t.step("offers from other addresses: the total bound drops the oldest of all", async () => {
      for (const client of clients) {
        assert.equal((await abandonedOffer(`${base}/whep/front`, client)).status, 201);
      }
      assert.equal((await webrtc()).pending, 3);
    });

    await t.step("a real viewer still gets the one seat (max_clients = 1) and plays", async () => {
      await viewer.connect(`${base}/whep/front`);
      await waitFor("frames", () => viewer.frames.length >= 10 || undefined);
      const now = await webrtc();
      assert.equal(now.viewers, 1);
      assert.ok(now.pending <= 3, `pending ${now.pending}`);
    });

    await t.step("with the seat taken, a new offer is refused 503 naming max_clients", async () => {
      const second = new WhepViewer();
      try {
        const { res, answer } = await second.post(`${base}/whep/front`);
        assert.equal(res.status, 503, answer);
        assert.match(answer, /max_clients/);
      } finally {
        await second.close();
      }
    });

    await t.step("the handshake timeout ends what never connected; the viewer plays on", async () => {
      await waitFor("no session connecting", async () => (await webrtc()).pending === 0 || undefined, 8000);
      const frames = viewer.frames.length;
      await waitFor("more frames", () => viewer.frames.length > frames + 10 || undefined);
      assert.equal((await webrtc()).viewers, 1);
    });
  } finally {
    await viewer.close();
    for (const client of clients) client.close();
    await edgecam.stop();
  }
});
