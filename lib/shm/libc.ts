/**
 * POSIX shared memory and futex wake-ups through libc, via Deno.dlopen. Needs a plain `--allow-ffi`:
 * Deno 2.9 refuses every pointer operation (mapping views included) under a path-scoped one.
 * The rings' only module that calls into C; everything else sees ArrayBuffers over the mappings.
 * (WebRTC's two native calls, SRTP sealing and `sendto`, live with their users in lib/webrtc/rtp/.)
 */
import { requiredLibrary } from "../native_library.ts";

/** The C library, by its soname: the dynamic linker finds it on every glibc system. */
const LIBC = "libc.so.6";

const O_RDONLY = 0;
const O_RDWR = 2;
const O_CREAT = 0o100;
const O_EXCL = 0o200;
const PROT_READ = 1;
const PROT_WRITE = 2;
const MAP_SHARED = 1;
const SEEK_END = 2;
const FUTEX_WAIT = 0n;
const FUTEX_WAKE = 1n;
const ENOENT = 2;
const ESRCH = 3;
const ENOSPC = 28;
const MAP_FAILED = 0xffffffffffffffffn;
/** The futex syscall's number: it differs between the two architectures edgecam runs on. */
const SYS_FUTEX = Deno.build.arch === "aarch64" ? 98n : 202n;
/** Where shm_open puts its objects. */
const SHM_DIR = "/dev/shm";
/** Bytes of glibc's `struct statvfs` on 64-bit Linux (x86-64 and arm64 alike). */
const STATVFS_SIZE = 112;
/** Offsets in `struct statvfs` of `f_frsize` and `f_bavail`, both 64-bit. */
const STATVFS_FRSIZE = 8;
const STATVFS_BAVAIL = 32;
/** Offset of `d_name` in glibc's `struct dirent` on 64-bit Linux. */
const DIRENT_NAME = 19;

const SYMBOLS = {
  shm_open: { parameters: ["buffer", "i32", "u32"], result: "i32" },
  shm_unlink: { parameters: ["buffer"], result: "i32" },
  posix_fallocate: { parameters: ["i32", "i64", "i64"], result: "i32" },
  fstatvfs: { parameters: ["i32", "buffer"], result: "i32" },
  opendir: { parameters: ["buffer"], result: "pointer" },
  readdir: { parameters: ["pointer"], result: "pointer" },
  closedir: { parameters: ["pointer"], result: "i32" },
  fchmod: { parameters: ["i32", "u32"], result: "i32" },
  lseek: { parameters: ["i32", "i64", "i32"], result: "i64" },
  mmap: { parameters: ["pointer", "usize", "i32", "i32", "i32", "i64"], result: "pointer" },
  munmap: { parameters: ["pointer", "usize"], result: "i32" },
  close: { parameters: ["i32"], result: "i32" },
  kill: { parameters: ["i32", "i32"], result: "i32" },
  __errno_location: { parameters: [], result: "pointer" },
  futex_wake: {
    name: "syscall",
    parameters: ["i64", "pointer", "i64", "i64", "pointer", "pointer", "i64"],
    result: "i64",
  },
  // On a worker thread, so a reader's wait never blocks its event loop.
  futex_wait: {
    name: "syscall",
    parameters: ["i64", "pointer", "i64", "i64", "buffer", "pointer", "i64"],
    result: "i64",
    nonblocking: true,
  },
} as const satisfies Deno.ForeignLibraryInterface;

/** Throws where libc cannot be bound (no `--allow-ffi`): a ring cannot exist without it. */
const symbols = requiredLibrary(LIBC, SYMBOLS);

/** A libc call failed; `errno` says why. */
export class ShmError extends Error {
  override name = "ShmError";

  constructor(message: string, readonly errno: number) {
    super(message);
  }
}

/** /dev/shm has no room for an object of `size` bytes; `free` is what it had. */
export class ShmSpaceError extends ShmError {
  override name = "ShmSpaceError";

