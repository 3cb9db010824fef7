import assert from "node:assert/strict";
import * as layout from "../../lib/shm/layout.ts";
import { ShmReader } from "../../lib/shm/client.ts";
import { getJson, startEdgecam, waitFor, writeConfig } from "../helpers/edgecam.ts";
import { unlinkObject } from "../../lib/shm/libc.ts";
import {
  compileAndRun,
  exitedPid,
  probeH264,
  ReaderProcess,
  RecordingReader,
  ringExists,
  ringWrittenBy,
  uniquePrefix,
} from "../helpers/shm.ts";
import { WsPlayer } from "../helpers/ws_player.ts";

interface StreamJson {
  state: string;
  restarts: number;
  pid: number | null;
  shm: {
    name: string;
    size: number;
    generation: number;
    write_seq: number;
    frames_written: number;
    slot_count: number;
    slot_size: number;
    error: string | null;
  } | null;
}

/** One 320x240 test camera named "cam" whose ring is <prefix>-cam. */
function cameraToml(prefix: string, shm = "", camera = ""): string {
  return `
[shm]
prefix = "${prefix}"
${shm}

[[cameras]]
name = "cam"
width = 320
height = 240
fps = 30
${camera}
`;
}

async function running(url: string): Promise<StreamJson> {
  return await waitFor("camera running with frames", async () => {
    const { body } = await getJson<StreamJson>(`${url}/api/streams/cam`);
    return body.state === "running" && (body.shm?.write_seq ?? 0) > 0 ? body : undefined;
  }, 30_000);
}

/** Each frame's sequence follows the one before: nothing was missed. */
function assertConsecutive(seqs: number[], who: string): void {
  for (let i = 1; i < seqs.length; i++) {
    assert.equal(seqs[i], seqs[i - 1] + 1, `${who}: ${seqs[i - 1]} then ${seqs[i]}`);
  }
}

Deno.test("the C header and lib/shm/layout.ts agree on every offset and constant", async () => {
  const fields = {
    magic: "magic",
    version: "version",
    headerSize: "header_size",
    slotHeaderSize: "slot_header_size",
    slotCount: "slot_count",
    slotSize: "slot_size",
    generation: "generation",
    codec: "codec",
    width: "width",
    height: "height",
    state: "state",
    writerPid: "writer_pid",
    createdUs: "created_us",
    writeSeq: "write_seq",
    keyframeSeq: "keyframe_seq",
    skipped: "skipped",
  };
  const slotFields = {
    seq: "seq",
    length: "length",
    flags: "flags",
    pts90k: "pts90k",
    captureUs: "capture_us",
    publishUs: "publish_us",
  };
  const prints = [
    ...Object.values(fields).map((f) => `printf("%zu\\n", offsetof(edgecam_shm_header, ${f}));`),
    ...Object.values(slotFields).map((f) => `printf("%zu\\n", offsetof(edgecam_shm_slot, ${f}));`),
    ...["MAGIC", "VERSION", "HEADER_SIZE", "SLOT_HEADER_SIZE", "FLAG_KEYFRAME", "FLAG_SKIPPED", "STATE_LIVE"]
      .map((c) => `printf("%u\\n", (unsigned)EDGECAM_SHM_${c});`),
    `printf("%u\\n%u\\n", (unsigned)EDGECAM_SHM_CODEC_H264, (unsigned)EDGECAM_SHM_CODEC_VP8);`,
  ];
  const values =
    (await compileAndRun(`#include "edgecam_shm.h"\nint main(void) {\n${prints.join("\n")}\nreturn 0;\n}\n`))
      .trim().split("\n").map(Number);
  assert.deepEqual(values, [
    ...Object.keys(fields).map((k) => layout.HEADER[k as keyof typeof layout.HEADER]),
    ...Object.keys(slotFields).map((k) => layout.SLOT[k as keyof typeof layout.SLOT]),
    layout.MAGIC,
    layout.LAYOUT_VERSION,
    layout.HEADER_SIZE,
    layout.SLOT_HEADER_SIZE,
    layout.FLAG_KEYFRAME,
    layout.FLAG_SKIPPED,
    layout.STATE_LIVE,
    layout.CODEC_IDS.h264,
    layout.CODEC_IDS.vp8,
  ]);
});

