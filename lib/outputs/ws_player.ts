/**
 * The WebSocket player output in the jmuxer WebSocket format: one binary message per access unit.
 */
import type { AccessUnit } from "../stream/access_unit.ts";
import type { Stream } from "../stream/stream.ts";

/** Above this many unsent bytes a socket counts as slow and its reader queue takes the backlog. */
const HIGH_WATER_BYTES = 1024 * 1024;
const DRAIN_POLL_MS = 10;

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

/**
 * Plays a stream into an open WebSocket until either side closes. A player that reads slower than
 * the camera lets its reader overflow and skip to the next keyframe; nobody else waits for it.
 */
export async function pipeStreamToWebSocket(stream: Stream, socket: WebSocket): Promise<void> {
  const reader = stream.subscribe();
  const closed = new Promise<void>((resolve) => socket.addEventListener("close", () => resolve()));
  closed.then(() => reader.close());
  try {
    for await (const au of reader) {
      if (socket.readyState !== WebSocket.OPEN) break;
      while (socket.bufferedAmount > HIGH_WATER_BYTES && socket.readyState === WebSocket.OPEN) {
        await new Promise((resolve) => setTimeout(resolve, DRAIN_POLL_MS));
      }
      if (socket.readyState !== WebSocket.OPEN) break;
      socket.send(frameMessage(au));
    }
  } finally {
    reader.close();
    if (socket.readyState === WebSocket.OPEN) socket.close(1001, "stream closed");
  }
}
