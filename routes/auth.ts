/**
 * Who may use the HTTP surface: which kind of request each route is, where the token is read from, and the
 * middleware that refuses a missing token (401) or, for what needs none, a foreign page or Host (403). The
 * decisions themselves are lib/auth.ts's and lib/origin.ts's.
 */
import type { Context, MiddlewareHandler } from "hono";
import type { AccessPolicy, AccessRequest } from "../lib/auth.ts";
import { ForbiddenError, UnauthorizedError } from "../lib/errors.ts";
import { type Logger, RateLimitedLog } from "../lib/log.ts";
import type { OriginPolicy } from "../lib/origin.ts";
import { setCorsHeaders } from "./cors.ts";
import { bugLog, errorResponse } from "./errors.ts";

// A scanner trying tokens must not flood the journal; the count of held-back lines is still reported.

/** Splits a path into its decoded segments ("/whep/front" → ["whep", "front"]). */
function segments(path: string): string[] {
  return path.split("/").slice(1).map((s) => {
    try {
      return decodeURIComponent(s);
    } catch {
      return s;
    }
  });
}

/**
 * The kind of request a method and path are, or undefined for what stays open. Deny by default: a
 * route nobody listed here is API (a GET reads, anything else changes), so a new route is guarded
 * from the day it is added. Stream routes are matched before the open ones so that, say,
 * `GET /static/whep` (the WHEP alias for a stream named "static") is still a view.
 *
 * `defaultStream` names the stream `POST /offer` serves when the request names none.
 */
export function accessFor(
  method: string,
  path: string,
  query: URLSearchParams,
  defaultStream: () => string | undefined,
): AccessRequest | undefined {
  // CORS preflight: browsers never send Authorization on it, and it has no effect.
  if (method === "OPTIONS") return undefined;
  const s = segments(path);
  const stream = (kind: AccessRequest["kind"], name: string | undefined): AccessRequest =>
    name === undefined ? { kind } : { kind, stream: name };
  const reads = method === "GET" || method === "HEAD";
  // In the order routes/app.ts mounts the routes: `GET /ws/whep` is the WebSocket player of a stream
  // named "whep", not the WHEP alias of a stream named "ws".
  if (reads && s[0] === "ws" && s.length === 2) return stream("view", s[1]);
  // WHEP endpoint and sessions: /whep/<stream>[/<session>], /<stream>/whep.
  if (s[0] === "whep" && (s.length === 2 || s.length === 3)) return stream("view", s[1]);
  if (s.length === 2 && s[1] === "whep") return stream("view", s[0]);
  // WHIP ingest: /whip/<path>[/<session>], /<path>/whip.
  if (s[0] === "whip" && (s.length === 2 || s.length === 3)) return stream("publish", s[1]);
  if (s.length === 2 && s[1] === "whip") return stream("publish", s[0]);
  // A snapshot shows the stream: /snapshot/<stream>.jpg.
  if (reads && s[0] === "snapshot" && s.length === 2 && s[1].endsWith(".jpg")) {
    return stream("view", s[1].slice(0, -".jpg".length));
  }
  // A stream's recordings show it as the stream does: its listing, its files, playback of a range.
  if (reads && s[0] === "api" && s[1] === "recordings" && (s.length === 3 || s.length === 4)) {
    return stream("view", s[2]);
  }
  if (reads && s[0] === "playback" && s.length === 2) return stream("view", s[1]);
  if (path === "/offer") return stream("view", query.get("stream") ?? defaultStream());
  if (s[0] === "ws" && s[1] === "signal" && s.length === 3) return stream("view", s[2]);
  // systemd and load balancers probe /health; the page is plain files (what it fetches is guarded).
  // Browsers fetch /favicon.ico on their own, without the page's token: refusing it only fills the log.
  if (
    reads && (path === "/health" || path === "/" || path === "/favicon.ico" || path.startsWith("/static/"))
  ) {
    return undefined;
  }
  return { kind: reads ? "api_read" : "api_change" };
}

/**
 * The token a request presents: `Authorization: Bearer <token>` when there is one (preferred: it
 * stays out of URLs and logs), else `?token=` (browsers cannot set headers on a WebSocket, and
 * MediaMTX/go2rtc users expect it).
 */
export function presentedToken(
  authorization: string | undefined,
  query: URLSearchParams,
): string | undefined {
  const bearer = /^Bearer +(\S+) *$/i.exec(authorization ?? "");
  if (bearer) return bearer[1];
  return query.get("token") ?? undefined;
}

/**
 * Middleware in front of every route: a request that needs a token (see {@link accessFor} and the
 * policy) must carry an accepted one, else 401; a request that needs none must pass the origin rules
 * (lib/origin.ts), else 403. CORS follows from the same decision: any page may send a token-bearing
 * request (WHIP/WHEP players on other origins), only allowed pages may use what is open. A preflight has
 * no effect and is never refused; it is allowed by the same rules, judged by the method it announces.
 * Refusals go to `log`, rate-limited.
 */
export function admit(
  policy: AccessPolicy,
  origins: OriginPolicy,
  classify: (method: string, path: string, query: URLSearchParams) => AccessRequest | undefined,
  log: Logger,
): MiddlewareHandler {
  // One budget per app (per service): two services in one process do not share their log lines.
  const refusals = new RateLimitedLog((msg) => log.info(msg));
  const bugs = bugLog(log);
  // Answered here, not thrown: a 401 must carry CORS headers so a page on another origin can read it.
  const refuse = (err: Error, allowOrigin?: string) => {
    const res = errorResponse(err, bugs);
    if (allowOrigin !== undefined) setCorsHeaders(res.headers, allowOrigin);
    return res;
  };
  return async (c: Context, next: () => Promise<void>) => {
    const query = new URL(c.req.url).searchParams;
    const preflight = c.req.method === "OPTIONS";
    // A preflight is judged as the request it announces; a plain OPTIONS (WHIP §4.2) as a read.
    const method = preflight ? c.req.header("access-control-request-method") ?? "GET" : c.req.method;
    const request = classify(method, c.req.path, query);
    const origin = c.req.header("origin");
    const host = c.req.header("host");
    let allowOrigin: string | undefined;
    if (request !== undefined && policy.guarded(request)) {
      allowOrigin = "*";
      const decision = preflight
        ? undefined
        : policy.decide(request, presentedToken(c.req.header("authorization"), query));
      if (decision && !decision.allow) {
        // The path only, never the query: it may hold the token that was refused.
        const what = request.stream === undefined ? request.kind : `${request.kind} ${request.stream}`;
        refusals.write(`401 ${c.req.method} ${c.req.path} (${what}): ${decision.why}`);
        return refuse(new UnauthorizedError(), allowOrigin);
      }
    } else if (origin === undefined) {
      // Not a browser's cross-origin call: the media doors keep the headers WHIP/WHEP tools look for.
      if (request?.kind === "view" || request?.kind === "publish") allowOrigin = "*";
    } else if (origins.originAllowed(origin, host)) {
      allowOrigin = origins.anyOrigin ? "*" : origin;
    }
    if (!preflight && !(request !== undefined && policy.guarded(request))) {
      const refusal = origins.refusal(host, origin);
      if (refusal !== undefined) {
        refusals.write(`403 ${c.req.method} ${c.req.path}: ${refusal}`);
        return refuse(new ForbiddenError(refusal));
      }
    }
    await next();
    if (allowOrigin !== undefined || preflight) setCorsHeaders(c.res.headers, allowOrigin);
  };
}
