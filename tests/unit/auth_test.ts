import assert from "node:assert/strict";
import { AccessPolicy, type AccessRequest, type Decision } from "../../lib/auth.ts";
import type { AuthConfig } from "../../lib/config/schema.ts";
import { accessFor, presentedToken } from "../../routes/auth.ts";

const P = "publish-0123456789abcdef";
const V = "view-0123456789abcdef";
const R = "read-0123456789abcdef";
const C = "change-0123456789abcdef";
const F = "front-only-0123456789abcdef";

const NONE: AuthConfig = { publishTokens: [], viewTokens: [], apiReadTokens: [], apiChangeTokens: [] };
const ALL: AuthConfig = { publishTokens: [P], viewTokens: [V], apiReadTokens: [R], apiChangeTokens: [C] };
const CAMERAS = [{ name: "front", viewTokens: [F] }, { name: "rear", viewTokens: [] }];

const OPEN: Decision = { allow: true, why: "open" };
const OK: Decision = { allow: true, why: "token accepted" };
const MISSING: Decision = { allow: false, why: "no token" };
const REFUSED: Decision = { allow: false, why: "token not accepted" };

const publish: AccessRequest = { kind: "publish", stream: "obs" };
const front: AccessRequest = { kind: "view", stream: "front" };
const rear: AccessRequest = { kind: "view", stream: "rear" };
const unnamed: AccessRequest = { kind: "view" };
const read: AccessRequest = { kind: "api_read" };
const change: AccessRequest = { kind: "api_change" };

Deno.test("decide: each kind takes its own tokens, change covers read, cameras add their own", async (t) => {
  const cases: [string, AuthConfig, AccessRequest, string | undefined, Decision][] = [
    // nothing configured: today's behaviour, whatever is presented
    ["no tokens: publish open", NONE, publish, undefined, OPEN],
    ["no tokens: view open", NONE, rear, undefined, OPEN],
    ["no tokens: a stray token is not even looked at", NONE, read, "whatever", OPEN],
    ["no tokens: change open", NONE, change, undefined, OPEN],
    // publish
    ["publish: the publish token", ALL, publish, P, OK],
    ["publish: no token", ALL, publish, undefined, MISSING],
    ["publish: an empty token counts as none", ALL, publish, "", MISSING],
    ["publish: a view token is the wrong kind", ALL, publish, V, REFUSED],
    ["publish: an API change token is the wrong kind", ALL, publish, C, REFUSED],
    ["publish: a wrong token", ALL, publish, "nope-0123456789abcdef", REFUSED],
    ["publish: the token with one more character", ALL, publish, P + "x", REFUSED],
    ["publish: the token less its last character", ALL, publish, P.slice(0, -1), REFUSED],
    ["publish: the token in another case", ALL, publish, P.toUpperCase(), REFUSED],
    // view
    ["view: the view token, any stream", ALL, rear, V, OK],
    ["view: the view token on a camera with its own", ALL, front, V, OK],
    ["view: a camera's own token on that camera", ALL, front, F, OK],
    ["view: a camera's own token on another camera", ALL, rear, F, REFUSED],
    ["view: a camera's own token where no stream is named", ALL, unnamed, F, REFUSED],
    ["view: the publish token is the wrong kind", ALL, front, P, REFUSED],
    ["view: an API read token is the wrong kind", ALL, rear, R, REFUSED],
    ["view: no token", ALL, rear, undefined, MISSING],
    // the API
    ["api_read: the read token", ALL, read, R, OK],
    ["api_read: a change token reads too", ALL, read, C, OK],
    ["api_read: a view token is the wrong kind", ALL, read, V, REFUSED],
    ["api_read: no token", ALL, read, undefined, MISSING],
    ["api_change: the change token", ALL, change, C, OK],
    ["api_change: a read token cannot change", ALL, change, R, REFUSED],
    ["api_change: no token", ALL, change, undefined, MISSING],
    // kinds set alone
    ["only change tokens: reading stays open", { ...NONE, apiChangeTokens: [C] }, read, undefined, OPEN],
    ["only change tokens: changing needs one", { ...NONE, apiChangeTokens: [C] }, change, undefined, MISSING],
    [
      "only read tokens: changing is refused even to them",
      { ...NONE, apiReadTokens: [R] },
      change,
      R,
      REFUSED,
    ],
    [
      "only read tokens: changing without a token",
      { ...NONE, apiReadTokens: [R] },
      change,
      undefined,
      MISSING,
    ],
    ["only view tokens: publishing stays open", { ...NONE, viewTokens: [V] }, publish, undefined, OPEN],
    ["only view tokens: the API stays open", { ...NONE, viewTokens: [V] }, read, undefined, OPEN],
    ["only publish tokens: viewing stays open", { ...NONE, publishTokens: [P] }, rear, undefined, OPEN],
    ["one token in two lists works for both", { ...NONE, viewTokens: [V], apiReadTokens: [V] }, read, V, OK],
    ["... and for the other", { ...NONE, viewTokens: [V], apiReadTokens: [V] }, rear, V, OK],
    // a camera's own tokens with no global view tokens
    ["only a camera's tokens: that camera needs one", NONE, front, undefined, MISSING],
    ["only a camera's tokens: that camera takes it", NONE, front, F, OK],
    ["only a camera's tokens: other cameras stay open", NONE, rear, undefined, OPEN],
    [
      "only a camera's tokens: an unknown stream stays open",
      NONE,
      { kind: "view", stream: "x" },
      undefined,
      OPEN,
    ],
  ];
  for (const [name, auth, request, presented, expected] of cases) {
    await t.step(name, () => {
      assert.deepEqual(new AccessPolicy(auth, CAMERAS).decide(request, presented), expected);
    });
  }
});

