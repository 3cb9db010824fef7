/**
 * The per-camera WebSocket JSON signaling of the Pion-based Pi camera streamers: JSON messages over a
 * WebSocket, one viewer per socket, answered by the same WHEP sessions as `POST /whep/<stream>`. The client
 * sends `{"type":"offer","sdp"}` and may trickle
 * `{"type":"candidate","candidate":{"candidate":"candidate:..."}}`; the server answers
 * `{"type":"answer","sdp","session"}` with every server candidate in it (so it sends none separately), or
 * `{"type":"error","message"}`. `session` (not in that protocol) is the WHEP session URL. Closing the socket
 * ends the session, and a session that ends closes its socket.
 */
import { BadRequestError, NotFoundError } from "../errors.ts";
import type { RateLimitedLog } from "../log.ts";
import type { Stream } from "../stream/stream.ts";
import type { WhepSessions } from "../outputs/whep.ts";

/** A client message, checked. `candidate` is null for an end-of-candidates message. */
export type SignalMessage = { type: "offer"; sdp: string } | { type: "candidate"; candidate: string | null };

/** Parses one client message; anything else is a BadRequestError that says what was expected. */
export function parseSignal(text: unknown): SignalMessage {
  if (typeof text !== "string") throw new BadRequestError("messages must be JSON text, not binary");
  let msg: unknown;
  try {
    msg = JSON.parse(text);
  } catch {
    throw new BadRequestError("message is not JSON");
  }
  if (typeof msg !== "object" || msg === null) throw new BadRequestError("message is not a JSON object");
  const { type, sdp, candidate } = msg as Record<string, unknown>;
  if (type === "offer") {
    if (typeof sdp !== "string") throw new BadRequestError(`an offer needs "sdp" as a string`);
    return { type, sdp };
  }
  if (type === "candidate") {
    // RTCIceCandidateInit as the browser's onicecandidate gives it; null or "" ends the candidates.
    const line = typeof candidate === "object" && candidate !== null
      ? (candidate as Record<string, unknown>).candidate
      : candidate;
    if (line === null || line === undefined || line === "") return { type, candidate: null };
    // One line only: it becomes an a= line of an sdpfrag.
    if (typeof line !== "string" || !/^(a=)?candidate:[^\r\n]+$/.test(line)) {
      throw new BadRequestError(`"candidate.candidate" must be one "candidate:..." line`);
    }
    return { type, candidate: line.replace(/^a=/, "") };
  }
  throw new BadRequestError(`unknown message type ${JSON.stringify(type)} (expected "offer" or "candidate")`);
}

/** Largest signaling message taken, as for an HTTP offer: real ones are a few KiB. */
export const MAX_SIGNAL_BYTES = 128 * 1024;
/** Messages waiting behind the one being handled; a client past this is flooding, not signaling. */
export const MAX_QUEUED_SIGNALS = 64;
/**
 * A message's size: a text one's length, a binary one's bytes (an ArrayBuffer or a Blob, by the
 * socket's binaryType). A binary message is no signaling either, but its size must not escape the cap.
 */
function messageSize(data: unknown): number {
  if (typeof data === "string") return data.length;
  if (data instanceof ArrayBuffer) return data.byteLength;
  if (data instanceof Blob) return data.size;
  return 0;
}

/** WebSocket close codes (RFC 6455 §7.4.1). */
const CLOSE_POLICY = 1008;
const CLOSE_TOO_BIG = 1009;

/**
 * Serves one signaling socket for `stream` until it closes; the session it made ends with it. A message
 * over MAX_SIGNAL_BYTES, or more than MAX_QUEUED_SIGNALS waiting, closes the socket; bad messages are
 * answered each, and logged to `refusals` (rate-limited). `address` is the client's, which bounds the sessions
 * it may leave connecting (see PeerSessions.open).
 */
export function serveSignaling(
  socket: WebSocket,
  stream: Stream,
  whep: WhepSessions,
  refusals: RateLimitedLog,
  address: string,
): void {
  let sessionId: string | undefined;
  let closed = false;
  const send = (message: Record<string, string>) => {
    if (socket.readyState === WebSocket.OPEN) socket.send(JSON.stringify(message));
  };
  const end = () => {
    if (sessionId === undefined) return;
    try {
      whep.delete(stream.name, sessionId);
    } catch (err) {
      // The session may have ended by itself (ICE failure) before the socket closed.
      if (!(err instanceof NotFoundError)) throw err;
    }
  };
  const handle = async (data: unknown) => {
    const message = parseSignal(data);
    if (message.type === "offer") {
      if (sessionId !== undefined) throw new BadRequestError("this socket already has a session");
      const answer = await whep.create(stream, message.sdp, address);
      sessionId = answer.id;
      if (closed) return end();
      // `session` is ours, not the protocol's: the WHEP session URL, so a client can also DELETE it.
      send({ type: "answer", sdp: answer.sdp, session: `/whep/${stream.name}/${answer.id}` });
      // A session that ends by itself (ICE failure, consent expiry) closes its socket: the client
      // learns at once and can offer again.
      answer.ended.then(() => socket.readyState === WebSocket.OPEN && socket.close(1000, "session ended"));
    } else if (message.candidate !== null) {
      if (sessionId === undefined) throw new BadRequestError("a candidate before the offer");
      await whep.addCandidates(stream.name, sessionId, "*", `a=${message.candidate}\r\n`);
    }
  };
  let refused = false;
  const refuse = (code: number, text: string) => {
    refused = true;
    refusals.write(`${stream.name}: ${text}; closing the socket`);
    send({ type: "error", message: text });
    socket.close(code, text);
  };
  // One message at a time, so a candidate sent right after the offer waits for the session.
  let queue = Promise.resolve();
  let queued = 0;
  socket.addEventListener("message", (event) => {
    if (refused) return;
    if (messageSize(event.data) > MAX_SIGNAL_BYTES) {
      return refuse(CLOSE_TOO_BIG, `message over ${MAX_SIGNAL_BYTES} bytes`);
    }
    if (++queued > MAX_QUEUED_SIGNALS) {
      return refuse(CLOSE_POLICY, `over ${MAX_QUEUED_SIGNALS} messages waiting`);
    }
    queue = queue.then(() => handle(event.data)).catch((err) => {
      const text = err instanceof Error ? err.message.split("\n")[0] : String(err);
      refusals.write(`${stream.name}: ${text}`);
      send({ type: "error", message: text });
    }).finally(() => queued--);
  });
  socket.addEventListener("close", () => {
    closed = true;
    queue = queue.then(end);
  });
}
