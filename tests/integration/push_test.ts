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

/** One request a server in front of B got: what it asked for and the Authorization it carried. */
interface Seen {
  method: string;
  path: string;
  authorization: string | null;
}

/** What a server in front of B changes in B's answers. */
interface Rewrites {
  /** A 201's SDP answer. */
  answer?: (sdp: string) => string;
  /** A 201's Location, given resolved against B. */
  location?: (url: URL) => string;
}

/**
 * A server in front of B: records every request (`seen`); `intercept` answers the requests it wants to
 * (and counts them), the others go through to B, a 201's answer and Location through `rewrites`.
 */
function frontOf(
  b: string,
  intercept: (req: Request) => Response | undefined,
  rewrites: Rewrites = {},
): { url: string; seen: Seen[]; intercepted: () => number; close(): Promise<void> } {
  let intercepted = 0;
  const seen: Seen[] = [];
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, async (req) => {
    const url = new URL(req.url);
    seen.push({ method: req.method, path: url.pathname, authorization: req.headers.get("authorization") });
    const own = intercept(req);
    if (own) {
      intercepted++;
      await req.body?.cancel();
      return own;
    }
    const res = await fetch(`${b}${url.pathname}`, {
      method: req.method,
      headers: req.headers,
      body: req.body,
    });
    if (res.status !== 201) return new Response(res.body, { status: res.status, headers: res.headers });
    const headers = new Headers(res.headers);
    headers.delete("content-length");
    const location = headers.get("location");
    if (location && rewrites.location) headers.set("location", rewrites.location(new URL(location, b)));
    const answer = rewrites.answer ?? ((sdp) => sdp);
    return new Response(answer(await res.text()), { status: 201, headers });
  });
  return {
    url: `http://127.0.0.1:${server.addr.port}`,
    seen,
    intercepted: () => intercepted,
    close: () => server.shutdown(),
  };
}

