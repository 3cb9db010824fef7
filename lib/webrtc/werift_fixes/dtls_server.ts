/**
 * Keeps werift's DTLS *server* from processing a retransmitted client flight. The service is one when
 * a viewer's offer says `a=setup:active` (whep.ts); werift peers that offer are too: the benchmark's
 * viewers and the tests' WhepViewer. werift 0.25.2's server handles each ClientKeyExchange it receives until
 * its `connected` flag is set, which happens a few awaits after it has handled the client's Finished
 * and sent its own. A copy of the client's flight 5 that arrives in that gap (the client retransmitted
 * it, or resent it on seeing our flight 4 twice, while this process was too busy to read its socket)
 * makes the server derive its master secret again, now over a handshake hash that also holds
 * CertificateVerify and the Finished messages: its SRTP keys then differ from the client's, and every
 * packet fails authentication ("dropping invalid SRTP packet") while ICE and DTLS both report
 * connected. With 30 werift viewers in another process (the benchmark's 1280x720 ~4 Mbit/s stream on
 * 2 cores), 6 of 350 viewers ended up that way: 0 packets, same randoms as the service, another
 * master secret, each after reading a second copy of the service's Certificate and ClientKeyExchange
 * between its Finished and `connected`. A repeated ClientHello without a cookie after flight 4 would
 * do similar harm (werift makes a new server random and ECDHE key pair for it); it is dropped too.
 *
 * RFC 6347 §4.2.4: a retransmitted handshake message (one whose message_seq was already processed) is
 * not processed again; seeing the peer's previous flight again means our last flight was lost, so it
 * is sent again. Applied on one transport by wrapping the instance's handshake entry point, as
 * dtls_client.ts does for the client. No werift file is patched.
 */
import { DtlsServer, type RTCDtlsTransport } from "werift";
import { resendLastFlight, whenDtlsStarts } from "./dtls_start.ts";

/** Handshake types of the client's messages that werift answers by sending its flight again. */
const CLIENT_HELLO = 1;
const FINISHED = 20;
/** werift's DTLS context states: the flight the server last sent. */
const FLIGHT_2 = 2;
const FLIGHT_4 = 4;
const FLIGHT_6 = 6;

type Handshakes = Parameters<DtlsServer["onHandleHandshakes"]>[0];

/**
 * Makes this transport's DTLS server (created when the transport starts) handle each client handshake
 * message once. Call it before the transport starts, e.g. before setRemoteDescription.
 */
export function handleClientHandshakesOnce(transport: RTCDtlsTransport): void {
  whenDtlsStarts(transport, (dtls) => {
    if (dtls instanceof DtlsServer) dropRetransmissions(dtls);
  });
}

function dropRetransmissions(server: DtlsServer): void {
  const handle = server.onHandleHandshakes;
  const seen = new Set<number>();
  let lastHello = -1;
  server.onHandleHandshakes = (assembled: Handshakes) => {
    const passed: Handshakes = [];
    for (const h of assembled) {
      if (!seen.has(h.message_seq)) {
        seen.add(h.message_seq);
        if (h.msg_type === CLIENT_HELLO) lastHello = h.message_seq;
        passed.push(h);
      } else if (h.msg_type === CLIENT_HELLO && h.message_seq === lastHello) {
        // Our HelloVerifyRequest or flight 4 was lost: werift sends it again for the same hello and
        // derives nothing from it, as long as it is still waiting in that flight.
        const flight = server.dtls.flight;
        if ((flight === FLIGHT_2 || flight === FLIGHT_4) && !server.connected) passed.push(h);
      } else if (h.msg_type === FINISHED && server.dtls.flight === FLIGHT_6) {
        // The client did not get our ChangeCipherSpec + Finished: send the same bytes again.
        resendLastFlight(server);
      }
    }
    return passed.length > 0 ? handle(passed) : Promise.resolve();
  };
}
