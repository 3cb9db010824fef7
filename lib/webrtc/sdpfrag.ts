/**
 * The SDP fragments of a WHEP/WHIP PATCH (RFC 8840 `application/trickle-ice-sdpfrag`, WHIP §4.3): reading
 * what a client sends, telling a trickle from an ICE restart, and writing a fragment of one side's ICE
 * (the answer to a restart, or a push's trickle). Pure text functions; the ICE work itself is in
 * ice_restart.ts.
 */
import { BadRequestError } from "../errors.ts";

/** The ICE content of one sdpfrag. */
export interface SdpFragment {
  /** `a=ice-ufrag`, if the fragment has one (the first: a BUNDLEd session has one ICE agent). */
  ufrag: string | undefined;
  /** `a=ice-pwd`, if the fragment has one. */
  pwd: string | undefined;
  /**
   * Each `a=candidate:` attribute without its `a=`, e.g. `candidate:1 1 udp 2113937151 … typ host`.
   * (`a=end-of-candidates` is not read: see ice_restart.ts's addRemoteCandidates.)
   */
  candidates: string[];
}

/** ICE credentials: a username fragment and its password. */
export interface IceCredentials {
  ufrag: string;
  pwd: string;
}

/** Reads the ICE credentials and candidates of an sdpfrag, wherever they sit (session or media part). */
export function parseSdpFragment(text: string): SdpFragment {
  const lines = text.split(/\r?\n/).map((l) => l.trim());
  const value = (name: string) =>
    lines.find((l) => l.startsWith(`a=${name}:`))?.slice(name.length + 3).trim() || undefined;
  return {
    ufrag: value("ice-ufrag"),
    pwd: value("ice-pwd"),
    candidates: lines.filter((l) => l.startsWith("a=candidate:")).map((l) => l.slice(2)),
  };
}

/**
 * Whether a fragment restarts ICE (RFC 8840 §4.4, WHIP §4.3.2): it names ICE credentials other than the
 * session's current remote ones. A restart must carry both the new ufrag and the new password
 * (BadRequestError otherwise); a fragment without credentials, or with the current ones, trickles.
 */
export function isIceRestart(fragment: SdpFragment, current: IceCredentials): boolean {
  const restart = (fragment.ufrag !== undefined && fragment.ufrag !== current.ufrag) ||
    (fragment.pwd !== undefined && fragment.pwd !== current.pwd);
  if (restart && (fragment.ufrag === undefined || fragment.pwd === undefined)) {
    throw new BadRequestError("an ICE restart needs both a=ice-ufrag and a=ice-pwd");
  }
  return restart;
}

/**
 * An sdpfrag carrying all of one side's ICE, shaped as WHIP §4.3's examples: the SDP's `a=ice-options`,
 * then its first media section's m-line and mid (RFC 8840 identifies the section by mid; with BUNDLE
 * it stands for all), the credentials, every candidate and `a=end-of-candidates`. It answers an ICE
 * restart (the server does not trickle) and carries a push's candidates, gathered before it is sent.
 */
export function iceFragment(sdp: string, ice: IceCredentials, candidates: string[]): string {
  const lines = sdp.split(/\r?\n/);
  const start = lines.findIndex((l) => l.startsWith("m="));
  const end = lines.findIndex((l, i) => i > start && l.startsWith("m="));
  const media = lines.slice(start, end < 0 ? undefined : end);
  const iceOptions = lines.find((l) => l.startsWith("a=ice-options:"));
  const mid = media.find((l) => l.startsWith("a=mid:"));
  return [
    ...(iceOptions ? [iceOptions] : []),
    lines[start],
    ...(mid ? [mid] : []),
    `a=ice-ufrag:${ice.ufrag}`,
    `a=ice-pwd:${ice.pwd}`,
    ...candidates.map((c) => `a=${c.startsWith("candidate:") ? c : `candidate:${c}`}`),
    "a=end-of-candidates",
    "",
  ].join("\r\n");
}

/**
 * A candidate attribute without its legacy `generation N` extension. werift refuses to select a pair
 * whose remote candidate names a generation other than werift's own, which counts werift's restarts;
 * the client's number counts the client's (Chromium's goes up per restartIce(), including one we
 * refused with 409; other clients write 0 always). When the two counts differ, every pair after the
 * restart would be unselectable. The ufrag, not this number, tells ICE generations apart.
 */
export function withoutGeneration(candidate: string): string {
  return candidate.replace(/ generation \d+(?= |$)/, "");
}
