import assert from "node:assert/strict";
import {
  boundedText,
  redirectTarget,
  requestHeaders,
  sessionUrl,
  UpstreamBodyTooLargeError,
  UpstreamUrlError,
} from "../../lib/outputs/push_http.ts";

const TOKEN = "central-publish-0123456789";

Deno.test("requestHeaders: the push's token goes only to the configured endpoint's origin", async (t) => {
  const cases: [name: string, endpoint: string, token: string, url: string, sent: boolean][] = [
    ["the endpoint itself", "https://c.example.org/whip/pi1", TOKEN, "https://c.example.org/whip/pi1", true],
    [
      "a session under it",
      "https://c.example.org/whip/pi1",
      TOKEN,
      "https://c.example.org/whip/pi1/ab",
      true,
    ],
    [
      "another path, same origin",
      "https://c.example.org/whip/pi1",
      TOKEN,
      "https://c.example.org/v2/x",
      true,
    ],
    [
      "the default port spelled out",
      "https://c.example.org/whip",
      TOKEN,
      "https://c.example.org:443/s",
      true,
    ],
    ["another host", "https://c.example.org/whip/pi1", TOKEN, "https://node7.example.org/whip/pi1", false],
    ["a subdomain", "https://example.org/whip/pi1", TOKEN, "https://media.example.org/whip/pi1", false],
    ["another port", "http://127.0.0.1:8080/whip/pi1", TOKEN, "http://127.0.0.1:8081/whip/pi1", false],
    ["same host over http", "https://c.example.org/whip/pi1", TOKEN, "http://c.example.org/whip/pi1", false],
    ["same host over https", "http://c.example.org/whip/pi1", TOKEN, "https://c.example.org/whip/pi1", false],
    ["no token configured", "https://c.example.org/whip/pi1", "", "https://c.example.org/whip/pi1", false],
  ];
  for (const [name, endpoint, token, url, sent] of cases) {
    await t.step(name, () => {
      const headers = requestHeaders({ url: endpoint, token }, url, { "Content-Type": "application/sdp" });
      assert.equal(headers.get("authorization"), sent ? `Bearer ${TOKEN}` : null);
      assert.equal(headers.get("content-type"), "application/sdp", "the request's own headers stay");
    });
  }
});

Deno.test("redirectTarget: where a WHIP push follows a redirect (307/308 only, never down to http)", async (t) => {
  const from = "https://lb.example.org/whip/pi1";
  const cases: [string, string, number, string | null, string | undefined][] = [
    ["201 is no redirect", from, 201, "/whip/pi1/abc", undefined],
    [
      "307 to another host",
      from,
      307,
      "https://node7.example.org/whip/pi1",
      "https://node7.example.org/whip/pi1",
    ],
    ["308 relative", from, 308, "/v2/whip/pi1", "https://lb.example.org/v2/whip/pi1"],
    ["307 without Location", from, 307, null, undefined],
    ["302 would turn the POST into a GET: not followed", from, 302, "https://node7.example.org/", undefined],
    ["301 likewise", from, 301, "https://node7.example.org/", undefined],
    [
      "http to https",
      "http://lb.local/whip/pi1",
      307,
      "https://node7.local/whip/pi1",
      "https://node7.local/whip/pi1",
    ],
    [
      "http to http",
      "http://lb.local/whip/pi1",
      307,
      "http://10.0.0.7:8080/whip/pi1",
      "http://10.0.0.7:8080/whip/pi1",
    ],
  ];
  for (const [name, url, status, location, expected] of cases) {
    await t.step(name, () => assert.equal(redirectTarget(url, status, location), expected));
  }
  const refused: [string, string, RegExp][] = [
    [
      "https to http: the offer and session would go in clear",
      "http://node7.example.org/whip/pi1",
      /in clear/,
    ],
    ["https to http on the same host", "http://lb.example.org/whip/pi1", /in clear/],
    ["a scheme other than http(s)", "file:///etc/passwd", /not http or https/],
    ["not a URL", "https://[broken/whip", /not a URL/],
  ];
  for (const [name, location, reason] of refused) {
    await t.step(`refused: ${name}`, () => {
      assert.throws(() => redirectTarget(from, 307, location), (err) => {
        assert.ok(err instanceof UpstreamUrlError);
        assert.match(err.message, reason);
        return true;
      });
    });
  }
});

