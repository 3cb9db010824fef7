// The WebSocket player: H.264 access units (Annex-B + 8-byte capture time) fed to jmuxer (MSE).
/* global JMuxer */

/** Keep the picture this close (s) to the newest frame; behind that, jump ahead. */
const LIVE_EDGE_S = 0.25;
const RETRY_MS = 2000;

/** A browser cannot set Authorization on a WebSocket: a token goes in the URL as `?token=`. */
function wsUrl(name, token) {
  const proto = location.protocol === "https:" ? "wss:" : "ws:";
  const query = token ? `?token=${encodeURIComponent(token)}` : "";
  return `${proto}//${location.host}/ws/${encodeURIComponent(name)}${query}`;
}

/**
 * Plays `name` into `video` over /ws/<name> (with `token` when given), reconnecting forever; returns
 * { figures(), close() }.
 */
export function playOverWebSocket(name, video, { token } = {}) {
  const state = { latencyMs: null, frames: 0, closed: false };
  let socket = null;
  let muxer = null;
  const connect = () => {
    if (state.closed) return;
    let ready = false;
    const pending = [];
    muxer = new JMuxer({
      node: video,
      mode: "video",
      flushingTime: 0,
      maxDelay: 500,
      fps: 30,
      debug: false,
      // jmuxer drops data fed before MSE opens, init segment included: hold it until ready.
      onReady: () => {
        ready = true;
        for (const chunk of pending.splice(0)) muxer.feed({ video: chunk });
      },
    });
    socket = new WebSocket(wsUrl(name, token));
    socket.binaryType = "arraybuffer";
    socket.onmessage = (event) => {
      const bytes = new Uint8Array(event.data);
      const captureMs = Number(new DataView(event.data).getBigUint64(bytes.length - 8, true));
      const frame = bytes.subarray(0, bytes.length - 8);
      state.latencyMs = Date.now() - captureMs;
      state.frames++;
      if (ready) muxer.feed({ video: frame });
      else pending.push(frame);
    };
    socket.onclose = () => {
      muxer?.destroy();
      muxer = null;
      setTimeout(connect, RETRY_MS);
    };
  };
  connect();
  const keepLive = setInterval(() => {
    const b = video.buffered;
    if (b.length && b.end(b.length - 1) - video.currentTime > LIVE_EDGE_S) {
      video.currentTime = b.end(b.length - 1) - 0.05;
    }
    if (video.paused) video.play().catch(() => {});
  }, 500);
  return {
    transport: "websocket",
    figures: () => ({
      transport: "websocket",
      codec: "video/H264",
      width: video.videoWidth,
      height: video.videoHeight,
      framesDecoded: video.getVideoPlaybackQuality().totalVideoFrames,
      latencyMs: state.latencyMs,
    }),
    close() {
      state.closed = true;
      clearInterval(keepLive);
      socket?.close();
    },
  };
}
