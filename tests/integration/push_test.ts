import assert from "node:assert/strict";
import { freePort, getJson, type RunningEdgecam, startEdgecam, waitFor } from "../helpers/edgecam.ts";
import { startTurnServer } from "../helpers/turn.ts";
import { WhepViewer } from "../helpers/whep_client.ts";
import { WhipPublisher } from "../helpers/whip_client.ts";

const TOKEN = "central-publish-0123456789";

interface PushStatus {
  url: string;
  state: string;
  attempt: number;
  last_error: string | null;
  session: string | null;
  candidates: Record<string, number>;
  route: string | null;
}

/** A's config: a 320x240 test camera "cam" of `codec` and its push target table, open for more keys. */
function cameraPushedTo(url: string, codec = "h264"): string {
  return `
[[cameras]]
name = "cam"
source = "test"
codec = "${codec}"
width = 320
height = 240

[[cameras.push]]
url = "${url}"
`;
}

/** Push target `index` of `stream` in the status of the instance at `base`. */
async function pushOf(base: string, stream = "cam", index = 0): Promise<PushStatus> {
  const { body } = await getJson<{ push: PushStatus[] }>(`${base}/api/streams/${stream}`);
  return body.push[index];
}

/** Push target `index` of `stream` once it is in `state`; fails after `timeoutMs`. */
function waitPush(
  base: string,
  state: string,
  { stream = "cam", index = 0, timeoutMs = 20_000 } = {},
): Promise<PushStatus> {
  return waitFor(`push ${index} of ${stream} ${state}`, async () => {
    const push = await pushOf(base, stream, index);
    return push.state === state ? push : undefined;
  }, timeoutMs);
}

/** Waits until B's "pi1" waits because its publisher DELETEd the session. */
function waitDeleted(b: string): Promise<true> {
  return waitFor("B's path waiting after A's DELETE", async () => {
    const { body } = await getJson<{ state: string; last_error: string }>(`${b}/api/streams/pi1`);
    return body.state === "waiting" && /DELETE/.test(body.last_error) || undefined;
  });
}

/**
 * Runs `body` against A and B: if it fails, prints both logs (read then: B may have been restarted)
 * and rethrows. Then runs `cleanup`, in order.
 */
async function againstPair(
  pair: () => { a: RunningEdgecam; b: RunningEdgecam },
  body: () => Promise<void>,
  cleanup: (() => Promise<unknown> | undefined)[],
): Promise<void> {
  try {
    await body();
  } catch (err) {
    const { a, b } = pair();
    console.error(`--- A ---\n${a.log()}\n--- B ---\n${b.log()}`);
    throw err;
  } finally {
    for (const step of cleanup) await step();
  }
}

/** A werift WHEP viewer of B's "pi1" (with Opus if `audio`), connected; resolves once it has frames. */
async function watchOnB(base: string, audio = false): Promise<WhepViewer> {
  const viewer = new WhepViewer({ audio });
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
${cameraPushedTo(`http://127.0.0.1:${portB}/whip/pi1`)}
token = "${TOKEN}"
`,
  });
  const viewers: WhepViewer[] = [];
  await againstPair(() => ({ a, b }), async () => {
    await t.step("A pushes with B's token; B's path runs; a viewer on B gets A's camera", async () => {
      const push = await waitPush(a.url, "connected");
      assert.match(push.session!, new RegExp(`^http://127.0.0.1:${portB}/whip/pi1/[0-9a-f-]{36}$`));
      assert.equal(JSON.stringify(push).includes(TOKEN), false, "status never shows the token");
      const { body } = await getJson<{ state: string; width: number }>(`${b.url}/api/streams/pi1`);
      assert.equal(body.state, "running");
      assert.equal(body.width, 320);
      viewers.push(await watchOnB(b.url));
    });

    await t.step("B restarted: A notices, retries with backoff and reconnects by itself", async () => {
      await b.stop();
      assert.ok((await waitPush(a.url, "retrying", { timeoutMs: 30_000 })).last_error);
      b = await startEdgecam({ toml: configB, port: portB });
      await waitPush(a.url, "connected", { timeoutMs: 40_000 });
      viewers.push(await watchOnB(b.url));
    });

    await t.step("A stopping DELETEs its session on B: B's path waits", async () => {
      await a.stop();
      await waitDeleted(b.url);
    });
  }, [
    async () => {
      for (const viewer of viewers) await viewer.close();
    },
    () => a.stop(),
    () => b.stop(),
  ]);
});

