/**
 * What every WebRTC session the service answers has in common, whether a WHEP viewer or a WHIP
 * publisher: an id and a strong ETag, a connect deadline, the end by ICE failure, DTLS close_notify,
 * DELETE or shutdown, and the PATCH that trickles candidates or restarts ICE (WHIP §4.3). The answer
 * itself is made here too, with werift's DTLS and SRTP corrections put on every transport first.
 */
import type { RTCPeerConnection } from "werift";
import { BadRequestError, NotFoundError, PreconditionFailedError, UnavailableError } from "../errors.ts";
import type { Logger } from "../log.ts";
import { onPeerClose } from "./werift_fixes/dtls_alert.ts";
import { connectAtOnce } from "./werift_fixes/dtls_connect.ts";
import { handleServerHandshakesOnce } from "./werift_fixes/dtls_client.ts";
import { handleClientHandshakesOnce } from "./werift_fixes/dtls_server.ts";
import type { IceOptions } from "./ice.ts";
import { addRemoteCandidates, remoteCredentials, RESTART_TIMEOUT_MS, restartIce } from "./ice_restart.ts";
import { type DtlsRole, withBundleOnlyPorts } from "./offer.ts";
import { iceFragment, isIceRestart, parseSdpFragment } from "./sdpfrag.ts";
import { releaseSrtpContexts } from "./werift_fixes/srtp_aes_cm.ts";
import { receiveAcrossRollovers } from "./werift_fixes/srtp_rollover.ts";
import { withoutImplicitStun } from "./werift_fixes/default_stun.ts";
import { smallReceiveBuffers } from "./werift_fixes/udp_receive_buffer.ts";
import { type PendingLimits, PendingSessions } from "./pending.ts";
import { RemoteCandidates } from "./candidates.ts";

/** The bounds on one kind's sessions while they connect (from `[webrtc]`). */
export interface SessionLimits extends PendingLimits {
  /** A session whose ICE and DTLS are not up this long after its answer is dropped. */
  handshakeTimeoutMs: number;
  /** Whether remote candidates with mDNS names (`….local`) are resolved and used. */
  mdnsCandidates: boolean;
}

/** What a new session hands back to its client. */
export interface SessionAnswer {
  id: string;
  /** Strong entity tag of the session's ICE state, without quotes. */
  etag: string;
  /** The SDP answer, with every server candidate in it. */
  sdp: string;
  /**
   * Resolves when the session ends, however it ends (DELETE, the peer's DTLS close_notify, ICE failure,
   * consent expiry, shutdown).
   */
  ended: Promise<void>;
}

/** The answer to an ICE restart PATCH. */
export interface IceRestartAnswer {
  /** The session's new strong entity tag, without quotes; the old one no longer matches. */
  etag: string;
  /** The server's new ICE credentials and candidates, as an RFC 8840 sdpfrag. */
  fragment: string;
}

/** A fresh strong entity tag value (unquoted). */
export function newEtag(): string {
  return crypto.randomUUID().replaceAll("-", "");
}

/** Resolves once ICE gathering is complete, so a description carries every local candidate. */
export function gatheringComplete(pc: RTCPeerConnection): Promise<void> {
  if (pc.iceGatheringState === "complete") return Promise.resolve();
  return new Promise((resolve) => {
    const { unSubscribe } = pc.iceGatheringStateChange.subscribe((state) => {
      if (state !== "complete") return;
      unSubscribe();
      resolve();
    });
  });
}

/**
 * werift's DTLS and SRTP corrections, for every transport of a peer: see dtls_client.ts, dtls_connect.ts,
 * dtls_server.ts, srtp_rollover.ts (each applies only to the side the role makes) and srtp_aes_cm.ts. Call
 * before ICE can connect.
 */
export function correctTransports(pc: RTCPeerConnection): void {
  for (const transport of pc.dtlsTransports) {
    handleServerHandshakesOnce(transport);
    connectAtOnce(transport);
    handleClientHandshakesOnce(transport);
    receiveAcrossRollovers(transport);
    releaseSrtpContexts(transport);
  }
}

/** One answered peer: its id and ETag, its end, and the hooks its kind fills in. */
export abstract class PeerSession {
  readonly id = crypto.randomUUID();
  /** Strong entity tag of the session's ICE state, without quotes: a new one per ICE restart. */
  etag = newEtag();
  #closed = false;
  #connected = false;
  readonly #ended = Promise.withResolvers<void>();
  readonly #up = Promise.withResolvers<void>();
  protected readonly log: Logger;

