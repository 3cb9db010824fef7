import assert from "node:assert/strict";
import { startEdgecam, waitHealthy } from "../helpers/edgecam.ts";

const CAMERA = `
[shm]
enabled = false
[[cameras]]
name = "cam"
width = 320
height = 240
`;

interface CpuProfile {
  nodes: { id: number; callFrame: { functionName: string; url: string } }[];
  samples: number[];
  startTime: number;
  endTime: number;
  timeDeltas: number[];
}

async function post(url: string, token?: string): Promise<Response> {
  return await fetch(url, { method: "POST", headers: token ? { Authorization: `Bearer ${token}` } : {} });
}

Deno.test("a CPU profile and a heap snapshot of the running service, on demand, one at a time", async () => {
  const edgecam = await startEdgecam({ toml: `[debug]\nenabled = true\n${CAMERA}` });
  try {
    await waitHealthy(edgecam.url);
    const started = Date.now();
    const profiling = post(`${edgecam.url}/api/debug/cpu-profile?seconds=2`);
    // While it runs, a second one is refused rather than measuring the first.
    await new Promise((r) => setTimeout(r, 300));
    const second = await post(`${edgecam.url}/api/debug/heap-snapshot`);
    assert.equal(second.status, 409);
    assert.match(await second.text(), /CPU profile is being taken/);
    const res = await profiling;
    assert.equal(res.status, 200);
    assert.ok(Date.now() - started >= 2000, "the profile covers the seconds asked for");
    assert.match(res.headers.get("content-disposition")!, /^attachment; filename="edgecam-.*\.cpuprofile"$/);
    const profile: CpuProfile = await res.json();
    assert.ok(profile.samples.length > 100, `${profile.samples.length} samples`);
    assert.equal(profile.samples.length, profile.timeDeltas.length);
    assert.ok(profile.endTime - profile.startTime >= 1.9e6, "V8 times are microseconds");
    // The service's own code is in it: the camera's frame loop ran while it sampled.
    const files = new Set(profile.nodes.map((n) => n.callFrame.url.split("/").pop()));
    const ours = ["supervisor.ts", "framer.ts", "stream.ts", "assembler.ts"].filter((f) => files.has(f));
    assert.ok(ours.length >= 2, `service files in the profile: ${[...files].join(", ")}`);
    assert.ok(
      profile.nodes.some((n) => n.callFrame.url.includes("/lib/") && n.callFrame.functionName !== ""),
    );

    const snapshot = await post(`${edgecam.url}/api/debug/heap-snapshot`);
    assert.equal(snapshot.status, 200);
    assert.match(snapshot.headers.get("content-disposition")!, /\.heapsnapshot"$/);
    const heap = await snapshot.json();
    const fields: string[] = heap.snapshot.meta.node_fields;
    assert.ok(fields.includes("name") && fields.includes("self_size"));
    assert.ok(heap.snapshot.node_count > 10_000, `${heap.snapshot.node_count} nodes`);
    // The service's own classes are on the heap it describes.
    assert.ok(heap.strings.includes("Stream") && heap.strings.includes("CameraSource"));
    // And the service is still serving afterwards.
    assert.equal(
      await fetch(`${edgecam.url}/health`).then(async (r) => (await r.body?.cancel(), r.status)),
      200,
    );
  } finally {
    await edgecam.stop();
  }
});

Deno.test("profiling answers 404 naming the key while [debug] is off, and 400 for a bad length", async () => {
  const off = await startEdgecam({ toml: CAMERA });
  try {
    for (const path of ["/api/debug/cpu-profile?seconds=1", "/api/debug/heap-snapshot"]) {
      const res = await post(`${off.url}${path}`);
      assert.equal(res.status, 404);
      assert.equal(await res.text(), "profiling is off: set [debug] enabled = true\n");
    }
  } finally {
    await off.stop();
  }
  const on = await startEdgecam({ toml: `[debug]\nenabled = true\n${CAMERA}` });
  try {
    for (const seconds of ["0", "61", "1.5", "ten", "-1"]) {
      const res = await post(`${on.url}/api/debug/cpu-profile?seconds=${seconds}`);
      assert.equal(res.status, 400, seconds);
      assert.equal(await res.text(), "seconds must be a whole number from 1 to 60\n");
    }
    const get = await fetch(`${on.url}/api/debug/heap-snapshot`);
    await get.body?.cancel();
    assert.equal(get.status, 404, "a GET is no route");
  } finally {
    await on.stop();
  }
});

Deno.test("with API tokens configured, profiling needs an API-change token", async () => {
  const read = "read-0123456789abcdef";
  const change = "change-0123456789abcdef";
  const edgecam = await startEdgecam({
    toml:
      `[debug]\nenabled = true\n[auth]\napi_read_tokens = ["${read}"]\napi_change_tokens = ["${change}"]\n${CAMERA}`,
  });
  try {
    for (const token of [undefined, read, "wrong-0123456789abcdef"]) {
      const res = await post(`${edgecam.url}/api/debug/cpu-profile?seconds=1`, token);
      await res.body?.cancel();
      assert.equal(res.status, 401, String(token));
      const heap = await post(`${edgecam.url}/api/debug/heap-snapshot`, token);
      await heap.body?.cancel();
      assert.equal(heap.status, 401, String(token));
    }
    const res = await post(`${edgecam.url}/api/debug/cpu-profile?seconds=1`, change);
    assert.equal(res.status, 200);
    assert.ok((await res.json()).nodes.length > 0);
  } finally {
    await edgecam.stop();
  }
});
