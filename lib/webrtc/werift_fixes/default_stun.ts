/**
 * Keeps werift from asking Google's STUN server when none is configured. werift 0.25.2's ICE agent
 * falls back to stun.l.google.com:19302 whenever its options name no STUN server, so every peer it
 * gathers for looks that name up and queries it: on a camera without internet access the lookup
 * sometimes waits out werift's 5 s gathering timeout, which held one answer in about fifty for 5 s;
 * with internet access every viewer's arrival was announced to a third party. The service announces a
 * server-reflexive candidate only when `[[webrtc.ice_servers]]` names a STUN server.
 */
import type { RTCPeerConnection } from "werift";

/** The part of werift's ICE agent that holds the STUN server it will query. */
interface StunHolder {
  stunServer?: [string, number];
}

/**
 * Clears werift's implicit STUN server on every ICE transport of `pc` unless `iceServers` has one. Call
 * after the transports exist (setRemoteDescription, or addTransceiver on an offerer) and before
 * gathering (setLocalDescription).
 */
export function withoutImplicitStun(
  pc: RTCPeerConnection,
  iceServers: { urls: string | string[] }[] | undefined,
): void {
  const configured = (iceServers ?? []).some((server) =>
    [server.urls].flat().some((url) => url.startsWith("stun:"))
  );
  if (configured) return;
  for (const transport of pc.iceTransports) {
    (transport.connection as unknown as StunHolder).stunServer = undefined;
  }
}
