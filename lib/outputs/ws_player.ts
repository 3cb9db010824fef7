/**
 * The WebSocket player output in the jmuxer WebSocket format: one binary message per access unit, to a
 * bounded number of players, each with a bounded send buffer.
 */
import { UnavailableError } from "../errors.ts";
import type { Log, Logger } from "../log.ts";
import type { AccessUnit } from "../stream/access_unit.ts";
import type { Stream } from "../stream/stream.ts";

/**
 * Unsent bytes above which a socket counts as slow: it skips to the next keyframe instead of queueing
 * more (about a second of a 2 Mbit/s stream; the kernel's socket buffer holds more besides).
 */
export const HIGH_WATER_BYTES = 256 * 1024;
/** A skipping socket resumes at a keyframe only once its unsent bytes fell below this. */
export const LOW_WATER_BYTES = 64 * 1024;
/** A socket still over the low water mark this long after it began skipping is closed: its client is gone or stuck. */
export const STUCK_MS = 10_000;
/** WebSocket close code for a player that cannot keep up (RFC 6455 §7.4.1: policy violation). */
const CLOSE_TOO_SLOW = 1008;

/** Every WebSocket reader of an access unit shares one framed message. */
const framed = new WeakMap<AccessUnit, Uint8Array>();

/**
 * The jmuxer WebSocket format's message: the access unit's Annex-B bytes followed by the capture time in ms
 * since the epoch as a little-endian uint64. Built once per access unit, whatever the number of players.
 */
export function frameMessage(au: AccessUnit): Uint8Array {
  let message = framed.get(au);
  if (!message) {
    message = new Uint8Array(au.data.length + 8);
    message.set(au.data, 0);
    new DataView(message.buffer).setBigUint64(au.data.length, BigInt(Math.round(au.captureMs)), true);
    framed.set(au, message);
  }
  return message;
}

/** What a player does with an access unit, given its socket's backlog. */
export type SendDecision = "send" | "skip" | "close";

/**
 * The send rule of one player, pure: under the high water mark every access unit is sent; over it the
 * player skips to the next keyframe; a skipping player resumes at a keyframe once under the low water mark,
 * and is closed when it has not got there within STUCK_MS of starting to skip.
 */
export function sendDecision(
  au: { keyframe: boolean },
  bufferedBytes: number,
  skippingSinceMs: number | undefined,
  nowMs: number,
): SendDecision {
  if (skippingSinceMs === undefined) return bufferedBytes > HIGH_WATER_BYTES ? "skip" : "send";
  if (au.keyframe && bufferedBytes <= LOW_WATER_BYTES) return "send";
  return nowMs - skippingSinceMs >= STUCK_MS ? "close" : "skip";
}

/** The bounds on WebSocket players (from `[limits]`). */
export interface WsPlayerLimits {
  maxWsPlayersPerStream: number;
  maxWsPlayers: number;
}

/** The WebSocket players of this service: admitted within the limits, each fed from its own reader. */
export class WsPlayers {
  readonly #perStream = new Map<string, number>();
  #total = 0;

  readonly log: Logger;

  constructor(private readonly limits: WsPlayerLimits, log: Log) {
    this.log = log.logger("ws");
  }

  /** Players of this stream now. */
  count(streamName: string): number {
    return this.#perStream.get(streamName) ?? 0;
  }

  /**
   * Takes a player's place on `stream` (UnavailableError when the stream or the service has its players);
   * the place is freed by the function returned, once (later calls do nothing), when the socket has closed.
   */
  admit(stream: Stream): () => void {
    const count = this.count(stream.name);
    if (count >= this.limits.maxWsPlayersPerStream) {
      throw new UnavailableError(
        `stream "${stream.name}" has its ${this.limits.maxWsPlayersPerStream} WebSocket players (limits.max_ws_players_per_stream)`,
        5,
      );
    }
    if (this.#total >= this.limits.maxWsPlayers) {
      throw new UnavailableError(
        `the service has its ${this.limits.maxWsPlayers} WebSocket players (limits.max_ws_players)`,
        5,
      );
    }
    this.#perStream.set(stream.name, count + 1);
    this.#total++;
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.#total--;
      const left = this.count(stream.name) - 1;
      if (left > 0) this.#perStream.set(stream.name, left);
      else this.#perStream.delete(stream.name);
    };
  }

  /**
   * Plays a stream into an open WebSocket until either side closes (see sendDecision). The reader is
   * drained as frames come, so a slow player holds at most its socket's backlog, which the memory guard
   * sees as the reader's backlog; nobody else ever waits for it.
   */
  async play(stream: Stream, socket: WebSocket): Promise<void> {
    const reader = stream.subscribe();
    const session = crypto.randomUUID();
    stream.announce("viewer_joined", { protocol: "ws", session });
    reader.backlogBytes = () => socket.bufferedAmount;
    socket.addEventListener("close", () => reader.close());
    let skippingSince: number | undefined;
    try {
      for await (const au of reader) {
        if (socket.readyState !== WebSocket.OPEN) break;
        const now = performance.now();
        const decision = sendDecision(au, socket.bufferedAmount, skippingSince, now);
        if (decision === "close") {
          // The close frame waits behind the backlog, so the socket may linger until its client goes:
          // it keeps its place (bounding what lingers) but no longer reads the stream.
          this.log.info(
            `${stream.name}: WebSocket player could not keep up for ${STUCK_MS / 1000} s; closing it`,
          );
          socket.close(CLOSE_TOO_SLOW, "could not keep up");
          break;
        }
        if (decision === "skip") {
          skippingSince ??= now;
          // Nothing more is queued for this socket until a keyframe; a WHIP source is asked for one.
          reader.cutToKeyframe();
          continue;
        }
        skippingSince = undefined;
        socket.send(frameMessage(au));
      }
    } finally {
      reader.close();
      if (socket.readyState === WebSocket.OPEN) socket.close(1001, "stream closed");
      stream.announce("viewer_left", { protocol: "ws", session });
    }
  }
}
