import assert from "node:assert/strict";
import { launchChromium } from "../helpers/browser.ts";
import { getJson, startEdgecam, waitFor } from "../helpers/edgecam.ts";

/** The parts of the page's HTMLVideoElement the test reads (Deno has no DOM types). */
interface VideoElement {
  currentTime: number;
  videoWidth: number;
  videoHeight: number;
  getVideoPlaybackQuality(): { totalVideoFrames: number };
}

Deno.test("Chromium plays the H.264 test pattern on the viewer page over the WebSocket", async () => {
  const edgecam = await startEdgecam({ path: "config.toml" });
  const browser = await launchChromium();
  try {
    await waitFor(
      "healthy",
      async () => (await getJson(`${edgecam.url}/health`)).status === 200 ? true : undefined,
    );
    const page = await browser.newPage({ viewport: { width: 1000, height: 700 } });
    const errors: string[] = [];
    page.on("pageerror", (err) => errors.push(err.message));
    await page.goto(edgecam.url);
    const video = page.locator('section[data-stream="front"] video');
    await video.waitFor({ timeout: 10_000 });
    const sample = () =>
      video.evaluate((element) => {
        const v = element as unknown as VideoElement;
        return {
          currentTime: v.currentTime,
          frames: v.getVideoPlaybackQuality().totalVideoFrames,
          width: v.videoWidth,
          height: v.videoHeight,
        };
      });
    const first = await waitFor("playback", async () => {
      const s = await sample();
      return s.currentTime > 0.5 && s.frames > 10 ? s : undefined;
    }, 20_000);
    await new Promise((r) => setTimeout(r, 2000));
    const later = await sample();
    assert.ok(
      later.currentTime > first.currentTime + 1,
      `currentTime ${first.currentTime} → ${later.currentTime}`,
    );
    assert.ok(later.frames > first.frames + 30, `decoded frames ${first.frames} → ${later.frames}`);
    assert.deepEqual([later.width, later.height], [640, 480]);
    const figures = await page.locator('section[data-stream="front"] .figures').textContent();
    assert.match(figures ?? "", /running · 640x480 · \d+ fps/);
    await Deno.mkdir("test-output", { recursive: true });
    await page.screenshot({ path: "test-output/viewer.png" });
    assert.deepEqual(errors, []);
  } finally {
    await browser.close();
    await edgecam.stop();
  }
});
