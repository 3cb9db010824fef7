/**
 * ICE settings for the service's werift peers, as pure functions of the `[webrtc]` config: the
 * RTCPeerConnection options (host addresses, port range, STUN/TURN servers) and the WHEP Link
 * headers that announce the same servers to clients (WHIP §4.6).
 */
import type { PeerConfig } from "werift";
import type { IceServerConfig, WebrtcConfig } from "../config/schema.ts";

/** One address of a network interface, as `Deno.networkInterfaces()` lists it. */
export interface HostInterface {
  name: string;
  family: "IPv4" | "IPv6";
  address: string;
}

/** The werift options this module decides. */
export type IceOptions = Pick<
  PeerConfig,
  "iceServers" | "icePortRange" | "iceUseIpv4" | "iceUseIpv6" | "iceAdditionalHostAddresses"
>;

/**
 * The addresses offered as host candidates: every IPv4 address of the interfaces the config allows
 * (link-local ones excepted: they do not route), then the public IP for a 1:1 NAT.
 */
export function hostAddresses(webrtc: WebrtcConfig, publicIp: string, interfaces: HostInterface[]): string[] {
  const addresses = interfaces
    .filter((i) => i.family === "IPv4" && !i.address.startsWith("169.254."))
    .filter((i) => webrtc.interfacesInclude.length === 0 || webrtc.interfacesInclude.includes(i.name))
    .filter((i) => !webrtc.interfacesExclude.includes(i.name))
    .map((i) => i.address);
  if (publicIp) addresses.push(publicIp);
  return [...new Set(addresses)];
}

/**
 * RTCPeerConnection options for one viewer. werift's own address enumeration skips loopback and
 * cannot filter by interface name, so it is switched off (iceUseIpv4/6 false: they only steer that
 * enumeration) and the chosen addresses are handed over as additional host addresses instead.
 */
export function peerIceOptions(
  webrtc: WebrtcConfig,
  publicIp: string,
  interfaces: HostInterface[],
): IceOptions {
  return {
    iceServers: webrtc.iceServers.map(({ urls, username, credential }) =>
      urls.some((u) => u.startsWith("turn")) ? { urls, username, credential } : { urls }
    ),
    icePortRange: webrtc.udpPortMin === 0 ? undefined : [webrtc.udpPortMin, webrtc.udpPortMax],
    iceUseIpv4: false,
    iceUseIpv6: false,
    iceAdditionalHostAddresses: hostAddresses(webrtc, publicIp, interfaces),
  };
}

/**
 * One `Link` header value per configured ICE server URL, for the WHEP 201 (WHIP §4.6): TURN URLs
 * carry the server's username and credential.
 */
export function iceServerLinks(servers: IceServerConfig[]): string[] {
  return servers.flatMap((server) =>
    server.urls.map((url) =>
      url.startsWith("turn")
        ? `<${url}>; rel="ice-server"; username="${server.username}"; credential="${server.credential}"; credential-type="password"`
        : `<${url}>; rel="ice-server"`
    )
  );
}

/** An ICE server as werift's RTCPeerConnection takes it. */
export interface IceServer {
  urls: string;
  username?: string;
  credential?: string;
}

/**
 * The ICE servers a WHIP 201 announces (WHIP §4.6): each `Link: <url>; rel="ice-server"` value, with
 * `username` and `credential` for TURN. Other rels and malformed values are ignored, as §4.9 asks.
 */
export function parseIceServerLinks(header: string | null): IceServer[] {
  if (!header) return [];
  // Commas separate values but may not appear unquoted inside one; URLs here never hold a comma.
  const values = header.match(/<[^>]*>(?:\s*;\s*[^;,=]+(?:=(?:"[^"]*"|[^;,]*))?)*/g) ?? [];
  return values.flatMap((value) => {
    const url = value.match(/^<([^>]*)>/)![1];
    const params = new Map<string, string>();
    for (const m of value.matchAll(/;\s*([^;,=\s]+)\s*(?:=\s*(?:"([^"]*)"|([^;,\s]*)))?/g)) {
      params.set(m[1].toLowerCase(), m[2] ?? m[3] ?? "");
    }
    if (params.get("rel") !== "ice-server" || !/^(stun|turns?):/.test(url)) return [];
    const username = params.get("username");
    const credential = params.get("credential");
    return [{
      urls: url,
      ...(username !== undefined ? { username } : {}),
      ...(credential !== undefined ? { credential } : {}),
    }];
  });
}

/** The candidates of an SDP, counted by type (`host`, `srflx`, `prflx`, `relay`). */
export function candidateTypes(sdp: string): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const [, type] of sdp.matchAll(/^a=candidate:.* typ (\w+)/gm)) counts[type] = (counts[type] ?? 0) + 1;
  return counts;
}