Deno.test("push of a WHIP path: gathers with the STUN and TURN servers of B's Link header, and carries Opus", async () => {
  const turn = await startTurnServer();
  const portB = freePort();
  // A has no ICE servers of its own: a srflx or relay candidate of its push can only come from B's Link.
  const b = await startEdgecam({
    port: portB,
    toml: `${turn.webrtcToml}
[[paths]]
name = "pi1"
`,
  });
  const a = await startEdgecam({
    toml: `
[webrtc]
interfaces_include = ["lo"]
[[paths]]
name = "live"
[[paths.push]]
url = "http://127.0.0.1:${portB}/whip/pi1"
`,
  });
  const publisher = new WhipPublisher("h264", { audio: true });
  const viewer = new WhepViewer({ audio: true });
  await againstPair(() => ({ a, b }), async () => {
    const { res, answer } = await publisher.publish(`${a.url}/whip/live`);
    assert.equal(res.status, 201, answer);
    const push = await waitPush(a.url, "connected", { stream: "live", timeoutMs: 30_000 });
    assert.ok(push.candidates.host > 0, JSON.stringify(push));
    assert.ok(push.candidates.srflx > 0, `no srflx candidate from B's STUN server: ${JSON.stringify(push)}`);
    assert.ok(push.candidates.relay > 0, `no relay candidate from B's TURN server: ${JSON.stringify(push)}`);
    assert.ok(["host", "srflx", "relay"].includes(push.route!), JSON.stringify(push));

    await viewer.connect(`${b.url}/whep/pi1`);
    await waitFor(
      "video and Opus from A's publisher at B's viewer",
      () => viewer.frames.length >= 30 && viewer.audioPackets >= 50 || undefined,
      20_000,
    );
  }, [() => viewer.close(), () => publisher.close(), () => a.stop(), () => b.stop(), () => turn.stop()]);
});

/**
 * A server in front of B: `intercept` answers the requests it wants to (and counts them), the others
 * go through to B, a 201's answer through `rewriteAnswer`.
 */
function frontOf(
  b: string,
  intercept: (req: Request) => Response | undefined,
  rewriteAnswer: (sdp: string) => string = (sdp) => sdp,
): { url: string; intercepted: () => number; close(): Promise<void> } {
  let intercepted = 0;
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, async (req) => {
    const own = intercept(req);
    if (own) {
      intercepted++;
      await req.body?.cancel();
      return own;
    }
    const url = new URL(req.url);
    const res = await fetch(`${b}${url.pathname}`, {
      method: req.method,
      headers: req.headers,
      body: req.body,
    });
    if (res.status !== 201) return new Response(res.body, { status: res.status, headers: res.headers });
    const headers = new Headers(res.headers);
    headers.delete("content-length");
    return new Response(rewriteAnswer(await res.text()), { status: 201, headers });
  });
  return {
    url: `http://127.0.0.1:${server.addr.port}`,
    intercepted: () => intercepted,
    close: () => server.shutdown(),
  };
}

Deno.test("push of a VP8 camera to an upstream without trickle (PATCH 405): A's checks reach it anyway and B's viewer plays", async () => {
  const b = await startEdgecam({ toml: `[[paths]]\nname = "pi1"\ncodec = "vp8"\n` });
  // As a WHIP server without trickle answers (RFC 9725 §4.3.1).
  const proxy = frontOf(
    b.url,
    (req) =>
      req.method === "PATCH"
        ? new Response("trickle not supported\n", { status: 405, headers: { Allow: "POST, DELETE" } })
        : undefined,
  );
  const a = await startEdgecam({
    toml: cameraPushedTo(`${proxy.url}/whip/pi1`, "vp8"),
  });
  let viewer: WhepViewer | undefined;
  await againstPair(() => ({ a, b }), async () => {
    await waitPush(a.url, "connected");
    assert.equal(proxy.intercepted(), 1, "A tried to trickle once");
    viewer = await watchOnB(b.url);
    assert.equal(viewer.mimeType, "video/VP8");
    assert.match(a.log(), /takes no trickled candidates \(405\)/);
  }, [() => viewer?.close(), () => a.stop(), () => proxy.close(), () => b.stop()]);
});

