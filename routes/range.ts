/**
 * HTTP byte ranges (RFC 9110 §14): which part of a file a `Range` header asks for, and a response body
 * that reads only that part from disk.
 */
import { RangeNotSatisfiableError } from "../lib/errors.ts";

/** A satisfiable single range: `start` and `end` inclusive, as `Content-Range` writes them. */
export interface ByteRange {
  start: number;
  end: number;
}

/**
 * The range a `Range` header asks of a resource of `size` bytes: undefined for the whole resource (no
 * header, another unit, several ranges or a syntax error all mean "send it all", as §14.2 allows).
 * Throws RangeNotSatisfiableError for a range that starts past the end.
 */
export function parseRange(header: string | undefined, size: number): ByteRange | undefined {
  const m = header && /^bytes=(\d*)-(\d*)$/.exec(header.trim());
  if (!m || (m[1] === "" && m[2] === "")) return undefined;
  if (m[1] === "") {
    const suffix = Number(m[2]);
    if (suffix === 0) throw new RangeNotSatisfiableError("empty suffix range", size);
    return { start: Math.max(0, size - suffix), end: size - 1 };
  }
  const start = Number(m[1]);
  const end = m[2] === "" ? size - 1 : Math.min(Number(m[2]), size - 1);
  if (m[2] !== "" && Number(m[2]) < start) return undefined;
  if (start >= size) {
    throw new RangeNotSatisfiableError(`range starts at ${start}, past the end (${size} bytes)`, size);
  }
  return { start, end };
}

/** A stream of bytes [start, end] of a file, read as it is sent; the file closes when done or cancelled. */
export async function fileSlice(
  path: string,
  start: number,
  end: number,
): Promise<ReadableStream<Uint8Array>> {
  const file = await Deno.open(path, { read: true });
  await file.seek(start, Deno.SeekMode.Start);
  let left = end - start + 1;
  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      const chunk = new Uint8Array(Math.min(left, 256 * 1024));
      const n = await file.read(chunk);
      if (n === null || n === 0) {
        file.close();
        controller.close();
        return;
      }
      left -= n;
      controller.enqueue(chunk.subarray(0, n));
      if (left <= 0) {
        file.close();
        controller.close();
      }
    },
    cancel() {
      file.close();
    },
  });
}
