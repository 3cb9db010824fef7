import assert from "node:assert/strict";
import {
  compactNtp,
  epochMsFromNtp,
  ntpFromEpochMs,
  reportClock,
  roundTripMs,
} from "../../lib/webrtc/rtp/sender_report.ts";

Deno.test("NTP timestamps: seconds since 1900 in the high word, the binary fraction in the low word", () => {
  const cases: [epochMs: number, ntp: bigint][] = [
    [0, 2_208_988_800n << 32n],
    [500, (2_208_988_800n << 32n) + 0x8000_0000n],
    [250, (2_208_988_800n << 32n) + 0x4000_0000n],
    // RFC 3550 figure 2's SR: 3024992005.125 s after 1900.
    [(3_024_992_005 - 2_208_988_800) * 1000 + 125, 0xb44d_b705_2000_0000n],
    // A fraction that rounds up to a whole second carries into the seconds.
    [999.99999999999, 2_208_988_801n << 32n],
  ];
  for (const [epochMs, ntp] of cases) {
    assert.equal(ntpFromEpochMs(epochMs), ntp, `${epochMs} ms`);
  }
});

Deno.test("NTP timestamps convert back to the epoch milliseconds within a microsecond", () => {
  for (const epochMs of [0, 1.5, 1_763_740_800_123.456, 2_000_000_000_000.999]) {
    assert.ok(Math.abs(epochMsFromNtp(ntpFromEpochMs(epochMs)) - epochMs) < 0.001, `${epochMs} ms`);
  }
});

Deno.test("compact NTP is the middle 32 bits, what receiver reports echo as LSR", () => {
  assert.equal(compactNtp(0xb44d_b705_2000_0000n), 0xb705_2000);
  assert.equal(compactNtp(0xffff_ffff_ffff_ffffn), 0xffff_ffff);
});

Deno.test("a report's RTP timestamp is the packets' capture clock at the report's NTP time", () => {
  const origin = 1_763_740_800_000.25;
  const cases: [sinceOriginMs: number, rtp: number][] = [
    [0, 0],
    [1000, 90_000],
    [33.3333, 3000],
    // 2^32 ticks of 90 kHz are 13.25 hours: the RTP clock wraps, the NTP clock does not.
    [(2 ** 32 / 90) + 1, 90],
  ];
  for (const [sinceOriginMs, rtp] of cases) {
    const clock = reportClock(origin, sinceOriginMs);
    assert.equal(clock.rtpTimestamp, rtp, `${sinceOriginMs} ms`);
    assert.ok(Math.abs(epochMsFromNtp(clock.ntpTimestamp) - (origin + sinceOriginMs)) < 0.001);
  }
  // What a receiver does: two reports, the wall clock between them equals the RTP ticks / 90.
  const a = reportClock(origin, 5000);
  const b = reportClock(origin, 6234.5);
  const wallMs = epochMsFromNtp(b.ntpTimestamp) - epochMsFromNtp(a.ntpTimestamp);
  assert.ok(Math.abs(wallMs - (b.rtpTimestamp - a.rtpTimestamp) / 90) < 0.02);
});

Deno.test("round trip = arrival - LSR - DLSR; no report answered or a negative result gives none", () => {
  // RFC 3550 figure 2: arrival 0xb710:8000, LSR 0xb705:2000, DLSR 0x0005:4000 → 6.125 s.
  const arrival = 0xb44d_b710_8000_0000n;
  const cases: [lsr: number, dlsr: number, rttMs: number | undefined][] = [
    [0xb705_2000, 0x0005_4000, 6125],
    [0xb710_8000, 0, 0],
    [0xb710_7fbe, 0, (0x42 / 65536) * 1000],
    [0, 0x0005_4000, undefined],
    [0xb710_8001, 0, undefined],
  ];
  for (const [lsr, dlsr, rttMs] of cases) {
    assert.equal(roundTripMs(arrival, lsr, dlsr), rttMs, `lsr ${lsr.toString(16)} dlsr ${dlsr.toString(16)}`);
  }
  // Across the wrap of the 16.16 clock (every 18.2 hours).
  assert.equal(roundTripMs(0x0001_0000_4000_0000n, 0xffff_8000, 0), 750);
});
