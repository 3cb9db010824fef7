import assert from "node:assert/strict";
import { candidateRefusal, MAX_REMOTE_CANDIDATES, RemoteCandidates } from "../../lib/webrtc/candidates.ts";
import { BadRequestError } from "../../lib/errors.ts";

const host = (address: string) => `candidate:1 1 udp 2122260223 ${address} 54321 typ host`;

Deno.test("a remote candidate is used only near the client's own address", async (t) => {
  const cases: [string, string, string, boolean, RegExp | undefined][] = [
    ["the client's own address", host("192.168.1.23"), "192.168.1.23", false, undefined],
    ["its /24", host("192.168.1.99"), "192.168.1.23", false, undefined],
    ["its public address behind NAT (srflx)", host("203.0.113.9"), "203.0.113.9", false, undefined],
    ["another LAN host: no probing it", host("192.168.7.1"), "192.168.1.23", false, /not near the client's/],
    ["the router's other subnet", host("10.0.0.1"), "192.168.1.23", false, /not near/],
    ["an IPv4-mapped client address", host("192.168.1.5"), "::ffff:192.168.1.23", false, undefined],
    ["its IPv6 /64", host("2001:db8:0:1::77"), "2001:db8:0:1:aaaa::1", false, undefined],
    ["another IPv6 /64", host("2001:db8:0:2::77"), "2001:db8:0:1::1", false, /not near/],
    ["an mDNS name, off by default", host("f2f8b4b6-1e35.local"), "192.168.1.23", false, /mdns_candidates/],
    ["an mDNS name when enabled", host("f2f8b4b6-1e35.local"), "192.168.1.23", true, undefined],
    ["a DNS name", host("evil.example"), "192.168.1.23", false, /not an IP address/],
    ["no address at all", "candidate:1 1 udp", "192.168.1.23", false, /no address/],
    ["client unknown: any IP address", host("10.9.9.9"), "unknown", false, undefined],
  ];
  for (const [what, attribute, client, mdns, refused] of cases) {
    await t.step(what, () => {
      const why = candidateRefusal(attribute, client, mdns);
      if (refused) assert.match(why ?? "", refused);
      else assert.equal(why, undefined);
    });
  }
});

Deno.test("a session's candidates: the implausible left out, the budget counted across offer and trickle", () => {
  const candidates = new RemoteCandidates("192.168.1.23", false);
  const offer = ["v=0", `a=${host("192.168.1.23")}`, `a=${host("192.168.9.9")}`, "a=end-of-candidates"].join(
    "\r\n",
  );
  assert.equal(
    candidates.offer(offer),
    ["v=0", `a=${host("192.168.1.23")}`, "a=end-of-candidates"].join("\r\n"),
  );
  const rest = MAX_REMOTE_CANDIDATES - 2;
  assert.equal(candidates.take(Array(rest).fill(host("192.168.1.24"))).length, rest);
  assert.throws(() => candidates.take([host("192.168.1.25")]), (err) => {
    assert.ok(err instanceof BadRequestError);
    assert.match(err.message, new RegExp(`over ${MAX_REMOTE_CANDIDATES} ICE candidates`));
    return true;
  });
});
