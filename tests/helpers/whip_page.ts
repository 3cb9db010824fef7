import type { Page } from "playwright-core";

/** Chromium's fake camera and microphone, granted without a prompt. */
export const FAKE_MEDIA = ["--use-fake-device-for-media-stream", "--use-fake-ui-for-media-stream"];

/**
 * A WHIP publisher run in the page: the fake camera and microphone, video restricted to `mime`, POSTed
 * to `/whip/<path>`. Resolves with the POST's status. Text, because the tests are type-checked without
 * the DOM's types.
 */
export function publisherScript(path: string, mime: string): string {
  return `(async () => {
    const media = await navigator.mediaDevices.getUserMedia({ video: { width: 640, height: 480 }, audio: true });
    const pc = new RTCPeerConnection();
    const video = pc.addTransceiver(media.getVideoTracks()[0], { direction: "sendonly" });
    const codecs = RTCRtpSender.getCapabilities("video").codecs;
    video.setCodecPreferences(codecs.filter((c) => c.mimeType === "${mime}"));
    pc.addTransceiver(media.getAudioTracks()[0], { direction: "sendonly" });
    await pc.setLocalDescription(await pc.createOffer());
    while (pc.iceGatheringState !== "complete") await new Promise((r) => setTimeout(r, 50));
    const res = await fetch("/whip/${path}", {
      method: "POST",
      headers: { "Content-Type": "application/sdp" },
      body: pc.localDescription.sdp,
    });
    const answer = await res.text();
    if (res.status !== 201) return res.status + " " + answer;
    await pc.setRemoteDescription({ type: "answer", sdp: answer });
    globalThis.publisher = pc;
    return res.status;
  })()`;
}

/** What the viewer page's tile for a stream shows (see static/app.js and static/whep.js). */
export interface TileFigures {
  codec?: string;
  framesDecoded?: number;
  /** Ms from the session's offer to its first frame shown. */
  firstFrameMs?: number | null;
  error?: string;
}

/** The figures of the viewer page's tile for `stream`, or null before the tile exists. */
export function tileFigures(page: Page, stream: string): Promise<TileFigures | null> {
  return page.locator(`section[data-stream="${stream}"]`).evaluate((tile) =>
    (tile as unknown as { edgecam?: TileFigures }).edgecam ?? null
  );
}
