import assert from "node:assert/strict";
import { startEdgecam, waitHealthy } from "../helpers/edgecam.ts";
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

Deno.test("mutated offers get a 400 with a one-line reason on every door, never a 500", async (t) => {
  const edgecam = await startEdgecam({ path: "config.toml" });
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
    assert.doesNotMatch(edgecam.log(), /unhandled|ERROR/);
  } finally {
    await edgecam.stop();
  }
});
