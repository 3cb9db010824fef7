import assert from "node:assert/strict";
import { BadRequestError, UnsupportedError } from "../../lib/errors.ts";
import {
  answerDtlsRole,
  chooseCodec,
  chooseIngest,
  h264Profile,
  parseVideoOffer,
  withBundleOnlyPorts,
  withProfileLevelId,
} from "../../lib/webrtc/offer.ts";

/** A browser-like offer: VP8, H.264 constrained baseline in both packetization modes, and High. */
const OFFER = [
  "v=0",
  "o=- 1 2 IN IP4 127.0.0.1",
  "s=-",
  "t=0 0",
  "a=group:BUNDLE 0",
  "m=video 9 UDP/TLS/RTP/SAVPF 96 102 103 108",
  "c=IN IP4 0.0.0.0",
  "a=ice-ufrag:Ab1c",
  "a=ice-pwd:0123456789abcdef01234567",
  "a=mid:0",
  "a=recvonly",
  "a=rtpmap:96 VP8/90000",
  "a=rtpmap:102 H264/90000",
  "a=fmtp:102 level-asymmetry-allowed=1;packetization-mode=0;profile-level-id=42001f",
  "a=rtpmap:103 H264/90000",
  "a=fmtp:103 level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42e01f",
  "a=rtpmap:108 H264/90000",
  "a=fmtp:108 level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=640c1f",
  "",
].join("\r\n");

Deno.test("parseVideoOffer reads the video payload types and their fmtp", () => {
  const offer = parseVideoOffer(OFFER);
  assert.deepEqual(offer.codecs.map((c) => [c.payloadType, c.name]), [[96, "VP8"], [102, "H264"], [
    103,
    "H264",
  ], [
    108,
    "H264",
  ]]);
  assert.equal(
    offer.codecs[2].fmtp,
    "level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42e01f",
  );
});

Deno.test("parseVideoOffer refuses what is not an offer with video", () => {
  for (const sdp of ["", "hello", "v=0\r\ns=-\r\nm=audio 9 RTP/AVP 0\r\n"]) {
    assert.throws(() => parseVideoOffer(sdp), BadRequestError, JSON.stringify(sdp));
  }
});

Deno.test("answerDtlsRole answers the offer's a=setup as RFC 8842 §5.3 says", () => {
  const cases: [setup: string | undefined, role: "client" | "server"][] = [
    ["actpass", "client"], // browsers: we answer active
    ["active", "server"], // the offerer wants to be the DTLS client: we answer passive
    ["ACTIVE", "server"],
    ["passive", "client"],
    [undefined, "client"], // werift's default, unchanged
  ];
  for (const [setup, role] of cases) assert.equal(answerDtlsRole(setup), role, String(setup));
  for (const setup of ["holdconn", "bogus"]) {
    assert.throws(() => answerDtlsRole(setup), BadRequestError, setup);
  }
});

Deno.test("parseVideoOffer takes a=setup from the video section, else from the session", () => {
  const cases: [sdp: string, role: "client" | "server"][] = [
    [OFFER, "client"],
    [OFFER.replace("a=mid:0", "a=setup:active\r\na=mid:0"), "server"],
    [OFFER.replace("a=mid:0", "a=setup:actpass\r\na=mid:0"), "client"],
    [OFFER.replace("t=0 0", "t=0 0\r\na=setup:active"), "server"],
    // The media-level attribute wins over the session-level one.
    [
      OFFER.replace("t=0 0", "t=0 0\r\na=setup:active").replace("a=mid:0", "a=setup:passive\r\na=mid:0"),
      "client",
    ],
  ];
  for (const [sdp, role] of cases) assert.equal(parseVideoOffer(sdp).dtlsRole, role, sdp);
  assert.throws(
    () => parseVideoOffer(OFFER.replace("a=mid:0", "a=setup:holdconn\r\na=mid:0")),
    BadRequestError,
  );
});

Deno.test("h264Profile names the profile of a profile-level-id, whatever its level", () => {
  const cases: [string, string | undefined][] = [
    ["42e01f", "constrained-baseline"],
    ["42c01e", "constrained-baseline"],
    ["42c028", "constrained-baseline"],
    ["4d001f", "4d"],
    ["640c1f", "constrained-high"],
    ["64001f", "64"],
    ["42001f", "42"],
    ["xyz", undefined],
  ];
  for (const [id, profile] of cases) assert.equal(h264Profile(id), profile, id);
});

