import assert from "node:assert/strict";
import type { Locator, Page } from "playwright-core";
import { launchChromium } from "../helpers/browser.ts";
import { getJson, startEdgecam, waitFor, waitHealthy } from "../helpers/edgecam.ts";
import type { RecordingStatus } from "../../lib/recording/recorder.ts";

const ROOT = new URL("../../", import.meta.url).pathname;

/** What the test reads off a <video> element. */
interface VideoState {
  src: string;
  currentTime: number;
  videoWidth: number;
  videoHeight: number;
  ended: boolean;
  error: string | null;
}

/** The fields of a <video> the checks need (the tests are type-checked without the DOM's types). */
interface VideoLike {
  currentSrc: string;
  currentTime: number;
  videoWidth: number;
  videoHeight: number;
  ended: boolean;
  error: { code: number; message: string } | null;
}

function videoState(video: Locator): Promise<VideoState> {
  return video.evaluate((node) => {
    const v = node as unknown as VideoLike;
    return {
      src: v.currentSrc,
      currentTime: v.currentTime,
      videoWidth: v.videoWidth,
      videoHeight: v.videoHeight,
      ended: v.ended,
      error: v.error && `${v.error.code} ${v.error.message}`,
    };
  });
}

/** Waits until `video` has played past `seconds` at 320x240, failing at once on a media error. */
async function assertPlaysPast(video: Locator, seconds: number, what: string): Promise<VideoState> {
  let seen: VideoState | undefined;
  return await waitFor(`${what} to play past ${seconds} s`, async () => {
    seen = await videoState(video);
    if (seen.error) throw new Error(`${what}: the <video> failed: ${seen.error} (src ${seen.src})`);
    return seen.currentTime > seconds ? seen : undefined;
  }, 15_000).catch((err: Error) => {
    throw new Error(`${err.message}; the <video> showed ${JSON.stringify(seen)}`);
  });
}

/** Fetches `url` from inside the page (the page's origin and cookies): status, type and first bytes. */
function fetchInPage(page: Page, url: string): Promise<{ status: number; type: string; head: number[] }> {
  return page.evaluate(async (url) => {
    const res = await fetch(url);
    const bytes = new Uint8Array(await res.arrayBuffer());
    return { status: res.status, type: res.headers.get("content-type") ?? "", head: [...bytes.slice(0, 3)] };
  }, url);
}

/** `ms` as a datetime-local input's value in the page's own time zone, which decides what the value means. */
function localInputValue(page: Page, ms: number): Promise<string> {
  return page.evaluate(
    (ms) => new Date(ms - new Date(ms).getTimezoneOffset() * 60_000).toISOString().slice(0, 23),
    ms,
  );
}

/** One 320x240 test camera, recorded into `dir` in 2 s segments of 500 ms parts. */
function config(dir: string): string {
  return `
[shm]
enabled = false
[recording]
dir = "${dir}"
min_free_bytes = 0
segment_s = 2
part_ms = 500
[[cameras]]
name = "cam"
width = 320
height = 240
`;
}

