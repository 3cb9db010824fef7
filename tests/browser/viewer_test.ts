import assert from "node:assert/strict";
import type { Page } from "playwright-core";
import { launchChromium } from "../helpers/browser.ts";
import { getJson, startEdgecam, waitFor, waitHealthy } from "../helpers/edgecam.ts";

/** What a tile exposes as `tile.edgecam`: the figures the page shows. */
interface TileFigures {
  transport: string;
  codec?: string;
  width?: number;
  height?: number;
  framesDecoded?: number;
  latencyMs?: number | null;
  candidatePair?: string;
  error?: string;
}

function tileFigures(page: Page, stream: string): Promise<TileFigures | null> {
  return page.locator(`section[data-stream="${stream}"]`).evaluate((tile) =>
    (tile as unknown as { edgecam?: TileFigures }).edgecam ?? null
  );
}

/** Waits until the tile decodes frames, then checks they keep coming. */
async function assertPlaying(
  page: Page,
  stream: string,
  transport: string,
  codec: string,
): Promise<TileFigures> {
  let seen: TileFigures | null = null;
  const first = await waitFor(`${stream} decoding over ${transport}`, async () => {
    seen = await tileFigures(page, stream);
    return seen && seen.transport === transport && (seen.framesDecoded ?? 0) > 10 ? seen : undefined;
  }, 20_000).catch((err: Error) => {
    throw new Error(`${err.message}; the tile showed ${JSON.stringify(seen)}`);
  });
  await new Promise((r) => setTimeout(r, 2000));
  const later = (await tileFigures(page, stream))!;
  assert.ok(
    later.framesDecoded! > first.framesDecoded! + 30,
    `${stream}: ${first.framesDecoded} → ${later.framesDecoded}`,
  );
  assert.deepEqual([later.width, later.height], [640, 480], stream);
  assert.equal(later.codec, codec, stream);
  return later;
}

Deno.test("the viewer page: both cameras over WebRTC with live figures, on desktop and phone; WebSocket fallback", async (t) => {
  const edgecam = await startEdgecam({ path: "config.toml" });
  const browser = await launchChromium();
  try {
    await waitHealthy(edgecam.url);
    await Deno.mkdir("test-output", { recursive: true });

    await t.step(
      "desktop: H.264 and VP8 decode over WHEP; delay, loss and candidate pair are shown",
      async () => {
        const page = await browser.newPage({ viewport: { width: 1100, height: 700 } });
        const errors: string[] = [];
        page.on("pageerror", (err) => errors.push(err.message));
        await page.goto(edgecam.url);
        await assertPlaying(page, "front", "webrtc", "video/H264");
        await assertPlaying(page, "rear", "webrtc", "video/VP8");
        const pair = await waitFor(
          "the candidate pair",
          async () => (await tileFigures(page, "front"))?.candidatePair,
        );
        assert.match(pair, /^host \S+:\d+ ↔ host [\d.]+:\d+$/);
        const latency = await waitFor("a delay figure", async () => {
          const f = await tileFigures(page, "front");
          return typeof f?.latencyMs === "number" ? f.latencyMs : undefined;
        });
        assert.ok(latency > 0 && latency < 1000, `glass-to-glass delay ${latency} ms`);
        const text = await page.locator('section[data-stream="front"] .figures').textContent();
        assert.match(
          text ?? "",
          /running · 640x480 · \d+ fps · [\d.]+ Mbit\/s · H264 · loss [\d.]+ % · delay \d+ ms · webrtc/,
        );
        await page.screenshot({ path: "test-output/viewer-desktop.png" });
        assert.deepEqual(errors, []);
        await page.close({ runBeforeUnload: true });
      },
    );

    await t.step("phone-sized screen: tiles stack and still play", async () => {
      const page = await browser.newPage({ viewport: { width: 390, height: 844 }, isMobile: true });
      await page.goto(edgecam.url);
      await assertPlaying(page, "front", "webrtc", "video/H264");
      const boxes = await Promise.all(
        ["front", "rear"].map((s) => page.locator(`section[data-stream="${s}"]`).boundingBox()),
      );
      assert.ok(boxes[0]!.width <= 390 && boxes[1]!.y >= boxes[0]!.y + boxes[0]!.height, "one column");
      await page.screenshot({ path: "test-output/viewer-phone.png" });
      await page.close({ runBeforeUnload: true });
    });

    await t.step("?transport=ws plays H.264 through the WebSocket player", async () => {
      const page = await browser.newPage();
      await page.goto(`${edgecam.url}/?transport=ws`);
      const f = await assertPlaying(page, "front", "websocket", "video/H264");
      assert.ok(typeof f.latencyMs === "number" && f.latencyMs < 1000, `delay ${f.latencyMs}`);
      await page.close({ runBeforeUnload: true });
    });

    await t.step("closing the pages freed their WebRTC sessions (DELETE on pagehide)", async () => {
      await waitFor("no viewers left", async () => {
        const { body } = await getJson<{ name: string; readers: number }[]>(`${edgecam.url}/api/streams`);
        return body.every((s) => s.readers === 0) ? true : undefined;
      });
    });
  } finally {
    await browser.close();
    await edgecam.stop();
  }
});

