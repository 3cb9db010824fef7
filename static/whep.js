// The WHEP player: one RTCPeerConnection per tile, retried with backoff, with live figures.

const RETRY_MIN_MS = 1000;
const RETRY_MAX_MS = 10000;
const GATHER_TIMEOUT_MS = 2000;
/** A session that decodes nothing for this long is torn down and made again. */
const STALL_MS = 5000;
/** Consecutive attempts that never connected before the caller is told WebRTC does not work here. */
const ATTEMPTS_BEFORE_FALLBACK = 3;

/** Resolves when ICE gathering is complete, or after a timeout (the server also takes PATCHed candidates). */
function gathered(pc) {
  if (pc.iceGatheringState === "complete") return Promise.resolve();
  return new Promise((resolve) => {
    const done = () => pc.iceGatheringState === "complete" && resolve();
    pc.addEventListener("icegatheringstatechange", done);
    setTimeout(resolve, GATHER_TIMEOUT_MS);
  });
}

/** ICE servers announced on a WHEP 201 as `Link: <url>; rel="ice-server"; username=...; credential=...`. */
function iceServersFrom(linkHeader) {
  if (!linkHeader) return [];
  return linkHeader.split(/,(?=\s*<)/).filter((l) => /rel="ice-server"/.test(l)).map((l) => {
    const server = { urls: l.match(/<([^>]+)>/)[1] };
    const username = l.match(/username="([^"]*)"/);
    const credential = l.match(/credential="([^"]*)"/);
    if (username) server.username = username[1];
    if (credential) server.credential = credential[1];
    return server;
  });
}

/**
 * Capture time of a frame from its RTP timestamp: the service counts RTP time at 90 kHz from its
 * `rtp_time_origin_ms` (GET /status), so capture = origin + rtp / 90, modulo the 32-bit wrap.
 */
export function captureTimeMs(rtpTimestamp, rtpOriginMs, nowMs) {
  const expected = (nowMs - rtpOriginMs) * 90;
  const wraps = Math.round((expected - rtpTimestamp) / 2 ** 32);
  return rtpOriginMs + (wraps * 2 ** 32 + rtpTimestamp) / 90;
}

/** The figures getStats() gives for the video we receive and the candidate pair in use. */
async function readStats(pc, previous) {
  const report = await pc.getStats();
  const byId = new Map();
  report.forEach((s) => byId.set(s.id, s));
  let inbound;
  let pair;
  report.forEach((s) => {
    if (s.type === "inbound-rtp" && s.kind === "video") inbound = s;
    if (s.type === "transport" && s.selectedCandidatePairId) pair = byId.get(s.selectedCandidatePairId);
  });
  if (!pair) {
    report.forEach((s) =>
      s.type === "candidate-pair" && s.nominated && s.state === "succeeded" && (pair = s)
    );
  }
  const figures = { transport: "webrtc" };
  if (inbound) {
    figures.codec = byId.get(inbound.codecId)?.mimeType;
    figures.width = inbound.frameWidth;
    figures.height = inbound.frameHeight;
    figures.fps = inbound.framesPerSecond;
    figures.framesDecoded = inbound.framesDecoded;
    const lost = Math.max(0, inbound.packetsLost ?? 0);
    figures.lossPercent = lost + inbound.packetsReceived > 0
      ? 100 * lost / (lost + inbound.packetsReceived)
      : 0;
    if (previous?.bytesReceived !== undefined && inbound.timestamp > previous.timestamp) {
      figures.bitrate = 8 * (inbound.bytesReceived - previous.bytesReceived) /
        ((inbound.timestamp - previous.timestamp) / 1000);
    }
    figures.bytesReceived = inbound.bytesReceived;
    figures.timestamp = inbound.timestamp;
  }
  if (pair) {
    // Chromium hides its own address from the page unless the user granted media access.
    const describe = (c) => c && `${c.candidateType} ${c.address || "(hidden)"}:${c.port}`;
    figures.candidatePair = `${describe(byId.get(pair.localCandidateId))} ↔ ${
      describe(byId.get(pair.remoteCandidateId))
    }`;
  }
  return figures;
}

/**
 * Plays stream `name` into `video` over WHEP (POST /whep/<name>), retrying with backoff and honouring
 * Retry-After. `token`, when given, goes as `Authorization: Bearer` on every request of the session
 * (WHIP §4.7). `onGiveUp` is called once after repeated attempts never connected. Returns
 * { figures(), close() }.
 */
