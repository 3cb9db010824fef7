/** Byte buffers: the one way edgecam joins several into one. */

/** The parts joined into one new buffer (a part's single write, a test's file built from boxes). */
export function concat(parts: readonly Uint8Array[]): Uint8Array {
  let size = 0;
  for (const p of parts) size += p.length;
  const out = new Uint8Array(size);
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}
