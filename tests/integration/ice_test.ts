import assert from "node:assert/strict";
import { startEdgecam, waitFor, waitHealthy } from "../helpers/edgecam.ts";
import { WhepViewer } from "../helpers/whep_client.ts";

/** The answer's candidates as "address port". */
function candidates(sdp: string): { address: string; port: number }[] {
  return [...sdp.matchAll(/^a=candidate:\S+ \d+ udp \d+ (\S+) (\d+) typ host/gm)].map((m) => ({
    address: m[1],
    port: Number(m[2]),
  }));
}

Deno.test("ICE from [webrtc]: only the included interfaces and the public IP, ports from the range, 503 when it is full", async () => {
  // Six ports: three viewers with two host candidates each.
  const min = 42000 + Math.floor(Math.random() * 2000) * 8;
  const edgecam = await startEdgecam({
    toml: `
[server]
public_ip = "203.0.113.7"
[webrtc]
interfaces_include = ["lo"]
udp_port_min = ${min}
udp_port_max = ${min + 5}
[[cameras]]
name = "front"
width = 320
height = 240
`,
  });
  // The first viewer URL printed is the public IP's, which only a NAT would forward here.
  const base = edgecam.url.replace("203.0.113.7", "127.0.0.1");
  const viewers = [new WhepViewer(), new WhepViewer(), new WhepViewer(), new WhepViewer()];
  const post = async (viewer: WhepViewer) => {
    const { res, answer } = await viewer.post(`${base}/whep/front`);
    return { res, body: answer };
  };
  try {
    await waitHealthy(base);
    // At once: werift's own port search would race and crash the service here.
    const answers = await Promise.all(viewers.slice(0, 3).map(post));
    const ports = new Set<number>();
    for (const { res, body } of answers) {
      assert.equal(res.status, 201, body);
      const found = candidates(body);
      assert.deepEqual(found.map((c) => c.address).sort(), ["127.0.0.1", "203.0.113.7"]);
      for (const { port } of found) {
        assert.ok(port >= min && port <= min + 5, `port ${port} in ${min}..${min + 5}`);
        ports.add(port);
      }
    }
    assert.equal(ports.size, 6, "every candidate has its own port");

    const full = await post(viewers[3]);
    assert.equal(full.res.status, 503, full.body);
    assert.match(full.res.headers.get("retry-after") ?? "", /^\d+$/);
    assert.match(full.body, /port range/);

    await viewers[0].answer(answers[0].body);
    await waitFor("frames over the loopback candidate", () => viewers[0].frames.length >= 30 || undefined);

    const del = await fetch(`${base}${answers[1].res.headers.get("location")}`, { method: "DELETE" });
    await del.body?.cancel();
    const again = await waitFor("the freed ports to be used again", async () => {
      const { res, body } = await post(new WhepViewer());
      return res.status === 201 ? body : undefined;
    }, 5000);
    assert.equal(candidates(again).length, 2);
  } finally {
    await Promise.all(viewers.map((v) => v.close()));
    await edgecam.stop();
  }
});
