// Run by tests/integration/shm_object_test.ts inside a private mount namespace whose /dev/shm is a
// 1 MiB tmpfs: the service's ShmOutput for a 2 MiB ring, fed large keyframes as a camera would. Prints
// one JSON line: the output's status, the stream's frame count and the objects left in /dev/shm.
import { Log } from "../../lib/log.ts";
import { ShmOutput } from "../../lib/outputs/shm.ts";
import { Stream } from "../../lib/stream/stream.ts";
import { au } from "./access_units.ts";

const stream = new Stream("cam", "h264", 8);
const output = new ShmOutput(
  stream,
  { name: "edgecam-cam", slotCount: 8, slotSize: 262_144, mode: 0o600 },
  new Log(),
);
for (let id = 1; id <= 16; id++) {
  stream.publish(au(id, true, 200_000));
  // Lets the output's pump copy the access unit into the ring before the next one.
  await new Promise((resolve) => setTimeout(resolve, 5));
}
const left = [...Deno.readDirSync("/dev/shm")].map((entry) => entry.name);
console.log(JSON.stringify({ status: output.status(), frames: stream.stats().frames, left }));
output.close();
