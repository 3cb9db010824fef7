/**
 * Fuzz targets for the byte-stream parsers: a camera pipe's H.264 Annex-B and WebM (VP8), and a WHIP
 * publisher's RTP. Each is documented never to throw, so any throw is a finding.
 */
import fc from "fast-check";
import {
  frameDecoder,
  FrameReassembler,
  type RtpIn,
  vp8DescriptorLength,
} from "../../../lib/ingest/depacketize.ts";
import { AnnexBSplitter, hasBSlice, isKeyframe, nalUnits } from "../../../lib/media/h264/annexb.ts";
import { H264Assembler } from "../../../lib/media/h264/assembler.ts";
import { NAL, nalType, parseSps, sliceType, unescapeRbsp } from "../../../lib/media/h264/sps.ts";
import { concat } from "../../../lib/media/bytes.ts";
import { parseVp8Frame } from "../../../lib/media/vp8.ts";
import { EBML_ID, WebmDemuxer } from "../../../lib/media/webm.ts";
import {
  chunked,
  editBytes,
  editedItem,
  nothingAllowed,
  offsetsOf,
  randomBytes,
  streamWindow,
  type Target,
  u,
} from "./inputs.ts";

const START_CODES = [u(0, 0, 1), u(0, 0, 0, 1)];

/** H.264 Annex-B: the camera pipe's assembler, the NAL splitter and per-buffer checks, the SPS parser. */
export function h264Target(stream: Uint8Array, high: Uint8Array): Target<Uint8Array[]> {
  const nals = [...nalUnits(stream), ...nalUnits(high)];
  const sps = nals.filter((n) => nalType(n) === NAL.SPS);
  const withStart = ([long, nal]: [boolean, Uint8Array]) => concat([START_CODES[long ? 1 : 0], nal]);
  const header = fc.oneof(
    fc.constantFrom(0x09, 0x67, 0x68, 0x65, 0x41, 0x06, 0x01, 0x7c, 0x78, 0x80, 0),
    fc.nat(255),
  );
  const syntheticNal = fc.tuple(
    fc.boolean(),
    fc.tuple(header, randomBytes(48)).map(([h, b]) => concat([u(h), b])),
  );
  const nal = fc.oneof(
    fc.tuple(fc.boolean(), editedItem(nals, START_CODES)),
    fc.tuple(fc.boolean(), editedItem(sps, START_CODES)),
    syntheticNal,
  ).map(withStart);
  const bytes = fc.oneof(
    { weight: 3, arbitrary: streamWindow(stream, offsetsOf(stream, [0, 0, 1]), 8192, START_CODES) },
    // Whole 1080p pictures: access units past the assembler's first 64 KiB buffer.
    { weight: 1, arbitrary: streamWindow(high, offsetsOf(high, [0, 0, 1]), high.length, START_CODES) },
    { weight: 3, arbitrary: fc.array(nal, { maxLength: 8 }).map(concat) },
    { weight: 1, arbitrary: randomBytes(512) },
  );
  const inspect = (nal: Uint8Array) => {
    parseSps(nal);
    sliceType(nal);
    unescapeRbsp(nal);
  };
  return {
    name: "h264 (assembler, annexb, sps)",
    arbitrary: chunked(bytes),
    run(chunks) {
      const assembler = new H264Assembler();
      for (const chunk of chunks) assembler.push(chunk);
      assembler.flush();
      // A small limit, so that garbage growing a NAL unit past it is reached too.
      const splitter = new AnnexBSplitter({ maxNalBytes: 1024 });
      for (const chunk of chunks) splitter.push(chunk).forEach(inspect);
      splitter.peek();
      splitter.end().forEach(inspect);
      const whole = concat(chunks);
      isKeyframe(whole);
      hasBSlice(whole);
      // Every input as an SPS body too, since few random NAL units are SPSs.
      parseSps(concat([u(0x67), whole.subarray(0, 64)]));
    },
    allowed: nothingAllowed,
  };
}

const EBML_MARKERS = [u(0x1a, 0x45, 0xdf, 0xa3), u(0x1f, 0x43, 0xb6, 0x75), u(0xa3), u(0x01, 0xff), u(0xff)];

/** An EBML variable-size integer of at least `length` bytes; its all-ones form when `value` is undefined. */
function vint(value: number | undefined, length: number): Uint8Array {
  if (value === undefined) return u(0xff >> (length - 1), ...Array(length - 1).fill(0xff));
  while (length < 8 && value >= 2 ** (7 * length) - 1) length++;
  const out = new Uint8Array(length);
  for (let i = length - 1, v = value; i >= 0; i--, v = Math.floor(v / 256)) out[i] = v % 256;
  out[0] |= 0x80 >> (length - 1);
  return out;
}

/** An element: ID bytes (marker bits included, as EBML_ID has them), size, body. */
function element(id: number, body: Uint8Array, size: number | undefined = body.length, sizeBytes = 1) {
  const n = id > 0xffffff ? 4 : id > 0xffff ? 3 : id > 0xff ? 2 : 1;
  const idBytes = Uint8Array.from({ length: n }, (_, i) => (id >>> (8 * (n - 1 - i))) & 0xff);
  return concat([idBytes, vint(size, sizeBytes), body]);
}

