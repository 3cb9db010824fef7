// Run as a subprocess by tests/integration/shm_stress_test.ts: writes self-checking access units into
// the ring named by the first argument as fast as it can for the number of milliseconds in the second,
// then removes the ring and prints how many it wrote.
import { createRing, removeRing } from "../../lib/shm/object.ts";
import { checkedPayload } from "./shm_checksum.ts";

const [name, durationMs] = Deno.args;
const geometry = { slotCount: 4, slotSize: 4096 };
const ring = createRing(name, geometry, 0o600, "h264");
// A few payloads of different sizes, made once: hashing every one would slow the writer down.
const payloads = Array.from({ length: 16 }, (_, n) => checkedPayload(n, 8 + ((n * 997) % (4096 - 8))));
const end = Date.now() + Number(durationMs);
let n = 0;
while (Date.now() < end) {
  for (let i = 0; i < 256; i++, n++) {
    // Every access unit a keyframe, so a lapped reader resumes at once and reads as much as it can.
    ring.writer.write({ codec: "h264", data: payloads[n % 16], keyframe: true, pts90k: n, captureMs: 0 });
  }
}
removeRing(ring);
console.log(n);
