import assert from "node:assert/strict";
import { launchChromium } from "../helpers/browser.ts";
import { getJson, startEdgecam, waitFor } from "../helpers/edgecam.ts";
import { WhepViewer } from "../helpers/whep_client.ts";
import { FAKE_MEDIA, publisherScript, tileFigures } from "../helpers/whip_page.ts";

Deno.test("Chromium's fake camera publishes H.264 and VP8 with audio over WHIP; a werift viewer and the viewer page decode it", async () => {
  const edgecam = await startEdgecam({
    toml: `[[paths]]\nname = "chrome264"\ncodec = "h264"\n[[paths]]\nname = "chromevp8"\ncodec = "vp8"\n`,
  });
  const browser = await launchChromium(FAKE_MEDIA);
  const viewers: WhepViewer[] = [];
  try {
    for (const [path, mime] of [["chrome264", "video/H264"], ["chromevp8", "video/VP8"]]) {
      const page = await browser.newPage();
      await page.goto(`${edgecam.url}/health`);
      assert.equal(await page.evaluate(publisherScript(path, mime)), 201, path);
    }
    for (const [path, mime] of [["chrome264", "video/H264"], ["chromevp8", "video/VP8"]]) {
      await waitFor(`${path} running`, async () => {
        const { body } = await getJson<{ state: string }>(`${edgecam.url}/api/streams/${path}`);
        return body.state === "running" || undefined;
      }, 20_000);
      const viewer = new WhepViewer({ audio: true });
      viewers.push(viewer);
      await viewer.connect(`${edgecam.url}/whep/${path}`);
      await waitFor(
        `${path}: video at the werift viewer`,
        () => viewer.frames.length >= 30 || undefined,
        20_000,
      );
      await waitFor(
        `${path}: Chromium's Opus at the werift viewer`,
        () => viewer.audioPackets >= 25 || undefined,
      );
      assert.equal(viewer.mimeType, mime);
    }
    const page = await browser.newPage();
    await page.goto(edgecam.url);
    for (const [path, mime] of [["chrome264", "video/H264"], ["chromevp8", "video/VP8"]]) {
      const decoded = await waitFor(`${path} decoded by the viewer page`, async () => {
        const f = await tileFigures(page, path);
        return f && f.codec === mime && (f.framesDecoded ?? 0) > 30 ? f.framesDecoded : undefined;
      }, 30_000);
      assert.ok(decoded! > 30);
    }
    await page.screenshot({ path: "test-output/whip-viewer.png" });
  } catch (err) {
    console.error(edgecam.log());
    throw err;
  } finally {
    for (const viewer of viewers) await viewer.close();
    await browser.close();
    await edgecam.stop();
  }
});