/** WebM as webmmux writes it, and the VP8 frame headers in it. */
export function webmTarget(webm: Uint8Array): Target<Uint8Array[]> {
  const frames = new WebmDemuxer().push(webm).map((f) => f.data);
  const clusters = offsetsOf(webm, [0x1f, 0x43, 0xb6, 0x75]);
  const header = webm.subarray(0, clusters[0]);
  const vp8 = fc.oneof(editedItem(frames, [u(0x9d, 0x01, 0x2a)]), randomBytes(32));
  const block = fc.tuple(
    fc.constantFrom(0x81, 0x82, 0x40, 0),
    fc.nat(0xffff),
    fc.constantFrom(0x80, 0, 2, 6),
    vp8,
  )
    .map(([track, time, flags, frame]) => concat([u(track, time >> 8, time & 0xff, flags), frame]));
  const blockGroup = fc.tuple(block, fc.option(fc.nat(0xff)))
    .map(([b, reference]) =>
      element(
        EBML_ID.BLOCK_GROUP,
        concat([
          element(EBML_ID.BLOCK, b),
          reference === null ? u() : element(EBML_ID.REFERENCE_BLOCK, u(reference)),
        ]),
      )
    );
  const cluster = fc.tuple(
    fc.boolean(),
    fc.nat(0xffff),
    fc.array(fc.oneof(block.map((b) => element(EBML_ID.SIMPLE_BLOCK, b)), blockGroup), { maxLength: 4 }),
  ).map(([unsized, time, blocks]) => {
    const body = concat([element(EBML_ID.TIMECODE, u(time >> 8, time & 0xff)), ...blocks]);
    return element(EBML_ID.CLUSTER, body, unsized ? undefined : body.length, 8);
  });
  // Any element, known ID or not; size -1 is the body's own, -2 unknown (all ones), others lie.
  const { any } = fc.letrec<{ any: Uint8Array; children: Uint8Array }>((tie) => ({
    any: fc.record({
      id: fc.oneof(
        { weight: 6, arbitrary: fc.constantFrom(...Object.values(EBML_ID)) },
        fc.integer({ min: 0x81, max: 0x1fffffff }),
      ),
      size: fc.oneof(
        { weight: 4, arbitrary: fc.constant(-1) },
        fc.constant(-2),
        fc.nat(),
        fc.constant(2 ** 53 - 1),
      ),
      sizeBytes: fc.integer({ min: 1, max: 8 }),
      body: fc.oneof({ maxDepth: 3 }, randomBytes(24), block, blockGroup, tie("children")),
    }).map(({ id, size, sizeBytes, body }) =>
      element(id, body, size === -2 ? undefined : size === -1 ? body.length : size, sizeBytes)
    ),
    children: fc.array(tie("any"), { maxLength: 4 }).map(concat),
  }));
  const synthetic = fc.tuple(fc.boolean(), fc.array(fc.oneof(cluster, any), { maxLength: 6 }))
    .map(([real, elements]) => concat([real ? header : u(), ...elements]));
  const bytes = fc.oneof(
    { weight: 3, arbitrary: streamWindow(webm, clusters, 16384, EBML_MARKERS) },
    { weight: 3, arbitrary: synthetic },
    { weight: 1, arbitrary: randomBytes(512) },
  );
  return {
    name: "vp8/webm (webm, vp8)",
    arbitrary: chunked(bytes),
    run(chunks) {
      const demuxer = new WebmDemuxer();
      for (const chunk of chunks) {
        for (const frame of demuxer.push(chunk)) parseVp8Frame(frame.data);
        parseVp8Frame(chunk);
      }
    },
    allowed: nothingAllowed,
  };
}

/** RTP payloads of H.264 access units as a WHIP publisher sends them: single NAL units and FU-A fragments. */
function h264Payloads(stream: Uint8Array, mtu: number): Uint8Array[][] {
  const assembler = new H264Assembler();
  const units = [...assembler.push(stream), assembler.flush()].filter((au) => au !== undefined);
  return units.map((au) =>
    [...nalUnits(au.data)].flatMap((nal) => {
      if (nal.length <= mtu) return [nal];
      const out: Uint8Array[] = [];
      for (let at = 1; at < nal.length; at += mtu) {
        const fu = (at === 1 ? 0x80 : 0) | (at + mtu >= nal.length ? 0x40 : 0) | (nal[0] & 0x1f);
        out.push(concat([u((nal[0] & 0xe0) | 28, fu), nal.subarray(at, at + mtu)]));
      }
      return out;
    })
  );
}

