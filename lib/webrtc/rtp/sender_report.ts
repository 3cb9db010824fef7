/**
 * The clock mapping of our RTCP sender reports. A packet's RTP timestamp is its capture time on the
 * 90 kHz clock counted from `performance.timeOrigin` (see lib/cameras/supervisor.ts), so a report made
 * at wall time T carries NTP(T) and (T - timeOrigin) * 90: a receiver then maps every RTP timestamp
 * back to the capture wall time, and the NTP time is also when the report left, which is what a
 * browser's clock-offset estimate assumes. werift's own reports pair the last packet's capture
 * timestamp with its send time and write the NTP fraction wrongly (decimal digits as a binary
 * fraction), so glass-to-glass delay cannot be computed from them.
 */
import { rtpTimestamp } from "./packetizer.ts";

/** Seconds from the NTP epoch (1900-01-01) to the Unix epoch (1970-01-01). */
const NTP_TO_UNIX_S = 2_208_988_800;
const TWO_32 = 2 ** 32;

/** A wall-clock time (ms since the Unix epoch) as a 64-bit NTP timestamp (32.32 fixed point). */
export function ntpFromEpochMs(epochMs: number): bigint {
  const seconds = Math.floor(epochMs / 1000);
  const fraction = Math.round(((epochMs - seconds * 1000) / 1000) * TWO_32);
  // A fraction that rounds up to 2^32 carries into the seconds by the addition.
  return (BigInt(seconds + NTP_TO_UNIX_S) << 32n) + BigInt(fraction);
}

/** A 64-bit NTP timestamp as ms since the Unix epoch. */
export function epochMsFromNtp(ntp: bigint): number {
  const seconds = Number(ntp >> 32n) - NTP_TO_UNIX_S;
  return seconds * 1000 + (Number(ntp & 0xffffffffn) / TWO_32) * 1000;
}

/** The middle 32 bits of an NTP timestamp (16.16 seconds), as receiver reports echo it in LSR. */
export function compactNtp(ntp: bigint): number {
  return Number((ntp >> 16n) & 0xffffffffn);
}

/** The two clocks of one instant, as a sender report carries them. */
export interface ReportClock {
  ntpTimestamp: bigint;
  rtpTimestamp: number;
}

/**
 * The NTP and RTP timestamps of the instant `sinceOriginMs` after `timeOriginMs` (pass
 * `performance.timeOrigin` and `performance.now()`): the same mapping the packets' timestamps use.
 */
export function reportClock(timeOriginMs: number, sinceOriginMs: number): ReportClock {
  return {
    ntpTimestamp: ntpFromEpochMs(timeOriginMs + sinceOriginMs),
    rtpTimestamp: rtpTimestamp(sinceOriginMs * 90),
  };
}

/**
 * Round-trip time in ms from a report block that answers one of our sender reports (RFC 3550
 * §6.4.1: arrival - LSR - DLSR, all in 1/65536 s). Undefined when the block answers no report
 * (LSR 0) or the result is negative, which only a clock step can cause.
 */
export function roundTripMs(arrivalNtp: bigint, lsr: number, dlsr: number): number | undefined {
  if (lsr === 0) return undefined;
  const units = (compactNtp(arrivalNtp) - lsr - dlsr) >>> 0;
  if (units >= 2 ** 31) return undefined;
  return (units / 65536) * 1000;
}