Deno.test("the viewer page records a stream, lists its segments and plays them and a range in a <video>", async (t) => {
  const dir = `recordings/test-${crypto.randomUUID().slice(0, 8)}`;
  const edgecam = await startEdgecam({
    toml: config(dir),
  });
  const browser = await launchChromium();
  const status = async () =>
    (await getJson<RecordingStatus>(`${edgecam.url}/api/streams/cam/recording`)).body;
  try {
    await waitHealthy(edgecam.url);
    const page = await browser.newPage({ viewport: { width: 900, height: 1000 } });
    const errors: string[] = [];
    page.on("pageerror", (err) => errors.push(err.message));
    await page.goto(edgecam.url);
    const tile = page.locator('section[data-stream="cam"]');
    const record = tile.locator("button.record");
    const elapsed = tile.locator(".elapsed");

    await t.step("this Chromium plays H.264 in MP4 (proprietary codecs built in)", async () => {
      const supported = await page.evaluate(`[
        MediaSource.isTypeSupported('video/mp4; codecs="avc1.42c01e"'),
        document.createElement("video").canPlayType('video/mp4; codecs="avc1.42c01e"'),
      ]`);
      assert.deepEqual(supported, [true, "probably"]);
    });

    await t.step("●Rec starts a recording, the tile counts its time, ■Stop ends it", async () => {
      await waitFor("the record button", async () => await record.textContent() === "●Rec" || undefined);
      await record.click();
      await waitFor("■Stop", async () => await record.textContent() === "■Stop" || undefined, 5000);
      await waitFor(
        "more than 4 s recorded",
        async () => (await status()).duration_ms > 4000 || undefined,
        15_000,
      );
      // The page refreshes every second: it shows the recorded time too, not just a recording.
      const shown = await waitFor("elapsed time on the tile", async () => {
        const text = (await elapsed.textContent()) ?? "";
        return /^0:0[4-9]$/.test(text) ? text : undefined;
      }, 5000);
      assert.match(shown, /^0:0\d$/);
      assert.equal(await tile.locator(".problem").textContent(), "");
      await page.screenshot({ path: "test-output/recording-recording.png" });
      await record.click();
      await waitFor("●Rec again", async () => await record.textContent() === "●Rec" || undefined, 10_000);
      const final = await status();
      assert.equal(final.recording, false);
      assert.equal(final.error, null);
      assert.ok(final.duration_ms > 4000, `${final.duration_ms} ms recorded`);
      assert.equal(await elapsed.textContent(), "");
    });

    const rows = tile.locator("li.segment");
    await t.step("Recordings lists the segments: start, duration, size, download, play", async () => {
      await tile.locator("button.recordings-toggle").click();
      const count = await waitFor("two segments listed", async () => {
        const n = await rows.count();
        return n >= 2 ? n : undefined;
      });
      const { body } = await getJson<{ segments: { start: string; url: string }[] }>(
        `${edgecam.url}/api/recordings/cam`,
      );
      assert.equal(count, body.segments.length);
      assert.match((await rows.first().locator(".duration").textContent())!, /^\d+\.\d s$/);
      assert.match((await rows.first().locator(".size").textContent())!, /^\d+(\.\d)? [kM]B$/);
      const href = await rows.first().locator("a.download").getAttribute("href");
      assert.equal(href, body.segments[0].url);
    });

    const player = tile.locator("video.player");
    await t.step("a range across two segments plays from /playback in the tile's <video>", async () => {
      const first = await rows.first().getAttribute("data-start");
      const firstDuration = parseFloat((await rows.first().locator(".duration").textContent())!);
      assert.ok(firstDuration < 3.5, `the first segment (${firstDuration} s) ends inside the range`);
      const startMs = Date.parse(first!);
      // The field holds the segment's start to the millisecond; Chromium drops trailing zeros (".370" is ".37").
      const shown = await tile.locator("input.from").inputValue();
      assert.equal(await page.evaluate((value) => new Date(value).getTime(), shown), startMs, shown);
      const from = await localInputValue(page, startMs + 500);
      await tile.locator("input.from").fill(from);
      await tile.locator("input.seconds").fill("3");
      await tile.locator("button.play-range").click();
      const src = await waitFor(
        "the player's src",
        () => player.getAttribute("src").then((s) => s ?? undefined),
      );
      const expected = new Date(startMs + 500).toISOString();
      assert.equal(src, `/playback/cam?start=${encodeURIComponent(expected)}&duration=3`);
      const playing = await assertPlaysPast(player, 1.5, "the range");
      assert.deepEqual([playing.videoWidth, playing.videoHeight], [320, 240]);
      // Past the first segment's part of the answer: the second segment plays on without a stall.
      const end = await waitFor("the range to play to its end", async () => {
        const s = await videoState(player);
        if (s.error) throw new Error(`the range failed: ${s.error}`);
        return s.ended ? s : undefined;
      }, 15_000);
      assert.ok(end.currentTime >= 3, `the range ended at ${end.currentTime} s`);
      assert.equal(await tile.locator(".recordings .message").textContent(), "");
      await page.screenshot({ path: "test-output/recording-playback.png" });
    });

    await t.step("a segment's own file plays when its ▶ is clicked", async () => {
      await rows.first().locator("button.play").click();
      const src = await player.getAttribute("src");
      assert.match(src ?? "", /^\/api\/recordings\/cam\/[^/?]+\.mp4$/);
      const playing = await assertPlaysPast(player, 1, "the first segment");
      assert.equal(playing.videoWidth, 320);
    });

    await t.step("the Snapshot link answers a JPEG", async () => {
      const href = await tile.locator("a.snapshot").getAttribute("href");
      assert.equal(href, "/snapshot/cam.jpg");
      assert.equal(await tile.locator("a.snapshot").getAttribute("download"), "cam.jpg");
      const res = await fetchInPage(page, href!);
      assert.deepEqual(res, { status: 200, type: "image/jpeg", head: [0xff, 0xd8, 0xff] });
    });
    assert.deepEqual(errors, []);
    await page.close();
  } finally {
    await browser.close();
    await edgecam.stop();
    await Deno.remove(`${ROOT}${dir}`, { recursive: true }).catch(() => {});
  }
});

