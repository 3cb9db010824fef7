/**
 * Which remote ICE candidates a session takes. Each one makes werift send STUN checks to the address it
 * names, so a client could have the service probe any host on its LAN, or make it resolve mDNS names, by
 * trickling candidates. A session takes at most MAX_REMOTE_CANDIDATES, only addresses near the client's
 * own (its address, its /24 or /64), and `.local` names only when `webrtc.mdns_candidates` allows. What
 * is left out costs no connectivity: the client's own checks reach the service's candidates, and ICE pairs
 * with their source address (a peer-reflexive candidate).
 */
import { BadRequestError } from "../errors.ts";

/** Candidates one session may send, in its offer and trickled together; real clients send a handful. */
export const MAX_REMOTE_CANDIDATES = 32;

/** The address of a `candidate:…` attribute (its fifth field), or undefined when it has none. */
export function candidateAddress(attribute: string): string | undefined {
  return attribute.replace(/^a=/, "").split(/\s+/)[4];
}

/** An IPv4 address's first three octets, an IPv6 address's first four groups: the client's neighbourhood. */
function prefixOf(address: string): string | undefined {
  const v4 = /^(?:::ffff:)?(\d+)\.(\d+)\.(\d+)\.\d+$/i.exec(address);
  if (v4) return `${v4[1]}.${v4[2]}.${v4[3]}`;
  if (!address.includes(":") || !URL.canParse(`http://[${address}]/`)) return undefined;
  // The URL parser writes IPv6 in its canonical, compressed form; expand it to compare groups.
  const canonical = new URL(`http://[${address}]/`).hostname.slice(1, -1);
  const [head, tail = ""] = canonical.split("::");
  const left = head ? head.split(":") : [];
  const right = tail ? tail.split(":") : [];
  const groups = canonical.includes("::")
    ? [...left, ...Array(8 - left.length - right.length).fill("0"), ...right]
    : left;
  return groups.slice(0, 4).join(":");
}

/**
 * Why a remote candidate is left out, or undefined to use it. `client` is the address the session's
 * offer came from ("unknown" when none was seen: then any IP address is taken).
 */
export function candidateRefusal(attribute: string, client: string, mdns: boolean): string | undefined {
  const address = candidateAddress(attribute);
  if (address === undefined) return "it names no address";
  if (address.toLowerCase().endsWith(".local")) {
    return mdns ? undefined : "mDNS names are not resolved (webrtc.mdns_candidates)";
  }
  const prefix = prefixOf(address);
  if (prefix === undefined) return "its address is not an IP address";
  if (client === "unknown") return undefined;
  return prefix === prefixOf(client) ? undefined : `${address} is not near the client's address ${client}`;
}

/**
 * The candidates of one session kept so far, and its budget: see the module comment. A candidate past
 * the budget is a BadRequestError (a client sending that many is not negotiating); an implausible one is
 * left out quietly.
 */
export class RemoteCandidates {
  #count = 0;

  constructor(private readonly client: string, private readonly mdns: boolean) {}

  /** The attributes of `attributes` to hand to ICE, counting them all against the budget. */
  take(attributes: string[]): string[] {
    this.#count += attributes.length;
    if (this.#count > MAX_REMOTE_CANDIDATES) {
      throw new BadRequestError(`over ${MAX_REMOTE_CANDIDATES} ICE candidates for one session`);
    }
    return attributes.filter((a) => candidateRefusal(a, this.client, this.mdns) === undefined);
  }

  /** The SDP with the offer's candidates that would not be used taken out (and counted). */
  offer(sdp: string): string {
    const lines = sdp.split(/\r?\n/);
    const kept = new Set(this.take(lines.filter((l) => l.startsWith("a=candidate:")).map((l) => l.slice(2))));
    return lines.filter((l) => !l.startsWith("a=candidate:") || kept.has(l.slice(2))).join("\r\n");
  }
}
