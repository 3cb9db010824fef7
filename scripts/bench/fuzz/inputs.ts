/**
 * What every fuzz target is made of: the Target shape the runner (../fuzz.ts) drives, and the input
 * builders the targets share. Most inputs are a real document or stream with a few edits, as a corrupt
 * pipe, a broken client or a hostile one would send it; the edits are plain numbers, so fast-check
 * shrinks a failing input by shrinking them.
 */
import fc from "fast-check";
import { concat } from "../../../lib/media/bytes.ts";

/** One fuzz target: the inputs it takes, what it feeds them to, and which throws are no finding. */
export interface Target<T> {
  /** Named after the modules it feeds. */
  name: string;
  arbitrary: fc.Arbitrary<T>;
  /** Feeds one input to the target's modules; what escapes is judged by `allowed`. */
  run(input: T): void;
  /** The refusals the modules document (a 4xx, a config problem): no finding. */
  allowed(err: unknown): boolean;
}

/** For targets whose modules document that they never throw. */
export const nothingAllowed = (): boolean => false;

/** Runs `step`; an allowed refusal ends only that step (undefined), anything else propagates. */
export function tolerate<R>(allowed: (err: unknown) => boolean, step: () => R): R | undefined {
  try {
    return step();
  } catch (err) {
    if (allowed(err)) return undefined;
    throw err;
  }
}

/** Bytes as a Uint8Array. */
export const u = (...bytes: number[]): Uint8Array => new Uint8Array(bytes);

/** Offsets in `bytes` where `pattern` starts. */
export function offsetsOf(bytes: Uint8Array, pattern: number[]): number[] {
  const found: number[] = [];
  for (let i = 0; i + pattern.length <= bytes.length; i++) {
    if (pattern.every((b, k) => bytes[i + k] === b)) found.push(i);
  }
  return found;
}

/** A byte-level edit; `kind` picks the operation, the other fields are its operands (taken modulo sizes). */
export interface ByteEdit {
  kind: number;
  at: number;
  value: number;
  length: number;
}

const byteEdits = fc.array(
  fc.record({ kind: fc.nat(6), at: fc.nat(), value: fc.nat(255), length: fc.nat(64) }),
  { maxLength: 6 },
);

/** `source` after `edits`; `markers` are the format's sync patterns (start codes, element IDs) to insert. */
export function editBytes(source: Uint8Array, edits: ByteEdit[], markers: Uint8Array[]): Uint8Array {
  let b = source;
  for (const { kind, at, value, length } of edits) {
    const i = b.length === 0 ? 0 : at % b.length;
    const end = Math.min(b.length, i + length);
    switch (kind) {
      case 0: // one byte set
        b = b.slice();
        if (b.length > 0) b[i] = value;
        break;
      case 1: // one bit flipped
        b = b.slice();
        if (b.length > 0) b[i] ^= 1 << (value & 7);
        break;
      case 2:
        b = concat([b.subarray(0, i), b.subarray(end)]);
        break;
      case 3: // a range repeated, as a retransmitted or re-read buffer would be
        b = concat([b.subarray(0, end), b.subarray(i, end), b.subarray(end)]);
        break;
      case 4:
        b = concat([b.subarray(0, i), markers[value % markers.length], b.subarray(i)]);
        break;
      case 5: // a run of one value: zero padding, 0xff fill
        b = concat([b.subarray(0, i), new Uint8Array(length).fill(value), b.subarray(i)]);
        break;
      case 6:
        b = b.subarray(0, i);
        break;
    }
  }
  return b;
}

/** One of `items` with byte edits. */
export function editedItem(items: Uint8Array[], markers: Uint8Array[]): fc.Arbitrary<Uint8Array> {
  return fc.record({ i: fc.nat(items.length - 1), edits: byteEdits })
    .map(({ i, edits }) => editBytes(items[i], edits, markers));
}

/** A window of a real stream, from its start or a sync point, with byte edits: a corrupt or joined pipe. */
export function streamWindow(
  stream: Uint8Array,
  syncPoints: number[],
  maxLength: number,
  markers: Uint8Array[],
): fc.Arbitrary<Uint8Array> {
  return fc.record({
    start: fc.oneof(fc.constant(-1), fc.nat()),
    length: fc.integer({ min: 1, max: maxLength }),
    edits: byteEdits,
  }).map(({ start, length, edits }) => {
    const from = start < 0 ? 0 : syncPoints[start % syncPoints.length];
    return editBytes(stream.subarray(from, from + length), edits, markers);
  });
}

/** Random bytes, half of them from 0..3 so that start codes, escapes and zero runs come up often. */
export const randomBytes = (maxLength: number): fc.Arbitrary<Uint8Array> =>
  fc.oneof(fc.uint8Array({ maxLength }), fc.uint8Array({ max: 3, maxLength }));

