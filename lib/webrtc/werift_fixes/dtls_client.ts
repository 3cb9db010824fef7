/**
 * Keeps werift's DTLS client from running its handshake twice. Browsers offer `a=setup:actpass`, so
 * our answer makes werift the DTLS client. werift 0.25.2's client treats a retransmitted server flight
 * (ServerHello … ServerHelloDone, sent again when our flight 5 was slower than the browser's
 * retransmission timer, which happens on a loaded machine) as a new one: ServerKeyExchange makes a
 * fresh ECDHE key pair and ServerHelloDone runs flight 5 again unless the client is still in flight 5.
 * When that repeat lands just after the server's Finished, the client derives a second master secret
 * from the new key pair; if it does so before the transport extracts its SRTP keys, every packet we
 * send fails the browser's SRTP authentication (Chromium logs "Failed to unprotect RTP packet",
 * err=7) while ICE and DTLS both report connected: the viewer gets nothing, ever. When it lands
 * later, the SRTP keys survive but the client restarts its flight 5 retransmissions and, after ten,
 * fails the transport.
 *
 * RFC 6347 §4.2.4: a retransmitted handshake message (one whose message_seq was already processed)
 * is not processed again; seeing the peer's previous flight again means our last flight was lost, so
 * it is sent again. This module applies that rule on one transport, by wrapping the instance's
 * handshake entry point (`onHandleHandshakes`, called per received message) the way viewer_rtp.ts
 * shadows `handleRtcpPacket`. No werift file is patched and no other peer connection is affected.
 */
import { DtlsClient, type RTCDtlsTransport } from "werift";
import { resendLastFlight, whenDtlsStarts } from "./dtls_start.ts";

/** werift's DTLS context state: the flight it is in (5 = sent ours, waiting for the server's Finished). */
const FLIGHT_5 = 5;
/** Handshake type of ServerHelloDone, the last message of the server's flight 4. */
const SERVER_HELLO_DONE = 14;

type Handshakes = Parameters<DtlsClient["onHandleHandshakes"]>[0];

/**
 * Makes this transport's DTLS client (created when the transport starts) handle each server handshake
 * message once. Call it before the transport starts, e.g. right after setRemoteDescription.
 */
export function handleServerHandshakesOnce(transport: RTCDtlsTransport): void {
  whenDtlsStarts(transport, (dtls) => {
    if (dtls instanceof DtlsClient) dropRetransmissions(dtls);
  });
}

function dropRetransmissions(client: DtlsClient): void {
  const handle = client.onHandleHandshakes;
  const seen = new Set<number>();
  client.onHandleHandshakes = (assembled: Handshakes) => {
    const fresh = assembled.filter((h) => !seen.has(h.message_seq));
    const repeatedFlight = assembled.some((h) => seen.has(h.message_seq) && h.msg_type === SERVER_HELLO_DONE);
    for (const h of fresh) seen.add(h.message_seq);
    if (repeatedFlight && client.dtls.flight === FLIGHT_5) {
      // The server did not get our flight 5: send the same bytes again (same key share).
      resendLastFlight(client);
    }
    return fresh.length > 0 ? handle(fresh) : Promise.resolve();
  };
}
