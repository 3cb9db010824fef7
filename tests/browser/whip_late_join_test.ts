import assert from "node:assert/strict";
import type { Page } from "playwright-core";
import { launchChromium } from "../helpers/browser.ts";
import { getJson, startEdgecam, waitFor } from "../helpers/edgecam.ts";
import { h264StartsKeyframe, WhepViewer } from "../helpers/whep_client.ts";
import { FAKE_MEDIA, publisherScript, tileFigures } from "../helpers/whip_page.ts";

/** The default `limits.reader_queue_frames`: what a user's viewers get. */
const QUEUE_FRAMES = 90;
const PATHS = [["late264", "video/H264"], ["latevp8", "video/VP8"]];

interface StreamFigures {
  frames: number;
  keyframes: number;
  drops: number;
}

async function streamFigures(url: string, path: string): Promise<StreamFigures> {
  return (await getJson<StreamFigures>(`${url}/api/streams/${path}`)).body;
}

/**
 * Waits until `path` has sent more frames since its last keyframe than a reader's queue holds: a new
 * reader can no longer start from the cached GOP, and Chromium sends no keyframe unless asked.
 */
async function waitPastQueue(url: string, path: string): Promise<StreamFigures> {
  let last = { keyframes: -1, frames: 0 };
  return await waitFor(`${path}: ${QUEUE_FRAMES} frames past its last keyframe`, async () => {
    const figures = await streamFigures(url, path);
    if (figures.keyframes !== last.keyframes) last = { keyframes: figures.keyframes, frames: figures.frames };
    return figures.frames - last.frames > QUEUE_FRAMES + 10 ? figures : undefined;
  }, 40_000);
}

Deno.test("viewers that join a browser's WHIP stream long after its only keyframe get a picture at once", async () => {
  const edgecam = await startEdgecam({
    toml: PATHS.map(([name, mime]) =>
      `[[paths]]\nname = "${name}"\ncodec = "${mime.slice(6).toLowerCase()}"\n`
    )
      .join(""),
  });
  const browser = await launchChromium(FAKE_MEDIA);
  const viewer = new WhepViewer();
  try {
    for (const [path, mime] of PATHS) {
      const page = await browser.newPage();
      await page.goto(`${edgecam.url}/health`);
      assert.equal(await page.evaluate(publisherScript(path, mime)), 201, path);
    }
    const before = new Map<string, StreamFigures>();
    for (const [path] of PATHS) before.set(path, await waitPastQueue(edgecam.url, path));

    const page: Page = await browser.newPage();
    await page.goto(edgecam.url);
    for (const [path, mime] of PATHS) {
      const f = await waitFor(`${path} decoded by the viewer page`, async () => {
        const f = await tileFigures(page, path);
        assert.ok(
          !f?.error?.includes("no picture"),
          `${path}: the page gave up on a silent session: ${f?.error}`,
        );
        return f && f.codec === mime && (f.framesDecoded ?? 0) > 0 && f.firstFrameMs != null ? f : undefined;
      }, 15_000);
      const after = await streamFigures(edgecam.url, path);
      console.log(`${path}: the page's first picture came ${Math.round(f.firstFrameMs!)} ms after its offer`);
      assert.ok(
        after.keyframes > before.get(path)!.keyframes,
        `${path}: the join asked the publisher for a keyframe`,
      );
      assert.equal(after.drops, before.get(path)!.drops, `${path}: a join is no drop`);
    }

    // A plain WHEP player, which sends no PLI before its first packet, joining as late.
    await waitPastQueue(edgecam.url, "late264");
    const posted = Date.now();
    await viewer.connect(`${edgecam.url}/whep/late264`);
    await waitFor("a late werift viewer's first frame", () => viewer.frames.length > 0 || undefined);
    console.log(
      `late264: a werift viewer's first frame came ${viewer.frames[0].receivedMs - posted} ms after its POST`,
    );
    assert.ok(h264StartsKeyframe(viewer.firstPayload!), "its first frame is a keyframe");
  } catch (err) {
    console.error(edgecam.log());
    throw err;
  } finally {
    await viewer.close();
    await browser.close();
    await edgecam.stop();
  }
});
