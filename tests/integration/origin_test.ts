import assert from "node:assert/strict";
import { startEdgecam, waitHealthy } from "../helpers/edgecam.ts";
import { WhepViewer } from "../helpers/whep_client.ts";

const TOKEN = "front-view-0123456789abcdef";
const EVIL = "https://evil.example";

/** One raw HTTP/1.1 request, so the Host header is exactly what a rebinding page's browser sends. */
async function rawGet(base: string, path: string, host: string): Promise<string> {
  const { hostname, port } = new URL(base);
  const conn = await Deno.connect({ hostname, port: Number(port) });
  try {
    await conn.write(
      new TextEncoder().encode(`GET ${path} HTTP/1.1\r\nHost: ${host}\r\nConnection: close\r\n\r\n`),
    );
    const chunks: string[] = [];
    const buffer = new Uint8Array(4096);
    for (let n = await conn.read(buffer); n !== null; n = await conn.read(buffer)) {
      chunks.push(new TextDecoder().decode(buffer.subarray(0, n)));
    }
    return chunks.join("");
  } finally {
    conn.close();
  }
}

Deno.test("without a token only the service's own pages and names get in; with one, any page may", async (t) => {
  const edgecam = await startEdgecam({
    toml: `
[[cameras]]
name = "front"
width = 320
height = 240
view_tokens = ["${TOKEN}"]
[[cameras]]
name = "side"
width = 320
height = 240
`,
  });
  const base = edgecam.url;
  const viewer = new WhepViewer();
  const offer = await viewer.offer();
  const post = (stream: string, headers: Record<string, string>) =>
    fetch(`${base}/whep/${stream}`, {
      method: "POST",
      headers: { "Content-Type": "application/sdp", ...headers },
      body: offer,
    });
  try {
    await waitHealthy(base);

    await t.step(
      "a page on another origin: 403 on WHEP, WHIP, /offer, the WebSocket doors and the API",
      async () => {
        const requests: [string, RequestInit][] = [
          ["/whep/side", { method: "POST", headers: { "Content-Type": "application/sdp" }, body: offer }],
          ["/whip/anything", { method: "POST", headers: { "Content-Type": "application/sdp" }, body: offer }],
          ["/offer?stream=side", {
            method: "POST",
            headers: { "Content-Type": "application/json" },
            body: "{}",
          }],
          ["/ws/side", { headers: { Upgrade: "websocket", Connection: "Upgrade" } }],
          ["/ws/signal/side", { headers: { Upgrade: "websocket", Connection: "Upgrade" } }],
          ["/status", {}],
        ];
        for (const [path, init] of requests) {
          const res = await fetch(`${base}${path}`, { ...init, headers: { ...init.headers, Origin: EVIL } });
          const body = await res.text();
          assert.equal(res.status, 403, `${path}: ${body}`);
          assert.match(body, /server\.allowed_origins/);
          assert.equal(res.headers.get("access-control-allow-origin"), null, path);
        }
        assert.equal((await fetch(`${base}/api/streams/side`).then((r) => r.json())).webrtc.pending, 0);
      },
    );

    await t.step("a foreign preflight is answered 200, but without an allowed origin", async () => {
      const res = await fetch(`${base}/whep/side`, {
        method: "OPTIONS",
        headers: { Origin: EVIL, "Access-Control-Request-Method": "POST" },
      });
      await res.body?.cancel();
      assert.equal(res.status, 200);
      assert.equal(res.headers.get("access-control-allow-origin"), null);
    });

    await t.step("DNS rebinding: a foreign name in Host is 403, naming server.allowed_hosts", async () => {
      const reply = await rawGet(base, "/status", "rebind.evil.example");
      assert.match(reply, /^HTTP\/1\.1 403/);
      assert.match(reply, /server\.allowed_hosts/);
      assert.match(await rawGet(base, "/health", `localhost:${new URL(base).port}`), /^HTTP\/1\.1 200/);
    });

    await t.step("the service's own page: allowed, and told so by name", async () => {
      const res = await post("side", { Origin: base });
      const answer = await res.text();
      assert.equal(res.status, 201, answer);
      assert.equal(res.headers.get("access-control-allow-origin"), base);
      assert.match(res.headers.get("vary") ?? "", /Origin/);
      await fetch(`${base}${res.headers.get("location")}`, { method: "DELETE" }).then((r) =>
        r.body?.cancel()
      );
    });

    await t.step("a token-bearing request from any page is let in, with CORS open", async () => {
      const res = await post("front", { Origin: EVIL, Authorization: `Bearer ${TOKEN}` });
      const answer = await res.text();
      assert.equal(res.status, 201, answer);
      assert.equal(res.headers.get("access-control-allow-origin"), "*");
      await fetch(`${base}${res.headers.get("location")}`, { method: "DELETE" }).then((r) =>
        r.body?.cancel()
      );
      const refused = await post("front", { Origin: EVIL });
      await refused.body?.cancel();
      assert.equal(refused.status, 401);
      assert.equal(refused.headers.get("access-control-allow-origin"), "*", "the page can read why");
    });
  } finally {
    await viewer.close();
    await edgecam.stop();
  }
});
