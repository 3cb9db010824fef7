import { BadRequestError, UnsupportedError } from "../errors.ts";
import type { Codec } from "../media/access_unit.ts";

/** A video payload type as an SDP offer lists it. */
export interface OfferedCodec {
  payloadType: number;
  /** Encoding name as written, e.g. "H264". */
  name: string;
  clockRate: number;
  /** The a=fmtp parameters, e.g. "profile-level-id=42e01f;packetization-mode=1". */
  fmtp: string;
}

/** What the send side needs from a viewer's offer. */
export interface VideoOffer {
  codecs: OfferedCodec[];
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

/** Reads the first video m-section of an SDP offer; anything that is not one is a BadRequestError. */
export function parseVideoOffer(sdp: string): VideoOffer {
  const lines = sdp.split(/\r?\n/);
  if (lines[0]?.trim() !== "v=0") throw new BadRequestError("body is not an SDP offer (no v=0 line)");
  const start = lines.findIndex((l) => l.startsWith("m=video "));
  if (start < 0) throw new BadRequestError("SDP offer has no video m-line");
  const end = lines.findIndex((l, i) => i > start && l.startsWith("m="));
  const section = lines.slice(start, end < 0 ? undefined : end);
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
  // The video section's a=setup, else the session-level one (which werift also reads as the default).
  const setupOf = (l: string) => l.match(/^a=setup:(\S+)/)?.[1];
  const setup = section.map(setupOf).find((v) => v !== undefined) ??
    lines.slice(0, lines.findIndex((l) => l.startsWith("m="))).map(setupOf).find((v) => v !== undefined);
  return { codecs, dtlsRole: answerDtlsRole(setup) };
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
