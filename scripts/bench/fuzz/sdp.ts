/**
 * Fuzz targets for the text that viewers and publishers send: SDP offers (WHEP, WHIP, POST /offer), trickle
 * and ICE-restart fragments (PATCH) with the remote candidate rules, and WebSocket signaling messages.
 * Their modules document BadRequestError and UnsupportedError (4xx) as their only refusals.
 */
import fc from "fast-check";
import { BadRequestError, UnsupportedError } from "../../../lib/errors.ts";
import { candidateRefusal, RemoteCandidates } from "../../../lib/webrtc/candidates.ts";
import {
  chooseCodec,
  chooseIngest,
  chooseOpus,
  parseVideoOffer,
  withBundleOnlyPorts,
  withProfileLevelId,
} from "../../../lib/webrtc/offer.ts";
import { isIceRestart, parseSdpFragment, withoutGeneration } from "../../../lib/webrtc/sdpfrag.ts";
import { parseSignal } from "../../../lib/webrtc/signaling.ts";
import { address, editedDocument, editedText, type Target, tolerate } from "./inputs.ts";

const isRefusal = (err: unknown) => err instanceof BadRequestError || err instanceof UnsupportedError;
const isBadRequest = (err: unknown) => err instanceof BadRequestError;

const FINGERPRINT =
  "a=fingerprint:sha-256 7B:8B:F0:65:5F:78:E2:51:3B:AC:6F:F3:3F:46:1B:35:DC:B8:5F:64:1A:24:C2:43:F0:A1:58:D0:A1:2C:19:08";

/** A Chromium WHEP offer (recvonly): Opus and its friends, then VP8, H.264 in four profiles/modes, with RTX. */
const WHEP_OFFER = [
  "v=0",
  "o=- 4215775240449105457 2 IN IP4 127.0.0.1",
  "s=-",
  "t=0 0",
  "a=group:BUNDLE 0 1",
  "a=extmap-allow-mixed",
  "a=msid-semantic: WMS",
  "m=audio 9 UDP/TLS/RTP/SAVPF 111 63 9 0 8 110",
  "c=IN IP4 0.0.0.0",
  "a=rtcp:9 IN IP4 0.0.0.0",
  "a=candidate:1467250027 1 udp 2122260223 192.0.2.20 46243 typ host generation 0 network-id 1",
  "a=candidate:2813366971 1 tcp 1518280447 192.0.2.20 9 typ host tcptype active generation 0 network-id 1",
  "a=candidate:842163049 1 udp 1686052607 198.51.100.7 46243 typ srflx raddr 192.0.2.20 rport 46243 generation 0",
  "a=ice-ufrag:Dkd1",
  "a=ice-pwd:bT0UY3uxpKQAfq+XkDhbB1Ud",
  "a=ice-options:trickle",
  FINGERPRINT,
  "a=setup:actpass",
  "a=mid:0",
  "a=extmap:1 urn:ietf:params:rtp-hdrext:ssrc-audio-level",
  "a=extmap:4 urn:ietf:params:rtp-hdrext:sdes:mid",
  "a=recvonly",
  "a=rtcp-mux",
  "a=rtpmap:111 opus/48000/2",
  "a=rtcp-fb:111 transport-cc",
  "a=fmtp:111 minptime=10;useinbandfec=1",
  "a=rtpmap:63 red/48000/2",
  "a=fmtp:63 111/111",
  "a=rtpmap:9 G722/8000",
  "a=rtpmap:0 PCMU/8000",
  "a=rtpmap:8 PCMA/8000",
  "a=rtpmap:110 telephone-event/48000",
  "m=video 9 UDP/TLS/RTP/SAVPF 96 97 102 103 106 107 108 127 39",
  "c=IN IP4 0.0.0.0",
  "a=rtcp:9 IN IP4 0.0.0.0",
  "a=ice-ufrag:Dkd1",
  "a=ice-pwd:bT0UY3uxpKQAfq+XkDhbB1Ud",
  "a=ice-options:trickle",
  FINGERPRINT,
  "a=setup:actpass",
  "a=mid:1",
  "a=extmap:14 urn:ietf:params:rtp-hdrext:toffset",
  "a=extmap:13 urn:3gpp:video-orientation",
  "a=recvonly",
  "a=rtcp-mux",
  "a=rtcp-rsize",
  "a=rtpmap:96 VP8/90000",
  "a=rtcp-fb:96 goog-remb",
  "a=rtcp-fb:96 transport-cc",
  "a=rtcp-fb:96 ccm fir",
  "a=rtcp-fb:96 nack",
  "a=rtcp-fb:96 nack pli",
  "a=rtpmap:97 rtx/90000",
  "a=fmtp:97 apt=96",
  "a=rtpmap:102 H264/90000",
  "a=rtcp-fb:102 nack pli",
  "a=fmtp:102 level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42001f",
  "a=rtpmap:103 rtx/90000",
  "a=fmtp:103 apt=102",
  "a=rtpmap:106 H264/90000",
  "a=fmtp:106 level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42e01f",
  "a=rtpmap:107 rtx/90000",
  "a=fmtp:107 apt=106",
  "a=rtpmap:108 H264/90000",
  "a=fmtp:108 level-asymmetry-allowed=1;packetization-mode=0;profile-level-id=42e01f",
  "a=rtpmap:127 H264/90000",
  "a=fmtp:127 level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=4d001f",
  "a=rtpmap:39 H264/90000",
  "a=fmtp:39 level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=640034",
];

