// The seqlock under load: another process overwrites a small ring as fast as it can while this one reads.
import assert from "node:assert/strict";
import { HEADER, type RingGeometry, SLOT, SLOT_HEADER_SIZE, slotOffset } from "../../lib/shm/layout.ts";
import { type Mapping, openObject } from "../../lib/shm/libc.ts";
import { readHeader, RingCursor } from "../../lib/shm/ring.ts";
import { waitFor } from "../helpers/edgecam.ts";
import { payloadWhole } from "../helpers/shm_checksum.ts";
import { uniquePrefix } from "../helpers/shm.ts";

const WRITER = new URL("../helpers/shm_stress_writer.ts", import.meta.url).pathname;
const READ_MS = 2000;

/**
 * Copies the slot the writer fills next, as a reader without the seqlock would: whatever length and
 * bytes are there. Torn copies here show the writer really did overwrite slots under the reader.
 */
function copyUnchecked(buffer: ArrayBuffer, geometry: RingGeometry): Uint8Array {
  const view = new DataView(buffer);
  const slot = slotOffset(geometry, Number(view.getBigUint64(HEADER.writeSeq, true)) + 1);
  const length = Math.min(Math.max(view.getUint32(slot + SLOT.length, true), 8), geometry.slotSize);
  return new Uint8Array(buffer, slot + SLOT_HEADER_SIZE, length).slice();
}

Deno.test("a reader never returns a torn frame while another process overwrites a 4-slot ring at full speed", async () => {
  const name = `${uniquePrefix()}-stress`;
  const writer = new Deno.Command(Deno.execPath(), {
    args: ["run", "--allow-ffi", WRITER, name, String(READ_MS + 1500)],
    stdout: "piped",
  }).spawn();
  let mapping: Mapping | undefined;
  try {
    mapping = await waitFor("the writer's ring", () => {
      const found = openObject(name, false);
      if (found && typeof readHeader(found.buffer) !== "string") return found;
      found?.unmap();
    });
    const cursor = new RingCursor(mapping.buffer);
    const counts = { frames: 0, torn: 0, lapped: 0, tornUnchecked: 0 };
    const end = Date.now() + READ_MS;
    while (Date.now() < end) {
      for (let i = 0; i < 1000; i++) {
        const event = cursor.poll();
        if (event?.kind === "frame") {
          counts.frames++;
          if (!payloadWhole(event.data)) counts.torn++;
        } else if (event?.kind === "lapped") {
          counts.lapped++;
        }
        if (!payloadWhole(copyUnchecked(mapping.buffer, cursor.header))) counts.tornUnchecked++;
      }
    }
    const summary = JSON.stringify(counts);
    assert.ok(counts.tornUnchecked > 0, `the writer overwrote slots while they were copied: ${summary}`);
    assert.ok(counts.lapped > 0, `the reader was lapped: ${summary}`);
    assert.ok(counts.frames > 1000, `the reader still read frames: ${summary}`);
    assert.equal(counts.torn, 0, `no torn frame returned: ${summary}`);
  } finally {
    mapping?.unmap();
    const { code } = await writer.output();
    assert.equal(code, 0);
  }
});
