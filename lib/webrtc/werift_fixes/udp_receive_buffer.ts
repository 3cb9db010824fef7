/**
 * Smaller receive buffers for werift's UDP sockets. Deno 2.9's node:dgram reads every datagram into a
 * new buffer of the socket's receive-buffer size, 64 KiB unless set, and hands that buffer on: each
 * RTCP report, NACK and STUN check from a viewer, and each RTP packet from a WHIP publisher, became a
 * 64 KiB allocation outside the V8 heap. At 30 viewers that churn kept 50-80 MB more resident than the
 * packets need (`deno task bench memory`). `setRecvBufferSize` sets the size of those reads (Deno keeps
 * it for the next read, and doubles it on Linux as Node reports SO_RCVBUF); the kernel's socket buffer
 * is left alone.
 */
import type { RTCPeerConnection } from "werift";

/**
 * Bytes asked per read, 4 KiB after Deno doubles it. WebRTC keeps datagrams within a path MTU (about
 * 1200 bytes of payload from browsers, OBS and GStreamer), and a larger datagram would be cut short.
 */
export const RECEIVE_BUFFER_BYTES = 2048;

/** The part of werift's ICE transport protocols that holds a node:dgram socket (UDP ones only). */
interface SocketHolder {
  transport?: { socket?: { setRecvBufferSize?(size: number): void } };
}

/**
 * Sets every UDP socket of `pc`'s ICE transports to read into RECEIVE_BUFFER_BYTES. Call once gathering
 * is complete (the sockets exist from then; ICE restarts keep them). The read already waiting keeps its
 * 64 KiB buffer; every later one is small.
 */
export function smallReceiveBuffers(pc: RTCPeerConnection): void {
  for (const transport of pc.iceTransports) {
    const protocols = (transport.connection as unknown as { protocols: SocketHolder[] }).protocols;
    for (const protocol of protocols) protocol.transport?.socket?.setRecvBufferSize?.(RECEIVE_BUFFER_BYTES);
  }
}