/** A GStreamer whipsink offer (sendonly, max-bundle): H.264 and Opus, the audio m-line bundle-only on port 0. */
const WHIP_OFFER = [
  "v=0",
  "o=- 1356277519218437917 0 IN IP4 0.0.0.0",
  "s=-",
  "t=0 0",
  "a=ice-options:trickle",
  "a=group:BUNDLE video0 audio1",
  "m=video 9 UDP/TLS/RTP/SAVPF 96",
  "c=IN IP4 0.0.0.0",
  "a=setup:actpass",
  "a=ice-ufrag:oF7rdbpDjpWcrWnSRiN1LBBE1WnMl3yC",
  "a=ice-pwd:5Pb2HHwYaYcSvJYJUbwOmpu5pHWkTkhm",
  "a=rtcp-mux",
  "a=rtcp-rsize",
  "a=sendonly",
  "a=rtpmap:96 H264/90000",
  "a=rtcp-fb:96 nack pli",
  "a=fmtp:96 packetization-mode=1;profile-level-id=42c01f;sprop-parameter-sets=Z0LAH9oBQBbpqAgICgAAAwACAAADAHkeMGVA,aM4yyA==",
  "a=ssrc:3453428410 msid:user3345 webrtctransceiver0",
  "a=ssrc:3453428410 cname:user3345",
  "a=mid:video0",
  FINGERPRINT,
  "a=candidate:1 1 UDP 2015363327 192.0.2.5 53870 typ host",
  "a=candidate:2 1 TCP 1015021823 192.0.2.5 9 typ host tcptype active",
  "m=audio 0 UDP/TLS/RTP/SAVPF 97",
  "c=IN IP4 0.0.0.0",
  "a=bundle-only",
  "a=setup:actpass",
  "a=sendonly",
  "a=rtpmap:97 OPUS/48000/2",
  "a=fmtp:97 sprop-stereo=0",
  "a=mid:audio1",
];

/** What a WHEP viewer or a WHIP path may ask of an offer: each codec, known and unknown stream profiles. */
const CODEC_CHOICES = [
  ["h264", undefined],
  ["h264", "640028"],
  ["h264", "42c00d"],
  ["vp8", undefined],
] as const;

/** Lines no real offer above has, for the edits to put in: other DTLS roles, profiles, directions. */
const OTHER_LINES = [
  "a=setup:active",
  "a=setup:passive",
  "a=setup:holdconn",
  "a=sendrecv",
  "a=inactive",
  "a=bundle-only",
  "a=fmtp:102 packetization-mode=1;profile-level-id=640c1f",
  "a=fmtp:102 packetization-mode=1;profile-level-id=4d801f",
  "a=fmtp:102 packetization-mode=1;profile-level-id=58c01f",
  "a=fmtp:102 packetization-mode=1;profile-level-id=zz001f",
  "a=fmtp:102 profile-level-id",
  "a=rtpmap:102 h264/90000",
  "a=rtpmap:96 vp8/48000",
  "m=application 9 UDP/DTLS/SCTP webrtc-datachannel",
  "m=video 0 UDP/TLS/RTP/SAVPF 96",
];

