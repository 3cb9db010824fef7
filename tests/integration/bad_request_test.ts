import assert from "node:assert/strict";
import { getJson, startEdgecam, waitHealthy } from "../helpers/edgecam.ts";
import { WhepViewer } from "../helpers/whep_client.ts";
import { WhipPublisher } from "../helpers/whip_client.ts";

/** A mutation of a real offer's lines: what a hostile or broken client sends. */
type Mutation = [string, (lines: string[]) => string[]];

const MUTATIONS: Mutation[] = [
  ["without the video a=mid", (l) => {
    const audio = l.findIndex((x) => x.startsWith("m=audio"));
    return l.filter((x, i) => !(x.startsWith("a=mid:") && i < audio));
  }],
  ["without a=ice-ufrag", (l) => l.filter((x) => !x.startsWith("a=ice-ufrag"))],
  ["with a garbled m= line", (l) => l.map((x) => x.startsWith("m=video") ? x.replace(/\d/g, "x") : x)],
  ["with a garbled c= line", (l) => l.map((x) => x.startsWith("c=") ? x.replace(/\d/g, "x") : x)],
  ["with an m=audio line twice", (l) => l.flatMap((x) => x.startsWith("m=audio") ? [x, x] : [x])],
  [
    "with 1,000 m-lines",
    (l) => [...l, ...Array.from({ length: 1000 }, (_, i) => `m=video 9 RTP/AVP 96\r\na=mid:x${i}`)],
  ],
];

Deno.test("bad requests get a 400 with a one-line reason on every door, never a 500 or a stack", async (t) => {
  // The shipped config, with rings of its own so another edgecam on the machine cannot interfere.
  const shipped = await Deno.readTextFile(new URL("../../config.toml", import.meta.url));
  const edgecam = await startEdgecam({
    toml: shipped.replace(/^prefix = "edgecam"/m, `prefix = "badreq-${crypto.randomUUID().slice(0, 8)}"`),
  });
  try {
    await waitHealthy(edgecam.url);
    const viewer = new WhepViewer({ audio: true });
    const viewerOffer = await viewer.offer();
    await viewer.close();
    const publisher = new WhipPublisher("h264", { audio: true });
    const publisherOffer = await publisher.offer();
    await publisher.close();
    const doors: [string, string][] = [
      ["/whep/front", viewerOffer],
      ["/offer?stream=front", viewerOffer],
      ["/whip/hostile", publisherOffer],
    ];
    for (const [door, offer] of doors) {
      for (const [name, mutate] of MUTATIONS) {
        await t.step(`${door} ${name}`, async () => {
          const started = performance.now();
          const res = await fetch(`${edgecam.url}${door}`, {
            method: "POST",
            headers: { "Content-Type": "application/sdp" },
            body: mutate(offer.split("\r\n")).join("\r\n"),
          });
          const body = await res.text();
          assert.equal(res.status, 400, body);
          assert.equal(body.trim().split("\n").length, 1, `one line, no stack: ${body}`);
          assert.ok(performance.now() - started < 1000, "answered at once");
        });
      }
    }
    await t.step("malformed percent-encoding in a URL is a 4xx with one line, never a 500", async () => {
      // A file path is decoded by edgecam (400); a stream name that is not valid UTF-8 names no stream (404).
      const cases: [string, number][] = [["/static/%E0.js", 400], ["/whep/%E0", 404], [
        "/api/streams/%E0%A4",
        404,
      ]];
      for (const [path, status] of cases) {
        const res = await fetch(`${edgecam.url}${path}`);
        const body = await res.text();
        assert.equal(res.status, status, `${path}: ${body}`);
        assert.equal(body.trim().split("\n").length, 1, body);
      }
    });
    await t.step("a WHIP path name off the naming rule is a 400 and leaves nothing behind", async () => {
      for (const name of ["a%0D%0Ab", "UPPER", "-dash", "a%2Fb", "x".repeat(64)]) {
        const res = await fetch(`${edgecam.url}/whip/${name}`, {
          method: "POST",
          headers: { "Content-Type": "application/sdp" },
          body: publisherOffer,
        });
        const body = await res.text();
        assert.equal(res.status, 400, `${name}: ${body}`);
        assert.equal(body.trim().split("\n").length, 1, body);
      }
      const streams = await (await fetch(`${edgecam.url}/api/streams`)).json() as { name: string }[];
      assert.deepEqual(streams.map((s) => s.name).sort(), ["front", "rear"]);
    });
    await t.step("a WebSocket upgrade without a valid handshake is 400 on both WebSocket doors", async () => {
      for (const path of ["/ws/front", "/ws/signal/front"]) {
        const res = await fetch(`${edgecam.url}${path}`, { headers: { Upgrade: "websocket" } });
        const body = await res.text();
        assert.equal(res.status, 400, `${path}: ${body}`);
        assert.match(body, /not a valid WebSocket upgrade/);
      }
      const { body } = await getJson<{ ws_players: number }>(`${edgecam.url}/api/streams/front`);
      assert.equal(body.ws_players, 0, "the refused player's place was given back");
    });
    await t.step("a client that goes away mid-body is no server error", async () => {
      const { hostname, port } = new URL(edgecam.url);
      const conn = await Deno.connect({ hostname, port: Number(port) });
      const head =
        `POST /whep/front HTTP/1.1\r\nHost: ${hostname}:${port}\r\nContent-Type: application/sdp\r\n` +
        "Content-Length: 5000\r\n\r\nv=0\r\n";
      await conn.write(new TextEncoder().encode(head));
      await new Promise((r) => setTimeout(r, 200));
      conn.close();
      await new Promise((r) => setTimeout(r, 300));
      const health = await fetch(`${edgecam.url}/health`);
      assert.equal(health.status, 200);
      await health.body?.cancel();
    });
    assert.doesNotMatch(edgecam.log(), /unhandled|ERROR/);
  } finally {
    await edgecam.stop();
  }
});
