import assert from "node:assert/strict";
import { redirectTarget } from "../../lib/outputs/push.ts";

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
  await t.step("https to http is refused: the token would go in clear", () => {
    assert.throws(() => redirectTarget(from, 307, "http://node7.example.org/whip/pi1"), /in clear/);
  });
});
