/**
 * WHIP push (RFC 9725 as a client): a stream published to another WHIP server (another edgecam,
 * MediaMTX, Janus, a cloud service). The offer is POSTed without candidates; the 201's Link ICE
 * servers are then used to gather, and the candidates are trickled in one PATCH (§4.3.1, §4.6);
 * the session is DELETEd when it stops. The token goes only to the endpoint's origin (push_http.ts).
 * Any failure (refused POST, an answer over the size cap, ICE or DTLS failure, an upstream that goes
 * silent) is retried with backoff for as long as the service runs.
 */
import { RTCPeerConnection, useH264, useOPUS, useVP8 } from "werift";
import type { PushTarget, SupervisorConfig } from "../config/schema.ts";
import type { Log } from "../log.ts";
import { backoffDelay } from "../backoff.ts";
import type { Stream } from "../stream/stream.ts";
import { candidateTypes, type IceOptions, parseIceServerLinks } from "../webrtc/ice.ts";
import { DEFAULT_PROFILE_LEVEL_ID } from "../webrtc/offer.ts";
import { iceFragment, parseSdpFragment } from "../webrtc/sdpfrag.ts";
import { correctTransports, gatheringComplete } from "../webrtc/peer_session.ts";
import { withoutImplicitStun } from "../webrtc/werift_fixes/default_stun.ts";
import { forwardAudio, sendAccessUnits, StreamPacketizer } from "../webrtc/rtp/packetizer.ts";
import { emptyFeedbackCounts, senderFeedback, ViewerRtp } from "../webrtc/rtp/viewer_rtp.ts";
import { boundedText, fetchUpstream, sessionUrl, UpstreamRefusedError } from "./push_http.ts";

/** Where a push is in its life. */
export type PushState = "waiting" | "connecting" | "connected" | "retrying" | "stopped";

/** A push target as status shows it (never its token). */
export interface PushStatus {
  url: string;
  state: PushState;
  /** Retry attempt in progress (0 while connected or before the first failure). */
  attempt: number;
  /** Why the last session ended or could not start. */
  last_error: string | null;
  /** The upstream session URL while there is one. */
  session: string | null;
  /**
   * The local ICE candidates of the current session by type (`host`, `srflx`, `relay`): `srflx` and
   * `relay` come from the ICE servers in the upstream's Link header, and show that they answer.
   */
  candidates: Record<string, number>;
  /** The type of the local candidate ICE chose while connected (`relay`: through the upstream's TURN). */
  route: string | null;
}

/** The session figures of a push that has no session. */
function noSession(): Pick<PushStatus, "session" | "candidates" | "route"> {
  return { session: null, candidates: {}, route: null };
}

/** An HTTP exchange with the upstream that does not answer within this is a failure. */
const REQUEST_TIMEOUT_MS = 10_000;
/** ICE and DTLS must be up this long after the answer. */
const CONNECT_TIMEOUT_MS = 20_000;
/** An upstream that sends no RTCP (receiver reports) for this long is gone (a restarted server). */
const SILENCE_TIMEOUT_MS = 10_000;
/** Longest stop() waits for the session to end. */
const STOP_WAIT_MS = 3_000;
/** A session that lasted this long resets the backoff. */
const STABLE_MS = 5_000;

/** Pushes one stream to one WHIP endpoint, and keeps doing so. */
export class WhipPush {
  readonly #log;
  #status: PushStatus;
  #stopping = false;
  #wake: (() => void) | undefined;
  #end: ((why: string) => void) | undefined;
  #loop: Promise<void> | undefined;
  readonly #packetizer: StreamPacketizer;

  constructor(
    private readonly stream: Stream,
    private readonly target: PushTarget,
    private readonly iceOptions: () => IceOptions,
    private readonly backoff: SupervisorConfig,
    log: Log,
  ) {
    this.#log = log.logger(`push ${stream.name}`);
    this.#status = { url: target.url, state: "waiting", attempt: 0, last_error: null, ...noSession() };
    this.#packetizer = new StreamPacketizer(stream.codec);
  }

