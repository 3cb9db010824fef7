/**
 * Sending a viewer's packets with one `sendto` on the socket werift's ICE pair already uses.
 *
 * Deno's node:dgram `send` resolves the address on a later tick, copies the packet twice and keeps an
 * async closure per datagram: about 13 µs of CPU and three allocations per packet, per viewer. The
 * same socket's file descriptor, found once by its local address, takes the packet in one system
 * call from a buffer we reuse. The descriptor stays owned by werift: it is only written while werift
 * still has the transport open, and a full send buffer drops the packet, as UDP would, instead of
 * queueing it behind a slow viewer.
 */
import type { Logger } from "../../log.ts";
import { optionalLibrary } from "../../native_library.ts";

/** Linux's address families, as sockaddr's first field holds them. */
const AF_INET = 2;
const AF_INET6 = 10;
const SOL_SOCKET = 1;
const SO_TYPE = 3;
const SOCK_DGRAM = 2;
/** Bytes of sockaddr_in and sockaddr_in6. */
const SOCKADDR_IN_BYTES = 16;
const SOCKADDR_IN6_BYTES = 28;
/** Highest descriptor searched: far above what a service with hundreds of viewers opens. */
const MAX_FD = 8192;

const LIBC_SYMBOLS = {
  getsockname: { parameters: ["i32", "buffer", "buffer"], result: "i32" },
  getsockopt: { parameters: ["i32", "i32", "i32", "buffer", "buffer"], result: "i32" },
  // ssize_t read as i32: a datagram is far below 2^31 bytes and -1 stays -1, with no BigInt per call.
  sendto: { parameters: ["i32", "buffer", "usize", "i32", "buffer", "u32"], result: "i32" },
} as const satisfies Deno.ForeignLibraryInterface;

type Libc = Deno.DynamicLibrary<typeof LIBC_SYMBOLS>["symbols"];

const libc = optionalLibrary("libc.so.6", LIBC_SYMBOLS, "RTP sent through node:dgram");

/** The bytes of an IPv4 or IPv6 address in network order, or undefined for anything else. */
export function ipBytes(host: string): Uint8Array | undefined {
  const v4 = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(host);
  if (v4) {
    const octets = v4.slice(1).map(Number);
    return octets.every((o) => o <= 255) ? Uint8Array.from(octets) : undefined;
  }
  if (!host.includes(":") || host.includes("%")) return undefined;
  let groups: number[] = [];
  const halves = host.split("::");
  if (halves.length > 2) return undefined;
  const parse = (part: string): number[] | undefined => {
    if (part === "") return [];
    const out: number[] = [];
    for (const group of part.split(":")) {
      const tail = ipBytes(group);
      if (tail?.length === 4) out.push((tail[0] << 8) | tail[1], (tail[2] << 8) | tail[3]);
      else if (/^[0-9a-f]{1,4}$/i.test(group)) out.push(parseInt(group, 16));
      else return undefined;
    }
    return out;
  };
  const head = parse(halves[0]);
  const tail = halves.length === 2 ? parse(halves[1]) : [];
  if (!head || !tail) return undefined;
  if (halves.length === 2) {
    if (head.length + tail.length > 7) return undefined;
    groups = [...head, ...Array(8 - head.length - tail.length).fill(0), ...tail];
  } else {
    groups = head;
  }
  if (groups.length !== 8) return undefined;
  const bytes = new Uint8Array(16);
  groups.forEach((g, i) => {
    bytes[2 * i] = g >> 8;
    bytes[2 * i + 1] = g & 0xff;
  });
  return bytes;
}

/**
 * The sockaddr_in or sockaddr_in6 of `host`:`port` as Linux lays them out: family in host order
 * (little-endian on the x86-64 and arm64 machines we run on), port and address in network order.
 * Undefined for a host that is not a plain IP address (a link-local address with a zone included).
 */
export function sockaddr(host: string, port: number): Uint8Array | undefined {
  const ip = ipBytes(host);
  if (!ip || !Number.isInteger(port) || port < 0 || port > 0xffff) return undefined;
  const v4 = ip.length === 4;
  const out = new Uint8Array(v4 ? SOCKADDR_IN_BYTES : SOCKADDR_IN6_BYTES);
  const view = new DataView(out.buffer);
  view.setUint16(0, v4 ? AF_INET : AF_INET6, true);
  view.setUint16(2, port, false);
  out.set(ip, v4 ? 4 : 8);
  return out;
}

/** Whether a sockaddr read back from the kernel names the same family, port and address as `want`. */
export function sameSockaddr(got: Uint8Array, want: Uint8Array): boolean {
  const fields = want.length === SOCKADDR_IN_BYTES ? [[0, 8]] : [[0, 4], [8, 24]];
  return fields.every(([from, to]) => {
    for (let i = from; i < to; i++) if (got[i] !== want[i]) return false;
    return true;
  });
}

/** The descriptor of this process's datagram socket bound to `local`, by asking the kernel for each. */
function findDatagramFd(lib: Libc, local: Uint8Array): number | undefined {
  const name = new Uint8Array(SOCKADDR_IN6_BYTES);
  const length = new Uint32Array(1);
  const lengthBytes = new Uint8Array(length.buffer);
  const type = new Int32Array(1);
  const typeBytes = new Uint8Array(type.buffer);
  for (let fd = 3; fd < MAX_FD; fd++) {
    length[0] = name.length;
    if (lib.getsockname(fd, name, lengthBytes) !== 0 || !sameSockaddr(name, local)) continue;
    length[0] = 4;
    if (lib.getsockopt(fd, SOL_SOCKET, SO_TYPE, typeBytes, lengthBytes) === 0 && type[0] === SOCK_DGRAM) {
      return fd;
    }
  }
  return undefined;
}

/** What a UDP route needs of werift's transport: its bound address and whether it is closed. */
export interface UdpTransportLike {
  readonly closed: boolean;
  readonly socket: { address(): { address: string; port: number } };
}

/** One viewer's path: werift's socket and the remote address, written with `sendto`. */
export class UdpRoute {
  private constructor(
    private readonly lib: Libc,
    private readonly transport: UdpTransportLike,
    private readonly fd: number,
    private readonly remote: Uint8Array,
  ) {}

  /**
   * A route over `transport` to `remote`, or undefined where only werift's own send can reach it; `log`
   * says why not.
   */
  static open(
    transport: UdpTransportLike,
    remote: readonly [string, number],
    log: Logger,
  ): UdpRoute | undefined {
    const lib = libc();
    if (!lib || transport.closed) return undefined;
    const bound = transport.socket.address();
    const local = sockaddr(bound.address, bound.port);
    const to = sockaddr(remote[0], remote[1]);
    if (!local || !to || local.length !== to.length) return undefined;
    const fd = findDatagramFd(lib, local);
    if (fd === undefined) {
      log.debug(`no descriptor found for UDP ${bound.address}:${bound.port}; sending through werift`);
      return undefined;
    }
    return new UdpRoute(lib, transport, fd, to);
  }

  /** Sends the first `length` bytes of `data`; false when the transport closed or the kernel refused. */
  send(data: Uint8Array, length: number): boolean {
    if (this.transport.closed) return false;
    // Deno takes a number for a 64-bit argument (its types say bigint): no BigInt per packet.
    const size = length as unknown as bigint;
    return this.lib.sendto(this.fd, data, size, 0, this.remote, this.remote.length) === length;
  }
}