Deno.test("push to an endpoint that redirects (307, RFC 9725 §4.5) to another origin: the token goes along, the session is B's", async () => {
  const b = await startEdgecam({ toml: `[auth]\npublish_tokens = ["${TOKEN}"]\n[[paths]]\nname = "pi1"\n` });
  // A load balancer: every request gets 307 to B; only a session URL resolved against B works.
  const balancer = frontOf(
    b.url,
    (req) =>
      new Response(null, { status: 307, headers: { Location: `${b.url}${new URL(req.url).pathname}` } }),
  );
  // A misconfigured one that sends every request back to itself.
  const loop = frontOf(b.url, (req) => new Response(null, { status: 308, headers: { Location: req.url } }));
  const a = await startEdgecam({
    toml: `${cameraPushedTo(`${balancer.url}/whip/pi1`)}token = "${TOKEN}"
[[cameras.push]]
url = "${loop.url}/whip/pi1"
`,
  });
  let viewer: WhepViewer | undefined;
  await againstPair(() => ({ a, b }), async () => {
    const push = await waitPush(a.url, "connected");
    assert.ok(push.session?.startsWith(`${b.url}/whip/pi1/`), push.session ?? "no session");
    viewer = await watchOnB(b.url);
    const looped = await waitPush(a.url, "retrying", { index: 1, timeoutMs: 15_000 });
    assert.match(looped.last_error!, /more than 5 redirects/);
    assert.ok(loop.intercepted() >= 6, "the first request and 5 redirects, per attempt");
    await a.stop();
    await waitDeleted(b.url);
    assert.equal(balancer.intercepted(), 1, "only the POST went to the balancer");
  }, [() => viewer?.close(), () => a.stop(), () => balancer.close(), () => loop.close(), () => b.stop()]);
});

/** The answer with its audio m-line rejected (port 0, out of BUNDLE), as a video-only WHIP server answers. */
function rejectAudio(sdp: string): string {
  const sections = sdp.split(/(?=^m=)/m);
  const audio = sections.findIndex((section) => section.startsWith("m=audio"));
  const mid = sections[audio].match(/^a=mid:(\S+)/m)![1];
  sections[audio] = sections[audio].split("\r\n")
    .filter((line) => /^(m=|c=|a=mid:)/.test(line))
    .map((line) => line.replace(/^m=audio \d+/, "m=audio 0"))
    .concat("a=inactive", "").join("\r\n");
  sections[0] = sections[0].replace(/^(a=group:BUNDLE .*)$/m, (group) => group.replace(` ${mid}`, ""));
  return sections.join("");
}

Deno.test("push of a WHIP path with audio to an upstream that rejects audio: the video goes alone", async () => {
  const b = await startEdgecam({ toml: `[[paths]]\nname = "pi1"\n` });
  const front = frontOf(b.url, () => undefined, rejectAudio);
  const a = await startEdgecam({
    toml: `[[paths]]\nname = "live"\n[[paths.push]]\nurl = "${front.url}/whip/pi1"\n`,
  });
  const publisher = new WhipPublisher("h264", { audio: true });
  let viewer: WhepViewer | undefined;
  await againstPair(() => ({ a, b }), async () => {
    const { res, answer } = await publisher.publish(`${a.url}/whip/live`);
    assert.equal(res.status, 201, answer);
    await waitPush(a.url, "connected", { stream: "live" });
    viewer = await watchOnB(b.url, true);
    assert.equal(viewer.audioPackets, 0, "no audio reached B: the rejected m-line carries nothing");
    assert.equal((await pushOf(a.url, "live")).state, "connected");
  }, [() => viewer?.close(), () => publisher.close(), () => a.stop(), () => front.close(), () => b.stop()]);
});
