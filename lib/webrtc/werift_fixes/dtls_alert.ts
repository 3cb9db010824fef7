/**
 * Ends a session as soon as the viewer's DTLS says the viewer is gone. A browser whose RTCPeerConnection
 * closes (`pc.close()`, or its page navigating away or reloading; Chromium sends nothing when the tab
 * itself is closed) sends a DTLS close_notify alert, whether or not the page sends the WHEP DELETE.
 * Without acting on it, the session keeps its reader, its send loop and one of the stream's max_clients
 * until ICE consent expires, 30 s later (RFC 7675).
 *
 * werift 0.25.2 reads alerts but gets them wrong both ways. Its record parser takes an alert as
 * plaintext unless the description byte is unknown (so an epoch-0, unauthenticated alert counts, and
 * werift's ICE passes on datagrams from any source address), takes a record of any unknown content type
 * for an alert too, and throws away fatal alerts (it throws, and the throw is caught and logged at debug
 * level). A warning alert only sets the RTCDtlsTransport's state to "closed": the peer connection stays
 * "connected", so nothing frees the session, but our RtpWriter stops sending on a transport that is not
 * "connected". So one forged or stale plaintext close_notify would leave a live viewer with no video,
 * its session held open by the viewer's consent replies.
 *
 * This module takes DTLS alerts away from werift on one transport, by wrapping the instance's datagram
 * entry point (the ICE transport's `onData`, which werift's DtlsSocket set to its record handler) the
 * way dtls_client.ts wraps the handshake handler: records that are not ChangeCipherSpec, handshake or
 * application data never reach werift. An alert is reported only when it is, without doubt, the
 * viewer's: after the handshake (the transport is "connected"), in an encrypted epoch (> 0), and
 * authenticated by the session's own DTLS keys (AES-GCM). A plaintext alert (stale, from a handshake, or
 * forged), a record that fails authentication (another or an earlier session on the same port) and an
 * alert during the handshake (the session's connect timeout drops a viewer gone by then) change
 * nothing. Only close_notify or a fatal alert counts; other warnings are not a closure. No werift file
 * is patched and no other peer connection is affected.
 */
import { Buffer } from "node:buffer";
import type { DtlsSocket, RTCDtlsTransport } from "werift";
import { whenDtlsStarts } from "./dtls_start.ts";

/** DTLS record content types (RFC 6347 §4.1) werift handles itself; anything else is taken from it. */
const CHANGE_CIPHER_SPEC = 20;
const ALERT = 21;
const HANDSHAKE = 22;
const APPLICATION_DATA = 23;
/** Record header: type (1), version (2), epoch (2), sequence number (6), length (2). */
const HEADER_LENGTH = 13;
/** Alert level of a fatal alert; a warning is 1. */
const FATAL = 2;
/** Alert description of close_notify. */
const CLOSE_NOTIFY = 0;

/** An alert the viewer sent: its level (1 warning, 2 fatal) and description (0 close_notify). */
export interface PeerAlert {
  level: number;
  description: number;
}

/**
 * Calls `onClose` once, when the peer of this transport sends an authenticated close_notify or fatal
 * alert after the handshake, and keeps every alert from werift's own DTLS code. Call it before the
 * transport connects (e.g. right after setRemoteDescription).
 */
export function onPeerClose(transport: RTCDtlsTransport, onClose: (alert: PeerAlert) => void): void {
  let reported = false;
  const report = (alert: PeerAlert) => {
    if (reported) return;
    reported = true;
    onClose(alert);
  };
  whenDtlsStarts(transport, (dtls) => takeAlerts(transport, dtls, report));
}

function takeAlerts(transport: RTCDtlsTransport, dtls: DtlsSocket, report: (alert: PeerAlert) => void): void {
  const socket = dtls.transport.socket;
  const deliver = socket.onData;
  socket.onData = (datagram, addr) => {
    const kept: Buffer[] = [];
    let dropped = false;
    for (let at = 0; at + HEADER_LENGTH <= datagram.length;) {
      const end = at + HEADER_LENGTH + datagram.readUInt16BE(at + 11);
      if (end > datagram.length) break;
      const record = datagram.subarray(at, end);
      at = end;
      const type = record[0];
      if (type === CHANGE_CIPHER_SPEC || type === HANDSHAKE || type === APPLICATION_DATA) {
        kept.push(record);
        continue;
      }
      dropped = true;
      if (type !== ALERT || transport.state !== "connected") continue;
      const alert = authenticatedAlert(dtls, record);
      if (alert && (alert.description === CLOSE_NOTIFY || alert.level === FATAL)) report(alert);
    }
    if (!dropped) deliver(datagram, addr);
    else if (kept.length > 0) deliver(Buffer.concat(kept), addr);
  };
}

/** The alert in this record if the session's DTLS keys authenticate it, else undefined. */
function authenticatedAlert(dtls: DtlsSocket, record: Buffer): PeerAlert | undefined {
  const epoch = record.readUInt16BE(3);
  const { cipher } = dtls;
  // Epoch 0 is plaintext: anyone could have sent it.
  if (epoch === 0 || !cipher.cipher) return undefined;
  try {
    const plain = cipher.cipher.decrypt(cipher.sessionType, record.subarray(HEADER_LENGTH), {
      type: ALERT,
      version: record.readUInt16BE(1),
      epoch,
      sequenceNumber: record.readUIntBE(5, 6),
    });
    return plain.length === 2 ? { level: plain[0], description: plain[1] } : undefined;
  } catch {
    // Not sealed with this session's keys.
    return undefined;
  }
}
