/**
 * Free space of the volume holding the recordings, from libc's `statvfs` through FFI (Deno has no
 * statfs of its own); the one module of recording that calls into C.
 */
import { requiredLibrary } from "../native_library.ts";

/** Bytes of glibc's `struct statvfs` on 64-bit Linux (x86-64 and arm64 alike). */
const STATVFS_SIZE = 112;
/** Offsets in `struct statvfs` of `f_frsize` and `f_bavail`, both 64-bit. */
const STATVFS_FRSIZE = 8;
const STATVFS_BAVAIL = 32;

const libc = requiredLibrary(
  "libc.so.6",
  {
    statvfs: { parameters: ["buffer", "buffer"], result: "i32" },
  } as const,
);

/**
 * Bytes an unprivileged writer may still use on the volume holding `path` (`f_bavail` × `f_frsize`,
 * what `df` shows as available). Throws when `path` cannot be measured.
 */
export function freeBytes(path: string): number {
  const stat = new Uint8Array(STATVFS_SIZE);
  if (libc().statvfs(new TextEncoder().encode(`${path}\0`), stat) !== 0) {
    throw new Error(`cannot measure the free space of ${path}`);
  }
  const view = new DataView(stat.buffer);
  return Number(view.getBigUint64(STATVFS_BAVAIL, true) * view.getBigUint64(STATVFS_FRSIZE, true));
}

/** Tells how many bytes are free where recordings go; the real one is {@link freeBytes}. */
export type FreeSpace = (path: string) => number;
