/**
 * The value rules of the config: names, device paths, hosts, ICE URLs and tokens, each with the
 * reason a problem line gives when a value breaks it. Pure predicates and checkers.
 */
import { SLOT_ALIGN } from "../shm/layout.ts";

/** Camera and path names: they appear in URLs, ring names and log lines. */
export const NAME = /^[a-z0-9][a-z0-9_-]{0,62}$/;
/** Why a name breaks {@link NAME}. */
export const NAME_REASON =
  "must be 1-63 of a-z, 0-9, '_' and '-', starting with a letter or digit (used in URLs)";
/** A libcamera camera id: only characters that cannot break the pipeline's argv or a property value. */
export const LIBCAMERA_NAME = /^[A-Za-z0-9_/@.:+-]*$/;
/** Why a libcamera device breaks {@link LIBCAMERA_NAME}. */
export const LIBCAMERA_REASON =
  "must contain only A-Z a-z 0-9 _ / @ . : + - (a libcamera camera name or empty)";
const DEVICE_PATH = /^\/dev\/[A-Za-z0-9_\-./:]+$/;
/** Why a V4L2 device path is refused (see {@link isDevicePath}). */
export const DEVICE_REASON = "must be a device path like /dev/video0 (A-Z a-z 0-9 _ - . / : only, no '..')";
/** Why a value is not an IP address. */
export const IP_REASON = "must be an IPv4 or IPv6 address";
/** Why a ring slot size is refused: slots must stay aligned for the readers' atomics. */
export const SLOT_SIZE_REASON = `must be a multiple of ${SLOT_ALIGN} from 4096 to 268435456 (bytes)`;
/** Why a ring's permission mode is refused: the owner (edgecam) must read and write it. */
export const MODE_REASON =
  "must be a permission mode from 0o600 to 0o777 (the owner reads and writes), e.g. 0o640";
/** A STUN or TURN URL (RFC 7064/7065) with an optional transport. */
export const ICE_URL =
  /^(stun|turns?):(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9.-]+)(:\d{1,5})?(\?transport=(udp|tcp))?$/;
/** Why an ICE server URL breaks {@link ICE_URL}. */
export const ICE_URL_REASON = `must be a stun:, turn: or turns: URL such as "stun:stun.example.org:3478"`;
/** Linux interface names: at most 15 characters (IFNAMSIZ). */
const INTERFACE = /^[A-Za-z0-9_.:@-]{1,15}$/;

/** Checks a network interface name; returns the reason it is bad, or undefined. */
export function checkInterface(v: string): string | undefined {
  return INTERFACE.test(v) ? undefined : "must be a network interface name such as eth0 (1-15 characters)";
}