/** The SDP offer checks every WHEP and WHIP offer passes before werift sees it. */
export function offerTarget(): Target<string> {
  const realLines = [...new Set([...WHEP_OFFER, ...WHIP_OFFER, ...OTHER_LINES])];
  const prefixes = [
    "a=",
    "m=",
    "v=",
    "c=",
    "a=rtpmap:",
    "a=fmtp:",
    "a=mid:",
    "a=setup:",
    "a=group:BUNDLE ",
    "m=video ",
  ];
  const line = fc.oneof(
    { weight: 3, arbitrary: fc.constantFrom(...realLines) },
    fc.tuple(fc.constantFrom(...prefixes), fc.string({ maxLength: 40 })).map(([p, s]) => p + s),
    fc.string({ maxLength: 40, unit: "binary" }),
  );
  return {
    name: "sdp offer (offer)",
    arbitrary: fc.oneof(
      { weight: 6, arbitrary: editedDocument([WHEP_OFFER, WHIP_OFFER], line) },
      {
        weight: 2,
        arbitrary: fc.array(line, { maxLength: 30 }).map((lines) => ["v=0", ...lines].join("\r\n")),
      },
      { weight: 1, arbitrary: fc.string({ maxLength: 200, unit: "binary" }) },
    ),
    run(sdp) {
      withBundleOnlyPorts(sdp);
      const offer = parseVideoOffer(sdp);
      chooseOpus(offer.audio);
      for (const [codec, profile] of CODEC_CHOICES) {
        const chosen = tolerate(isRefusal, () => chooseCodec(offer, codec, profile));
        if (chosen) withProfileLevelId(sdp, chosen.payloadType, "640028");
      }
      for (const codec of [undefined, "h264", "vp8"] as const) {
        tolerate(isRefusal, () => chooseIngest(offer, codec));
      }
    },
    allowed: isRefusal,
  };
}

/** A WHIP client's trickle PATCH body (WHIP §4.3's example). */
const FRAGMENT = [
  "a=ice-options:trickle ice2",
  "m=audio 9 RTP/AVP 0",
  "a=mid:0",
  "a=ice-ufrag:EsAw",
  "a=ice-pwd:P2uYro0UCOQ4zxjKXaWCBui1",
  "a=candidate:1387637174 1 udp 2122260223 192.0.2.1 61764 typ host generation 0 ufrag EsAw network-id 1",
  "a=candidate:3471623853 1 udp 2122194687 198.51.100.2 61765 typ host generation 0 ufrag EsAw network-id 2",
  "a=candidate:473322822 1 tcp 1518280447 192.0.2.1 9 typ host tcptype active generation 0 ufrag EsAw network-id 1",
  "a=end-of-candidates",
];
const CURRENT_ICE = { ufrag: "EsAw", pwd: "P2uYro0UCOQ4zxjKXaWCBui1" };

interface FragmentInput {
  text: string;
  client: string;
  mdns: boolean;
}