Deno.test("the C reader gets the same bytes as a WebSocket player, as a file ffprobe accepts", async () => {
  const prefix = uniquePrefix();
  const ring = `${prefix}-cam`;
  // A ring of a stream a killed run had and this config no longer names.
  const leftover = ringWrittenBy(`${prefix}-removed`, await exitedPid());
  leftover.mapping.unmap();
  const edgecam = await startEdgecam({ toml: cameraToml(prefix) });
  const player = new WsPlayer(`${edgecam.url.replace("http", "ws")}/ws/cam`);
  const out = new URL(`../../test-output/${ring}.h264`, import.meta.url).pathname;
  try {
    const before = await running(edgecam.url);
    assert.equal(before.shm?.name, ring);
    assert.equal(before.shm?.error, null);
    assert.equal(before.shm?.size, 256 + 64 * (64 + 1_048_576));
    const mode = Deno.statSync(`/dev/shm/${ring}`).mode! & 0o777;
    assert.equal(mode, 0o600, "the owner only, whatever the umask");
    assert.ok(!ringExists(`${prefix}-removed`), "the start removed the ring its writer left");
    await player.opened;
    await waitFor("the player's first frame", () => player.messages.length > 0 ? true : undefined);

    const reader = await ReaderProcess.c(ring, ["-n", "90", "-o", out, "-t", "20"]);
    const status = await reader.done;
    assert.equal(status.code, 0, reader.stderr);
    const attached = reader.lines[0];
    assert.equal(attached.kind, "attached");
    assert.deepEqual(
      [attached.fields.codec, attached.fields.width, attached.fields.height],
      ["h264", "320", "240"],
    );
    const frames = reader.frames();
    assert.equal(frames.length, 90);
    assert.ok(frames[0].key, "the file starts at a keyframe");
    assertConsecutive(frames.map((f) => f.seq), "C reader");

    // The ring is written before the WebSocket message goes out: the reader may finish first.
    const last = frames.at(-1)!;
    await waitFor(
      "the player's copy of the reader's last frame",
      () => player.messages.some((m) => Math.abs(m.captureMs - last.captureUs / 1000) <= 1) || undefined,
    );
    const file = await Deno.readFile(out);
    let offset = 0;
    for (const frame of frames) {
      const bytes = file.subarray(offset, offset + frame.size);
      offset += frame.size;
      const sent = player.messages.filter((m) =>
        Math.abs(m.captureMs - frame.captureUs / 1000) <= 1 && m.data.length === frame.size
      );
      assert.equal(sent.length, 1, `seq ${frame.seq}: one WebSocket message with its capture time`);
      assert.deepEqual(bytes, sent[0].data, `seq ${frame.seq}: same bytes`);
    }
    assert.equal(offset, file.length);
    assert.deepEqual(await probeH264(out), { codec: "h264", width: 320, height: 240 });

    const { body: after } = await getJson<StreamJson>(`${edgecam.url}/api/streams/cam`);
    assert.ok(after.shm!.write_seq >= frames.at(-1)!.seq);
    assert.equal(after.shm!.frames_written, after.shm!.write_seq, "nothing skipped");
    const { body: status2 } = await getJson<{ streams: StreamJson[] }>(`${edgecam.url}/status`);
    assert.equal(status2.streams[0].shm?.name, ring);
  } finally {
    await player.close().catch(() => {});
    await edgecam.stop();
    await Deno.remove(out).catch(() => {});
    unlinkObject(`${prefix}-removed`);
  }
  assert.ok(!ringExists(ring), "a clean stop removes the ring");
});

Deno.test("three readers at once (C, C and the TypeScript task) all see every frame; a paused reader is lapped and resumes at a keyframe", async (t) => {
  const prefix = uniquePrefix();
  const ring = `${prefix}-cam`;
  const configPath = await writeConfig(cameraToml(prefix, "slot_count = 16", "keyframe_interval = 10"));
  const edgecam = await startEdgecam({ path: configPath });
  const readers: ReaderProcess[] = [];
  try {
    await running(edgecam.url);
    await t.step("three readers, no frame missed by any", async () => {
      readers.push(await ReaderProcess.c(ring, ["-t", "20"]), await ReaderProcess.c(ring, ["-t", "20"]));
      readers.push(ReaderProcess.task("cam", configPath));
      await waitFor(
        "90 frames in every reader",
        () => readers.every((r) => r.frames().length >= 90) ? true : undefined,
        30_000,
      );
      await Promise.all(readers.map((r) => r.stop()));
      const names = ["C reader 1", "C reader 2", "deno task shm-read"];
      readers.forEach((r, i) => {
        assert.equal(r.lines.filter((l) => l.kind === "lapped").length, 0, `${names[i]} was never lapped`);
        assert.ok(r.frames()[0].key, `${names[i]} starts at a keyframe`);
        assertConsecutive(r.frames().map((f) => f.seq), names[i]);
      });
      const from = Math.max(...readers.map((r) => r.frames()[0].seq));
      const to = Math.min(...readers.map((r) => r.frames().at(-1)!.seq));
      assert.ok(to - from >= 60, `${to - from + 1} frames seen by all three`);
    });

    await t.step(
      "a TypeScript reader paused for a second is lapped, then goes on at a keyframe",
      async () => {
        const reader = await ShmReader.attach(ring);
        try {
          const first = await reader.next();
          assert.equal(first?.kind, "frame");
          await new Promise((r) => setTimeout(r, 1000));
          const lapped = await reader.next();
          assert.ok(lapped?.kind === "lapped" && lapped.missed > 0, `lapped, not ${lapped?.kind}`);
          const resumed = await reader.next();
          assert.ok(resumed?.kind === "frame" && resumed.keyframe, "resumes at a keyframe");
        } finally {
          await reader.close();
        }
      },
    );

    await t.step(
      "a C reader slower than the camera is lapped again and again, and each time resumes at a keyframe",
      async () => {
        const slow = await ReaderProcess.c(ring, ["-s", "150", "-t", "20"]);
        readers.push(slow);
        await waitFor(
          "three laps",
          () => slow.lines.filter((l) => l.kind === "lapped").length >= 3 ? true : undefined,
        );
        await slow.stop();
        slow.lines.forEach((line, i) => {
          const next = slow.lines[i + 1];
          if (line.kind === "lapped" && next) {
            assert.equal(next.kind, "frame");
            assert.equal(next.fields.key, "1", "the frame after a lap is a keyframe");
          }
        });
      },
    );
  } finally {
    await Promise.all(readers.map((r) => r.stop()));
    await edgecam.stop();
  }
});

