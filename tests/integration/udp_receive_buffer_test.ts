import assert from "node:assert/strict";
import { Buffer } from "node:buffer";
import dgram from "node:dgram";
import { RECEIVE_BUFFER_BYTES } from "../../lib/webrtc/werift_fixes/udp_receive_buffer.ts";
import { waitFor } from "../helpers/edgecam.ts";
import { answerOnLoopback } from "../helpers/loopback_answer.ts";

/** What the service's socket handed on for one datagram: its length and the buffer behind it. */
interface Received {
  length: number;
  backing: number;
  ours: boolean;
}

Deno.test("an answered session's UDP sockets read each datagram into 4 KiB, not 64 KiB, and whole", async () => {
  const { service, answer, close } = await answerOnLoopback("server");
  const sender = dgram.createSocket("udp4");
  try {
    const port = Number(/^a=candidate:\S+ 1 udp \d+ 127\.0\.0\.1 (\d+) typ host/m.exec(answer)?.[1]);
    assert.ok(port > 0, `a loopback host candidate in the answer:\n${answer}`);

    const connection = service.iceTransports[0].connection as unknown as {
      protocols: { transport: { socket: dgram.Socket } }[];
    };
    const received: Received[] = [];
    for (const { transport } of connection.protocols) {
      transport.socket.on(
        "message",
        (msg: Buffer) =>
          received.push({ length: msg.length, backing: msg.buffer.byteLength, ours: msg[0] === 0x80 }),
      );
    }
    // Datagrams as a viewer sends them: an RTCP receiver report's size and a full-MTU packet.
    const sizes = [100, 1400, 1400, 1200];
    for (const size of sizes) sender.send(Buffer.alloc(size, 0x80), port, "127.0.0.1");
    // The client's own ICE checks arrive on the same socket; ours start with 0x80.
    const ours = () => received.filter((r) => r.ours);
    await waitFor("every datagram", () => ours().length === sizes.length || undefined);

    const lengths = (list: number[]) => [...list].sort((a, b) => a - b);
    assert.deepEqual(lengths(ours().map((r) => r.length)), lengths(sizes), "no datagram cut short");
    // The read already waiting when the size was set keeps its 64 KiB; every later one is small.
    for (const r of received.slice(1)) {
      assert.ok(r.backing <= 2 * RECEIVE_BUFFER_BYTES, `a ${r.length}-byte datagram held ${r.backing} bytes`);
    }
  } finally {
    sender.close();
    await close();
  }
});