  constructor(readonly object: string, readonly size: number, readonly free: number) {
    super(
      `no room for /dev/shm/${object}: it needs ${bytes(size)}, /dev/shm has ${bytes(free)} free (ENOSPC)`,
      ENOSPC,
    );
  }
}

function bytes(n: number): string {
  return `${n} bytes (${(n / 2 ** 20).toFixed(1)} MiB)`;
}

function errno(): number {
  return new Deno.UnsafePointerView(symbols().__errno_location()!).getInt32();
}

function fail(what: string, name: string): never {
  const code = errno();
  throw new ShmError(`${what} /dev/shm/${name}: ${errnoText(code)}`, code);
}

const ERRNO_TEXT: Record<number, string> = {
  1: "operation not permitted (EPERM)",
  2: "no such object (ENOENT)",
  12: "out of memory (ENOMEM)",
  13: "permission denied (EACCES)",
  17: "already exists (EEXIST)",
  22: "invalid argument (EINVAL)",
  28: "no space left on /dev/shm (ENOSPC)",
  36: "name too long (ENAMETOOLONG)",
};

function errnoText(code: number): string {
  return ERRNO_TEXT[code] ?? `errno ${code}`;
}

function cName(name: string): Uint8Array {
  return new TextEncoder().encode(`/${name}\0`);
}

/** One mapping of a shared-memory object. */
export interface Mapping {
  /** The object's name in /dev/shm. */
  name: string;
  /** The mapped bytes; reads and writes go straight to the shared pages. */
  buffer: ArrayBuffer;
  /** Where the mapping starts, for futex calls. */
  pointer: Deno.PointerObject;
  /** Unmaps; the buffer must not be touched afterwards. */
  unmap(): void;
}

function map(fd: number, name: string, size: number, writable: boolean): Mapping {
  const lib = symbols();
  const prot = writable ? PROT_READ | PROT_WRITE : PROT_READ;
  const pointer = lib.mmap(null, BigInt(size), prot, MAP_SHARED, fd, 0n);
  if (pointer === null || Deno.UnsafePointer.value(pointer) === MAP_FAILED) {
    const code = errno();
    lib.close(fd);
    throw new ShmError(`cannot map /dev/shm/${name}: ${errnoText(code)}`, code);
  }
  // The mapping keeps the object; the descriptor is no longer needed.
  lib.close(fd);
  const buffer = Deno.UnsafePointerView.getArrayBuffer(pointer, size);
  let mapped = true;
  return {
    name,
    buffer,
    pointer,
    unmap() {
      if (mapped) lib.munmap(pointer, BigInt(size));
      mapped = false;
    },
  };
}

/**
 * Creates a new object of `size` zero bytes with exactly `mode` (the umask does not apply), its pages
 * reserved, and maps it for writing. Fails with EEXIST when the name is taken and with ShmSpaceError
 * when /dev/shm has no room; a failed object is removed.
 */
export function createObject(name: string, size: number, mode: number): Mapping {
  const lib = symbols();
  const fd = lib.shm_open(cName(name), O_RDWR | O_CREAT | O_EXCL, mode);
  if (fd < 0) fail("cannot create", name);
  try {
    if (lib.fchmod(fd, mode) !== 0) fail("cannot set the mode of", name);
    reserve(fd, name, size);
  } catch (err) {
    lib.close(fd);
    lib.shm_unlink(cName(name));
    throw err;
  }
  try {
    return map(fd, name, size, true);
  } catch (err) {
    lib.shm_unlink(cName(name));
    throw err;
  }
}

/**
 * Sizes the object with every page allocated now. An object only sized with ftruncate gets its pages on
 * first write, and a write that finds /dev/shm full then kills the writer with SIGBUS.
 */
