import assert from "node:assert/strict";
import { getJson, startEdgecam, waitFor, waitHealthy } from "../helpers/edgecam.ts";
import { WhipPublisher } from "../helpers/whip_client.ts";
import { WhepViewer } from "../helpers/whep_client.ts";

const SHM_PREFIX = `pathstest-${crypto.randomUUID().slice(0, 8)}`;

const CONFIG = `
[webrtc]
handshake_timeout_ms = 2000
[ingest]
max_paths = 2
path_idle_timeout_ms = 2000
[shm]
prefix = "${SHM_PREFIX}"
slot_count = 4
slot_size = 65536
[[paths]]
name = "studio"
codec = "h264"
`;

function ringExists(path: string): boolean {
  try {
    Deno.statSync(`/dev/shm/${SHM_PREFIX}-${path}`);
    return true;
  } catch {
    return false;
  }
}

async function deleteSession(url: string): Promise<void> {
  const res = await fetch(url, { method: "DELETE" });
  await res.body?.cancel();
  assert.equal(res.status, 200);
}

async function streamNames(base: string): Promise<string[]> {
  return (await getJson<{ name: string }[]>(`${base}/api/streams`)).body.map((s) => s.name).sort();
}

Deno.test("unconfigured WHIP paths: at most ingest.max_paths, removed with stream and ring once unused", async (t) => {
  const edgecam = await startEdgecam({ toml: CONFIG });
  const base = edgecam.url;
  const publishers: WhipPublisher[] = [];
  const viewer = new WhepViewer();
  let viewerUrl = "";
  try {
    await waitHealthy(base);

    await t.step("two made-up paths are made by their publishers' answers, with rings", async () => {
      for (const name of ["a", "b"]) {
        const publisher = new WhipPublisher("h264");
        publishers.push(publisher);
        const { res, answer } = await publisher.post(`${base}/whip/${name}`);
        assert.equal(res.status, 201, answer);
      }
      assert.deepEqual(await streamNames(base), ["a", "b", "studio"]);
      assert.ok(ringExists("a") && ringExists("b"));
    });

    await t.step(
      "a third is refused 503 naming ingest.max_paths; a configured path is not counted",
      async () => {
        const third = new WhipPublisher("h264");
        publishers.push(third);
        const { res, answer } = await third.post(`${base}/whip/c`);
        assert.equal(res.status, 503, answer);
        assert.match(answer, /ingest\.max_paths/);
        assert.ok(res.headers.get("retry-after"));
        const studio = new WhipPublisher("h264");
        publishers.push(studio);
        assert.equal((await studio.post(`${base}/whip/studio`)).res.status, 201);
      },
    );

    await t.step(
      "a path with a reader stays; one with none is removed with its ring after the idle timeout",
      async () => {
        const live = new WhipPublisher("h264");
        publishers.push(live);
        // "b" gets a live publisher and a viewer; "a"'s publisher never connects.
        const published = await live.publish(`${base}/whip/b`);
        await waitFor("b live", async () => {
          const { body } = await getJson<{ state: string }>(`${base}/api/streams/b`);
          return body.state === "running" || undefined;
        });
        const watching = await viewer.connect(`${base}/whep/b`);
        viewerUrl = `${base}${watching.headers.get("location")}`;
        await waitFor("frames on b", () => viewer.frames.length >= 10 || undefined);
        await deleteSession(published.session);
        await live.close();
        await waitFor("a removed", async () => !(await streamNames(base)).includes("a") || undefined, 10_000);
        assert.equal(ringExists("a"), false, "the ring went with the path");
        assert.deepEqual(await streamNames(base), ["b", "studio"], "b has a reader, studio is configured");
        assert.ok(ringExists("b"));
      },
    );

    await t.step("once b's last viewer leaves, it goes too, and a new name fits again", async () => {
      await deleteSession(viewerUrl);
      await viewer.close();
      await waitFor("b removed", async () => !(await streamNames(base)).includes("b") || undefined, 10_000);
      assert.equal(ringExists("b"), false);
      const next = new WhipPublisher("h264");
      publishers.push(next);
      assert.equal((await next.post(`${base}/whip/c`)).res.status, 201);
    });
  } finally {
    await viewer.close();
    for (const publisher of publishers) await publisher.close();
    await edgecam.stop();
  }
});
