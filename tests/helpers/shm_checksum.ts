/**
 * Self-checking payloads for the shared-memory stress test: the first 4 bytes are an FNV-1a hash of
 * the rest, so a copy that mixes two access units (a torn frame) is told apart from a whole one.
 */

/** A payload of `length` bytes (8 or more) for access unit number `n`, its hash in front. */
export function checkedPayload(n: number, length: number): Uint8Array {
  const data = new Uint8Array(length);
  const view = new DataView(data.buffer);
  for (let i = 4; i + 4 <= length; i += 4) view.setUint32(i, (n * 0x9e3779b1 + i) >>> 0, true);
  view.setUint32(0, fnv1a(data.subarray(4)), true);
  return data;
}

/** Whether a payload is whole: its hash matches its bytes. */
export function payloadWhole(data: Uint8Array): boolean {
  return data.length >= 8 &&
    new DataView(data.buffer, data.byteOffset).getUint32(0, true) === fnv1a(data.subarray(4));
}

function fnv1a(bytes: Uint8Array): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < bytes.length; i++) hash = Math.imul(hash ^ bytes[i], 0x01000193);
  return hash >>> 0;
}