Deno.test("sessionUrl: the 201's Location, resolved where the POST landed, never down to http", async (t) => {
  const cases: [name: string, answeredBy: string, location: string | null, expected: string | RegExp][] = [
    ["relative", "https://c.example.org/whip/pi1", "/whip/pi1/ab", "https://c.example.org/whip/pi1/ab"],
    [
      "relative to a redirected POST",
      "https://node7.example.org/whip/pi1",
      "ab",
      "https://node7.example.org/whip/ab",
    ],
    [
      "on another origin (RFC 9725 allows it)",
      "https://c.example.org/whip",
      "https://s.example.net/1",
      "https://s.example.net/1",
    ],
    ["http from http", "http://10.0.0.2:8080/whip/pi1", "/whip/pi1/ab", "http://10.0.0.2:8080/whip/pi1/ab"],
    ["http from https: refused", "https://c.example.org/whip", "http://c.example.org/whip/ab", /in clear/],
    ["not http(s): refused", "https://c.example.org/whip", "ws://c.example.org/whip/ab", /not http or https/],
    ["missing: refused", "https://c.example.org/whip", null, /without a Location/],
    ["empty: refused", "https://c.example.org/whip", "", /without a Location/],
  ];
  for (const [name, answeredBy, location, expected] of cases) {
    await t.step(name, () => {
      if (typeof expected === "string") assert.equal(sessionUrl(answeredBy, location), expected);
      else {assert.throws(() =>
          sessionUrl(answeredBy, location), (err) =>
          err instanceof UpstreamUrlError && expected.test(err.message));}
    });
  }
});

/** A response whose body is `chunks` of `size` bytes (forever when `chunks` is Infinity), and how much was pulled. */
function streamed(chunks: number, size: number, headers: HeadersInit = {}) {
  const seen = { pulled: 0, cancelled: false };
  const body = new ReadableStream<Uint8Array>({
    pull(controller) {
      if (seen.pulled === chunks) return controller.close();
      seen.pulled++;
      controller.enqueue(new Uint8Array(size).fill(0x61));
    },
    cancel() {
      seen.cancelled = true;
    },
  }, { highWaterMark: 0 });
  return { res: new Response(body, { headers }), seen };
}

Deno.test("boundedText: an upstream body is read up to the cap, and no further", async (t) => {
  await t.step("under the cap: the whole text", async () => {
    const { res } = streamed(3, 1000);
    assert.equal(await boundedText(res, 4096), "a".repeat(3000));
  });
  await t.step("exactly the cap: still taken", async () => {
    const { res } = streamed(4, 1024);
    assert.equal((await boundedText(res, 4096)).length, 4096);
  });
  await t.step("UTF-8 split across chunks decodes whole", async () => {
    const bytes = new TextEncoder().encode("s=é\n");
    const body = new ReadableStream({
      start(controller) {
        controller.enqueue(bytes.subarray(0, 3));
        controller.enqueue(bytes.subarray(3));
        controller.close();
      },
    });
    assert.equal(await boundedText(new Response(body), 4096), "s=é\n");
  });
  await t.step("an endless body: refused one chunk past the cap, the rest cancelled unread", async () => {
    const { res, seen } = streamed(Infinity, 1024);
    await assert.rejects(boundedText(res, 4096), UpstreamBodyTooLargeError);
    assert.equal(seen.pulled, 5);
    assert.ok(seen.cancelled);
  });
  await t.step("a declared length over the cap: refused before reading", async () => {
    const { res, seen } = streamed(10, 1024, { "Content-Length": "10240" });
    await assert.rejects(boundedText(res, 4096), /body over 4096 bytes/);
    assert.equal(seen.pulled, 0);
    assert.ok(seen.cancelled);
  });
  await t.step("no body: empty text", async () => {
    assert.equal(await boundedText(new Response(null, { status: 204 }), 4096), "");
  });
});
