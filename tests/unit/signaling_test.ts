import assert from "node:assert/strict";
import { BadRequestError } from "../../lib/errors.ts";
import { parseSignal, type SignalMessage } from "../../lib/webrtc/signaling.ts";

const LINE = "candidate:1 1 udp 2113937151 192.168.1.20 50000 typ host";

Deno.test("parseSignal reads the JSON signaling's offer and candidate messages", async (t) => {
  const cases: [string, unknown, SignalMessage][] = [
    ["offer", { type: "offer", sdp: "v=0\r\n" }, { type: "offer", sdp: "v=0\r\n" }],
    ["candidate as RTCIceCandidateInit", { type: "candidate", candidate: { candidate: LINE, sdpMid: "0" } }, {
      type: "candidate",
      candidate: LINE,
    }],
    ["candidate as a bare string", { type: "candidate", candidate: LINE }, {
      type: "candidate",
      candidate: LINE,
    }],
    ["candidate with an a= prefix", { type: "candidate", candidate: `a=${LINE}` }, {
      type: "candidate",
      candidate: LINE,
    }],
    ["end of candidates: empty", { type: "candidate", candidate: { candidate: "" } }, {
      type: "candidate",
      candidate: null,
    }],
    ["end of candidates: null", { type: "candidate", candidate: null }, {
      type: "candidate",
      candidate: null,
    }],
  ];
  for (const [name, message, expected] of cases) {
    await t.step(name, () => assert.deepEqual(parseSignal(JSON.stringify(message)), expected));
  }
});

Deno.test("parseSignal refuses what is not one of them, saying what was expected", async (t) => {
  const cases: [string, unknown, RegExp][] = [
    ["binary", new ArrayBuffer(4), /JSON text, not binary/],
    ["not JSON", "{", /not JSON/],
    ["not an object", "3", /not a JSON object/],
    ["offer without sdp", JSON.stringify({ type: "offer" }), /"sdp" as a string/],
    ["unknown type", JSON.stringify({ type: "answer", sdp: "v=0" }), /unknown message type "answer"/],
    [
      "a second line smuggled into a candidate",
      JSON.stringify({ type: "candidate", candidate: `${LINE}\r\na=x` }),
      /one "candidate:..." line/,
    ],
    [
      "a candidate that is not one",
      JSON.stringify({ type: "candidate", candidate: { candidate: "hello" } }),
      /one/,
    ],
  ];
  for (const [name, input, reason] of cases) {
    await t.step(
      name,
      () =>
        assert.throws(
          () => parseSignal(input),
          (err) => err instanceof BadRequestError && reason.test(err.message),
        ),
    );
  }
});
