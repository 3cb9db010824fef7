/**
 * The retransmission policy for one viewer: which NACKed packets are sent again. werift's stock sender
 * answers every NACK from its cache with no limit, and its own receivers repeat a NACK every 5 ms up to 10
 * times, so 36 lost packets became 32k-50k retransmissions at 20 viewers (measured with werift 0.25.2's stock
 * sender). Here a lost packet is resent at most once per round trip (a repeat sooner cannot have been
 * answered yet), the retransmitted bytes are capped to a share of the bytes sent (so repair never costs more
 * than that share of the viewer's bitrate), and a packet older than the history is gone.
 */

/** RTP header bytes of the packets we send: no CSRCs, no header extensions negotiated. */
export const RTP_HEADER_BYTES = 12;

/** A packet to send again as it was first sent. */
export interface SentPacket {
  sequenceNumber: number;
  timestamp: number;
  marker: boolean;
  payload: Uint8Array;
}

/** The limits of one viewer's retransmissions. */
export interface RetransmitLimits {
  /** Packets remembered; a NACK for anything older is ignored. */
  historyPackets: number;
  /** Retransmitted bytes may reach this share of the bytes sent (the refill of the token bucket). */
  bitrateShare: number;
  /** Bucket size in bytes: how much may go out at once after a quiet spell. */
  burstBytes: number;
  /** Shortest interval between two resends of one packet when the RTT is below it, in ms. */
  minIntervalMs: number;
}

/** The limits every WHEP viewer gets. */
export const DEFAULT_RETRANSMIT_LIMITS: RetransmitLimits = {
  // 512 packets: about 1 s of a 4 Mbit/s stream, several round trips even on a poor Wi-Fi link.
  historyPackets: 512,
  bitrateShare: 0.15,
  // Eight full packets: repairs a short loss burst at once; a longer one waits for the NACK's repeat.
  burstBytes: 8 * (1200 + RTP_HEADER_BYTES),
  // On loopback the RTT is well under 1 ms; NACK repeats that close together are still duplicates.
  minIntervalMs: 10,
};

/** Round trip assumed until receiver reports have measured one. */
export const DEFAULT_RTT_MS = 100;

/** What became of the sequence numbers of one NACK. */
export interface NackOutcome {
  /** Packets to send again, in the order the NACK listed them. */
  resend: SentPacket[];
  /** Already resent less than a round trip ago. */
  duplicate: number;
  /** Cached, but the retransmission budget was spent. */
  overCap: number;
  /** Never sent, or older than the history. */
  unknown: number;
}

/**
 * The packets recently sent to one viewer and the budget for sending them again. The ring is kept in
 * parallel arrays allocated once, so remembering a packet allocates nothing on the per-packet path.
 */
export class RetransmitHistory {
  readonly #seq: Int32Array;
  readonly #timestamp: Uint32Array;
  readonly #marker: Uint8Array;
  /** When each packet was last resent (ms, the caller's clock); -Infinity until then. */
  readonly #resentAtMs: Float64Array;
  readonly #payload: (Uint8Array | undefined)[];
  #tokens: number;

  constructor(readonly limits: RetransmitLimits = DEFAULT_RETRANSMIT_LIMITS) {
    const n = limits.historyPackets;
    this.#seq = new Int32Array(n).fill(-1);
    this.#timestamp = new Uint32Array(n);
    this.#marker = new Uint8Array(n);
    this.#resentAtMs = new Float64Array(n);
    this.#payload = new Array(n);
    this.#tokens = limits.burstBytes;
  }

  /** Remembers a packet as sent; its size earns the retransmission budget its share. */
  sent(sequenceNumber: number, timestamp: number, marker: boolean, payload: Uint8Array): void {
    const i = sequenceNumber % this.#seq.length;
    this.#seq[i] = sequenceNumber;
    this.#timestamp[i] = timestamp;
    this.#marker[i] = marker ? 1 : 0;
    this.#resentAtMs[i] = -Infinity;
    this.#payload[i] = payload;
    const bytes = RTP_HEADER_BYTES + payload.byteLength;
    this.#tokens = Math.min(this.limits.burstBytes, this.#tokens + bytes * this.limits.bitrateShare);
  }

  /** Decides which of the NACKed sequence numbers to resend at `nowMs`, given the viewer's RTT. */
  nack(lost: readonly number[], nowMs: number, rttMs: number): NackOutcome {
    const outcome: NackOutcome = { resend: [], duplicate: 0, overCap: 0, unknown: 0 };
    const intervalMs = Math.max(rttMs, this.limits.minIntervalMs);
    for (const seq of lost) {
      const i = seq % this.#seq.length;
      const payload = this.#payload[i];
      // A slot holds the latest packet with that index: any other number is older than the history.
      if (this.#seq[i] !== seq || !payload) {
        outcome.unknown++;
        continue;
      }
      const bytes = RTP_HEADER_BYTES + payload.byteLength;
      if (nowMs - this.#resentAtMs[i] < intervalMs) {
        outcome.duplicate++;
      } else if (bytes > this.#tokens) {
        outcome.overCap++;
      } else {
        this.#tokens -= bytes;
        this.#resentAtMs[i] = nowMs;
        outcome.resend.push({
          sequenceNumber: seq,
          timestamp: this.#timestamp[i],
          marker: this.#marker[i] === 1,
          payload,
        });
      }
    }
    return outcome;
  }
}
