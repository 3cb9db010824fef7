import { Buffer } from "node:buffer";
import type { RTCDtlsTransport } from "werift";
import { waitFor } from "./edgecam.ts";
import { WhepViewer } from "./whep_client.ts";
import { concat } from "../../lib/media/bytes.ts";

/** DTLS record content types and the handshake types of the server's flight 4. */
const HANDSHAKE = 22;
const CHANGE_CIPHER_SPEC = 20;
const FLIGHT_4 = [2, 11, 12, 13, 14];
/** Offset of the handshake type in a plaintext record (13-byte record header). */
const HANDSHAKE_TYPE_AT = 13;

/** True for a plaintext (epoch 0) handshake record of flight 4. */
function isFlight4(b: Uint8Array): boolean {
  return b[0] === HANDSHAKE && b[3] === 0 && b[4] === 0 && FLIGHT_4.includes(b[HANDSHAKE_TYPE_AT]);
}

/**
 * Makes a werift viewer's DTLS server (the viewer offers actpass, so the service is the client) put
 * its flight 4 on the wire a second time, as one datagram, right before its ChangeCipherSpec +
 * Finished datagram. That is what Chromium sends when its retransmission timer fires shortly before
 * the service's flight 5 arrives, which happens whenever the service answers slowly (a loaded CPU).
 * Call it after `viewer.offer()` and before `viewer.answer()`.
 */
export function repeatFlight4BeforeFinished(viewer: WhepViewer): void {
  for (const transport of viewer.pc.dtlsTransports as RTCDtlsTransport[]) {
    const start = transport.start.bind(transport);
    transport.start = () => {
      const started = start();
      const context = transport.dtls!.transport;
      const send = context.send;
      const flight4: Uint8Array[] = [];
      let changeCipherSpec: Uint8Array | undefined;
      let repeated = false;
      // `send` is a readonly property in werift's types; the instance's own value is replaced.
      Object.defineProperty(context, "send", {
        value: (buf: Uint8Array, addr?: [string, number]) => {
          if (repeated) return send(buf as never, addr);
          if (isFlight4(buf)) flight4.push(new Uint8Array(buf));
          if (buf[0] === CHANGE_CIPHER_SPEC) {
            changeCipherSpec = new Uint8Array(buf);
            return Promise.resolve();
          }
          if (!changeCipherSpec) return send(buf as never, addr);
          // The Finished: the repeated flight 4 first, then ChangeCipherSpec + Finished together.
          repeated = true;
          void send(concat(flight4) as never, addr);
          return send(concat([changeCipherSpec, buf]) as never, addr);
        },
      });
      return started;
    };
  }
}

/** Handshake types of the client's flight 5 before its Finished. */
const FLIGHT_5 = [11, 16, 15];

/** True for a handshake record of epoch 1 (bytes 3-4 of the record header): the Finished. */
function isEncryptedHandshake(b: Uint8Array): boolean {
  return b[0] === HANDSHAKE && b[3] === 0 && b[4] === 1;
}

/**
 * Makes a werift viewer's DTLS server see the service's flight 5 (Certificate, ClientKeyExchange,
 * CertificateVerify) a second time right after the datagram with its Finished, before the server has
 * marked itself connected. That is the order a loaded viewer reads them in when the service sent its
 * flight 5 again (its retransmission timer fired, or it saw the viewer's flight 4 twice) while the
 * first copy was still waiting in the viewer's socket. Call it after `viewer.offer()` and before
 * `viewer.answer()`.
 */
export function repeatFlight5AfterFinished(viewer: WhepViewer): void {
  for (const transport of viewer.pc.dtlsTransports as RTCDtlsTransport[]) {
    const start = transport.start.bind(transport);
    transport.start = () => {
      const started = start();
      const socket = transport.dtls!.transport.socket;
      const deliver = socket.onData;
      const flight5: Buffer[] = [];
      let repeated = false;
      socket.onData = (buf, addr) => {
        if (repeated) return deliver(buf, addr);
        if (
          buf[0] === HANDSHAKE && buf[3] === 0 && buf[4] === 0 && FLIGHT_5.includes(buf[HANDSHAKE_TYPE_AT])
        ) {
          flight5.push(Buffer.from(buf));
        }
        deliver(buf, addr);
        if (!isEncryptedHandshake(buf)) return;
        repeated = true;
        for (const copy of flight5) deliver(copy, addr);
      };
      return started;
    };
  }
}

/**
 * Opens `sessions` WHEP sessions on `stream` one after another, each with `fault` applied to its viewer
 * between offer and answer, and says of each whether it got frames or connected with none (what
 * mismatched SRTP keys look like: keyframes come every second, so such a viewer never gets a frame).
 */
export async function sessionOutcomes(
  baseUrl: string,
  stream: string,
  sessions: number,
  fault: (viewer: WhepViewer) => void,
): Promise<string[]> {
  const outcomes: string[] = [];
  for (let i = 0; i < sessions; i++) {
    const viewer = new WhepViewer();
    const { res, answer } = await viewer.post(`${baseUrl}/whep/${stream}`);
    if (res.status !== 201) throw new Error(`POST /whep/${stream}: ${res.status} ${answer}`);
    fault(viewer);
    await viewer.answer(answer);
    await waitFor("DTLS connected", () => viewer.pc.connectionState === "connected" ? true : undefined);
    const playing = await waitFor("frames", () => viewer.frames.length >= 10 ? true : undefined, 10_000)
      .then(() => true, () => false);
    outcomes.push(playing ? "frames" : "connected, no frames");
    await fetch(new URL(res.headers.get("location")!, baseUrl), { method: "DELETE" }).then((r) =>
      r.body?.cancel()
    );
    await viewer.close();
  }
  return outcomes;
}