/** The requests of `front` as `METHOD path-prefix Authorization`, the session id cut off. */
function requestsAt(front: { seen: Seen[] }): string[] {
  return front.seen.map((s) =>
    `${s.method} ${s.path.replace(/[0-9a-f-]{36}$/, "<id>")} ${s.authorization ?? "(no Authorization)"}`
  );
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

Deno.test("push through redirects (307/308, RFC 9725 §4.5): the token goes only to the configured origin", async () => {
  const b = await startEdgecam({ toml: `[auth]\npublish_tokens = ["${TOKEN}"]\n[[paths]]\nname = "pi1"\n` });
  // Another origin in front of B (another port of the same host is another origin).
  const node = frontOf(b.url, () => undefined);
  // A load balancer: /lb/ is sent on within its own origin, /away/ to the other one; /whip/ goes to B.
  const balancer = frontOf(b.url, (req) => {
    const path = new URL(req.url).pathname;
    if (path.startsWith("/lb/")) return redirect(307, path.replace("/lb/", "/whip/"));
    if (path.startsWith("/away/")) return redirect(307, `${node.url}${path.replace("/away/", "/whip/")}`);
  });
  // A misconfigured one that sends every request back to itself.
  const loop = frontOf(b.url, (req) => redirect(308, req.url));
  const a = await startEdgecam({
    toml: `${cameraPushedTo(`${balancer.url}/lb/pi1`)}token = "${TOKEN}"
[[cameras.push]]
url = "${balancer.url}/away/pi1"
token = "${TOKEN}"
[[cameras.push]]
url = "${loop.url}/whip/pi1"
`,
  });
  let viewer: WhepViewer | undefined;
  await againstPair(() => ({ a, b }), async () => {
    const push = await waitPush(a.url, "connected");
    assert.ok(push.session?.startsWith(`${balancer.url}/whip/pi1/`), push.session ?? "no session");
    viewer = await watchOnB(b.url);

    const away = await waitPush(a.url, "retrying", { index: 1 });
    assert.match(away.last_error!, /POST answered 401/, "B wants the token the other origin never got");
    assert.ok(node.seen.length > 0, "the redirect was followed");
    assert.deepEqual(node.seen.filter((s) => s.authorization !== null), [], "no token to another origin");

    const looped = await waitPush(a.url, "retrying", { index: 2, timeoutMs: 15_000 });
    assert.match(looped.last_error!, /more than 5 redirects/);
    assert.ok(loop.intercepted() >= 6, "the first request and 5 redirects, per attempt");

    await a.stop();
    await waitDeleted(b.url);
    const [sentAway, session] = [true, false].map((away) =>
      requestsAt(balancer).filter((r) => r.includes("/away/") === away)
    );
    assert.ok(sentAway.every((r) => r.endsWith(`Bearer ${TOKEN}`)), "the configured endpoint gets it");
    assert.deepEqual(session, [
      `POST /lb/pi1 Bearer ${TOKEN}`,
      `POST /whip/pi1 Bearer ${TOKEN}`,
      `PATCH /whip/pi1/<id> Bearer ${TOKEN}`,
      `DELETE /whip/pi1/<id> Bearer ${TOKEN}`,
    ], "within the configured origin the token goes along");
  }, [
    () => viewer?.close(),
    () => a.stop(),
    () => balancer.close(),
    () => node.close(),
    () => loop.close(),
    () => b.stop(),
  ]);
});

/** A redirect to `location`. */
function redirect(status: number, location: string): Response {
  return new Response(null, { status, headers: { Location: location } });
}

Deno.test("push whose session URL (the 201's Location) is on another origin: PATCH and DELETE go there without the token", async () => {
  const b = await startEdgecam({ toml: `[[paths]]\nname = "pi1"\n` });
  // RFC 9725 lets the session live elsewhere; here another origin in front of the same B.
  const sessions = frontOf(b.url, () => undefined);
  const endpoint = frontOf(b.url, () => undefined, { location: (url) => `${sessions.url}${url.pathname}` });
  const a = await startEdgecam({ toml: `${cameraPushedTo(`${endpoint.url}/whip/pi1`)}token = "${TOKEN}"\n` });
  await againstPair(() => ({ a, b }), async () => {
    const push = await waitPush(a.url, "connected");
    assert.ok(push.session?.startsWith(`${sessions.url}/whip/pi1/`), push.session ?? "no session");
    await a.stop();
    await waitDeleted(b.url);
    assert.deepEqual(requestsAt(endpoint), [`POST /whip/pi1 Bearer ${TOKEN}`]);
    assert.deepEqual(requestsAt(sessions), [
      "PATCH /whip/pi1/<id> (no Authorization)",
      "DELETE /whip/pi1/<id> (no Authorization)",
    ]);
  }, [() => a.stop(), () => endpoint.close(), () => sessions.close(), () => b.stop()]);
});

/** A body that never ends: 64 KiB chunks for as long as they are read; `cancelled` when the reader hangs up. */
function endlessBody(cancelled: () => void): ReadableStream<Uint8Array> {
  const chunk = new TextEncoder().encode("a=x-filler:".padEnd(64 * 1024, "x"));
  return new ReadableStream({
    async pull(controller) {
      await new Promise((r) => setTimeout(r, 1));
      controller.enqueue(chunk);
    },
    cancel: cancelled,
  });
}

Deno.test("push to an upstream that answers with an endless body: the attempt fails at 128 KiB, and is retried", async () => {
  // Per target: how long its first POST's answer was read; and the other requests the server got.
  const firstPosts = new Map<string, { at: number; abandonedAfterMs?: number }>();
  const others: string[] = [];
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, async (req) => {
    await req.body?.cancel();
    const path = new URL(req.url).pathname;
    if (req.method !== "POST") {
      others.push(`${req.method} ${path}`);
      return new Response(null, { status: 200 });
    }
    const post = { at: performance.now(), abandonedAfterMs: undefined as number | undefined };
    if (!firstPosts.has(path)) firstPosts.set(path, post);
    const body = endlessBody(() => post.abandonedAfterMs ??= performance.now() - post.at);
    return path === "/answers/whip"
      ? new Response(body, {
        status: 201,
        headers: { "Content-Type": "application/sdp", Location: "/answers/whip/session" },
      })
      : new Response(body, { status: 500, headers: { "Content-Type": "text/plain" } });
  });
  const base = `http://127.0.0.1:${server.addr.port}`;
  const a = await startEdgecam({
    toml: `${cameraPushedTo(`${base}/answers/whip`)}
[[cameras.push]]
url = "${base}/refuses/whip"
`,
  });
  try {
    for (const [index, path] of [[0, "/answers/whip"], [1, "/refuses/whip"]] as const) {
      const push = await waitPush(a.url, "retrying", { index });
      assert.match(push.last_error!, /body over 131072 bytes/, path);
      const readMs = await waitFor(`${path} abandoned`, () => firstPosts.get(path)!.abandonedAfterMs);
      assert.ok(readMs < 3000, `${path} read for ${readMs} ms, not cut off at the cap`);
    }
    assert.ok(others.includes("DELETE /answers/whip/session"), "the session the 201 made is DELETEd");
  } catch (err) {
    console.error(a.log());
    throw err;
  } finally {
    await a.stop();
    await server.shutdown();
  }
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
  const front = frontOf(b.url, () => undefined, { answer: rejectAudio });
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