/** Checks a value that goes verbatim into a quoted `Link` header parameter. */
export function checkLinkParam(v: string): string | undefined {
  // deno-lint-ignore no-control-regex
  return /["\\\x00-\x1f\x7f]/.test(v)
    ? "must not contain quotes, backslashes or control characters"
    : undefined;
}
/**
 * Checks an `allowed_origins` entry: `*`, or an origin as a browser sends it (`scheme://host[:port]`,
 * nothing after), since it is compared with the Origin header as a string.
 */
export function checkOrigin(v: string): string | undefined {
  if (v === "*") return undefined;
  const reason = 'must be "*" or an origin such as "https://example.org" or "http://192.168.1.5:8080"';
  if (!URL.canParse(v)) return reason;
  const url = new URL(v);
  if ((url.protocol !== "http:" && url.protocol !== "https:") || url.origin !== v) return reason;
}

/** Checks an `allowed_hosts` entry: `*`, or a host name or address as the Host header carries it, without port. */
export function checkAllowedHost(v: string): string | undefined {
  if (v === "*" || isHost(v)) return undefined;
  return 'must be "*", a host name such as "camera.lan" or an IP address (without port)';
}

/** Why a listen address is refused. */
export const HOST_REASON = "must be an IP address or a host name";
/** Why a push target's token is refused. */
export const PUSH_TOKEN_REASON =
  "must be printable ASCII without spaces (it is sent as `Authorization: Bearer <token>`)";

/** Checks a push target URL: http(s) without credentials; returns the reason it is bad, or undefined. */
export function checkPushUrl(v: string): string | undefined {
  if (!URL.canParse(v)) return "must be a URL such as https://example.org/whip/cam1";
  const url = new URL(v);
  if (url.protocol !== "http:" && url.protocol !== "https:") return "must be an http: or https: URL";
  if (url.username || url.password) return "must not carry credentials (use token)";
}

/** Shortest token taken: 16 random characters are beyond guessing over HTTP; "changeme" is not. */
const MIN_TOKEN_LENGTH = 16;
/** RFC 6750's b64token: what may follow "Bearer " in a header without quoting. */
const B64TOKEN = /^[A-Za-z0-9\-._~+/]+=*$/;

/**
 * A token must be usable as `Authorization: Bearer <token>` and hard to guess. Whitespace gets its own
 * reason: it is the usual mistake (a pasted newline) and a header could never carry it.
 */
export function checkToken(v: string): string | undefined {
  if (v === "") return "must not be empty";
  if (/\s/.test(v)) return "must not contain whitespace";
  if (!B64TOKEN.test(v)) {
    return "must contain only A-Z a-z 0-9 - . _ ~ + / (then optional '=' padding), as RFC 6750 Bearer tokens do";
  }
  if (v.length < MIN_TOKEN_LENGTH) return `must be at least ${MIN_TOKEN_LENGTH} characters`;
}

/** True for an empty device or a /dev path without '..': the path reaches GStreamer's argv. */
export function isDevicePath(v: string): boolean {
  return v === "" || (DEVICE_PATH.test(v) && !v.split("/").includes(".."));
}

const IPV4_PART = "(25[0-5]|2[0-4]\\d|1\\d\\d|[1-9]?\\d)";
const IPV4 = new RegExp(`^${IPV4_PART}(\\.${IPV4_PART}){3}$`);
const HOST_LABEL = "[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?";
const HOSTNAME = new RegExp(`^${HOST_LABEL}(\\.${HOST_LABEL})*$`);

function isIpv6(v: string): boolean {
  // The URL parser knows every IPv6 spelling; the character check keeps it from seeing anything else.
  if (!/^[0-9A-Fa-f:.]+$/.test(v) || !v.includes(":")) return false;
  return URL.canParse(`http://[${v}]/`);
}

/** True for an IPv4 or IPv6 address literal. */
export function isIpLiteral(v: string): boolean {
  return IPV4.test(v) || isIpv6(v);
}

/** True for an IP address or a DNS host name. */
export function isHost(v: string): boolean {
  // All-digit names are IPv4 attempts: "999.1.1.1" must not pass as a host name.
  return isIpLiteral(v) || (HOSTNAME.test(v) && v.length <= 253 && !/^[\d.]+$/.test(v));
}

/** Splits a `--listen` value; returns a reason when it does not parse. */
export function parseListen(text: string): { host?: string; port?: number } | string {
  const reason = `must be "host:port", "host", ":port" or "[ipv6]:port"`;
  let host: string | undefined;
  let port: string | undefined;
  const bracketed = /^\[([^\]]*)\](?::(.*))?$/.exec(text);
  if (bracketed) {
    [host, port] = [bracketed[1], bracketed[2]];
    if (!isIpv6(host)) return `${reason}; "${host}" is not an IPv6 address`;
  } else if (isIpv6(text)) {
    host = text;
  } else {
    const parts = text.split(":");
    if (parts.length > 2) return reason;
    [host, port] = [parts[0] || undefined, parts[1]];
    if (host !== undefined && !isHost(host)) return `${reason}; "${host}" is not an IP address or host name`;
  }
  if (port === undefined) return host === undefined ? reason : { host };
  if (!/^\d{1,5}$/.test(port) || Number(port) > 65535) return `port must be an integer from 0 to 65535`;
  return { host, port: Number(port) };
}

const SIZE_UNITS: Record<string, number> = {
  "": 1,
  B: 1,
  KB: 1e3,
  MB: 1e6,
  GB: 1e9,
  TB: 1e12,
  KIB: 1024,
  MIB: 1024 ** 2,
  GIB: 1024 ** 3,
  TIB: 1024 ** 4,
};
/** Why a byte size is refused. */
export const SIZE_REASON =
  'must be a whole number of bytes or a size such as "500MB", "1GB" or "2GiB" (KB, MB, GB, TB, KiB, MiB, GiB, TiB)';

/** A byte count from an integer or a size with a unit (decimal KB/MB/GB/TB, binary KiB/MiB/GiB/TiB). */
export function parseByteSize(v: unknown): number | undefined {
  if (typeof v === "number") return Number.isSafeInteger(v) && v >= 0 ? v : undefined;
  if (typeof v !== "string") return undefined;
  const m = /^\s*(\d+(?:\.\d+)?)\s*([A-Za-z]*)\s*$/.exec(v);
  const unit = m ? SIZE_UNITS[m[2].toUpperCase()] : undefined;
  if (!m || unit === undefined) return undefined;
  const bytes = Math.round(Number(m[1]) * unit);
  return Number.isSafeInteger(bytes) ? bytes : undefined;
}

const DURATION_UNITS: Record<string, number> = {
  s: 1000,
  m: 60_000,
  h: 3_600_000,
  d: 86_400_000,
  w: 604_800_000,
};
/** Why a duration is refused. */
export const DURATION_REASON = 'must be "0" or a duration such as "90m", "36h", "7d" or "2w" (s, m, h, d, w)';

/** Milliseconds from a duration such as "7d" or "36h"; "0" (or 0) is zero. */
export function parseDuration(v: unknown): number | undefined {
  if (v === 0 || v === "0") return 0;
  if (typeof v !== "string") return undefined;
  const m = /^\s*(\d+(?:\.\d+)?)\s*([smhdw])\s*$/.exec(v);
  if (!m) return undefined;
  const ms = Math.round(Number(m[1]) * DURATION_UNITS[m[2]]);
  return Number.isSafeInteger(ms) ? ms : undefined;
}