Deno.test("chooseCodec picks the payload type the stream can be sent as", () => {
  const offer = parseVideoOffer(OFFER);
  const cases: [codec: "h264" | "vp8", profileLevelId: string | undefined, payloadType: number][] = [
    ["vp8", undefined, 96],
    ["h264", "42c01e", 103], // x264 constrained baseline 3.0 → the browser's 42e01f, mode 1
    ["h264", "42c028", 103], // 1080p level 4.0: same profile
    ["h264", undefined, 103], // no SPS yet: constrained baseline assumed
    ["h264", "640c28", 108],
  ];
  for (const [codec, id, payloadType] of cases) {
    assert.equal(chooseCodec(offer, codec, id).payloadType, payloadType, `${codec} ${id}`);
  }
});

Deno.test("chooseCodec refuses an offer with no payload type the stream can use", () => {
  const noVp8 = parseVideoOffer(OFFER.replace("a=rtpmap:96 VP8/90000\r\n", ""));
  assert.throws(() => chooseCodec(noVp8, "vp8", undefined), UnsupportedError);
  const offer = parseVideoOffer(OFFER);
  assert.throws(() => chooseCodec(offer, "h264", "4d0028"), UnsupportedError, "Main is not offered");
  const modeZeroOnly = parseVideoOffer(OFFER.replaceAll("packetization-mode=1", "packetization-mode=0"));
  assert.throws(() => chooseCodec(modeZeroOnly, "h264", "42c01e"), UnsupportedError);
});

Deno.test("withProfileLevelId puts the stream's real profile-level-id on the chosen payload type only", () => {
  const answer = [
    "a=fmtp:102 packetization-mode=0;profile-level-id=42001f",
    "a=fmtp:103 level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42e01f",
  ].join("\r\n");
  assert.equal(
    withProfileLevelId(answer, 103, "42c028"),
    [
      "a=fmtp:102 packetization-mode=0;profile-level-id=42001f",
      "a=fmtp:103 level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42c028",
    ].join("\r\n"),
  );
});

/** What OBS 30 sends over WHIP: Opus audio first, then H.264 High with both packetization modes. */
const OBS_OFFER = [
  "v=0",
  "o=rtc 1 0 IN IP4 127.0.0.1",
  "s=-",
  "t=0 0",
  "a=group:BUNDLE 0 1",
  "m=audio 9 UDP/TLS/RTP/SAVPF 111",
  "a=mid:0",
  "a=sendonly",
  "a=rtpmap:111 opus/48000/2",
  "a=fmtp:111 minptime=10;maxaveragebitrate=96000;stereo=1;sprop-stereo=1;useinbandfec=1",
  "m=video 9 UDP/TLS/RTP/SAVPF 96 97",
  "a=mid:1",
  "a=sendonly",
  "a=setup:actpass",
  "a=rtpmap:96 H264/90000",
  "a=fmtp:96 profile-level-id=640c1f;packetization-mode=0",
  "a=rtpmap:97 H264/90000",
  "a=fmtp:97 profile-level-id=640c1f;packetization-mode=1",
  "",
].join("\r\n");

Deno.test("chooseIngest takes OBS's offer: H.264 of any profile with packetization-mode=1, and Opus", () => {
  const offer = parseVideoOffer(OBS_OFFER);
  assert.deepEqual(offer.kinds, ["audio", "video"]);
  const choice = chooseIngest(offer, undefined);
  assert.equal(choice.codec, "h264");
  assert.equal(choice.video.payloadType, 97);
  assert.equal(choice.audio?.payloadType, 111);
  assert.equal(chooseIngest(offer, "h264").video.payloadType, 97);
});

Deno.test("chooseIngest follows the publisher's order unless the path's codec is fixed", () => {
  const offer = parseVideoOffer(OFFER);
  assert.equal(chooseIngest(offer, undefined).codec, "vp8");
  assert.equal(chooseIngest(offer, "h264").video.payloadType, 103);
  assert.equal(chooseIngest(offer, undefined).audio, undefined);
});

