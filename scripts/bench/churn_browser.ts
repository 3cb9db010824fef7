// Chromium as the churn's viewer: one page whose RTCPeerConnection offers what a browser offers (video
// and audio, every codec, transport-cc, RTX), decodes until enough frames were shown, holds, DELETEs
// and closes, as the viewer page does.
import type { Browser, Page } from "playwright-core";
import { launchChromium } from "../../tests/helpers/browser.ts";

/** Frames Chromium must have decoded before the hold starts. */
const FIRST_FRAMES = 10;
/** A session that decoded nothing in this time fails the churn. */
const FIRST_FRAMES_TIMEOUT_MS = 15_000;

/**
 * The page's side of one viewer life, as text: the bench is type-checked without the DOM's types.
 * Resolves with the frames decoded; throws the service's refusal or a timeout.
 */
const WATCH_IN_PAGE = `async ({ whepUrl, holdMs, firstFrames, timeoutMs }) => {
  const pc = new RTCPeerConnection();
  pc.addTransceiver("video", { direction: "recvonly" });
  pc.addTransceiver("audio", { direction: "recvonly" });
  let session;
  try {
    await pc.setLocalDescription(await pc.createOffer());
    while (pc.iceGatheringState !== "complete") await new Promise((r) => setTimeout(r, 20));
    const res = await fetch(whepUrl, {
      method: "POST",
      headers: { "Content-Type": "application/sdp" },
      body: pc.localDescription.sdp,
    });
    const answer = await res.text();
    if (res.status !== 201) throw new Error("POST " + res.status + " " + answer);
    session = new URL(res.headers.get("location"), whepUrl).href;
    await pc.setRemoteDescription({ type: "answer", sdp: answer });
    const decoded = async () => {
      let frames = 0;
      (await pc.getStats()).forEach((s) => {
        if (s.type === "inbound-rtp" && s.kind === "video") frames = s.framesDecoded ?? 0;
      });
      return frames;
    };
    const deadline = Date.now() + timeoutMs;
    while (await decoded() < firstFrames) {
      if (Date.now() > deadline) throw new Error("no frames decoded after " + timeoutMs + " ms");
      await new Promise((r) => setTimeout(r, 50));
    }
    await new Promise((r) => setTimeout(r, holdMs));
    return await decoded();
  } finally {
    if (session) await fetch(session, { method: "DELETE" });
    pc.close();
  }
}`;

/** A headless Chromium that plays churn sessions, one page for all of them. */
export class BrowserViewer {
  private constructor(private readonly browser: Browser, private readonly page: Page) {}

  /** Launches Chromium with a page on the service's origin (`baseUrl`), so no request is cross-origin. */
  static async launch(baseUrl: string): Promise<BrowserViewer> {
    const browser = await launchChromium();
    const page = await browser.newPage();
    await page.goto(`${baseUrl}/health`);
    return new BrowserViewer(browser, page);
  }

  /** One viewer life: POST, decode, hold `holdMs`, DELETE, close. */
  async watchOnce(whepUrl: string, holdMs: number): Promise<void> {
    await this.page.evaluate(
      `(${WATCH_IN_PAGE})(${
        JSON.stringify({ whepUrl, holdMs, firstFrames: FIRST_FRAMES, timeoutMs: FIRST_FRAMES_TIMEOUT_MS })
      })`,
    );
  }

  /** Closes the browser. */
  async close(): Promise<void> {
    await this.browser.close();
  }
}