Deno.test("summary: which kinds are guarded and how many tokens each takes", () => {
  const policy = new AccessPolicy(
    { ...NONE, viewTokens: [V, V], apiReadTokens: [R], apiChangeTokens: [C] },
    CAMERAS,
  );
  assert.deepEqual(policy.summary(), [
    { kind: "publish", protected: false, tokens: 0 },
    { kind: "view", protected: true, tokens: 1 },
    { kind: "api_read", protected: true, tokens: 2 },
    { kind: "api_change", protected: true, tokens: 1 },
  ]);
  assert.deepEqual(policy.streamsWithOwnTokens(), ["front"]);
  assert.deepEqual(new AccessPolicy(NONE).summary().map((k) => k.protected), [false, false, false, false]);
});

Deno.test("accessFor: every route's kind; only /health, the page, its files and preflights are open", async (t) => {
  const first = () => "front";
  const cases: [string, string, AccessRequest | undefined][] = [
    ["GET", "/health", undefined],
    ["HEAD", "/health", undefined],
    ["GET", "/", undefined],
    ["GET", "/favicon.ico", undefined],
    ["GET", "/static/app.js", undefined],
    ["GET", "/static/vendor/jmuxer-2.1.1.min.js", undefined],
    ["OPTIONS", "/whep/front", undefined],
    ["OPTIONS", "/whep/front/0b6f0a6e-1111-2222-3333-444455556666", undefined],
    ["OPTIONS", "/offer", undefined],
    ["OPTIONS", "/whip/obs", undefined],
    ["POST", "/whep/front", { kind: "view", stream: "front" }],
    ["GET", "/whep/front", { kind: "view", stream: "front" }],
    ["POST", "/rear/whep", { kind: "view", stream: "rear" }],
    // Names that are also route words resolve as the router mounts the routes: ws, then WHEP, then WHIP.
    ["GET", "/ws/whep", { kind: "view", stream: "whep" }],
    ["GET", "/ws/whip", { kind: "view", stream: "whip" }],
    ["POST", "/ws/whep", { kind: "view", stream: "ws" }],
    ["POST", "/ws/whip", { kind: "publish", stream: "ws" }],
    ["POST", "/whip/whep", { kind: "view", stream: "whip" }],
    ["PATCH", "/whep/front/abc", { kind: "view", stream: "front" }],
    ["DELETE", "/whep/front/abc", { kind: "view", stream: "front" }],
    ["GET", "/whep/front/abc", { kind: "view", stream: "front" }],
    ["GET", "/whep/fr%6Fnt", { kind: "view", stream: "front" }],
    ["POST", "/offer", { kind: "view", stream: "front" }],
    ["POST", "/offer?stream=rear", { kind: "view", stream: "rear" }],
    ["GET", "/ws/front", { kind: "view", stream: "front" }],
    ["GET", "/ws/front?token=abc", { kind: "view", stream: "front" }],
    ["GET", "/ws/signal/rear", { kind: "view", stream: "rear" }],
    ["GET", "/snapshot/front.jpg", { kind: "view", stream: "front" }],
    ["HEAD", "/snapshot/rear.jpg", { kind: "view", stream: "rear" }],
    ["GET", "/snapshot/front", { kind: "api_read" }],
    ["POST", "/snapshot/front.jpg", { kind: "api_change" }],
    ["GET", "/api/recordings/front", { kind: "view", stream: "front" }],
    ["GET", "/api/recordings/front/2026-12-05T07-21-17.123Z.mp4", { kind: "view", stream: "front" }],
    ["HEAD", "/api/recordings/front/2026-12-05T07-21-17.123Z.mp4", { kind: "view", stream: "front" }],
    ["DELETE", "/api/recordings/front/2026-12-05T07-21-17.123Z.mp4", { kind: "api_change" }],
    ["GET", "/api/recordings", { kind: "api_read" }],
    ["GET", "/playback/front", { kind: "view", stream: "front" }],
    ["POST", "/api/streams/front/recording", { kind: "api_change" }],
    ["DELETE", "/api/streams/front/recording", { kind: "api_change" }],
    ["GET", "/api/streams/front/recording", { kind: "api_read" }],
    ["POST", "/start", { kind: "api_change" }],
    ["POST", "/stop", { kind: "api_change" }],
    ["POST", "/whip/obs", { kind: "publish", stream: "obs" }],
    ["PATCH", "/whip/obs/abc", { kind: "publish", stream: "obs" }],
    ["DELETE", "/whip/obs/abc", { kind: "publish", stream: "obs" }],
    ["POST", "/obs/whip", { kind: "publish", stream: "obs" }],
    ["GET", "/status", { kind: "api_read" }],
    ["GET", "/api/streams", { kind: "api_read" }],
    ["GET", "/api/streams/front", { kind: "api_read" }],
    ["HEAD", "/api/streams", { kind: "api_read" }],
    ["GET", "/metrics", { kind: "api_read" }],
    ["POST", "/api/streams/front/restart", { kind: "api_change" }],
    ["DELETE", "/api/streams/front", { kind: "api_change" }],
    ["POST", "/health", { kind: "api_change" }],
    ["POST", "/static/app.js", { kind: "api_change" }],
    ["GET", "/no/such/route", { kind: "api_read" }],
    // The WHEP alias for a stream named "static" is a view, not a page file.
    ["GET", "/static/whep", { kind: "view", stream: "static" }],
  ];
  for (const [method, target, expected] of cases) {
    await t.step(`${method} ${target}`, () => {
      const url = new URL(target, "http://edgecam");
      assert.deepEqual(accessFor(method, url.pathname, url.searchParams, first), expected);
    });
  }
  await t.step("POST /offer with no stream configured names none", () => {
    assert.deepEqual(accessFor("POST", "/offer", new URLSearchParams(), () => undefined), { kind: "view" });
  });
});