  /** The push's state, for status. */
  get status(): PushStatus {
    return { ...this.#status };
  }

  /** Starts pushing (once the stream runs) and retrying; returns at once. */
  start(): void {
    this.#loop = this.#run();
  }

  /**
   * Ends the current session (DELETE upstream) and the retries. A session still being set up ends at
   * its next step; shutdown does not wait for that beyond STOP_WAIT_MS.
   */
  async stop(): Promise<void> {
    this.#stopping = true;
    this.#wake?.();
    this.#end?.("stopped");
    await Promise.race([this.#loop, new Promise((r) => setTimeout(r, STOP_WAIT_MS))]);
    this.#status = { ...this.#status, state: "stopped" };
  }

  async #run(): Promise<void> {
    let attempt = 0;
    while (!this.#stopping) {
      if (this.stream.source.state !== "running") {
        this.#status = { ...this.#status, state: "waiting" };
        await this.#sleep(500);
        continue;
      }
      this.#status = { ...this.#status, state: "connecting", attempt };
      const started = performance.now();
      let why: string;
      try {
        why = await this.#session();
      } catch (err) {
        why = (err as Error).message;
      }
      if (this.#stopping) return;
      attempt = performance.now() - started >= STABLE_MS ? 1 : attempt + 1;
      const delay = backoffDelay(attempt, this.backoff.restartDelayMs, this.backoff.restartDelayMaxMs);
      this.#status = { ...this.#status, state: "retrying", attempt, last_error: why, ...noSession() };
      this.#log.warn(`${this.target.url}: ${why}; retry ${attempt} in ${delay} ms`);
      await this.#sleep(delay);
    }
  }

  #sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(resolve, ms);
      this.#wake = () => {
        clearTimeout(timer);
        resolve();
      };
    });
  }

  /** One upstream session, from POST to its end; resolves with why it ended. */
  async #session(): Promise<string> {
    const ice = this.iceOptions();
    // Opus where the stream may carry it (a WHIP path); video first, so its m-line is the one the
    // trickled candidates are for (the BUNDLE tag).
    const audio = this.stream.hasAudio ? { audio: [useOPUS()] } : {};
    const pc = new RTCPeerConnection({ codecs: { video: [this.#codec()], ...audio }, ...ice });
    let location: string | undefined;
    try {
      const { sender } = pc.addTransceiver("video", { direction: "sendonly" });
      const audioSender = this.stream.hasAudio
        ? pc.addTransceiver("audio", { direction: "sendonly" }).sender
        : undefined;
      const offer = await pc.createOffer();
      const { res, url } = await this.#fetch(this.target.url, {
        method: "POST",
        headers: { "Content-Type": "application/sdp" },
        body: offer.sdp,
      });
      if (res.status !== 201) throw new UpstreamRefusedError("POST", res.status, await boundedText(res));
      // A redirected POST (§4.5, load balancing) made the session where it landed: resolve there. Taken
      // before the answer is read, so a session whose answer is refused is still DELETEd.
      try {
        location = sessionUrl(url, res.headers.get("location"));
      } catch (err) {
        await res.body?.cancel();
        throw err;
      }
      this.#status = { ...this.#status, session: location };
      const etag = res.headers.get("etag") ?? "*";
      const body = await boundedText(res);
      // §4.6: the server's ICE servers, used for this session's gathering, which starts only now.
      const servers = parseIceServerLinks(res.headers.get("link"));
      if (servers.length > 0) pc.setConfiguration({ iceServers: servers });
      withoutImplicitStun(pc, [...(ice.iceServers ?? []), ...servers]);
      correctTransports(pc);
      await pc.setLocalDescription(offer);
      await pc.setRemoteDescription({ type: "answer", sdp: body });
      await gatheringComplete(pc);
      const localSdp = pc.localDescription!.sdp;
      this.#status = { ...this.#status, candidates: candidateTypes(localSdp) };
      await this.#trickle(location, etag, localSdp);
      const ended = this.#watch(pc, sender);
      await ended.connected;
      const route = pc.iceTransports[0]?.connection.nominated?.localCandidate.type ?? null;
      this.#status = { ...this.#status, state: "connected", attempt: 0, last_error: null, route };
      this.#log.info(`${this.target.url}: connected (${location}) through a ${route} candidate`);
      const reader = this.stream.subscribe();
      const rtp = new ViewerRtp(
        sender,
        pc.cname,
        emptyFeedbackCounts(),
        () => this.stream.requestKeyframe(),
        this.#log,
      );
      const sending = sendAccessUnits(reader, this.#packetizer, rtp, this.stream.sendDelay);
      const stopAudio = audioSender ? forwardAudio(this.stream, audioSender) : undefined;
      const why = await ended.why;
      stopAudio?.();
      reader.close();
      rtp.close();
      await sending;
      return why;
    } finally {
      this.#end = undefined;
      if (location) await this.#delete(location);
      await pc.close().catch(() => {});
    }
  }

  /** H.264 at the stream's profile (what the upstream will be told it gets), or VP8. */
  #codec() {
    if (this.stream.codec === "vp8") return useVP8({ rtcpFeedback: senderFeedback() });
    const profile = this.stream.format?.profileLevelId ?? DEFAULT_PROFILE_LEVEL_ID;
    return useH264({
      parameters: `level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=${profile}`,
      rtcpFeedback: senderFeedback(),
    });
  }

  /**
   * PATCHes every local candidate and end-of-candidates (RFC 8840) to the session; an upstream
   * without trickle (405, 501) is no failure.
   */
  async #trickle(location: string, etag: string, localSdp: string): Promise<void> {
    const { ufrag, pwd, candidates } = parseSdpFragment(localSdp);
    const fragment = iceFragment(localSdp, { ufrag: ufrag!, pwd: pwd! }, candidates);
    const { res } = await this.#fetch(location, {
      method: "PATCH",
      headers: { "Content-Type": "application/trickle-ice-sdpfrag", "If-Match": etag },
      body: fragment,
    });
    const body = await boundedText(res);
    // RFC 9725 §4.3.1: a session without trickle answers 405 or 501. Our connectivity checks then
    // reach it from our addresses, which it learns as peer-reflexive candidates (RFC 8445 §7.3.1.3).
    if (res.status === 405 || res.status === 501) {
      this.#log.info(`${this.target.url}: the upstream takes no trickled candidates (${res.status})`);
      return;
    }
    if (res.status !== 204 && res.status !== 200) throw new UpstreamRefusedError("PATCH", res.status, body);
  }

  /**
   * Resolves `connected` once ICE and DTLS are up, and `why` when the session ends: failed or closed,
   * an upstream silent for SILENCE_TIMEOUT_MS, or stop(). A PLI from upstream asks the source for a keyframe.
   */
  #watch(pc: RTCPeerConnection, sender: ReturnType<RTCPeerConnection["addTransceiver"]>["sender"]) {
    const connected = Promise.withResolvers<void>();
    const ended = Promise.withResolvers<string>();
    let lastHeard = performance.now();
    const finish = (why: string) => {
      clearInterval(watchdog);
      clearTimeout(deadline);
      connected.reject(new Error(why));
      ended.resolve(why);
    };
    this.#end = finish;
    const deadline = setTimeout(
      () => finish(`not connected after ${CONNECT_TIMEOUT_MS} ms`),
      CONNECT_TIMEOUT_MS,
    );
    const watchdog = setInterval(() => {
      if (performance.now() - lastHeard > SILENCE_TIMEOUT_MS) {
        finish(`no RTCP from upstream for ${SILENCE_TIMEOUT_MS} ms`);
      }
    }, 1000);
    sender.onRtcp.subscribe(() => (lastHeard = performance.now()));
    pc.connectionStateChange.subscribe((state) => {
      if (state === "connected") {
        clearTimeout(deadline);
        lastHeard = performance.now();
        connected.resolve();
      } else if (state === "failed" || state === "closed") {
        finish(`ICE/DTLS ${state}`);
      }
    });
    connected.promise.catch(() => {});
    return { connected: connected.promise, why: ended.promise };
  }

  /** DELETE on the session; a failure is only logged (the upstream frees it when ICE ends anyway). */
  async #delete(location: string): Promise<void> {
    try {
      const { res } = await this.#fetch(location, { method: "DELETE" });
      await res.body?.cancel();
    } catch (err) {
      this.#log.debug(`DELETE ${location}: ${(err as Error).message}`);
    }
  }

  /** A request to the upstream (see fetchUpstream for the token and redirects), bounded in time. */
  #fetch(url: string, init: RequestInit): Promise<{ res: Response; url: string }> {
    return fetchUpstream(this.target, url, { ...init, signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS) });
  }
}
