import type { AccessUnit } from "../../lib/stream/access_unit.ts";

/**
 * A synthetic H.264 access unit for stream tests; `id` is written into the payload to tell them apart.
 * It was captured at `captureMs` (by default long ago).
 */
export function au(id: number, keyframe = false, size = 100, captureMs = 1_700_000_000_000 + id): AccessUnit {
  const data = new Uint8Array(size);
  new DataView(data.buffer).setUint32(0, id);
  return { codec: "h264", data, keyframe, pts90k: id * 3000, captureMs };
}

/** The id written by {@link au}. */
export function idOf(unit: AccessUnit | undefined): number | undefined {
  return unit ? new DataView(unit.data.buffer, unit.data.byteOffset).getUint32(0) : undefined;
}

/** Everything a reader can hand out now, as ids. */
export function drain(reader: { tryNext(): AccessUnit | undefined }): number[] {
  const ids: number[] = [];
  for (let unit = reader.tryNext(); unit; unit = reader.tryNext()) ids.push(idOf(unit)!);
  return ids;
}
