import assert from "node:assert/strict";
import { getJson, startEdgecam, waitFor } from "../helpers/edgecam.ts";
import { WhepViewer } from "../helpers/whep_client.ts";

const TOKEN = "central-publish-0123456789";

/** A TCP port nobody listens on now, so B can be restarted on the same address. */
function freePort(): number {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const { port } = listener.addr as Deno.NetAddr;
  listener.close();
  return port;
}

interface PushStatus {
  url: string;
  state: string;
  attempt: number;
  last_error: string | null;
  session: string | null;
}

async function pushOf(base: string): Promise<PushStatus> {
  const { body } = await getJson<{ push: PushStatus[] }>(`${base}/api/streams/cam`);
  return body.push[0];
}

/** A werift WHEP viewer of B's "pi1", connected; resolves once it has frames. */
async function watchOnB(base: string): Promise<WhepViewer> {
  const viewer = new WhepViewer();
  await viewer.connect(`${base}/whep/pi1`);
  await waitFor("A's camera at B's viewer", () => viewer.frames.length >= 30 || undefined, 20_000);
  return viewer;
}

Deno.test("push: A's camera is published to B over WHIP; a viewer on B gets it; B restarted → A reconnects", async (t) => {
  const portB = freePort();
  const configB = `[auth]\npublish_tokens = ["${TOKEN}"]\n[[paths]]\nname = "pi1"\n`;
  let b = await startEdgecam({ toml: configB, port: portB });
  const a = await startEdgecam({
    toml: `
[supervisor]
restart_delay_ms = 200
restart_delay_max_ms = 1000

[[cameras]]
name = "cam"
source = "test"
width = 320
height = 240

[[cameras.push]]
url = "http://127.0.0.1:${portB}/whip/pi1"
token = "${TOKEN}"
`,
  });
  const viewers: WhepViewer[] = [];
  try {
    await t.step("A pushes with B's token; B's path runs; a viewer on B gets A's camera", async () => {
      await waitFor(
        "A's push connected",
        async () => (await pushOf(a.url)).state === "connected" || undefined,
        20_000,
      );
      const push = await pushOf(a.url);
      assert.match(push.session!, new RegExp(`^http://127.0.0.1:${portB}/whip/pi1/[0-9a-f-]{36}$`));
      assert.equal(JSON.stringify(push).includes(TOKEN), false, "status never shows the token");
      const { body } = await getJson<{ state: string; width: number }>(`${b.url}/api/streams/pi1`);
      assert.equal(body.state, "running");
      assert.equal(body.width, 320);
      viewers.push(await watchOnB(b.url));
    });

    await t.step("B restarted: A notices, retries with backoff and reconnects by itself", async () => {
      await b.stop();
      await waitFor(
        "A's push retrying",
        async () => (await pushOf(a.url)).state === "retrying" || undefined,
        30_000,
      );
      assert.ok((await pushOf(a.url)).last_error);
      b = await startEdgecam({ toml: configB, port: portB });
      await waitFor(
        "A's push connected again",
        async () => (await pushOf(a.url)).state === "connected" || undefined,
        40_000,
      );
      viewers.push(await watchOnB(b.url));
    });

    await t.step("A stopping DELETEs its session on B: B's path waits", async () => {
      await a.stop();
      await waitFor("B's path waiting", async () => {
        const { body } = await getJson<{ state: string; last_error: string }>(`${b.url}/api/streams/pi1`);
        return body.state === "waiting" && /DELETE/.test(body.last_error) || undefined;
      });
    });
  } catch (err) {
    console.error(`--- A ---\n${a.log()}\n--- B ---\n${b.log()}`);
    throw err;
  } finally {
    for (const viewer of viewers) await viewer.close();
    await a.stop();
    await b.stop();
  }
});
