import { Buffer } from "node:buffer";
import type { RTCDtlsTransport } from "werift";
import type { ClientPeer } from "./client_peer.ts";

/** DTLS record content type of an alert, and DTLS 1.2's version bytes. */
const ALERT = 21;
const DTLS_1_2 = 0xfefd;
/** Time for a datagram werift sent to leave the socket. */
const SEND_SETTLE_MS = 50;

/** How the record is made: as the viewer's DTLS would send it, or as something that is not the viewer's. */
export type AlertForm =
  /** Encrypted with the viewer's DTLS keys in its current epoch: what a browser sends. */
  | "sealed"
  /** Epoch 0, in the clear: a stale handshake-time alert, or anyone's. */
  | "plaintext"
  /** Sealed, then one byte of the tag changed: an earlier session's keys, or forged. */
  | "bad-tag"
  /** An unknown content type (25) carrying a plaintext close_notify. */
  | "unknown-type";

function record(type: number, epoch: number, sequenceNumber: number, fragment: Buffer): Buffer {
  const header = Buffer.alloc(13);
  header.writeUInt8(type, 0);
  header.writeUInt16BE(DTLS_1_2, 1);
  header.writeUInt16BE(epoch, 3);
  header.writeUIntBE(sequenceNumber, 5, 6);
  header.writeUInt16BE(fragment.length, 11);
  return Buffer.concat([header, fragment]);
}

/**
 * Makes a connected werift viewer send one DTLS alert record to the service. werift never sends alerts
 * itself (its close() only closes the socket); browsers send close_notify when their peer connection
 * closes, sealed like any record after the handshake. Resolves once the datagram has left.
 */
export async function sendAlert(
  viewer: ClientPeer,
  level: number,
  description: number,
  form: AlertForm = "sealed",
): Promise<void> {
  const dtls = (viewer.pc.dtlsTransports as RTCDtlsTransport[])[0].dtls!;
  const plain = Buffer.from([level, description]);
  const sequenceNumber = ++dtls.dtls.recordSequenceNumber;
  let bytes: Buffer;
  if (form === "plaintext") {
    bytes = record(ALERT, 0, sequenceNumber, plain);
  } else if (form === "unknown-type") {
    bytes = record(25, 0, sequenceNumber, plain);
  } else {
    const { epoch } = dtls.dtls;
    const { cipher } = dtls;
    const sealed = cipher.cipher.encrypt(cipher.sessionType, plain, {
      type: ALERT,
      version: DTLS_1_2,
      epoch,
      sequenceNumber,
    });
    if (form === "bad-tag") sealed[sealed.length - 1] ^= 1;
    bytes = record(ALERT, epoch, sequenceNumber, sealed);
  }
  await dtls.transport.send(bytes);
  // werift hands the datagram to node:dgram without waiting for it to go out, and a close() right after
  // would drop it: let it leave first.
  await new Promise((r) => setTimeout(r, SEND_SETTLE_MS));
}
