/**
 * Starts werift's DTLS client handshake as soon as the transport starts. werift 0.25.2's
 * `RTCDtlsTransport.start` waits a fixed 100 ms before the client's first flight (ClientHello), and our
 * answers make werift the DTLS client of every browser, OBS and WHEP player that offers
 * `a=setup:actpass`: each of them waited those 100 ms for its first picture, out of about 115 ms from ICE
 * connected to DTLS connected on loopback.
 *
 * The wait was werift's guard against a ClientHello that comes before the peer's DTLS server listens: we
 * are ICE's controlled side and see ICE connected first, and a werift peer drops what comes before its
 * DTLS transport has started (Chromium keeps an early ClientHello for later). So the same ClientHello is
 * sent again after RESEND_AFTER_MS while no answer has come; a server that got it twice answers the
 * same HelloVerifyRequest twice and dtls_client.ts drops the repeat. werift's own delayed call then gets
 * the handshake already under way, not a second one. No werift file is patched and no other peer
 * connection is affected.
 */
import type { Buffer } from "node:buffer";
import { DtlsClient, type RTCDtlsTransport } from "werift";
import { whenDtlsStarts } from "./dtls_start.ts";

/** When the ClientHello is sent again while the server has not answered, ms after the first. */
export const RESEND_AFTER_MS = [10, 25, 50, 100];
/** werift's DTLS context flight while the ClientHello waits for its answer. */
const FLIGHT_1 = 1;

/** Makes this transport's DTLS client send its first flight at once. Call before the transport starts. */
export function connectAtOnce(transport: RTCDtlsTransport): void {
  whenDtlsStarts(transport, (dtls) => {
    if (!(dtls instanceof DtlsClient)) return;
    // The first flight is sent synchronously inside connect(): keep its bytes to send them again.
    const socket = dtls.transport as unknown as { send(data: Buffer): Promise<unknown> };
    const send = socket.send;
    let hello: Buffer | undefined;
    socket.send = (data: Buffer) => {
      hello ??= data;
      return send.call(socket, data);
    };
    const handshake = dtls.connect();
    socket.send = send;
    // werift attaches its own handler when it calls connect() 100 ms later; until then a failure must
    // not count as unhandled.
    handshake.catch(() => {});
    dtls.connect = () => handshake;
    for (const ms of RESEND_AFTER_MS) {
      setTimeout(() => {
        if (hello && dtls.dtls.flight === FLIGHT_1 && transport.state === "connecting") {
          send.call(socket, hello).catch(() => {});
        }
      }, ms);
    }
  });
}
