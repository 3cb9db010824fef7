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
const MAP_FAILED = 0xffffffffffffffffn;
/** The futex syscall's number: it differs between the two architectures edgecam runs on. */
const SYS_FUTEX = Deno.build.arch === "aarch64" ? 98n : 202n;

const SYMBOLS = {
  shm_open: { parameters: ["buffer", "i32", "u32"], result: "i32" },
  shm_unlink: { parameters: ["buffer"], result: "i32" },
  ftruncate: { parameters: ["i32", "i64"], result: "i32" },
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
 * Creates a new object of `size` zero bytes with exactly `mode` (the umask does not apply) and maps
 * it for writing. Fails with EEXIST when the name is taken.
 */
export function createObject(name: string, size: number, mode: number): Mapping {
  const lib = symbols();
  const fd = lib.shm_open(cName(name), O_RDWR | O_CREAT | O_EXCL, mode);
  if (fd < 0) fail("cannot create", name);
  if (lib.fchmod(fd, mode) !== 0 || lib.ftruncate(fd, BigInt(size)) !== 0) {
    const code = errno();
    lib.close(fd);
    lib.shm_unlink(cName(name));
    throw new ShmError(`cannot size /dev/shm/${name} to ${size} bytes: ${errnoText(code)}`, code);
  }
  return map(fd, name, size, true);
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
