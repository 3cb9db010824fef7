/**
 * The two hooks our corrections to werift's DTLS need: the moment a transport's DTLS socket exists,
 * and sending our last flight again. Shared by dtls_client.ts, dtls_server.ts and dtls_alert.ts.
 */
import type { DtlsSocket, RTCDtlsTransport } from "werift";

/**
 * Calls `onSocket` with this transport's DTLS socket (client or server) as soon as it exists: at once
 * if the transport has started, else inside `start()`, which creates the socket synchronously before
 * its first await, so no datagram has been handled yet.
 */
export function whenDtlsStarts(transport: RTCDtlsTransport, onSocket: (dtls: DtlsSocket) => void): void {
  if (transport.dtls) {
    onSocket(transport.dtls);
    return;
  }
  const start = transport.start.bind(transport);
  transport.start = () => {
    const started = start();
    if (transport.dtls) onSocket(transport.dtls);
    return started;
  };
}

/** Sends the same bytes of our last flight again: the peer's repeat says it did not get them. */
export function resendLastFlight(dtls: DtlsSocket): void {
  for (const record of dtls.dtls.lastMessage) dtls.transport.send(record).catch(() => {});
}
