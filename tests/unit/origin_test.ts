import assert from "node:assert/strict";
import { hostOf, OriginPolicy } from "../../lib/origin.ts";

const OWN = ["localhost", "127.0.0.1", "::1", "campi", "campi.local", "192.168.1.20"];

Deno.test("hostOf: the Host header's name, without port or brackets", async (t) => {
  const cases: [string | undefined, string | undefined][] = [
    [undefined, undefined],
    ["", undefined],
    ["CamPi.local:8080", "campi.local"],
    ["192.168.1.20", "192.168.1.20"],
    ["[::1]:8080", "::1"],
    ["[fe80::1]", "fe80::1"],
    ["fe80::1", "fe80::1"],
  ];
  for (const [header, expected] of cases) {
    await t.step(`${JSON.stringify(header)} → ${expected}`, () => assert.equal(hostOf(header), expected));
  }
});

Deno.test("requests that need no token: which Host and Origin are served", async (t) => {
  const cases: {
    what: string;
    rules?: { allowedOrigins?: string[]; allowedHosts?: string[] };
    host: string | undefined;
    origin?: string;
    refused?: RegExp;
  }[] = [
    { what: "a tool without Origin, by address", host: "192.168.1.20:8080" },
    { what: "no Host header at all (HTTP/1.0)", host: undefined },
    { what: "by mDNS name", host: "campi.local:8080" },
    { what: "the service's own page", host: "campi.local:8080", origin: "http://campi.local:8080" },
    { what: "its own page behind an https proxy on 443", host: "campi.local", origin: "https://campi.local" },
    {
      what: "a page on the internet",
      host: "192.168.1.20:8080",
      origin: "https://evil.example",
      refused: /Origin "https:\/\/evil.example" .*server.allowed_origins/,
    },
    {
      what: "the same host on another port is another origin",
      host: "campi.local:8080",
      origin: "http://campi.local:9000",
      refused: /allowed_origins/,
    },
    { what: "a sandboxed page (Origin null)", host: "campi.local:8080", origin: "null", refused: /"null"/ },
    {
      what: "an allowed origin",
      rules: { allowedOrigins: ["https://nvr.example.org"] },
      host: "192.168.1.20:8080",
      origin: "https://nvr.example.org",
    },
    {
      what: 'allowed_origins = ["*"]: any page',
      rules: { allowedOrigins: ["*"] },
      host: "192.168.1.20:8080",
      origin: "https://evil.example",
    },
    {
      what: "DNS rebinding: the attacker's name in Host",
      host: "rebind.evil.example:8080",
      origin: "http://rebind.evil.example:8080",
      refused: /Host "rebind.evil.example" .*server.allowed_hosts/,
    },
    {
      what: "a name in allowed_hosts",
      rules: { allowedHosts: ["camera.home.arpa"] },
      host: "Camera.home.arpa",
    },
    { what: 'allowed_hosts = ["*"]: any name', rules: { allowedHosts: ["*"] }, host: "anything.example" },
  ];
  for (const c of cases) {
    await t.step(c.what, () => {
      const policy = new OriginPolicy(
        { allowedOrigins: c.rules?.allowedOrigins ?? [], allowedHosts: c.rules?.allowedHosts ?? [] },
        () => OWN,
      );
      const refusal = policy.refusal(c.host, c.origin);
      if (c.refused) assert.match(refusal ?? "", c.refused);
      else assert.equal(refusal, undefined);
    });
  }
});

Deno.test("the machine's own names are read again after 30 s, not on every request", () => {
  let reads = 0;
  let own = ["10.0.0.5"];
  const policy = new OriginPolicy({ allowedOrigins: [], allowedHosts: [] }, () => {
    reads++;
    return own;
  });
  assert.equal(policy.refusal("10.0.0.5", undefined, 0), undefined);
  own = ["10.0.0.6"];
  assert.match(policy.refusal("10.0.0.6", undefined, 10_000) ?? "", /allowed_hosts/);
  assert.equal(policy.refusal("10.0.0.6", undefined, 40_001), undefined, "a new DHCP address is learnt");
  assert.equal(reads, 2);
});
