// Larger kernel receive buffers for this process's UDP sockets. Deno's node:dgram accepts
// setRecvBufferSize but does not pass it to the kernel (`ss -uam` still shows rb212992), and
// werift never asks anyway; at 20+ loopback viewers the default 208 KB buffers overflow (measured).
// So: find the UDP sockets among this process's file descriptors and call setsockopt through FFI.

const SOL_SOCKET = 1;
const SO_RCVBUF = 8;
/** Like SO_RCVBUF but past net.core.rmem_max; needs CAP_NET_ADMIN (root), else SO_RCVBUF is tried. */
const SO_RCVBUFFORCE = 33;

const libc = Deno.dlopen("libc.so.6", {
  setsockopt: { parameters: ["i32", "i32", "i32", "buffer", "u32"], result: "i32" },
  getsockopt: { parameters: ["i32", "i32", "i32", "buffer", "buffer"], result: "i32" },
});

/** Socket inodes of this process's UDP sockets, from /proc/net/udp and /proc/net/udp6. */
function udpInodes(): Set<string> {
  const inodes = new Set<string>();
  for (const table of ["/proc/net/udp", "/proc/net/udp6"]) {
    let text = "";
    try {
      text = Deno.readTextFileSync(table);
    } catch {
      continue; // No IPv6 on this machine.
    }
    for (const line of text.split("\n").slice(1)) {
      const inode = line.trim().split(/\s+/)[9];
      if (inode) inodes.add(inode);
    }
  }
  return inodes;
}

/** The kernel's receive buffer of a socket (twice what was asked: Linux adds its bookkeeping). */
function receiveBuffer(fd: number): number {
  const value = new Int32Array(1);
  const length = new Uint32Array([4]);
  return libc.symbols.getsockopt(fd, SOL_SOCKET, SO_RCVBUF, value, length) === 0 ? value[0] : -1;
}

/** Socket inodes already enlarged. */
const done = new Set<string>();

/**
 * Asks for `bytes` of receive buffer on every UDP socket of this process not seen before; returns
 * the buffer sizes the kernel reports for the sockets changed now.
 */
export function enlargeUdpReceiveBuffers(bytes: number): number[] {
  const udp = udpInodes();
  const sizes: number[] = [];
  for (const entry of Deno.readDirSync("/proc/self/fd")) {
    const fd = Number(entry.name);
    let target = "";
    try {
      target = Deno.readLinkSync(`/proc/self/fd/${fd}`);
    } catch {
      continue; // Closed since the directory was read.
    }
    const inode = target.match(/^socket:\[(\d+)\]$/)?.[1];
    if (!inode || !udp.has(inode) || done.has(inode)) continue;
    done.add(inode);
    const value = new Int32Array([bytes]);
    if (libc.symbols.setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, value, 4) !== 0) {
      libc.symbols.setsockopt(fd, SOL_SOCKET, SO_RCVBUF, value, 4);
    }
    sizes.push(receiveBuffer(fd));
  }
  return sizes;
}
