import assert from "node:assert/strict";
import type { Buffer } from "node:buffer";
import { DtlsClient } from "werift";
import { whenDtlsStarts } from "../../lib/webrtc/werift_fixes/dtls_start.ts";
import { waitFor } from "../helpers/edgecam.ts";
import { answerOnLoopback } from "../helpers/loopback_answer.ts";

/** First byte of a DTLS handshake record (RFC 6347 §4.1: ContentType handshake). */
const HANDSHAKE = 22;

Deno.test("as the DTLS client the service sends its ClientHello as ICE connects, not after werift's 100 ms wait", async () => {
  const { client, service, answer, close } = await answerOnLoopback("client");
  try {
    const [transport] = service.dtlsTransports;
    // What happened, in order: the service's first handshake record on the wire, and werift's own
    // (delayed) call to start the handshake.
    const events: string[] = [];
    const connection = transport.iceTransport.connection as unknown as { send(data: Buffer): Promise<void> };
    const send = connection.send.bind(connection);
    connection.send = (data: Buffer) => {
      if (data[0] === HANDSHAKE && !events.includes("ClientHello sent")) events.push("ClientHello sent");
      return send(data);
    };
    // Registered after the service's corrections, so this sees the socket after them.
    whenDtlsStarts(transport, (socket) => {
      assert.ok(socket instanceof DtlsClient, "the service is the DTLS client");
      const dtls = socket;
      const connect = dtls.connect.bind(dtls);
      dtls.connect = () => {
        events.push("werift's connect");
        return connect();
      };
    });
    await client.setRemoteDescription({ type: "answer", sdp: answer });
    await waitFor(
      "DTLS on both sides",
      () => [transport, ...client.dtlsTransports].every((t) => t.state === "connected") || undefined,
    );
    await waitFor("werift's own connect call", () => events.includes("werift's connect") || undefined);
    assert.deepEqual(events, ["ClientHello sent", "werift's connect"]);
    // The handshake werift's call got is the one under way: one ClientHello flight, SRTP keys agreed.
    assert.equal(transport.state, "connected");
    assert.ok(transport.srtp, "SRTP started");
  } finally {
    await close();
  }
});
