import assert from "node:assert/strict";
import { freePort, startEdgecam, waitFor } from "../helpers/edgecam.ts";
import { SignalChannel, WhepViewer } from "../helpers/whep_client.ts";
import { WhipPublisher } from "../helpers/whip_client.ts";
import { WsPlayer } from "../helpers/ws_player.ts";

// One token per kind, a camera's own token, and one nobody configured.
const PUBLISH = "publish-0123456789abcdef";
const VIEW = "view-0123456789abcdef";
const READ = "read-0123456789abcdef";
const CHANGE = "change-0123456789abcdef";
const FRONT = "front-only-0123456789abcdef";
const WRONG = "wrong-0123456789abcdef";
const OBS = "obs-only-0123456789abcdef";
const ALL_TOKENS = [PUBLISH, VIEW, READ, CHANGE, FRONT, WRONG, OBS];

const FRAG = { "Content-Type": "application/trickle-ice-sdpfrag", "If-Match": "*" };

/** The one refusal: same status, header and body whatever was wrong. */
const REFUSAL_BODY = "a valid bearer token is required\n";

const bearer = (token: string) => ({ Authorization: `Bearer ${token}` });

/** Asserts the one refusal a protected route gives, whatever was wrong with the request. */
async function assertRefused(res: Response, what: string): Promise<void> {
  assert.equal(res.status, 401, what);
  assert.equal(res.headers.get("www-authenticate"), 'Bearer realm="edgecam"', what);
  assert.equal(await res.text(), REFUSAL_BODY, what);
}

/** The ways a request can be wrong: no token, a wrong one, and tokens of the other kinds. */
function wrongTokens(...otherKinds: string[]): [string, Record<string, string>, string][] {
  return [
    ["no token", {}, ""],
    ["a wrong Bearer token", bearer(WRONG), ""],
    ["a wrong ?token=", {}, `token=${WRONG}`],
    ["Basic instead of Bearer", { Authorization: `Basic ${btoa(`user:${VIEW}`)}` }, ""],
    ...otherKinds.map((t): [string, Record<string, string>, string] => [
      `a token of another kind (${t.split("-")[0]})`,
      bearer(t),
      "",
    ]),
  ];
}

function withQuery(url: string, query: string): string {
  if (query === "") return url;
  return `${url}${url.includes("?") ? "&" : "?"}${query}`;
}

/** The viewer gets video: >= 5 frames, then the camera's rate (>= 20 of 30 frames in 1 s). */
async function assertVideo(viewer: WhepViewer): Promise<void> {
  await waitFor("the first frames", () => viewer.frames.length >= 5 ? true : undefined);
  const from = Date.now();
  await new Promise((r) => setTimeout(r, 1000));
  const frames = viewer.since(from).length;
  assert.ok(frames >= 20, `${frames} frames in 1 s`);
}

