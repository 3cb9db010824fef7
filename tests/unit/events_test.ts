import assert from "node:assert/strict";
import { describeEvent, eventBody, eventEnvironment, type ServiceEvent } from "../../lib/events.ts";
import { type SourceState, Stream, StreamRegistry } from "../../lib/stream/stream.ts";

const segment: ServiceEvent = {
  event: "recording_segment_complete",
  time: "2026-12-05T10:00:00.000Z",
  stream: "front",
  fields: { file: "2026-12-05T09-50-00.000Z.mp4", bytes: 1234, error: null },
};

Deno.test("an event's JSON body is event, time and stream, then its own fields", () => {
  assert.deepEqual(eventBody(segment), {
    event: "recording_segment_complete",
    time: "2026-12-05T10:00:00.000Z",
    stream: "front",
    file: "2026-12-05T09-50-00.000Z.mp4",
    bytes: 1234,
    error: null,
  });
});

Deno.test("a hook program gets the event as EDGECAM_* variables, null as empty, and the whole body", () => {
  assert.deepEqual(eventEnvironment(segment), {
    EDGECAM_EVENT: "recording_segment_complete",
    EDGECAM_TIME: "2026-12-05T10:00:00.000Z",
    EDGECAM_STREAM: "front",
    EDGECAM_FILE: "2026-12-05T09-50-00.000Z.mp4",
    EDGECAM_BYTES: "1234",
    EDGECAM_ERROR: "",
    EDGECAM_EVENT_JSON: JSON.stringify(eventBody(segment)),
  });
});

Deno.test("the log line names the event and stream, then the fields that have a value", () => {
  assert.equal(
    describeEvent(segment),
    "event recording_segment_complete front file=2026-12-05T09-50-00.000Z.mp4 bytes=1234",
  );
});

Deno.test("a stream announces ready and lost as its source state changes", async (t) => {
  const cases: [string, [SourceState, number][], string[]][] = [
    ["starting, then running: ready", [["starting", 0], ["running", 0]], ["stream_ready"]],
    ["running, then a restart: lost", [["running", 0], ["restarting", 1]], ["stream_lost"]],
    ["restarting, then running again: ready", [["restarting", 1], ["running", 1]], ["stream_ready"]],
    ["a failed start that is retried: nothing lost", [["starting", 0], ["restarting", 1]], []],
    ["running, then stopped: lost", [["running", 0], ["stopped", 0]], ["stream_lost"]],
    ["a publisher gone: lost; a new one: ready", [["running", 0], ["waiting", 0], ["running", 0]], [
      "stream_lost",
      "stream_ready",
    ]],
    ["running stays running (a pid update): nothing", [["running", 0], ["running", 0]], []],
  ];
  for (const [name, states, expected] of cases) {
    await t.step(name, () => {
      const registry = new StreamRegistry();
      const stream = registry.add(new Stream("cam", "h264", 10));
      const [first, ...rest] = states;
      stream.source = { ...stream.source, state: first[0], restarts: first[1] };
      const seen: string[] = [];
      registry.onEvent((e) => {
        assert.equal(e.stream, "cam");
        seen.push(e.event);
      });
      for (const [state, restarts] of rest) stream.source = { ...stream.source, state, restarts };
      assert.deepEqual(seen, expected);
    });
  }
});