Deno.test("chooseIngest refuses a whole offer it cannot take in full (422)", async (t) => {
  const video = OBS_OFFER.slice(OBS_OFFER.indexOf("m=video"));
  const head = OBS_OFFER.slice(0, OBS_OFFER.indexOf("m=audio"));
  const cases: [string, string, "h264" | "vp8" | undefined][] = [
    [
      "two video m-lines",
      head.replace("BUNDLE 0 1", "BUNDLE 1 2") + video + video.replace("a=mid:1", "a=mid:2"),
      undefined,
    ],
    [
      "two audio m-lines",
      OBS_OFFER.replace("m=video", "m=audio 9 UDP/TLS/RTP/SAVPF 111\r\na=mid:2\r\nm=video"),
      undefined,
    ],
    [
      "a data channel",
      OBS_OFFER + "m=application 9 UDP/DTLS/SCTP webrtc-datachannel\r\na=mid:2\r\n",
      undefined,
    ],
    ["audio without Opus", OBS_OFFER.replace("opus/48000/2", "PCMU/8000"), undefined],
    [
      "H.264 in packetization-mode 0 only",
      OBS_OFFER.replace("640c1f;packetization-mode=1", "640c1f"),
      undefined,
    ],
    ["VP8 asked, H.264 offered", OBS_OFFER, "vp8"],
  ];
  for (const [name, sdp, codec] of cases) {
    await t.step(name, () => {
      assert.throws(() => chooseIngest(parseVideoOffer(sdp), codec), UnsupportedError);
    });
  }
});

Deno.test("withBundleOnlyPorts: a bundle-only m-line's port 0 means 'in the group', so it becomes 9", () => {
  const offer = [
    "v=0",
    "a=group:BUNDLE video0 audio1",
    "m=video 9 UDP/TLS/RTP/SAVPF 102",
    "a=mid:video0",
    "m=audio 0 UDP/TLS/RTP/SAVPF 111",
    "a=bundle-only",
    "a=mid:audio1",
    "m=audio 0 UDP/TLS/RTP/SAVPF 0",
    "a=mid:rejected",
    "",
  ].join("\r\n");
  const fixed = withBundleOnlyPorts(offer);
  assert.match(fixed, /^m=audio 9 UDP\/TLS\/RTP\/SAVPF 111\r$/m);
  assert.match(fixed, /^m=audio 0 UDP\/TLS\/RTP\/SAVPF 0\r$/m, "a rejected m-line stays rejected");
  assert.equal(withBundleOnlyPorts(fixed), fixed);
});

Deno.test("parseVideoOffer refuses with a 400 what werift would throw on, or choke on", async (t) => {
  const lines = OFFER.split("\r\n");
  const video = OFFER.slice(OFFER.indexOf("m=video"));
  const cases: [string, string, RegExp][] = [
    ["no a=mid", OFFER.replace("a=mid:0\r\n", ""), /m-line 1 needs exactly one a=mid/],
    ["two a=mid", OFFER.replace("a=mid:0", "a=mid:0\r\na=mid:1"), /m-line 1 needs exactly one a=mid/],
    ["a mid used twice", OFFER + video, /a=mid:0 on two m-lines/],
    ["BUNDLE naming a missing mid", OFFER.replace("BUNDLE 0", "BUNDLE 0 7"), /names mid 7/],
    ["two directions", OFFER.replace("a=recvonly", "a=recvonly\r\na=sendrecv"), /more than one direction/],
    [
      "1,000 m-lines",
      lines.slice(0, 4).join("\r\n") + "\r\n" +
      Array.from({ length: 1000 }, (_, i) => `m=video 9 UDP/TLS/RTP/SAVPF 96\r\na=mid:${i}\r\n`).join(""),
      /lines; at most 1000|m-lines; at most 8/,
    ],
    [
      "9 m-lines",
      OFFER + Array.from({ length: 8 }, (_, i) => video.replace("a=mid:0", `a=mid:${i + 1}`)).join(""),
      /9 m-lines; at most 8/,
    ],
    ["2,000 attribute lines", OFFER + "a=x\r\n".repeat(2000), /at most 1000 are taken/],
    [
      "a 5,000-character line",
      OFFER.replace("a=recvonly", "a=recvonly\r\na=" + "x".repeat(5000)),
      /over 4096/,
    ],
  ];
  for (const [name, sdp, reason] of cases) {
    await t.step(
      name,
      () =>
        assert.throws(
          () => parseVideoOffer(sdp),
          (err: Error) => err instanceof BadRequestError && reason.test(err.message),
        ),
    );
  }
});