Deno.test("Bearer tokens: every protected route refuses none, wrong and wrong-kind tokens alike, and serves the right one", async (t) => {
  const port = freePort();
  const edgecam = await startEdgecam({
    toml: `
[auth]
publish_tokens = ["${PUBLISH}"]
view_tokens = ["${VIEW}"]
api_read_tokens = ["${READ}"]
api_change_tokens = ["${CHANGE}"]

[[cameras]]
name = "front"
width = 320
height = 240
webrtc_port = ${port}
view_tokens = ["${FRONT}"]

[[cameras]]
name = "side"
width = 320
height = 240

[[paths]]
name = "obs"
publish_tokens = ["${OBS}"]
`,
  });
  const base = edgecam.url;
  const wsBase = base.replace(/^http/, "ws");
  try {
    await t.step("open without a token: /health, the page and its files, CORS preflights", async () => {
      await waitFor("healthy", async () => {
        const res = await fetch(`${base}/health`);
        await res.body?.cancel();
        return res.status === 200 ? true : undefined;
      });
      for (const path of ["/", "/static/app.js", "/static/whep.js", "/static/wsplayer.js"]) {
        const res = await fetch(`${base}${path}`);
        await res.body?.cancel();
        assert.equal(res.status, 200, path);
      }
      for (const path of ["/whep/front", "/front/whep", "/offer"]) {
        const res = await fetch(`${base}${path}`, {
          method: "OPTIONS",
          headers: {
            Origin: "http://elsewhere.example",
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "authorization, content-type",
          },
        });
        await res.body?.cancel();
        assert.equal(res.status, 200, path);
        assert.equal(res.headers.get("access-control-allow-origin"), "*", path);
        assert.match(res.headers.get("access-control-allow-headers")!, /\bAuthorization\b/, path);
        assert.match(res.headers.get("access-control-expose-headers")!, /Location.*ETag.*Link.*Accept-Patch/);
      }
    });

    await t.step(
      "API read (/status, /api/streams[/<name>]): read and change tokens pass, others 401",
      async () => {
        for (const path of ["/status", "/api/streams", "/api/streams/front"]) {
          for (const [what, headers, query] of wrongTokens(VIEW, PUBLISH, FRONT)) {
            await assertRefused(
              await fetch(withQuery(`${base}${path}`, query), { headers }),
              `${path}: ${what}`,
            );
          }
          for (
            const [what, init, url] of [
              ["read token", { headers: bearer(READ) }, `${base}${path}`],
              ["change token (change covers read)", { headers: bearer(CHANGE) }, `${base}${path}`],
              ["read token as ?token=", {}, `${base}${path}?token=${READ}`],
            ] as const
          ) {
            const res = await fetch(url, init);
            await res.body?.cancel();
            assert.equal(res.status, 200, `${path}: ${what}`);
          }
        }
      },
    );

    await t.step("API change (any non-GET API request): only a change token passes the check", async () => {
      // No changing route exists yet: past the check the request meets 404, before it 401.
      for (const [what, headers, query] of wrongTokens(READ, VIEW, PUBLISH)) {
        await assertRefused(
          await fetch(withQuery(`${base}/api/streams/front`, query), { method: "DELETE", headers }),
          `DELETE /api/streams/front: ${what}`,
        );
      }
      const res = await fetch(`${base}/api/streams/front`, { method: "DELETE", headers: bearer(CHANGE) });
      await res.body?.cancel();
      assert.equal(res.status, 404, "a change token gets past the check to the router");
    });

    await t.step(
      "WHIP: 401 for every wrong token on the endpoints and the session; publish tokens get 201, 204, 200",
      async () => {
        for (const path of ["/whip/obs", "/obs/whip", "/whip/other"]) {
          for (const [what, headers, query] of wrongTokens(VIEW, CHANGE, READ)) {
            await assertRefused(
              await fetch(withQuery(`${base}${path}`, query), { method: "POST", headers }),
              `POST ${path}: ${what}`,
            );
          }
        }
        // The path's own token opens that path only.
        await assertRefused(
          await fetch(`${base}/whip/other`, { method: "POST", headers: bearer(OBS) }),
          "POST /whip/other: obs's own token",
        );
        for (const [token, path] of [[PUBLISH, "/whip/obs"], [OBS, "/obs/whip"], [PUBLISH, "/whip/other"]]) {
          const publisher = new WhipPublisher("h264");
          try {
            const { res, answer, session } = await publisher.publish(`${base}${path}`, token);
            assert.equal(res.status, 201, `${path}: ${answer}`);
            const fragment = {
              method: "PATCH",
              body: "a=candidate:1 1 udp 2130706431 127.0.0.1 9 typ host\r\n",
            };
            for (const [what, headers, query] of wrongTokens(VIEW, CHANGE)) {
              const patch = { ...fragment, headers: { ...headers, ...FRAG } };
              await assertRefused(await fetch(withQuery(session, query), patch), `PATCH ${path}: ${what}`);
              await assertRefused(
                await fetch(withQuery(session, query), { method: "DELETE", headers }),
                `DELETE ${path}: ${what}`,
              );
              await assertRefused(
                await fetch(withQuery(session, query), { headers }),
                `GET ${path}: ${what}`,
              );
            }
            const patched = await fetch(session, { ...fragment, headers: { ...bearer(token), ...FRAG } });
            assert.equal(patched.status, 204, `PATCH ${path}: ${await patched.text()}`);
            const deleted = await fetch(session, { method: "DELETE", headers: bearer(token) });
            assert.equal(deleted.status, 200, `DELETE ${path}: ${await deleted.text()}`);
          } finally {
            await publisher.close();
          }
        }
      },
    );

    await t.step(
      "WHEP: 401 with CORS for every wrong token on POST and the session; the view token gets 201, frames, 204/200",
      async () => {
        const viewer = new WhepViewer();
        try {
          const offer = await viewer.offer();
          for (const path of ["/whep/side", "/side/whep"]) {
            // FRONT is a view token, but for the other camera only.
            for (const [what, headers, query] of wrongTokens(READ, CHANGE, PUBLISH, FRONT)) {
              const res = await fetch(withQuery(`${base}${path}`, query), {
                method: "POST",
                body: offer,
                headers: { "Content-Type": "application/sdp", ...headers },
              });
              assert.equal(res.headers.get("access-control-allow-origin"), "*", "a page can read the 401");
              await assertRefused(res, `POST ${path}: ${what}`);
            }
          }
          const res = await fetch(`${base}/whep/side`, {
            method: "POST",
            body: offer,
            headers: { "Content-Type": "application/sdp", ...bearer(VIEW) },
          });
          const answer = await res.text();
          assert.equal(res.status, 201, answer);
          await viewer.answer(answer);
          await assertVideo(viewer);
          const location = res.headers.get("location")!;
          const etag = res.headers.get("etag")!;

          // The session's GET, PATCH and DELETE need the token too.
          {
            const fragment = "a=candidate:1 1 udp 2113937151 127.0.0.1 9 typ host\r\n";
            const requests: [string, RequestInit, number][] = [
              ["GET", {}, 204],
              [
                "PATCH",
                {
                  body: fragment,
                  headers: { "Content-Type": "application/trickle-ice-sdpfrag", "If-Match": etag },
                },
                204,
              ],
              ["DELETE", {}, 200],
            ];
            for (const [method, init, ok] of requests) {
              for (const [what, headers, query] of wrongTokens(READ, FRONT)) {
                const res = await fetch(withQuery(`${base}${location}`, query), {
                  ...init,
                  method,
                  headers: { ...init.headers as Record<string, string>, ...headers },
                });
                await assertRefused(res, `${method} session: ${what}`);
              }
              const res = await fetch(`${base}${location}`, {
                ...init,
                method,
                headers: { ...init.headers as Record<string, string>, ...bearer(VIEW) },
              });
              await res.body?.cancel();
              assert.equal(res.status, ok, `${method} session with the view token`);
            }
          }
        } finally {
          await viewer.close();
        }
      },
    );

    await t.step("WHEP with a camera's own token as ?token=: 201 and frames on that camera", async () => {
      const viewer = new WhepViewer();
      try {
        const res = await viewer.connect(`${base}/whep/front?token=${FRONT}`);
        await assertVideo(viewer);
        const del = await fetch(`${base}${res.headers.get("location")}?token=${FRONT}`, { method: "DELETE" });
        await del.body?.cancel();
        assert.equal(del.status, 200);
      } finally {
        await viewer.close();
      }
    });

    await t.step(
      "POST /offer (the JSON door): 401 for wrong tokens; the view token gets the answer",
      async () => {
        const viewer = new WhepViewer();
        try {
          const body = JSON.stringify({ type: "offer", sdp: await viewer.offer() });
          const json = { "Content-Type": "application/json" };
          // Without ?stream= the first camera is meant; its own token passes, the other camera's would not.
          for (const [what, headers, query] of wrongTokens(READ, PUBLISH)) {
            const res = await fetch(withQuery(`${base}/offer?stream=side`, query), {
              method: "POST",
              body,
              headers: { ...json, ...headers },
            });
            assert.equal(res.headers.get("access-control-allow-origin"), "*");
            await assertRefused(res, `POST /offer: ${what}`);
          }
          await assertRefused(
            await fetch(`${base}/offer?stream=side`, {
              method: "POST",
              body,
              headers: { ...json, ...bearer(FRONT) },
            }),
            "POST /offer?stream=side with front's own token",
          );
          const res = await fetch(`${base}/offer`, {
            method: "POST",
            body,
            headers: { ...json, ...bearer(FRONT) },
          });
          const answer = await res.json();
          assert.equal(res.status, 200, JSON.stringify(answer));
          assert.match(res.headers.get("location")!, /^\/whep\/front\//);
          await viewer.answer(answer.sdp);
          await assertVideo(viewer);
          const del = await fetch(`${base}${res.headers.get("location")}`, {
            method: "DELETE",
            headers: bearer(VIEW),
          });
          await del.body?.cancel();
          assert.equal(del.status, 200);
        } finally {
          await viewer.close();
        }
      },
    );

    await t.step("WebSocket player /ws/<name>: 401 before the upgrade; ?token= gets frames", async () => {
      for (const [what, headers, query] of wrongTokens(READ, CHANGE, PUBLISH)) {
        const res = await fetch(withQuery(`${base}/ws/front`, query), {
          headers: { upgrade: "websocket", ...headers },
        });
        await assertRefused(res, `/ws/front: ${what}`);
      }
      await assertRefused(
        await fetch(`${base}/ws/side?token=${FRONT}`, { headers: { upgrade: "websocket" } }),
        "/ws/side with front's own token",
      );
      for (const [name, token] of [["front", FRONT], ["side", VIEW], ["front", VIEW]]) {
        const player = new WsPlayer(`${wsBase}/ws/${name}?token=${token}`);
        try {
          await player.opened;
          await waitFor(`frames on /ws/${name}`, () => player.messages.length >= 10 ? true : undefined);
        } finally {
          await player.close();
        }
      }
    });

    for (
      const [door, url, token] of [
        ["/ws/signal/side", `${wsBase}/ws/signal/side`, VIEW],
        ["the camera's webrtc_port", `ws://127.0.0.1:${port}/ws`, FRONT],
      ]
    ) {
      await t.step(`WebSocket signaling on ${door}: 401 before the upgrade; ?token= gets video`, async () => {
        const httpUrl = url.replace(/^ws/, "http");
        for (const [what, headers, query] of wrongTokens(READ, PUBLISH)) {
          const res = await fetch(withQuery(httpUrl, query), {
            headers: { upgrade: "websocket", ...headers },
          });
          await assertRefused(res, `${door}: ${what}`);
        }
        const viewer = new WhepViewer();
        const channel = await SignalChannel.open(`${url}?token=${token}`);
        try {
          await channel.watch(viewer);
          await assertVideo(viewer);
        } finally {
          await channel.close();
          await viewer.close();
        }
      });
    }

    await t.step("the log names refusals by path and reason, and never a token", () => {
      const log = edgecam.log();
      assert.match(log, /\[auth\] 401 GET \/status \(api_read\): no token/);
      assert.match(log, /\[auth\] 401 GET \/status \(api_read\): token not accepted/);
      assert.match(
        log,
        /Bearer tokens: publish 1 token\(s\) \(own tokens: obs\), view 1 token\(s\) \(own tokens: front\)/,
      );
      for (const token of ALL_TOKENS) assert.ok(!log.includes(token), `the log holds ${token}`);
    });
  } finally {
    await edgecam.stop();
  }
});

Deno.test("with no tokens configured everything stays open, and the start log says so", async () => {
  const edgecam = await startEdgecam({ toml: `[[cameras]]\nname = "front"\nwidth = 320\nheight = 240\n` });
  try {
    for (const path of ["/status", "/api/streams", "/api/streams/front"]) {
      const res = await fetch(`${edgecam.url}${path}`);
      await res.body?.cancel();
      assert.equal(res.status, 200, path);
    }
    const player = new WsPlayer(`${edgecam.url.replace(/^http/, "ws")}/ws/front`);
    try {
      await player.opened;
      await waitFor("frames", () => player.messages.length >= 5 ? true : undefined);
    } finally {
      await player.close();
    }
    assert.match(
      edgecam.log(),
      /WARN .*no \[auth\] tokens configured: publishing, viewing and the API are open to anyone/,
    );
  } finally {
    await edgecam.stop();
  }
});
