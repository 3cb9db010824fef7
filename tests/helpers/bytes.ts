/** Bytes as the tests write them: from hex text, and joined from several parts. */
import { concat } from "../../lib/media/bytes.ts";

/** Bytes from hex digits; whitespace between them is ignored ("00000001 67"). */
export function hex(s: string): Uint8Array {
  return Uint8Array.from(s.replace(/\s/g, "").match(/../g) ?? [], (b) => parseInt(b, 16));
}

/** The parts joined into one buffer, written as arguments. */
export function join(...parts: Uint8Array[]): Uint8Array {
  return concat(parts);
}
