import assert from "node:assert/strict";
import { BadRequestError } from "../../lib/errors.ts";
import {
  iceFragment,
  isIceRestart,
  parseSdpFragment,
  type SdpFragment,
  withoutGeneration,
} from "../../lib/webrtc/sdpfrag.ts";

const CANDIDATE = "candidate:1 1 udp 2113937151 192.0.2.1 5000 typ host";

Deno.test("parseSdpFragment reads credentials and candidates wherever they sit", () => {
  const cases: [name: string, text: string, expected: SdpFragment][] = [
    ["one trickled candidate", `a=${CANDIDATE}\r\n`, {
      ufrag: undefined,
      pwd: undefined,
      candidates: [CANDIDATE],
    }],
    [
      "RFC 9725's restart request (session-level ice-options, media-level credentials, LF only)",
      "a=ice-options:trickle,ice2\na=group:BUNDLE 0\nm=video 9 UDP/TLS/RTP/SAVPF 96\na=mid:0\n" +
      `a=ice-ufrag:ysXw\na=ice-pwd:vw5LmwG4y/e6dPP/zAP9Gp5k\na=${CANDIDATE}\na=end-of-candidates\n`,
      { ufrag: "ysXw", pwd: "vw5LmwG4y/e6dPP/zAP9Gp5k", candidates: [CANDIDATE] },
    ],
    ["credentials at session level", "a=ice-ufrag:abcd\r\na=ice-pwd:0123456789abcdef012345\r\n", {
      ufrag: "abcd",
      pwd: "0123456789abcdef012345",
      candidates: [],
    }],
    ["an empty ufrag is none", "a=ice-ufrag:\r\na=end-of-candidates\r\n", {
      ufrag: undefined,
      pwd: undefined,
      candidates: [],
    }],
  ];
  for (const [name, text, expected] of cases) assert.deepEqual(parseSdpFragment(text), expected, name);
});

Deno.test("isIceRestart: other credentials restart, none or the current ones trickle", () => {
  const current = { ufrag: "old1", pwd: "oldpassword0123456789a" };
  const frag = (ufrag?: string, pwd?: string): SdpFragment => ({
    ufrag,
    pwd,
    candidates: [],
  });
  const cases: [name: string, fragment: SdpFragment, restart: boolean][] = [
    ["no credentials", frag(), false],
    ["the current ufrag only", frag("old1"), false],
    ["the current ufrag and password", frag("old1", current.pwd), false],
    ["new ufrag and password", frag("new1", "newpassword0123456789a"), true],
    ["same ufrag, new password", frag("old1", "newpassword0123456789a"), true],
  ];
  for (const [name, fragment, restart] of cases) assert.equal(isIceRestart(fragment, current), restart, name);
  for (
    const [name, fragment] of [["new ufrag, no password", frag("new1")], [
      "password only",
      frag(undefined, "x"),
    ]] as const
  ) {
    assert.throws(() => isIceRestart(fragment, current), BadRequestError, name);
  }
});

Deno.test("iceFragment answering a restart: the answer's ice-options, m-line and mid, then the new ICE", () => {
  const answer = [
    "v=0",
    "o=- 1 0 IN IP4 0.0.0.0",
    "s=-",
    "t=0 0",
    "a=group:BUNDLE 0",
    "m=video 9 UDP/TLS/RTP/SAVPF 96",
    "c=IN IP4 0.0.0.0",
    "a=candidate:9 1 udp 1 127.0.0.1 4000 typ host",
    "a=ice-ufrag:oldU",
    "a=ice-pwd:oldpassword",
    "a=ice-options:trickle",
    "a=mid:0",
    "",
  ].join("\r\n");
  const ice = { ufrag: "newU", pwd: "newpassword0123456789a" };
  assert.equal(
    iceFragment(answer, ice, [
      "candidate:1 1 udp 2116026367 127.0.0.1 4000 typ host generation 1 ufrag newU",
      "2 1 udp 1 198.51.100.7 4000 typ srflx raddr 127.0.0.1 rport 4000",
    ]),
    [
      "a=ice-options:trickle",
      "m=video 9 UDP/TLS/RTP/SAVPF 96",
      "a=mid:0",
      "a=ice-ufrag:newU",
      "a=ice-pwd:newpassword0123456789a",
      "a=candidate:1 1 udp 2116026367 127.0.0.1 4000 typ host generation 1 ufrag newU",
      "a=candidate:2 1 udp 1 198.51.100.7 4000 typ srflx raddr 127.0.0.1 rport 4000",
      "a=end-of-candidates",
      "",
    ].join("\r\n"),
  );
  // No ice-options in the answer: none in the fragment.
  assert.doesNotMatch(
    iceFragment(answer.replace("a=ice-options:trickle\r\n", ""), ice, []),
    /ice-options/,
  );
});

Deno.test("withoutGeneration drops the legacy generation extension only", () => {
  const cases: [string, string][] = [
    [
      "candidate:1 1 udp 2122260223 192.0.2.1 61764 typ host generation 0 ufrag EsAw network-id 1",
      "candidate:1 1 udp 2122260223 192.0.2.1 61764 typ host ufrag EsAw network-id 1",
    ],
    ["candidate:1 1 udp 1 192.0.2.1 5 typ host generation 3", "candidate:1 1 udp 1 192.0.2.1 5 typ host"],
    [CANDIDATE, CANDIDATE],
    // A foundation or host that merely contains the word stays.
    [
      "candidate:generation 1 udp 1 192.0.2.1 5 typ host",
      "candidate:generation 1 udp 1 192.0.2.1 5 typ host",
    ],
  ];
  for (const [input, output] of cases) assert.equal(withoutGeneration(input), output, input);
});