/**
 * A bare WHEP client run in the page: receives `front`, leaves its peer connection in `globalThis.pc`
 * once connected. Text, because the tests are type-checked without the DOM's types.
 */
const PAGE_WHEP_CLIENT = `(async () => {
  const pc = new RTCPeerConnection();
  pc.addTransceiver("video", { direction: "recvonly" });
  await pc.setLocalDescription(await pc.createOffer());
  while (pc.iceGatheringState !== "complete") await new Promise((r) => setTimeout(r, 50));
  const res = await fetch("/whep/front", {
    method: "POST",
    headers: { "Content-Type": "application/sdp" },
    body: pc.localDescription.sdp,
  });
  await pc.setRemoteDescription({ type: "answer", sdp: await res.text() });
  while (pc.connectionState !== "connected") await new Promise((r) => setTimeout(r, 50));
  globalThis.pc = pc;
})()`;

Deno.test("a browser that closes its peer connection or leaves the page without DELETE is freed at once", async (t) => {
  const edgecam = await startEdgecam({ path: "config.toml" });
  const browser = await launchChromium();
  const viewers = async () =>
    (await getJson<{ webrtc: { viewers: number } }>(`${edgecam.url}/api/streams/front`)).body.webrtc.viewers;
  /** Connects a bare WHEP client in a new page, runs `leave`, and checks the session went within 5 s. */
  const leaveAndCheck = async (leave: (page: Page) => Promise<unknown>) => {
    const page = await browser.newPage();
    await page.goto(`${edgecam.url}/health`);
    await page.evaluate(PAGE_WHEP_CLIENT);
    assert.equal(await viewers(), 1);
    const leftAt = Date.now();
    await leave(page);
    // Chromium sends a DTLS close_notify; ICE consent expiry alone would take 30 s.
    const freedAt = await waitFor(
      "the session to be freed",
      async () => await viewers() === 0 ? Date.now() : undefined,
      10_000,
    );
    assert.ok(freedAt - leftAt < 5_000, `freed ${freedAt - leftAt} ms after`);
    await page.close();
  };
  try {
    await waitHealthy(edgecam.url);
    await t.step("pc.close()", () => leaveAndCheck((page) => page.evaluate("globalThis.pc.close()")));
    await t.step("navigating away", () => leaveAndCheck((page) => page.goto("about:blank")));
  } finally {
    await browser.close();
    await edgecam.stop();
  }
});

Deno.test("the viewer page on a service with tokens: ?token= plays over WebRTC and the WebSocket player", async (t) => {
  const token = "page-token-0123456789abcdef";
  const edgecam = await startEdgecam({
    toml: `
[auth]
view_tokens = ["${token}"]
api_read_tokens = ["${token}"]
[[cameras]]
name = "front"
`,
  });
  const browser = await launchChromium();
  try {
    await waitHealthy(edgecam.url);

    await t.step("without ?token= the page loads and says it needs one", async () => {
      const page = await browser.newPage();
      await page.goto(edgecam.url);
      const line = await waitFor("the service line", async () => {
        const text = await page.locator("#service").textContent();
        return text?.includes("token") ? text : undefined;
      });
      assert.match(line, /needs a token: open the page as \/\?token=<token>/);
      assert.equal(await page.locator("section.tile").count(), 0);
      await page.close();
    });

    await t.step("?token=: H.264 decodes over WHEP (Bearer on the POST and DELETE)", async () => {
      const page = await browser.newPage();
      const errors: string[] = [];
      page.on("pageerror", (err) => errors.push(err.message));
      await page.goto(`${edgecam.url}/?token=${token}`);
      await assertPlaying(page, "front", "webrtc", "video/H264");
      assert.deepEqual(errors, []);
      await page.close({ runBeforeUnload: true });
    });

    await t.step("?token=&transport=ws: the WebSocket player plays with ?token= on its URL", async () => {
      const page = await browser.newPage();
      await page.goto(`${edgecam.url}/?transport=ws&token=${token}`);
      await assertPlaying(page, "front", "websocket", "video/H264");
      await page.close({ runBeforeUnload: true });
    });

    await t.step("closing the pages freed their sessions: the DELETE carried the token", async () => {
      await waitFor("no viewers left", async () => {
        const res = await fetch(`${edgecam.url}/api/streams/front`, {
          headers: { Authorization: `Bearer ${token}` },
        });
        const body = await res.json();
        return body.readers === 0 ? true : undefined;
      });
      assert.doesNotMatch(
        edgecam.log(),
        /401 (POST|DELETE|GET) \/(whep|ws)\//,
        "no refusal once the page had its token",
      );
      assert.ok(!edgecam.log().includes(token), "the token never reaches the log");
    });
  } finally {
    await browser.close();
    await edgecam.stop();
  }
});