/** Trickle and ICE-restart PATCH bodies, and the remote candidate rules they meet. */
export function fragmentTarget(): Target<FragmentInput> {
  const candidate = fc.record({
    foundation: fc.nat(),
    component: fc.nat(3),
    protocol: fc.constantFrom("udp", "tcp", "UDP", "x"),
    priority: fc.nat(),
    address,
    port: fc.nat(70_000),
    type: fc.constantFrom("host", "srflx", "relay", "prflx"),
    extra: fc.constantFrom(
      "",
      " generation 0",
      " generation 12 ufrag x",
      " tcptype active",
      " raddr 0.0.0.0 rport 0",
    ),
  }).map((c) =>
    `a=candidate:${c.foundation} ${c.component} ${c.protocol} ${c.priority} ${c.address} ${c.port} typ ${c.type}${c.extra}`
  );
  const prefixes = [
    "a=ice-ufrag:",
    "a=ice-pwd:",
    "a=mid:",
    "a=candidate:",
    "a=end-of-candidates",
    "m=audio 9 ",
  ];
  const line = fc.oneof(
    { weight: 2, arbitrary: fc.constantFrom(...FRAGMENT) },
    { weight: 3, arbitrary: candidate },
    fc.tuple(fc.constantFrom(...prefixes), fc.string({ maxLength: 30 })).map(([p, s]) => p + s),
    fc.string({ maxLength: 40 }),
  );
  return {
    name: "sdpfrag (sdpfrag, candidates)",
    arbitrary: fc.record({
      text: fc.oneof(
        { weight: 5, arbitrary: editedDocument([FRAGMENT, WHEP_OFFER], line) },
        { weight: 3, arbitrary: fc.array(line, { maxLength: 40 }).map((lines) => lines.join("\r\n")) },
        { weight: 1, arbitrary: fc.string({ maxLength: 200 }) },
      ),
      client: fc.oneof(fc.constant("unknown"), fc.constantFrom("192.0.2.9", "2001:db8::9"), address),
      mdns: fc.boolean(),
    }),
    run({ text, client, mdns }) {
      const fragment = parseSdpFragment(text);
      tolerate(isBadRequest, () => isIceRestart(fragment, CURRENT_ICE));
      for (const c of fragment.candidates) candidateRefusal(withoutGeneration(c), client, mdns);
      tolerate(isBadRequest, () => new RemoteCandidates(client, mdns).take(fragment.candidates));
      new RemoteCandidates(client, mdns).offer(text);
    },
    allowed: isBadRequest,
  };
}

/** The per-camera WebSocket signaling messages, as the socket hands them over (text, or binary). */
export function signalTarget(): Target<unknown> {
  const candidateLine = "candidate:1467250027 1 udp 2122260223 192.0.2.20 46243 typ host generation 0";
  const real = [
    JSON.stringify({ type: "offer", sdp: WHEP_OFFER.join("\r\n") + "\r\n" }),
    JSON.stringify({
      type: "candidate",
      candidate: { candidate: candidateLine, sdpMid: "0", sdpMLineIndex: 0 },
    }),
    JSON.stringify({ type: "candidate", candidate: null }),
    JSON.stringify({ type: "candidate", candidate: `a=${candidateLine}` }),
  ];
  const json = fc.jsonValue({ maxDepth: 2 });
  const message = fc.record({
    type: fc.oneof(fc.constantFrom("offer", "candidate", "answer", "OFFER", ""), json),
    sdp: fc.oneof(fc.string(), json),
    candidate: fc.oneof(
      fc.constant(null),
      fc.string(),
      fc.record({ candidate: fc.oneof(fc.string(), fc.constant(candidateLine), json) }),
      json,
    ),
  }, { requiredKeys: [] }).map((m) => JSON.stringify(m));
  // Deep nesting under each key: recursion in whatever walks the parsed value.
  const deep = fc.record({
    key: fc.constantFrom("type", "sdp", "candidate"),
    type: fc.constantFrom("offer", "candidate", "other"),
    depth: fc.integer({ min: 1, max: 60_000 }),
  }).map(({ key, type, depth }) =>
    `{"type":"${type}",${JSON.stringify(key)}:${"[".repeat(depth)}${"]".repeat(depth)}}`
  );
  return {
    name: "signaling (signaling)",
    arbitrary: fc.oneof(
      { weight: 4, arbitrary: message },
      { weight: 3, arbitrary: editedText(real) },
      { weight: 2, arbitrary: fc.json() },
      { weight: 1, arbitrary: fc.string({ maxLength: 100, unit: "binary" }) },
      { weight: 1, arbitrary: fc.anything() },
      { weight: 1, arbitrary: deep },
    ),
    run(data) {
      parseSignal(data);
    },
    allowed: isBadRequest,
  };
}
