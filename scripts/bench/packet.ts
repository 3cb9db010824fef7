// The packet part of `deno task bench`: what one RTP packet to one viewer costs on the send path, in a
// burst like a keyframe's: sealing 1200 bytes with AES-GCM through libcrypto (lib/webrtc/rtp/srtp_gcm.ts,
// the sealer every viewer uses) and one `sendto` of the sealed packet to a loopback socket through
// udp_send.ts's UdpRoute, from a node:dgram socket as werift's. Their sum times the packets of a keyframe times the viewers bounds the send delay of
// that keyframe on one core.
import dgram from "node:dgram";
import { Log } from "../../lib/log.ts";
import { RTP_HEADER_BYTES } from "../../lib/webrtc/rtp/nack.ts";
import { gcmSealer } from "../../lib/webrtc/rtp/srtp_gcm.ts";
import { UdpRoute } from "../../lib/webrtc/rtp/udp_send.ts";
import { median } from "./stats.ts";

const PACKETS = 3000;
const RUNS = 7;
const PAYLOAD_BYTES = 1200;
const AF_INET = 2;
const SOCK_DGRAM = 2;
const SOL_SOCKET = 1;
const SO_RCVBUF = 8;

const libc = Deno.dlopen(
  "libc.so.6",
  {
    socket: { parameters: ["i32", "i32", "i32"], result: "i32" },
    bind: { parameters: ["i32", "buffer", "u32"], result: "i32" },
    getsockname: { parameters: ["i32", "buffer", "buffer"], result: "i32" },
    setsockopt: { parameters: ["i32", "i32", "i32", "buffer", "u32"], result: "i32" },
    close: { parameters: ["i32"], result: "i32" },
  } as const,
).symbols;

/** A sockaddr_in for 127.0.0.1 on any port. */
function anyLoopbackPort(): Uint8Array {
  const addr = new Uint8Array(16);
  new DataView(addr.buffer).setUint16(0, AF_INET, true);
  addr.set([127, 0, 0, 1], 4);
  return addr;
}

/** µs per call of `run`, the median of RUNS bursts of PACKETS calls. */
function perPacket(run: () => void): number {
  const runs: number[] = [];
  for (let r = 0; r < RUNS; r++) {
    const t0 = performance.now();
    for (let i = 0; i < PACKETS; i++) run();
    runs.push((performance.now() - t0) * 1000 / PACKETS);
  }
  return median(runs);
}

/** Runs both measurements; the report lines. */
export async function packetBench(): Promise<string[]> {
  const sealer = gcmSealer(new Uint8Array(16).fill(1));
  const nonce = new Uint8Array(12);
  const header = new Uint8Array(RTP_HEADER_BYTES);
  const payload = new Uint8Array(PAYLOAD_BYTES).fill(3);
  const out = new Uint8Array(2048);
  let length = 0;
  const seal = perPacket(() => length = sealer.seal(nonce, header, payload, out));

  // A receiving socket nobody reads, with a buffer the size of the burst: every datagram is delivered.
  const rx = libc.socket(AF_INET, SOCK_DGRAM, 0);
  const tx = dgram.createSocket("udp4");
  try {
    libc.setsockopt(rx, SOL_SOCKET, SO_RCVBUF, new Uint8Array(new Int32Array([64 << 20]).buffer), 4);
    libc.bind(rx, anyLoopbackPort(), 16);
    const bound = new Uint8Array(16);
    libc.getsockname(rx, bound, new Uint8Array(new Uint32Array([16]).buffer));
    const port = new DataView(bound.buffer).getUint16(2, false);
    await new Promise<void>((resolve) => tx.bind(0, "127.0.0.1", resolve));
    const route = UdpRoute.open(
      { closed: false, socket: tx },
      ["127.0.0.1", port],
      new Log("warn").logger("bench"),
    );
    if (!route) throw new Error("no sendto route: libc.so.6 could not be loaded");
    const send = perPacket(() => route.send(out, length));
    const keyframeMs = (seal + send) * 100 * 30 / 1000;
    return [
      `One packet on the send path (${PAYLOAD_BYTES}-byte payload, ${length} bytes sealed), median of ${RUNS} ` +
      `bursts of ${PACKETS}, µs per packet:`,
      `  AES-GCM seal through libcrypto: ${seal.toFixed(2)}`,
      `  sendto on loopback:             ${send.toFixed(2)}`,
      `  a 100-packet keyframe to 30 viewers at that cost: ${keyframeMs.toFixed(1)} ms on one core`,
    ];
  } finally {
    libc.close(rx);
    tx.close();
  }
}
