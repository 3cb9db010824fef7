// The viewer page: a tile per stream, WebRTC (WHEP) first, the WebSocket player as the H.264 fallback.
import { playOverWebSocket } from "./wsplayer.js";
import { playOverWhep } from "./whep.js";

const grid = document.getElementById("grid");
const service = document.getElementById("service");
/** `?transport=ws` or `?transport=webrtc` pins the transport; by default WebRTC, then WebSocket for H.264. */
const pinned = new URLSearchParams(location.search).get("transport");
/**
 * `?token=` of the page's own URL, for a service with Bearer tokens: the page itself is plain files and
 * loads without one, but what it calls needs it. Sent as `Authorization: Bearer` on fetches and as
 * `?token=` on WebSocket URLs (a browser cannot set headers on those).
 */
const token = new URLSearchParams(location.search).get("token") || undefined;
const authHeaders = token ? { Authorization: `Bearer ${token}` } : {};

function el(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined) node.textContent = text;
  return node;
}

function makeTile(stream, rtpOriginMs) {
  const tile = el("section", "tile");
  tile.dataset.stream = stream.name;
  const video = el("video");
  video.muted = true;
  video.autoplay = true;
  video.playsInline = true;
  const fullscreen = el("button", "fullscreen", "fullscreen");
  fullscreen.title = "Fullscreen";
  const toggleFullscreen = () =>
    document.fullscreenElement ? document.exitFullscreen() : tile.requestFullscreen?.();
  fullscreen.addEventListener("click", toggleFullscreen);
  video.addEventListener("dblclick", toggleFullscreen);
  const bar = el("div", "bar");
  const figures = el("span", "figures");
  bar.append(el("span", "name", stream.name), figures, fullscreen);
  tile.append(video, bar);

  const useWebSocket = () => {
    tile.player?.close();
    tile.player = playOverWebSocket(stream.name, video, { token });
    tile.dataset.transport = "websocket";
  };
  if (pinned === "ws" && stream.codec === "h264") {
    useWebSocket();
  } else {
    const canFallBack = stream.codec === "h264" && pinned !== "webrtc";
    tile.player = playOverWhep(stream.name, video, {
      rtpOriginMs,
      token,
      onGiveUp: canFallBack ? useWebSocket : undefined,
    });
    tile.dataset.transport = "webrtc";
  }
  return { tile, figures };
}

function format(stream, f) {
  const parts = [stream.state];
  const width = f.width || stream.width;
  if (width) parts.push(`${width}x${f.height || stream.height}`);
  parts.push(`${(f.fps ?? stream.fps).toFixed(0)} fps`);
  parts.push(`${((f.bitrate ?? stream.bitrate) / 1e6).toFixed(2)} Mbit/s`);
  parts.push((f.codec ?? stream.codec).replace("video/", ""));
  if (f.lossPercent !== undefined) parts.push(`loss ${f.lossPercent.toFixed(1)} %`);
  parts.push(`delay ${f.latencyMs == null ? "—" : `${Math.round(f.latencyMs)} ms`}`);
  parts.push(f.transport);
  return parts.join(" · ");
}

async function refresh(tiles) {
  try {
    const res = await fetch("/status", { headers: authHeaders });
    if (res.status === 401) throw new Error("this service needs a token: open the page as /?token=<token>");
    if (!res.ok) throw new Error(`${res.status} ${(await res.text()).trim()}`);
    const status = await res.json();
    service.textContent = `v${status.version} · up ${status.uptime_s} s · ${status.memory.rss_mb} MB`;
    for (const stream of status.streams) {
      if (!tiles.has(stream.name)) {
        const made = makeTile(stream, status.rtp_time_origin_ms);
        tiles.set(stream.name, made);
        grid.append(made.tile);
      }
      const { tile, figures } = tiles.get(stream.name);
      const f = tile.player.figures();
      tile.edgecam = f;
      figures.textContent = format(stream, f);
      figures.title = [
        f.candidatePair && `candidate pair: ${f.candidatePair}`,
        f.firstFrameMs != null && `first picture ${Math.round(f.firstFrameMs)} ms after the offer`,
        f.error,
      ].filter(Boolean).join("\n");
    }
  } catch (err) {
    service.textContent = `status unavailable: ${err.message}`;
  }
}

const tiles = new Map();
await refresh(tiles);
setInterval(() => refresh(tiles), 1000);
