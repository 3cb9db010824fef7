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

/** A URL the browser loads by itself (<video src>, a download link): the token rides in the query. */
function withToken(url) {
  return token ? `${url}${url.includes("?") ? "&" : "?"}token=${encodeURIComponent(token)}` : url;
}

/** Sends an API call with the token; its JSON, or an Error with the server's one-line text. */
async function api(method, path) {
  const res = await fetch(path, { method, headers: authHeaders });
  if (!res.ok) throw new Error(`${res.status} ${(await res.text()).trim()}`);
  return await res.json();
}

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
  const recorder = makeRecordingControls(stream.name);
  tile.append(video, bar, recorder.bar, recorder.panel);

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
  return { tile, figures, recorder };
}

/** m:ss or h:mm:ss. */
function clock(ms) {
  const s = Math.floor(ms / 1000);
  const mmss = `${Math.floor(s / 60) % 60}:${String(s % 60).padStart(2, "0")}`;
  return s >= 3600 ? `${Math.floor(s / 3600)}:${mmss.padStart(5, "0")}` : mmss;
}

function size(bytes) {
  return bytes >= 1e6 ? `${(bytes / 1e6).toFixed(1)} MB` : `${Math.ceil(bytes / 1e3)} kB`;
}

/** A time as a datetime-local input's value: local time, to the millisecond. */
function localInputValue(ms) {
  return new Date(ms - new Date(ms).getTimezoneOffset() * 60_000).toISOString().slice(0, 23);
}

/**
 * A tile's second bar (record, snapshot, recordings) and its recordings panel; `show(status)` takes the
 * stream's recording status from each /status refresh.
 */
function makeRecordingControls(name) {
  const path = `/api/streams/${encodeURIComponent(name)}/recording`;
  const bar = el("div", "bar tools");
  const record = el("button", "record", "●Rec");
  const elapsed = el("span", "elapsed");
  const problem = el("span", "problem");
  const snapshot = el("a", "snapshot", "Snapshot");
  snapshot.href = withToken(`/snapshot/${encodeURIComponent(name)}.jpg`);
  snapshot.download = `${name}.jpg`;
  const toggle = el("button", "recordings-toggle", "Recordings");
  bar.append(record, elapsed, problem, snapshot, toggle);
  const panel = makeRecordingsPanel(name);

  let recording = false;
  // A refused click (say, a token that may only watch) stays shown over the refreshes until the next click.
  let refused = "";
  const show = (status) => {
    recording = status.recording;
    record.textContent = recording ? "■Stop" : "●Rec";
    record.classList.toggle("on", recording);
    elapsed.textContent = recording ? clock(status.duration_ms) : "";
    elapsed.title = status.start_time ? `since ${new Date(status.start_time).toLocaleString()}` : "";
    problem.textContent = status.error ?? refused;
  };
  record.addEventListener("click", async () => {
    record.disabled = true;
    refused = "";
    try {
      show(await api(recording ? "DELETE" : "POST", path));
      if (!recording && !panel.node.hidden) await panel.load();
    } catch (err) {
      refused = problem.textContent = err.message;
    } finally {
      record.disabled = false;
    }
  });
  toggle.addEventListener("click", () => {
    panel.node.hidden = !panel.node.hidden;
    toggle.classList.toggle("on", !panel.node.hidden);
    if (panel.node.hidden) panel.player.pause();
    else panel.load();
  });
  return { bar, panel: panel.node, show };
}

/** The recordings panel: the stream's segments, a "play from" range, and a player for either. */
function makeRecordingsPanel(name) {
  const node = el("div", "recordings");
  node.hidden = true;
  const from = el("input", "from");
  from.type = "datetime-local";
  from.step = "0.001";
  const seconds = el("input", "seconds");
  seconds.type = "number";
  seconds.min = "1";
  seconds.value = "60";
  const playRange = el("button", "play-range", "Play");
  const range = el("div", "range");
  range.append("from ", from, " for ", seconds, " s ", playRange);
  const list = el("ol", "segments");
  const message = el("div", "message");
  const player = el("video", "player");
  player.controls = true;
  player.playsInline = true;
  player.hidden = true;
  node.append(range, list, message, player);

  const play = (url) => {
    message.textContent = "";
    player.hidden = false;
    player.src = withToken(url);
    player.play().catch(() => {}); // a failure shows through the error event
  };
  player.addEventListener("error", () => {
    message.textContent = `cannot play: ${player.error?.message || `media error ${player.error?.code}`}`;
  });
  playRange.addEventListener("click", () => {
    const start = new Date(from.value);
    if (Number.isNaN(start.getTime())) return void (message.textContent = "choose a start time");
    const query = new URLSearchParams({ start: start.toISOString(), duration: seconds.value || "60" });
    play(`/playback/${encodeURIComponent(name)}?${query}`);
  });

  const load = async () => {
    try {
      const { segments } = await api("GET", `/api/recordings/${encodeURIComponent(name)}`);
      list.replaceChildren(...segments.map((segment) => segmentRow(segment, play)));
      message.textContent = segments.length ? "" : "no recordings yet";
      if (segments.length && !from.value) from.value = localInputValue(Date.parse(segments[0].start));
    } catch (err) {
      message.textContent = `recordings unavailable: ${err.message}`;
    }
  };
  return { node, player, load };
}

function segmentRow(segment, play) {
  const row = el("li", "segment");
  row.dataset.start = segment.start;
  const download = el("a", "download", "download");
  download.href = withToken(segment.url);
  download.download = "";
  const playButton = el("button", "play", "▶");
  playButton.title = "Play this segment";
  playButton.addEventListener("click", () => play(segment.url));
  row.append(
    el("span", "start", new Date(segment.start).toLocaleString()),
    el("span", "duration", `${segment.duration_s.toFixed(1)} s`),
    el("span", "size", size(segment.bytes)),
    download,
    playButton,
  );
  return row;
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
      const { tile, figures, recorder } = tiles.get(stream.name);
      if (stream.recording) recorder.show(stream.recording);
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
