/**
 * Pure checks of an SDP offer before werift sees it: what it offers (codecs, audio, DTLS role), and the
 * choice of codec for a WHEP viewer or a WHIP publisher, with the 4xx error that explains a refusal.
 */
import { BadRequestError, UnsupportedError } from "../errors.ts";
import type { Codec } from "../stream/access_unit.ts";

/** A video payload type as an SDP offer lists it. */
export interface OfferedCodec {
  payloadType: number;
  /** Encoding name as written, e.g. "H264". */
  name: string;
  clockRate: number;
  /** The a=fmtp parameters, e.g. "profile-level-id=42e01f;packetization-mode=1". */
  fmtp: string;
}

/** What the service needs from an offer (a WHEP viewer's or a WHIP publisher's). */
export interface VideoOffer {
  /** The payload types of the first video m-line. */
  codecs: OfferedCodec[];
  /** The payload types of the first audio m-line, or undefined when the offer has none. */
  audio: OfferedCodec[] | undefined;
  /** The media of every m-line, in order ("video", "audio", "application", ...). */
  kinds: string[];
  /** The DTLS role our answer takes, from the offer's `a=setup` (see answerDtlsRole). */
  dtlsRole: DtlsRole;
}

/** A DTLS role as werift's RTCDtlsTransport names it: "client" answers `a=setup:active`, "server" `passive`. */
export type DtlsRole = "client" | "server";

/**
 * The DTLS role the answerer takes for an offer's `a=setup` value (RFC 8842 §5.3): `active` (the
 * offerer will be the DTLS client, as some non-browser WHEP clients want) → we are the server
 * (`a=setup:passive`); `passive` → we are the client; `actpass` (what browsers offer) → the client,
 * as RFC 8842 recommends and as werift answers by default. An offer without `a=setup` keeps werift's
 * default too. `holdconn` is refused (RFC 8842 §5.1 forbids it: there would be no DTLS, so no media).
 */
export function answerDtlsRole(setup: string | undefined): DtlsRole {
  switch (setup?.toLowerCase()) {
    case "active":
      return "server";
    case "passive":
    case "actpass":
    case undefined:
      return "client";
    default:
      throw new BadRequestError(`a=setup:${setup} is not a DTLS role this server can answer`);
  }
}

/** Profile used when the stream's SPS is not known yet: Constrained Baseline 3.1, what browsers offer. */
export const DEFAULT_PROFILE_LEVEL_ID = "42e01f";

/** The payload types an m-section lists, with their fmtp. */
function sectionCodecs(section: string[]): OfferedCodec[] {
  const fmtps = new Map<number, string>();
  for (const line of section) {
    const m = line.match(/^a=fmtp:(\d+) (.*)$/);
    if (m) fmtps.set(Number(m[1]), m[2].trim());
  }
  const codecs: OfferedCodec[] = [];
  for (const line of section) {
    const m = line.match(/^a=rtpmap:(\d+) ([^/\s]+)\/(\d+)/);
    if (m) {
      const payloadType = Number(m[1]);
      codecs.push({ payloadType, name: m[2], clockRate: Number(m[3]), fmtp: fmtps.get(payloadType) ?? "" });
    }
  }
  return codecs;
}

/**
 * Sizes no real client's offer comes near. werift's offer handling grows with the square of the m-lines
 * (1,000 of them blocked the event loop for 5 s), so an offer past these is refused before werift sees it.
 */
export const OFFER_LIMITS = {
  /** Lines in the whole offer: a browser's audio, video and data channel offer has about 150-250. */
  lines: 1000,
  /** m-lines: WHIP and WHEP take one video and one audio; a browser adds at most a data channel. */
  mLines: 8,
  /** Characters in one line: the longest real ones (fingerprints, fmtp, candidates) are about 200. */
  lineLength: 4096,
} as const;

/** The SDP direction attributes (RFC 8866 §6.7): an m-line says at most one of them. */
const DIRECTIONS = new Set(["a=sendrecv", "a=sendonly", "a=recvonly", "a=inactive"]);

/**
 * Refuses with a 400 what werift would throw on later (as a 500): an offer over {@link OFFER_LIMITS},
 * an m-line without exactly one `a=mid`, a mid used twice, a BUNDLE group naming a mid no m-line has,
 * or an m-line with two directions.
 */