/** RTP payloads of VP8 frames, with the short or the extended (15-bit PictureID) payload descriptor. */
function vp8Payloads(frames: Uint8Array[], mtu: number, extended: boolean): Uint8Array[][] {
  return frames.map((frame, picture) => {
    const out: Uint8Array[] = [];
    for (let at = 0; at < frame.length; at += mtu) {
      const start = at === 0 ? 0x10 : 0;
      const descriptor = extended ? u(0x80 | start, 0x80, 0x80 | (picture >> 8), picture & 0xff) : u(start);
      out.push(concat([descriptor, frame.subarray(at, at + mtu)]));
    }
    return out;
  });
}

interface PacketEdit {
  kind: number;
  at: number;
  to: number;
  value: number;
}

/** Packets after edits: loss, duplication, reordering, a rewritten header field or payload. */
function editPackets(packets: RtpIn[], edits: PacketEdit[]): RtpIn[] {
  const p = packets.map((packet) => ({ ...packet }));
  for (const { kind, at, to, value } of edits) {
    if (p.length === 0) break;
    const i = at % p.length;
    const j = to % p.length;
    switch (kind) {
      case 0:
        p.splice(i, 1);
        break;
      case 1:
        p.splice(j, 0, { ...p[i] });
        break;
      case 2:
        [p[i], p[j]] = [p[j], p[i]];
        break;
      case 3:
        p[i].sequenceNumber = value & 0xffff;
        break;
      case 4:
        p[i].marker = !p[i].marker;
        break;
      case 5:
        p[i].timestamp = value;
        break;
      case 6: // a FU-A start header or a VP8 start-of-partition descriptor among the edits
        p[i].payload = editBytes(p[i].payload, [{ kind: value % 6, at: to, value: value >>> 8, length: 8 }], [
          u(0x7c, 0x85),
          u(0x90),
        ]);
        break;
      case 7:
        p[i].payload = p[i].payload.subarray(0, to % 8);
        break;
    }
  }
  return p;
}

interface RtpInput {
  codec: "h264" | "vp8";
  packets: RtpIn[];
}

/** The WHIP ingest depacketizer: reordering and frame cuts, then the H.264 and VP8 frame decoders. */
export function rtpTarget(h264: Uint8Array, webm: Uint8Array): Target<RtpInput> {
  const vp8Frames = new WebmDemuxer().push(webm).map((f) => f.data);
  const streams = {
    h264: [h264Payloads(h264, 1200), h264Payloads(h264, 200)],
    vp8: [vp8Payloads(vp8Frames, 1200, true), vp8Payloads(vp8Frames, 200, false)],
  };
  const codec = fc.constantFrom("h264" as const, "vp8" as const);
  const edit = fc.record({ kind: fc.nat(7), at: fc.nat(), to: fc.nat(), value: fc.nat(0xffffffff) });
  const real = fc.record({
    codec,
    variant: fc.nat(1),
    first: fc.nat(),
    count: fc.integer({ min: 1, max: 8 }),
    seq: fc.nat(0xffff),
    ts: fc.nat(0xffffffff),
    edits: fc.array(edit, { maxLength: 6 }),
  }).map(({ codec, variant, first, count, seq, ts, edits }) => {
    const frames = streams[codec][variant];
    const packets: RtpIn[] = [];
    for (let f = 0; f < count; f++) {
      const payloads = frames[(first + f) % frames.length];
      payloads.forEach((payload, k) =>
        packets.push({
          sequenceNumber: (seq + packets.length) & 0xffff,
          timestamp: (ts + f * 3000) % 2 ** 32,
          marker: k === payloads.length - 1,
          payload,
        })
      );
    }
    return { codec, packets: editPackets(packets, edits) };
  });
  // Sequence numbers mostly near each other, sometimes anywhere; four timestamps, so frames interleave.
  const random = fc.record({
    codec,
    seq: fc.nat(0xffff),
    steps: fc.array(
      fc.record({
        step: fc.oneof({ weight: 4, arbitrary: fc.integer({ min: -3, max: 4 }) }, fc.nat(0xffff)),
        frame: fc.nat(3),
        marker: fc.boolean(),
        payload: randomBytes(12),
      }),
      { maxLength: 40 },
    ),
  }).map(({ codec, seq, steps }) => {
    let at = seq;
    const packets = steps.map(({ step, frame, marker, payload }) => {
      at = (at + step) & 0xffff;
      return { sequenceNumber: at, timestamp: frame * 3000, marker, payload };
    });
    return { codec, packets };
  });
  return {
    name: "rtp (depacketize)",
    arbitrary: fc.oneof({ weight: 3, arbitrary: real }, { weight: 2, arbitrary: random }),
    run({ codec, packets }) {
      const reassembler = new FrameReassembler();
      const decoder = frameDecoder(codec);
      for (const packet of packets) {
        vp8DescriptorLength(packet.payload);
        for (const frame of reassembler.push(packet).frames) decoder.decode(frame);
      }
      // All of them as one frame too: the decoders see payloads the reassembler would have held back.
      decoder.decode({ timestamp: 0, payloads: packets.map((p) => p.payload) });
      decoder.format();
    },
    allowed: nothingAllowed,
  };
}