  constructor(
    /** The stream path the session serves or feeds. */
    readonly path: string,
    readonly pc: RTCPeerConnection,
    /** The log of the session's kind ("whep" or "whip"). */
    log: Logger,
    /** Who the peer is, for the log: "viewer" or "publisher". */
    role: string,
  ) {
    this.log = log;
    pc.connectionStateChange.subscribe((state) => {
      if (state === "connected") {
        if (this.#closed || this.#connected) return;
        this.#connected = true;
        this.#up.resolve();
        this.connected();
      } else if (state === "failed" || state === "closed") {
        if (state === "failed" && !this.#closed) this.log.info(`${path}/${this.id}: ICE failed`);
        this.close(state === "failed" ? "ICE failed or consent expired" : "peer connection closed");
      }
    });
    // A peer that closes without DELETE says so in DTLS: see dtls_alert.ts.
    for (const transport of pc.dtlsTransports) {
      onPeerClose(transport, ({ level, description }) => {
        this.log.info(`${path}/${this.id}: ${role} closed (DTLS alert ${level}/${description})`);
        this.close(`DTLS alert ${level}/${description}`);
      });
    }
  }

  /** Resolves when the session has ended. */
  get ended(): Promise<void> {
    return this.#ended.promise;
  }

  /** True once the session ended. */
  get closed(): boolean {
    return this.#closed;
  }

  /** True once ICE and DTLS came up (it stays true after the session ends). */
  get isConnected(): boolean {
    return this.#connected;
  }

  /** Resolves when ICE and DTLS come up; never, for a session that ends before. */
  get up(): Promise<void> {
    return this.#up.promise;
  }

  /** Called once ICE and DTLS are up. */
  protected abstract connected(): void;

  /** Called once when the session ends, before the peer connection closes; `why` as close() got it. */
  protected abstract closing(why: string): void;

  /** Stops the session and frees the peer connection; safe to call twice. `why` is for the log. */
  close(why = "closed"): void {
    if (this.#closed) return;
    this.#closed = true;
    this.closing(why);
    this.#ended.resolve();
    this.pc.close().catch((err: Error) => this.log.warn(`${this.path}/${this.id}: close: ${err.message}`));
  }
}

/**
 * What werift throws while reading an offer or answering it ("mid not assigned", "m line not found")
 * comes from the offer the client sent, which the pure checks let through: a 400 with werift's reason,
 * never a 500.
 */
async function refusedAsBadOffer<T>(step: Promise<T>): Promise<T> {
  try {
    return await step;
  } catch (err) {
    const reason = err instanceof Error ? err.message.split("\n")[0] : String(err);
    throw new BadRequestError(`the SDP offer cannot be answered: ${reason}`);
  }
}

/**
 * The live sessions of one kind, by id: made by answering an offer, reached by PATCH, GET and DELETE on
 * their URL, ended all at once at shutdown.
 */
export class PeerSessions<S extends PeerSession> {
  readonly #sessions = new Map<string, S>();
  /** Sessions connecting, and tickets of offers being answered: see open(). */
  readonly #pending: PendingSessions<S | object>;
  /** Each session's remote candidates so far, judged against its client's address. */
  readonly #candidates = new WeakMap<S, RemoteCandidates>();
  /** Set by closeAll: the service is stopping. */
  #closed = false;
  /** Tail of the gathering queue: see #gatherInTurn. */
  #gathering: Promise<unknown> = Promise.resolve();

  /**
   * @param kind "WHEP" or "WHIP", for error messages.
   * @param log the log of that kind's sessions.
   * @param limits the bounds on sessions that have not connected yet.
   */
  constructor(
    private readonly kind: string,
    private readonly log: Logger,
    private readonly limits: SessionLimits,
  ) {
    this.#pending = new PendingSessions(limits, (entry) => entry instanceof PeerSession);
  }

  /** Sessions alive now, connected or not. */
  get size(): number {
    return this.#sessions.size;
  }

  /** Sessions answered or being answered that have not connected yet. */
  get pending(): number {
    return this.#pending.size;
  }

  /** Every live session. */
  values(): IterableIterator<S> {
    return this.#sessions.values();
  }

  /**
   * Makes a session for an offer from `address` with `make` (which answers it) and keeps it until it ends;
   * resolves with what `make` resolved with. `make` gets the session's remote-candidate rules (see
   * candidates.ts) to answer with.
   * Room is made first among the sessions still connecting: the oldest from that address, then the oldest
   * of all, are closed (UnavailableError when those in the way are all still being answered). The session
   * must connect within the handshake timeout.
   */
  async open<R extends { session: S }>(
    address: string,
    make: (candidates: RemoteCandidates) => Promise<R>,
  ): Promise<R> {
    const room = this.#pending.makeRoom(address);
    if (typeof room === "string") throw new UnavailableError(room, 2);
    for (const victim of room) (victim as S).close("gave way to a newer connecting session");
    const ticket = {};
    this.#pending.add(ticket, address);
    const candidates = new RemoteCandidates(address, this.limits.mdnsCandidates);
    let made: R;
    try {
      made = await make(candidates);
    } finally {
      this.#pending.delete(ticket);
    }
    const { session } = made;
    if (this.#closed) {
      // Answered while the service stopped: it would outlive everything it feeds or reads.
      session.close("shutdown");
      throw new UnavailableError("edgecam is shutting down", 5);
    }
    this.#candidates.set(session, candidates);
    this.#sessions.set(session.id, session);
    const { handshakeTimeoutMs } = this.limits;
    let deadline: ReturnType<typeof setTimeout> | undefined;
    if (!session.isConnected) {
      this.#pending.add(session, address);
      deadline = setTimeout(() => {
        this.log.info(`${session.path}/${session.id}: not connected after ${handshakeTimeoutMs} ms, closing`);
        session.close("never connected");
      }, handshakeTimeoutMs);
      session.up.then(() => {
        clearTimeout(deadline);
        this.#pending.delete(session);
      });
    }
    session.ended.then(() => {
      clearTimeout(deadline);
      this.#pending.delete(session);
      this.#sessions.delete(session.id);
    });
    return made;
  }

  /**
   * Answers an offer on a peer whose transceivers are set up, with only the offer's candidates that
   * `candidates` takes: takes the DTLS role the offer asks for
   * (RFC 8842 §5.3; werift's answerer would always be the client), applies werift's corrections, and
   * resolves with the answer once it holds every server candidate (WHIP §4.3.2).
   */
  async answer(
    pc: RTCPeerConnection,
    offerSdp: string,
    role: DtlsRole,
    ice: IceOptions,
    candidates: RemoteCandidates,
  ): Promise<string> {
    const sdp = withBundleOnlyPorts(candidates.offer(offerSdp));
    await refusedAsBadOffer(pc.setRemoteDescription({ type: "offer", sdp }));
    withoutImplicitStun(pc, ice.iceServers);
    for (const transport of pc.dtlsTransports) transport.role = role;
    correctTransports(pc);
    await this.#gatherInTurn(ice, async () => {
      await pc.setLocalDescription(await refusedAsBadOffer(pc.createAnswer()));
      await gatheringComplete(pc);
    });
    smallReceiveBuffers(pc);
    if (!/^a=candidate:/m.test(pc.localDescription!.sdp)) {
      throw new UnavailableError("no ICE candidate could be gathered (is the UDP port range full?)", 5);
    }
    return pc.localDescription!.sdp;
  }

  /**
   * With a port range, werift probes for a free port, closes the probe and binds later: two peers
   * gathering at once pick the same port and the second bind throws EADDRINUSE out of an event
   * handler, which ends the process. So peers with a port range gather one at a time.
   */
  #gatherInTurn(ice: IceOptions, gather: () => Promise<void>): Promise<void> {
    if (!ice.icePortRange) return gather();
    const turn = this.#gathering.then(gather);
    this.#gathering = turn.catch(() => {});
    return turn;
  }