function checkOfferShape(lines: string[], sections: string[][]): void {
  if (lines.length > OFFER_LIMITS.lines) {
    throw new BadRequestError(`SDP offer has ${lines.length} lines; at most ${OFFER_LIMITS.lines} are taken`);
  }
  const long = lines.findIndex((l) => l.length > OFFER_LIMITS.lineLength);
  if (long >= 0) {
    throw new BadRequestError(`SDP offer line ${long + 1} is over ${OFFER_LIMITS.lineLength} characters`);
  }
  if (sections.length > OFFER_LIMITS.mLines) {
    throw new BadRequestError(
      `SDP offer has ${sections.length} m-lines; at most ${OFFER_LIMITS.mLines} are taken`,
    );
  }
  const mids = new Set<string>();
  sections.forEach((section, i) => {
    const own = section.filter((l) => l.startsWith("a=mid:")).map((l) => l.slice(6).trim());
    if (own.length !== 1 || own[0] === "") {
      throw new BadRequestError(`SDP offer m-line ${i + 1} needs exactly one a=mid (it has ${own.length})`);
    }
    if (mids.has(own[0])) throw new BadRequestError(`SDP offer uses a=mid:${own[0]} on two m-lines`);
    mids.add(own[0]);
    if (section.filter((l) => DIRECTIONS.has(l.trim())).length > 1) {
      throw new BadRequestError(`SDP offer m-line ${i + 1} gives more than one direction`);
    }
  });
  for (const group of lines.filter((l) => l.startsWith("a=group:BUNDLE"))) {
    const missing = group.slice("a=group:BUNDLE".length).trim().split(/\s+/).filter((m) => m && !mids.has(m));
    if (missing.length > 0) {
      throw new BadRequestError(`SDP offer's BUNDLE group names mid ${missing[0]}, which no m-line has`);
    }
  }
}

/** Reads an SDP offer's m-lines; anything that is not an offer with a video m-line is a BadRequestError. */
export function parseVideoOffer(sdp: string): VideoOffer {
  const lines = sdp.split(/\r?\n/);
  if (lines[0]?.trim() !== "v=0") throw new BadRequestError("body is not an SDP offer (no v=0 line)");
  if (lines.at(-1) === "") lines.pop();
  const starts = lines.flatMap((l, i) => l.startsWith("m=") ? [i] : []);
  const sections = starts.map((start, n) => lines.slice(start, starts[n + 1]));
  checkOfferShape(lines, sections);
  const kinds = sections.map((section) => section[0].slice(2).split(" ")[0]);
  const video = sections[kinds.indexOf("video")];
  if (!video) throw new BadRequestError("SDP offer has no video m-line");
  const audio = sections[kinds.indexOf("audio")];
  // The video section's a=setup, else the session-level one (which werift also reads as the default).
  const setupOf = (l: string) => l.match(/^a=setup:(\S+)/)?.[1];
  const setup = video.map(setupOf).find((v) => v !== undefined) ??
    lines.slice(0, starts[0]).map(setupOf).find((v) => v !== undefined);
  return {
    codecs: sectionCodecs(video),
    audio: audio && sectionCodecs(audio),
    kinds,
    dtlsRole: answerDtlsRole(setup),
  };
}

/** The offered Opus payload type, if any (what WHIP publishers and browsers send as audio). */
export function chooseOpus(offered: OfferedCodec[] | undefined): OfferedCodec | undefined {
  return offered?.find((c) => c.name.toLowerCase() === "opus" && c.clockRate === 48000);
}

/** One fmtp parameter's value, case-insensitive on the name. */
function fmtpParam(fmtp: string, name: string): string | undefined {
  for (const part of fmtp.split(";")) {
    const [key, value] = part.split("=");
    if (key?.trim().toLowerCase() === name) return value?.trim();
  }
  return undefined;
}

/**
 * The H.264 profile a profile-level-id names (RFC 6184 table 5), without the level: a decoder of a
 * profile decodes every level the offer allows, and browsers offer fixed levels (3.1) whatever the
 * camera sends, so matching on the level too would refuse most streams.
 */
export function h264Profile(profileLevelId: string): string | undefined {
  if (!/^[0-9a-f]{6}$/i.test(profileLevelId)) return undefined;
  const idc = parseInt(profileLevelId.slice(0, 2), 16);
  const iop = parseInt(profileLevelId.slice(2, 4), 16);
  if (
    (idc === 0x42 && iop & 0x40) || (idc === 0x4d && iop & 0x80) || (idc === 0x58 && (iop & 0xc0) === 0xc0)
  ) {
    return "constrained-baseline";
  }
  if (idc === 0x64 && (iop & 0x0c) === 0x0c) return "constrained-high";
  return idc.toString(16);
}

