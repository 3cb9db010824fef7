/**
 * Which web pages may use what needs no token. Without tokens a camera is open to anyone who can reach
 * it, but a browser reaches it on behalf of any page it loads: a page on the internet could watch the
 * cameras, publish to a WHIP path, or read /status through DNS rebinding. So a request that needs no
 * token must name this machine in its Host header (`server.allowed_hosts`), and a browser's request must
 * come from the service's own page or an origin in `server.allowed_origins`.
 */

/** How long the machine's names and addresses are trusted before they are read again (DHCP may change them). */
const OWN_HOSTS_TTL_MS = 30_000;

/** The Host header's host, lower case, without port or IPv6 brackets; undefined when there is none. */
export function hostOf(header: string | undefined): string | undefined {
  if (!header) return undefined;
  const host = header.trim().toLowerCase();
  const bracketed = /^\[([^\]]+)\](:\d+)?$/.exec(host);
  if (bracketed) return bracketed[1];
  // A single colon separates the port; more than one is a bare IPv6 address.
  return host.split(":").length === 2 ? host.slice(0, host.indexOf(":")) : host;
}

/** What the origin rules need from the config. */
export interface OriginRules {
  /** Origins whose pages may use what needs no token; `*` = any. */
  allowedOrigins: string[];
  /** Host header values served besides the machine's own; `*` = any. */
  allowedHosts: string[];
}

/**
 * The origin and Host rules of requests that need no token. `ownHosts` gives the names and addresses
 * this machine answers to (read again every 30 s).
 */
export class OriginPolicy {
  readonly #origins: Set<string>;
  readonly #hosts: Set<string>;
  #own: { hosts: Set<string>; atMs: number } | undefined;

  constructor(rules: OriginRules, private readonly ownHosts: () => Iterable<string>) {
    this.#origins = new Set(rules.allowedOrigins);
    this.#hosts = new Set(rules.allowedHosts.map((h) => h.toLowerCase()));
  }

  /** True when any page on the web may use what needs no token (`allowed_origins = ["*"]`). */
  get anyOrigin(): boolean {
    return this.#origins.has("*");
  }

  /** True when any Host header is served (`allowed_hosts = ["*"]`). */
  get anyHost(): boolean {
    return this.#hosts.has("*");
  }

  /**
   * Why a request that needs no token is refused, or undefined when it may go on. `host` is its Host
   * header, `origin` its Origin header (browsers send one on every cross-origin request, every
   * WebSocket and every POST; other clients send none).
   */
  refusal(host: string | undefined, origin: string | undefined, nowMs = Date.now()): string | undefined {
    const name = hostOf(host);
    if (name !== undefined && !this.#hostAllowed(name, nowMs)) {
      return `Host "${name}" is not a name of this service (server.allowed_hosts)`;
    }
    if (origin === undefined || this.originAllowed(origin, host)) return undefined;
    return `Origin ${
      JSON.stringify(origin)
    } may not use this service without a token (server.allowed_origins)`;
  }

  /** True for the service's own page (same host and port as the request) and the allowed origins. */
  originAllowed(origin: string, host: string | undefined): boolean {
    if (this.anyOrigin || this.#origins.has(origin)) return true;
    if (!URL.canParse(origin) || host === undefined) return false;
    const url = new URL(origin);
    return (url.protocol === "http:" || url.protocol === "https:") && url.host === host.trim().toLowerCase();
  }

  #hostAllowed(name: string, nowMs: number): boolean {
    if (this.anyHost || this.#hosts.has(name)) return true;
    if (!this.#own || nowMs - this.#own.atMs > OWN_HOSTS_TTL_MS) {
      this.#own = { hosts: new Set([...this.ownHosts()].map((h) => h.toLowerCase())), atMs: nowMs };
    }
    return this.#own.hosts.has(name);
  }
}

/**
 * The names and addresses this machine answers to: localhost, its host name (and `<name>.local` as mDNS
 * gives it), every interface address, and the configured public IP.
 */
export function machineHosts(publicIp: string): string[] {
  const hosts = ["localhost", "127.0.0.1", "::1"];
  try {
    const name = Deno.hostname().toLowerCase();
    hosts.push(name, `${name}.local`);
  } catch {
    // Without --allow-sys=hostname only addresses are known; allowed_hosts can name the machine.
  }
  for (const iface of Deno.networkInterfaces()) hosts.push(iface.address.toLowerCase().replace(/%.*$/, ""));
  if (publicIp) hosts.push(publicIp);
  return hosts;
}