/** `bytes` cut into the chunks a pipe's reads would give: at random points, or a few bytes at a time. */
export function chunked(bytes: fc.Arbitrary<Uint8Array>): fc.Arbitrary<Uint8Array[]> {
  const how = fc.oneof(
    { weight: 9, arbitrary: fc.array(fc.nat(), { maxLength: 6 }) },
    { weight: 1, arbitrary: fc.integer({ min: 1, max: 7 }) },
  );
  return fc.tuple(bytes, how).map(([b, how]) => {
    const points = typeof how === "number"
      ? Array.from({ length: Math.ceil(b.length / how) }, (_, i) => i * how)
      : how.map((p) => p % (b.length + 1)).sort((x, y) => x - y);
    return [...points, b.length].map((end, i) => b.subarray(i === 0 ? 0 : points[i - 1], end));
  });
}

/** Numerals at the edges: 16-bit, 32-bit and safe-integer bounds, past double range, other bases. */
const numeral = fc.oneof(
  fc.constantFrom(
    "0",
    "-1",
    "65535",
    "65536",
    "4294967296",
    "9007199254740993",
    "1e400",
    "9".repeat(30),
    "0x1f",
    "",
  ),
  fc.nat().map(String),
);

/** Lengths of an inserted huge line: at and past the 4096 SDP line limit, and far past it. */
const HUGE_LINES = [4096, 4097, 70_000];
/** Characters one repeated line may add: the HTTP doors refuse bodies over 128 KiB before any parser. */
const MAX_REPEAT_CHARS = 128 * 1024;

/** A line-level edit of a text document; `text` is a line the target makes, `number` a numeral to put in. */
interface LineEdit {
  kind: number;
  at: number;
  to: number;
  text: string;
  number: string;
}

function editLines(source: string[], edits: LineEdit[]): string[] {
  const lines = [...source];
  for (const { kind, at, to, text, number } of edits) {
    const n = Math.max(lines.length, 1);
    const i = at % n;
    const j = to % n;
    const line = lines[i] ?? "";
    switch (kind) {
      case 0:
        lines.splice(i, 1);
        break;
      case 1:
        lines.splice(j, 0, line);
        break;
      case 2:
        lines[i] = text;
        break;
      case 3: // one numeral or all of them: ports, payload types, sizes, priorities
        lines[i] = line.replace(to % 2 ? /\d+/g : /\d+/, number);
        break;
      case 4:
        lines.splice(i, 0, text);
        break;
      case 5:
        [lines[i], lines[j]] = [lines[j] ?? "", line];
        break;
      case 6:
        lines[i] = line.slice(0, to % 40);
        break;
      case 7:
        lines.splice(i, 0, text + "x".repeat(HUGE_LINES[to % HUGE_LINES.length]));
        break;
      case 8: // one line many times: past the line, m-line, candidate and key limits
        lines.splice(
          i,
          0,
          ...Array<string>(Math.min(to % 1200, Math.floor(MAX_REPEAT_CHARS / (line.length + 1)))).fill(line),
        );
        break;
      case 9: // the line's name kept, its value (from the first "=") taken from `text`
        if (text.includes("=")) lines[i] = line.replace(/=.*$/, text.slice(text.indexOf("=")));
        break;
    }
  }
  return lines;
}

/** One of `docs` (each a list of lines) with a few line edits, joined as CRLF or LF text. */
export function editedDocument(docs: string[][], line: fc.Arbitrary<string>): fc.Arbitrary<string> {
  const edit = fc.record({ kind: fc.nat(9), at: fc.nat(), to: fc.nat(), text: line, number: numeral });
  return fc.record({
    doc: fc.nat(docs.length - 1),
    edits: fc.array(edit, { maxLength: 5 }),
    eol: fc.constantFrom("\r\n", "\n"),
    trailing: fc.boolean(),
  }).map(({ doc, edits, eol, trailing }) => editLines(docs[doc], edits).join(eol) + (trailing ? eol : ""));
}

/** One of `texts` with a few character edits: deletions, insertions, cuts, repeats. */
export function editedText(texts: string[]): fc.Arbitrary<string> {
  const edit = fc.record({
    kind: fc.nat(3),
    at: fc.nat(),
    length: fc.nat(16),
    text: fc.string({ maxLength: 8 }),
  });
  return fc.record({ i: fc.nat(texts.length - 1), edits: fc.array(edit, { maxLength: 4 }) })
    .map(({ i, edits }) =>
      edits.reduce((s, { kind, at, length, text }) => {
        const p = at % (s.length + 1);
        return [
          s.slice(0, p) + s.slice(p + length),
          s.slice(0, p) + text + s.slice(p),
          s.slice(0, p),
          s.slice(0, p + length) + s.slice(p),
        ][kind];
      }, texts[i])
    );
}

/** Host addresses as clients write them, well-formed or not: IPv4, IPv6, mapped, mDNS, names, junk. */
export const address: fc.Arbitrary<string> = fc.oneof(
  fc.ipV4(),
  fc.ipV6(),
  fc.ipV4().map((a) => `::ffff:${a}`),
  fc.uuid().map((id) => `${id}.local`),
  fc.domain(),
  fc.string({ maxLength: 20 }),
  fc.constantFrom(
    "0.0.0.0",
    "::",
    "fe80::1%eth0",
    "[::1]",
    "1.2.3.4.5",
    "999.1.1.1",
    "::ffff:1.2.3",
    "1:2:3:4:5:6:7:8:9",
  ),
);