  /** The session with this id on this path, or NotFoundError. */
  get(path: string, id: string): S {
    const session = this.#sessions.get(id);
    if (!session || session.path !== path) {
      throw new NotFoundError(`no ${this.kind} session ${id} on "${path}"`);
    }
    return session;
  }

  /**
   * Applies a PATCH's RFC 8840 sdpfrag to a session after checking its ETag: trickled candidates are
   * added (undefined is returned: 204); new ICE credentials restart ICE (WHIP §4.3.2) and the result is
   * the session's new ETag and the sdpfrag that answers the restart (200).
   */
  async patch(
    path: string,
    id: string,
    ifMatch: string,
    text: string,
  ): Promise<IceRestartAnswer | undefined> {
    const session = this.get(path, id);
    if (ifMatch !== "*" && ifMatch !== `"${session.etag}"`) {
      throw new PreconditionFailedError(`If-Match ${ifMatch} is not the session's ETag`);
    }
    const fragment = parseSdpFragment(text);
    // BUNDLE: the session has one ICE transport whatever the offer's m-lines.
    const [dtls] = session.pc.dtlsTransports;
    if (!dtls) throw new BadRequestError("the session has no transport");
    const ice = dtls.iceTransport;
    const remote = this.#candidates.get(session)!.take(fragment.candidates);
    if (!isIceRestart(fragment, remoteCredentials(ice))) {
      addRemoteCandidates(ice, remote);
      return undefined;
    }
    const log = this.log;
    const restarted = await restartIce(
      ice,
      dtls.state === "connected",
      { ufrag: fragment.ufrag!, pwd: fragment.pwd!, candidates: remote },
      () => {
        log.info(`${path}/${id}: ICE restart not connected after ${RESTART_TIMEOUT_MS} ms, closing`);
        session.close("ICE restart never connected");
      },
    );
    session.etag = newEtag();
    log.info(`${path}/${id}: ICE restart (remote ufrag ${fragment.ufrag})`);
    return {
      etag: session.etag,
      fragment: iceFragment(session.pc.localDescription!.sdp, restarted, restarted.candidates),
    };
  }

  /** Ends a session and frees everything it holds. */
  delete(path: string, id: string): void {
    this.get(path, id).close("DELETE");
  }

  /** Ends every session and takes no new one (service shutdown). */
  closeAll(): void {
    this.#closed = true;
    for (const session of [...this.#sessions.values()]) session.close("shutdown");
  }
}