export function playOverWhep(name, video, { rtpOriginMs, token, onGiveUp }) {
  const auth = token ? { Authorization: `Bearer ${token}` } : {};
  const state = {
    closed: false,
    pc: null,
    session: null,
    failures: 0,
    figures: { transport: "webrtc" },
    progressAt: 0,
    framesSeen: 0,
    /** When this attempt began (before its offer), to time its first picture. */
    attemptAt: 0,
  };
  let latencyMs = null;
  /** Ms from an attempt's start to its first frame shown; null until then. */
  let firstFrameMs = null;
  let retryTimer;

  const onFrame = (_now, meta) => {
    if (state.closed) return;
    const shownMs = performance.timeOrigin + meta.expectedDisplayTime;
    if (firstFrameMs === null && state.attemptAt) firstFrameMs = performance.now() - state.attemptAt;
    if (meta.captureTime !== undefined) latencyMs = meta.expectedDisplayTime - meta.captureTime;
    else if (meta.rtpTimestamp !== undefined && rtpOriginMs) {
      latencyMs = shownMs - captureTimeMs(meta.rtpTimestamp, rtpOriginMs, shownMs);
    }
    video.requestVideoFrameCallback(onFrame);
  };
  video.requestVideoFrameCallback?.(onFrame);

  const teardown = () => {
    if (state.session) {
      fetch(state.session, { method: "DELETE", headers: auth, keepalive: true }).catch(() => {});
    }
    state.session = null;
    state.pc?.close();
    state.pc = null;
  };

  const retry = (delayMs) => {
    teardown();
    if (state.closed) return;
    state.failures++;
    if (state.failures === ATTEMPTS_BEFORE_FALLBACK && onGiveUp) {
      onGiveUp();
      return;
    }
    const backoff = Math.min(RETRY_MAX_MS, RETRY_MIN_MS * 2 ** (state.failures - 1));
    retryTimer = setTimeout(attempt, Math.max(delayMs ?? 0, backoff));
  };

  async function attempt() {
    if (state.closed) return;
    state.progressAt = Date.now();
    state.framesSeen = 0;
    state.attemptAt = performance.now();
    firstFrameMs = null;
    const pc = new RTCPeerConnection();
    state.pc = pc;
    pc.addTransceiver("video", { direction: "recvonly" });
    pc.ontrack = (event) => {
      video.srcObject = event.streams[0] ?? new MediaStream([event.track]);
      video.play().catch(() => {});
    };
    pc.onconnectionstatechange = () => {
      if (pc !== state.pc) return;
      if (pc.connectionState === "connected") state.failures = 0;
      if (pc.connectionState === "failed" || pc.connectionState === "closed") retry();
    };
    try {
      await pc.setLocalDescription(await pc.createOffer());
      await gathered(pc);
      const res = await fetch(`/whep/${encodeURIComponent(name)}`, {
        method: "POST",
        headers: { "Content-Type": "application/sdp", ...auth },
        body: pc.localDescription.sdp,
      });
      if (res.status !== 201) {
        const retryAfter = Number(res.headers.get("Retry-After"));
        state.figures = { transport: "webrtc", error: `${res.status} ${(await res.text()).trim()}` };
        retry(retryAfter > 0 ? retryAfter * 1000 : undefined);
        return;
      }
      state.session = new URL(res.headers.get("Location"), location.href).href;
      const iceServers = iceServersFrom(res.headers.get("Link"));
      if (iceServers.length) pc.setConfiguration({ iceServers });
      await pc.setRemoteDescription({ type: "answer", sdp: await res.text() });
    } catch (err) {
      state.figures = { transport: "webrtc", error: err.message };
      retry();
    }
  }

  const statsTimer = setInterval(async () => {
    if (!state.pc) return;
    try {
      state.figures = await readStats(state.pc, state.figures);
    } catch {
      // The connection closed between two samples.
    }
    // A connection can come up and still carry no picture (the known cause, SRTP keys the two sides
    // disagree on, is fixed in lib/webrtc/werift_fixes/dtls_client.ts; this stays as a safety net for unknown
    // ones): nothing decoded for STALL_MS means start over with a new session.
    const frames = state.figures.framesDecoded ?? 0;
    if (frames > state.framesSeen) {
      state.framesSeen = frames;
      state.progressAt = Date.now();
    } else if (state.pc?.connectionState !== "connected") {
      state.progressAt = Date.now();
    } else if (Date.now() - state.progressAt > STALL_MS) {
      state.figures = { transport: "webrtc", error: `no picture for ${STALL_MS / 1000} s; reconnecting` };
      retry();
    }
  }, 1000);

  attempt();
  addEventListener("pagehide", teardown);
  return {
    transport: "webrtc",
    figures: () => ({ ...state.figures, latencyMs, firstFrameMs }),
    close() {
      state.closed = true;
      clearTimeout(retryTimer);
      clearInterval(statsTimer);
      teardown();
    },
  };
}