Deno.test("the recording controls on a service with tokens: Bearer on API calls, ?token= on media URLs", async () => {
  const token = "record-token-0123456789abcdef";
  const dir = `recordings/test-${crypto.randomUUID().slice(0, 8)}`;
  const edgecam = await startEdgecam({
    toml: `[auth]
view_tokens = ["${token}"]
api_read_tokens = ["${token}"]
api_change_tokens = ["${token}"]
${config(dir)}`,
  });
  const browser = await launchChromium();
  try {
    await waitHealthy(edgecam.url);
    const page = await browser.newPage();
    const errors: string[] = [];
    page.on("pageerror", (err) => errors.push(err.message));
    await page.goto(`${edgecam.url}/?token=${token}`);
    const tile = page.locator('section[data-stream="cam"]');
    const record = tile.locator("button.record");
    await record.click();
    await waitFor("3 s on the tile", async () => {
      const seconds = /^0:(\d\d)$/.exec((await tile.locator(".elapsed").textContent()) ?? "")?.[1];
      return Number(seconds) >= 3 || undefined;
    });
    await record.click();
    await waitFor("●Rec again", async () => await record.textContent() === "●Rec" || undefined, 10_000);
    await tile.locator("button.recordings-toggle").click();
    const row = tile.locator("li.segment").first();
    await row.waitFor();
    assert.match((await row.locator("a.download").getAttribute("href"))!, new RegExp(`\\?token=${token}$`));
    await row.locator("button.play").click();
    const player = tile.locator("video.player");
    await assertPlaysPast(player, 1, "the segment with ?token=");
    await tile.locator("input.seconds").fill("2");
    await tile.locator("button.play-range").click();
    assert.match((await player.getAttribute("src"))!, new RegExp(`^/playback/cam\\?.*&token=${token}$`));
    await assertPlaysPast(player, 1, "the range with &token=");
    const snapshot = await tile.locator("a.snapshot").getAttribute("href");
    assert.equal(snapshot, `/snapshot/cam.jpg?token=${token}`);
    assert.equal((await fetchInPage(page, snapshot!)).type, "image/jpeg");
    assert.equal(await tile.locator(".problem").textContent(), "");
    assert.deepEqual(errors, []);
    await page.close();
    // The browser's own /favicon.ico request carries no token; every call the page makes must.
    const refusals = edgecam.log().split("\n").filter((line) =>
      / 401 [A-Z]+ /.test(line) && !line.includes("/favicon.ico")
    );
    assert.deepEqual(refusals, [], "no refusal once the page had its token");
    assert.ok(!edgecam.log().includes(token), "the token never reaches the log");
  } finally {
    await browser.close();
    await edgecam.stop();
    await Deno.remove(`${ROOT}${dir}`, { recursive: true }).catch(() => {});
  }
});
