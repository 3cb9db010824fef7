/**
 * ICE restart of a live WHEP session, from the credentials and candidates of a PATCH (WHIP §4.3.2),
 * without renegotiating anything else. A WHEP client restarts ICE with an sdpfrag, not a new offer, so
 * werift's own path (setRemoteDescription of an offer with new credentials, then a new answer) does not
 * apply; this module drives the session's RTCIceTransport directly, as that path does underneath:
 * `setRemoteParams` with credentials other than the current ones restarts the agent (new local ufrag and
 * password, empty check list, consent checks stopped), `gather` re-announces the sockets it already has,
 * `start` runs the checks. The DTLS transport keeps its association and SRTP keys (an ICE restart does
 * not redo DTLS): it sends through whatever pair ICE selects, so media resumes on the new pair. Until
 * then werift drops what is sent (its ICE sends nothing without a selected pair).
 *
 * Two gaps of werift 0.25.2's re-gathering are filled here: it re-announces host and relay candidates
 * (the sockets it keeps) but not server-reflexive ones, which are the same sockets seen through a NAT,
 * so those are announced again from the previous generation; and it would allocate a second TURN relay
 * on every restart while re-announcing the first, so the TURN server is hidden while it gathers.
 */
import { IceCandidate, RTCIceParameters, type RTCIceTransport } from "werift";
import { BadRequestError, ConflictError } from "../errors.ts";
import { type IceCredentials, withoutGeneration } from "./sdpfrag.ts";

/** A restart whose checks have not succeeded after this long ends the session (as a first connect does). */
export const RESTART_TIMEOUT_MS = 30_000;

/** Transports whose restart is still checking: a second restart then would run two check loops at once. */
const restarting = new WeakSet<RTCIceTransport>();

/** The server's side of a restarted ICE agent, for the PATCH answer. */
export interface RestartedIce extends IceCredentials {
  /** Every local candidate, as `candidate:…` attributes. */
  candidates: string[];
}

/** The transport's current remote credentials (the offer's, or those of the last restart). */
export function remoteCredentials(transport: RTCIceTransport): IceCredentials {
  return { ufrag: transport.connection.remoteUsername, pwd: transport.connection.remotePassword };
}

/** Parses candidate attributes (`candidate:…`) for werift; one that does not parse is a BadRequestError. */
function parseCandidates(candidates: string[]): IceCandidate[] {
  return candidates.map((attribute) => {
    const candidate = IceCandidate.fromJSON({ candidate: withoutGeneration(attribute) });
    if (!candidate) throw new BadRequestError(`not an ICE candidate: ${attribute}`);
    return candidate;
  });
}

/**
 * Hands parsed remote candidates to the transport's current ICE generation without waiting for them:
 * werift resolves an mDNS name (`….local`, what browsers send instead of their addresses) before adding
 * the candidate and gives up only after 10 s, which would hold the PATCH answer that long. It drops a
 * candidate it cannot resolve or use by itself; the viewer's checks still reach us (peer-reflexive).
 */
function add(transport: RTCIceTransport, candidates: IceCandidate[]): void {
  for (const candidate of candidates) transport.addRemoteCandidate(candidate)?.catch(() => {});
}

/**
 * Adds trickled remote candidates to the transport's current ICE generation (BadRequestError if one does
 * not parse). A client's end-of-candidates is not passed on: werift fails its checks the moment its
 * check list is empty once told the candidates ended, before the client's own checks (which make
 * peer-reflexive pairs) arrive, so a client whose candidates werift cannot use (mDNS names it cannot
 * resolve, none at all) would fail a session that ICE would have connected. A session that never
 * connects is ended by its timers.
 */
export function addRemoteCandidates(transport: RTCIceTransport, candidates: string[]): void {
  add(transport, parseCandidates(candidates));
}

/**
 * Restarts the transport's ICE with the client's new credentials and candidates and starts the checks;
 * returns the server's new credentials and candidates once gathered, without waiting for the checks.
 * Refused with ConflictError before the session first connected or while a previous restart is still
 * checking (the session is unchanged then). `onTimeout` is called if the checks have not succeeded
 * within `timeoutMs`: werift's checks wait for more candidates forever (end-of-candidates is not passed
 * on, see addRemoteCandidates) and consent checks are stopped meanwhile, so nothing else would end it.
 */
export async function restartIce(
  transport: RTCIceTransport,
  connected: boolean,
  remote: IceCredentials & { candidates: string[] },
  onTimeout: () => void,
  timeoutMs = RESTART_TIMEOUT_MS,
): Promise<RestartedIce> {
  if (!connected) throw new ConflictError("the session has not connected yet; restart ICE once it has");
  if (restarting.has(transport)) {
    throw new ConflictError("the previous ICE restart of this session is still checking");
  }
  // Before anything changes: a bad candidate must leave the running ICE agent alone.
  const candidates = parseCandidates(remote.candidates);
  const connection = transport.connection;
  const reflexive = connection.localCandidates.filter((c) => c.type === "srflx");
  restarting.add(transport);
  try {
    transport.setRemoteParams(
      new RTCIceParameters({
        usernameFragment: remote.ufrag,
        password: remote.pwd,
        iceLite: connection.remoteIsLite,
      }),
    );
    const { turnServer } = connection;
    connection.turnServer = undefined;
    try {
      await transport.gather();
    } finally {
      connection.turnServer = turnServer;
    }
    for (const candidate of reflexive) {
      candidate.ufrag = connection.localUsername;
      candidate.generation = connection.generation;
      connection.localCandidates.push(candidate);
    }
    add(transport, candidates);
  } catch (err) {
    restarting.delete(transport);
    throw err;
  }
  const timer = setTimeout(onTimeout, timeoutMs);
  // A failure makes werift's ICE transport "failed", which fails the peer connection and ends the session.
  transport.start().catch(() => {}).finally(() => {
    clearTimeout(timer);
    restarting.delete(transport);
  });
  const local = transport.localParameters;
  return {
    ufrag: local.usernameFragment,
    pwd: local.password,
    candidates: transport.localCandidates.map((c) => {
      // werift writes the candidate without its attribute name.
      const text = c.toJSON().candidate;
      return text.startsWith("candidate:") ? text : `candidate:${text}`;
    }),
  };
}