Deno.test("readers stay attached across a camera restart; after SIGKILL and a new start they move to the new generation", async (t) => {
  const prefix = uniquePrefix();
  const ring = `${prefix}-cam`;
  const configPath = await writeConfig(cameraToml(prefix, "", "keyframe_interval = 15"));
  let edgecam = await startEdgecam({ path: configPath });
  const c = await ReaderProcess.c(ring, ["-t", "30"]);
  const ts = await RecordingReader.attach(ring);
  try {
    const before = await running(edgecam.url);
    const generation = before.shm!.generation;
    await waitFor(
      "both readers reading",
      () => c.frames().length > 10 && ts.frames().length > 10 ? true : undefined,
    );

    await t.step("the camera process dies and comes back: same ring, same readers", async () => {
      Deno.kill(before.pid!, "SIGKILL");
      await waitFor("restart", async () => {
        const { body } = await getJson<StreamJson>(`${edgecam.url}/api/streams/cam`);
        return body.restarts >= 1 && body.state === "running" ? body : undefined;
      });
      const cCount = c.frames().length;
      const tsCount = ts.frames().length;
      await waitFor(
        "frames after the restart in both readers",
        () => c.frames().length > cCount + 30 && ts.frames().length > tsCount + 30 ? true : undefined,
      );
      const { body: after } = await getJson<StreamJson>(`${edgecam.url}/api/streams/cam`);
      assert.equal(after.shm!.generation, generation);
      assert.ok(!c.lines.some((l) => l.kind === "closed"), "the C reader never lost its ring");
      assert.ok(!ts.events.some((e) => e.kind === "generation"), "nor did the TypeScript reader");
      assertConsecutive(c.frames().map((f) => f.seq), "C reader");
      assertConsecutive(ts.frames().map((f) => f.seq), "TypeScript reader");
    });

    await t.step("SIGKILL leaves the ring; the next start replaces it with a new generation", async () => {
      await edgecam.stop("SIGKILL");
      assert.ok(ringExists(ring), "a killed service cannot remove its ring");
      const cCount = c.frames().length;
      const tsCount = ts.frames().length;
      edgecam = await startEdgecam({ path: configPath });
      const restarted = await running(edgecam.url);
      assert.notEqual(restarted.shm!.generation, generation);
      assert.ok(restarted.shm!.generation > generation);
      await waitFor(
        "frames of the new generation in both readers",
        () => c.frames().length > cCount + 15 && ts.frames().length > tsCount + 15 ? true : undefined,
        30_000,
      );
      const closedAt = c.lines.findIndex((l) => l.kind === "closed");
      assert.ok(closedAt > 0, "the C reader saw the old ring close");
      assert.equal(c.lines[closedAt].fields.generation, String(generation));
      assert.equal(c.lines[closedAt + 1].kind, "attached");
      assert.equal(c.lines[closedAt + 1].fields.generation, String(restarted.shm!.generation));
      assert.equal(c.lines[closedAt + 2].kind, "frame");
      assert.equal(c.lines[closedAt + 2].fields.key, "1", "the new generation starts at a keyframe");

      const switched = ts.events.findIndex((e) => e.kind === "generation");
      assert.deepEqual(ts.events[switched], {
        kind: "generation",
        generation: restarted.shm!.generation,
        previous: generation,
      });
      const firstNew = ts.events[switched + 1];
      assert.ok(
        firstNew.kind === "frame" && firstNew.keyframe && firstNew.seq < 100,
        "from the new ring's start",
      );
    });
  } finally {
    await c.stop();
    await ts.close();
    await edgecam.stop();
  }
  assert.ok(!ringExists(ring));
});