/**
 * The offered payload type this stream can be sent as: VP8 for VP8 streams; for H.264, one with
 * packetization-mode=1 whose profile is the stream's. None → UnsupportedError (the whole offer is
 * refused rather than half-accepted).
 */
export function chooseCodec(
  offer: VideoOffer,
  codec: Codec,
  profileLevelId: string | undefined,
): OfferedCodec {
  const video = offer.codecs.filter((c) => c.clockRate === 90000);
  if (codec === "vp8") {
    const vp8 = video.find((c) => c.name.toUpperCase() === "VP8");
    if (!vp8) throw new UnsupportedError("the offer has no VP8 payload type; this stream is VP8");
    return vp8;
  }
  const wanted = h264Profile(profileLevelId ?? DEFAULT_PROFILE_LEVEL_ID);
  const h264 = video.find((c) =>
    c.name.toUpperCase() === "H264" && fmtpParam(c.fmtp, "packetization-mode") === "1" &&
    h264Profile(fmtpParam(c.fmtp, "profile-level-id") ?? "420010") === wanted
  );
  if (!h264) {
    throw new UnsupportedError(
      `the offer has no H264 payload type with packetization-mode=1 and profile ${wanted} (${profileLevelId})`,
    );
  }
  return h264;
}

/**
 * The answer with the stream's real profile-level-id on the chosen H.264 payload type. werift
 * negotiates on the offer's exact fmtp, but the viewer's decoder should be told the level the camera
 * really sends (a 1080p stream is level 4, not the 3.1 browsers offer); RFC 6184 lets the answer's
 * level differ from the offer's.
 */
export function withProfileLevelId(answerSdp: string, payloadType: number, profileLevelId: string): string {
  const fmtp = new RegExp(`^(a=fmtp:${payloadType} .*profile-level-id=)[0-9a-fA-F]{6}`, "m");
  return answerSdp.replace(fmtp, `$1${profileLevelId}`);
}

/** A publisher's offer as a WHIP path takes it: the video payload type and, if any, the Opus one. */
export interface IngestChoice {
  codec: Codec;
  video: OfferedCodec;
  audio: OfferedCodec | undefined;
}

/**
 * What a WHIP path receives from a publisher's offer (WHIP §4.4): one video m-line of H.264
 * (packetization-mode=1, any profile: we only pass it on) or VP8, in the publisher's order of
 * preference unless the path's codec is fixed, and at most one audio m-line, which must offer Opus.
 * Anything else is refused as a whole with UnsupportedError (422), never half-accepted.
 */
export function chooseIngest(offer: VideoOffer, codec: Codec | undefined): IngestChoice {
  const count = (kind: string) => offer.kinds.filter((k) => k === kind).length;
  const other = offer.kinds.find((k) => k !== "video" && k !== "audio");
  if (other) throw new UnsupportedError(`a WHIP session carries audio and video only, not ${other}`);
  if (count("video") > 1 || count("audio") > 1) {
    throw new UnsupportedError("a WHIP session carries at most one video and one audio m-line");
  }
  const fits = (c: OfferedCodec) =>
    c.clockRate === 90000 &&
    (c.name.toUpperCase() === "VP8" ||
      (c.name.toUpperCase() === "H264" && fmtpParam(c.fmtp, "packetization-mode") === "1"));
  const video = offer.codecs.find((c) => fits(c) && (codec === undefined || c.name.toLowerCase() === codec));
  if (!video) {
    const wanted = codec === undefined ? "H264 (packetization-mode=1) or VP8" : codec.toUpperCase();
    throw new UnsupportedError(`the offer has no ${wanted} payload type this path can take`);
  }
  const audio = chooseOpus(offer.audio);
  if (offer.audio && !audio) throw new UnsupportedError("the offer's audio m-line has no Opus payload type");
  return { codec: video.name.toLowerCase() === "vp8" ? "vp8" : "h264", video, audio };
}

/**
 * The offer with each `a=bundle-only` m-line's port 0 made 9. A max-bundle offerer (GStreamer's
 * webrtcbin, whipsink) marks every m-line after the first bundle-only with port 0 (RFC 8843 §7.2.1),
 * which means "in the BUNDLE group", not "rejected"; werift 0.25.2 reads it as a separate transport that
 * never gets ICE credentials, and the peer connection fails as soon as it connects.
 */
export function withBundleOnlyPorts(sdp: string): string {
  const sections = sdp.split(/(?=^m=)/m);
  return sections.map((section) =>
    /^a=bundle-only\r?$/m.test(section) ? section.replace(/^(m=\S+ )0 /, "$19 ") : section
  ).join("");
}
