// The viewer page: one tile per stream; H.264 streams play over the WebSocket output with jmuxer.
/* global JMuxer */

const grid = document.getElementById("grid");
const service = document.getElementById("service");

/** Keep the picture this close (s) to the newest frame; behind that, jump ahead. */
const LIVE_EDGE_S = 0.25;
const RETRY_MS = 2000;

function wsUrl(name) {
  const proto = location.protocol === "https:" ? "wss:" : "ws:";
  return `${proto}//${location.host}/ws/${encodeURIComponent(name)}`;
}

function makeTile(stream) {
  const tile = document.createElement("section");
  tile.className = "tile";
  tile.dataset.stream = stream.name;
  const bar = document.createElement("div");
  bar.className = "bar";
  const name = document.createElement("span");
  name.className = "name";
  name.textContent = stream.name;
  const figures = document.createElement("span");
  figures.className = "figures";
  bar.append(name, figures);
  if (stream.codec === "h264") {
    const video = document.createElement("video");
    video.muted = true;
    video.autoplay = true;
    video.playsInline = true;
    video.addEventListener("dblclick", () => video.requestFullscreen?.());
    tile.append(video, bar);
    playOverWebSocket(stream, video);
  } else {
    const note = document.createElement("div");
    note.className = "note";
    note.textContent = `${stream.codec.toUpperCase()} stream: the WebSocket player carries H.264 only.`;
    tile.append(note, bar);
  }
  return { tile, figures };
}

function playOverWebSocket(stream, video) {
  const state = { latencyMs: null, frames: 0 };
  const connect = () => {
    let ready = false;
    const pending = [];
    const muxer = new JMuxer({
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
    const socket = new WebSocket(wsUrl(stream.name));
    socket.binaryType = "arraybuffer";
    socket.onmessage = (event) => {
      const bytes = new Uint8Array(event.data);
      const view = new DataView(event.data);
      const captureMs = Number(view.getBigUint64(bytes.length - 8, true));
      const frame = bytes.subarray(0, bytes.length - 8);
      state.latencyMs = Date.now() - captureMs;
      state.frames++;
      if (ready) muxer.feed({ video: frame });
      else pending.push(frame);
    };
    socket.onclose = () => {
      muxer.destroy();
      setTimeout(connect, RETRY_MS);
    };
  };
  connect();
  setInterval(() => {
    const b = video.buffered;
    if (b.length && b.end(b.length - 1) - video.currentTime > LIVE_EDGE_S) {
      video.currentTime = b.end(b.length - 1) - 0.05;
    }
    if (video.paused) video.play().catch(() => {});
  }, 500);
  video.edgecam = state;
}

function describe(stream, tileState) {
  const parts = [stream.state];
  if (stream.width) parts.push(`${stream.width}x${stream.height}`);
  parts.push(`${stream.fps.toFixed(0)} fps`, `${(stream.bitrate / 1e6).toFixed(2)} Mbit/s`, stream.codec);
  if (tileState?.latencyMs != null) parts.push(`delay ${tileState.latencyMs} ms`);
  return parts.join(" · ");
}

async function refresh(tiles) {
  try {
    const status = await (await fetch("/status")).json();
    service.textContent = `v${status.version} · up ${status.uptime_s} s · ${status.memory.rss_mb} MB`;
    for (const stream of status.streams) {
      if (!tiles.has(stream.name)) {
        const made = makeTile(stream);
        tiles.set(stream.name, made);
        grid.append(made.tile);
      }
      const { tile, figures } = tiles.get(stream.name);
      figures.textContent = describe(stream, tile.querySelector("video")?.edgecam);
    }
  } catch (err) {
    service.textContent = `status unavailable: ${err.message}`;
  }
}

const tiles = new Map();
await refresh(tiles);
setInterval(() => refresh(tiles), 1000);