function reserve(fd: number, name: string, size: number): void {
  // Checked first because posix_fallocate on tmpfs takes pages one by one before it gives them back on
  // ENOSPC: meanwhile /dev/shm is full, and another program's first write to one of its pages would fault.
  const free = freeBytes(fd, name);
  if (size > free) throw new ShmSpaceError(name, size, free);
  // posix_fallocate returns its error instead of setting errno.
  const code = symbols().posix_fallocate(fd, 0n, BigInt(size));
  if (code === ENOSPC) throw new ShmSpaceError(name, size, freeBytes(fd, name));
  if (code !== 0) {
    throw new ShmError(`cannot reserve ${bytes(size)} for /dev/shm/${name}: ${errnoText(code)}`, code);
  }
}

/** Bytes free on the file system that holds the object. */
function freeBytes(fd: number, name: string): number {
  const stat = new Uint8Array(STATVFS_SIZE);
  if (symbols().fstatvfs(fd, stat) !== 0) fail("cannot measure the free space for", name);
  const view = new DataView(stat.buffer);
  return Number(view.getBigUint64(STATVFS_FRSIZE, true) * view.getBigUint64(STATVFS_BAVAIL, true));
}

/** Maps an existing object whole, or returns undefined when there is none by that name or it is empty. */
export function openObject(name: string, writable: boolean): Mapping | undefined {
  const lib = symbols();
  const fd = lib.shm_open(cName(name), writable ? O_RDWR : O_RDONLY, 0);
  if (fd < 0) {
    if (errno() === ENOENT) return undefined;
    fail("cannot open", name);
  }
  const size = Number(lib.lseek(fd, 0n, SEEK_END));
  if (size <= 0) {
    lib.close(fd);
    return undefined;
  }
  return map(fd, name, size, writable);
}

/** Names of the objects in /dev/shm. Read through libc: `--allow-ffi` needs no read permission on it. */
export function listObjects(): string[] {
  const lib = symbols();
  const dir = lib.opendir(new TextEncoder().encode(`${SHM_DIR}\0`));
  if (dir === null) {
    const code = errno();
    throw new ShmError(`cannot list ${SHM_DIR}: ${errnoText(code)}`, code);
  }
  const names: string[] = [];
  try {
    for (let entry = lib.readdir(dir); entry !== null; entry = lib.readdir(dir)) {
      const name = Deno.UnsafePointerView.getCString(entry, DIRENT_NAME);
      if (name !== "." && name !== "..") names.push(name);
    }
  } finally {
    lib.closedir(dir);
  }
  return names;
}

/** Removes the name from /dev/shm; mappings stay valid until unmapped. Missing is fine. */
export function unlinkObject(name: string): void {
  if (symbols().shm_unlink(cName(name)) !== 0 && errno() !== ENOENT) fail("cannot remove", name);
}

/** Whether a process with this id exists (it may belong to another user). */
export function processAlive(pid: number): boolean {
  return pid > 0 && (symbols().kill(pid, 0) === 0 || errno() !== ESRCH);
}

/** Wakes every process waiting on the 32-bit word at `offset` of the mapping. */
export function futexWake(mapping: Mapping, offset: number): void {
  const address = Deno.UnsafePointer.offset(mapping.pointer, offset);
  symbols().futex_wake(SYS_FUTEX, address, FUTEX_WAKE, 0x7fffffffn, null, null, 0n);
}

/**
 * Sleeps until the 32-bit word at `offset` differs from `expected`, a wake-up, or `timeoutMs`. Runs on
 * a worker thread; any outcome (woken, changed already, timed out, interrupted) means "look again".
 */
export async function futexWait(
  mapping: Mapping,
  offset: number,
  expected: number,
  timeoutMs: number,
): Promise<void> {
  const address = Deno.UnsafePointer.offset(mapping.pointer, offset);
  const timeout = new BigInt64Array([BigInt(Math.floor(timeoutMs / 1000)), BigInt((timeoutMs % 1000) * 1e6)]);
  await symbols().futex_wait(SYS_FUTEX, address, FUTEX_WAIT, BigInt(expected), timeout, null, 0n);
}