Deno.test("presentedToken: the Bearer header first, else ?token=", async (t) => {
  const cases: [string, string | undefined, string, string | undefined][] = [
    ["header", `Bearer ${V}`, "", V],
    ["scheme in any case", `bearer ${V}`, "", V],
    ["header wins over the query", `Bearer ${V}`, `token=${R}`, V],
    ["query alone", undefined, `token=${R}`, R],
    ["query, percent-encoded", undefined, "token=a%2Bb%2Fc%3D", "a+b/c="],
    ["another scheme falls back to the query", "Basic dXNlcjpwYXNz", `token=${R}`, R],
    ["another scheme alone", "Basic dXNlcjpwYXNz", "", undefined],
    ["Bearer with nothing after it", "Bearer ", "", undefined],
    ["Bearer with two words", "Bearer a b", "", undefined],
    ["nothing", undefined, "", undefined],
    ["empty ?token=", undefined, "token=", ""],
  ];
  for (const [name, header, query, expected] of cases) {
    await t.step(name, () => assert.equal(presentedToken(header, new URLSearchParams(query)), expected));
  }
});

Deno.test("a WHIP path's own publish tokens open that path only, on top of [auth] publish_tokens", () => {
  const P = "publish-0123456789abcdef";
  const OWN = "obs-only-0123456789abcd";
  const policy = new AccessPolicy({ ...NONE, publishTokens: [P] }, [
    { name: "obs", viewTokens: [], publishTokens: [OWN] },
  ]);
  const decide = (stream: string, token: string | undefined) =>
    policy.decide({ kind: "publish", stream }, token).allow;
  assert.equal(decide("obs", OWN), true);
  assert.equal(decide("obs", P), true);
  assert.equal(decide("other", OWN), false);
  assert.equal(decide("other", P), true);
  assert.equal(decide("obs", undefined), false);
  assert.deepEqual(policy.streamsWithOwnTokens("publish"), ["obs"]);
  // A path's own tokens guard it even when [auth] publish_tokens is empty.
  const own = new AccessPolicy(NONE, [{ name: "obs", viewTokens: [], publishTokens: [OWN] }]);
  assert.equal(own.decide({ kind: "publish", stream: "obs" }, undefined).allow, false);
  assert.equal(own.decide({ kind: "publish", stream: "other" }, undefined).allow, true);
});
