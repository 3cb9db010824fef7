import assert from "node:assert/strict";
import {
  type NackOutcome,
  RetransmitHistory,
  type RetransmitLimits,
  type SentPacket,
} from "../../lib/webrtc/rtp/nack.ts";

const LIMITS: RetransmitLimits = {
  historyPackets: 8,
  bitrateShare: 0.25,
  burstBytes: 3 * 112,
  minIntervalMs: 10,
};

/** A packet of 112 bytes on the wire (12 header + 100 payload). */
function packet(sequenceNumber: number): SentPacket {
  return { sequenceNumber, timestamp: sequenceNumber * 3000, marker: true, payload: new Uint8Array(100) };
}

/** Records a 112-byte packet as sent. */
function sent(history: RetransmitHistory, seq: number): void {
  const p = packet(seq);
  history.sent(p.sequenceNumber, p.timestamp, p.marker, p.payload);
}

/** A history that has sent these sequence numbers. */
function historyOf(limits: RetransmitLimits, ...seqs: number[]): RetransmitHistory {
  const history = new RetransmitHistory(limits);
  for (const seq of seqs) sent(history, seq);
  return history;
}

/** The outcome with the resent packets reduced to their sequence numbers. */
function summary(outcome: NackOutcome) {
  return { ...outcome, resend: outcome.resend.map((p) => p.sequenceNumber) };
}

Deno.test("a NACK of one request: resent, duplicate, over the cap, or unknown", () => {
  const sent = [100, 101, 102, 103, 104, 105, 106, 107];
  const cases: {
    name: string;
    lost: number[];
    resend: number[];
    duplicate: number;
    overCap: number;
    unknown: number;
  }[] = [
    { name: "one lost packet", lost: [105], resend: [105], duplicate: 0, overCap: 0, unknown: 0 },
    {
      name: "the same number twice in one NACK",
      lost: [105, 105],
      resend: [105],
      duplicate: 1,
      overCap: 0,
      unknown: 0,
    },
    {
      name: "more than the burst",
      lost: [100, 101, 102, 103, 104],
      resend: [100, 101, 102],
      duplicate: 0,
      overCap: 2,
      unknown: 0,
    },
    { name: "never sent", lost: [108, 99], resend: [], duplicate: 0, overCap: 0, unknown: 2 },
    // The ring holds 8: seq 92 shares 100's slot, and 100 replaced it.
    { name: "older than the history", lost: [92], resend: [], duplicate: 0, overCap: 0, unknown: 1 },
  ];
  for (const { name, lost, ...expected } of cases) {
    const outcome = historyOf(LIMITS, ...sent).nack(lost, 0, 50);
    assert.deepEqual(summary(outcome), expected, name);
  }
});

Deno.test("a packet is resent at most once per round trip", () => {
  const history = historyOf({ ...LIMITS, burstBytes: 100 * 112 }, 1, 2, 3);
  const steps: [nowMs: number, rttMs: number, resent: boolean][] = [
    [1000, 50, true],
    [1010, 50, false],
    [1049, 50, false],
    [1050, 50, true],
    // The RTT changed: the next repeat is measured with the new one.
    [1100, 200, false],
    [1250, 200, true],
    // A loopback RTT far under the floor still waits the minimum interval.
    [1255, 0.3, false],
    [1260, 0.3, true],
  ];
  for (const [nowMs, rttMs, resent] of steps) {
    const outcome = history.nack([2], nowMs, rttMs);
    assert.equal(outcome.resend.length, resent ? 1 : 0, `at ${nowMs} ms, RTT ${rttMs}`);
    assert.equal(outcome.duplicate, resent ? 0 : 1);
  }
});

Deno.test("retransmitted bytes stay within the share of the bytes sent, plus the burst", () => {
  const history = new RetransmitHistory(LIMITS);
  let sentBytes = 0;
  let resentBytes = 0;
  // A flood: every packet sent is followed by a NACK for the last 8, each time a round trip later.
  for (let seq = 0; seq < 1000; seq++) {
    sent(history, seq);
    sentBytes += 112;
    const lost = Array.from({ length: 8 }, (_, i) => (seq - i) & 0xffff);
    resentBytes += history.nack(lost, seq * 100, 50).resend.length * 112;
    assert.ok(resentBytes <= sentBytes * LIMITS.bitrateShare + LIMITS.burstBytes, `after ${seq}`);
  }
  // The budget is used, not just withheld: a quarter of 1000 packets, give or take the burst.
  assert.ok(resentBytes >= 0.25 * sentBytes, `${resentBytes} of ${sentBytes}`);
});

Deno.test("the budget refills from the bytes sent and never beyond the burst", () => {
  const history = historyOf(LIMITS, 0, 1, 2, 3, 4, 5, 6, 7);
  assert.equal(history.nack([0, 1, 2, 3], 0, 50).resend.length, 3, "the burst");
  // Four more packets sent earn a quarter of their bytes: one packet's worth.
  for (const seq of [8, 9, 10, 11]) sent(history, seq);
  assert.equal(history.nack([4, 5], 0, 50).resend.length, 1);
  // A long quiet run earns no more than the burst.
  for (let seq = 12; seq < 200; seq++) sent(history, seq);
  assert.equal(history.nack([192, 193, 194, 195, 196, 197, 198, 199], 0, 50).resend.length, 3);
});

Deno.test("sequence numbers wrap at 2^16 without losing the history", () => {
  const history = historyOf(LIMITS, 65533, 65534, 65535, 0, 1, 2);
  assert.deepEqual(history.nack([65535, 0], 0, 50).resend.map((p) => p.sequenceNumber), [65535, 0]);
});
