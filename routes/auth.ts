/**
 * Bearer-token checks for the HTTP surface: which kind of request each route is, where the token is read
 * from, and the middleware that refuses with UnauthorizedError (routes/errors.ts makes it a 401). The
 * decision itself is lib/auth.ts's.
 */
import type { Context, MiddlewareHandler } from "hono";
import type { AccessPolicy, AccessRequest } from "../lib/auth.ts";
import { UnauthorizedError } from "../lib/errors.ts";
import { type Logger, RateLimitedLog } from "../lib/log.ts";

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
  // WHEP endpoint and sessions: /whep/<stream>[/<session>], /<stream>/whep.
  if (s[0] === "whep" && (s.length === 2 || s.length === 3)) return stream("view", s[1]);
  if (s.length === 2 && s[1] === "whep") return stream("view", s[0]);
  // WHIP ingest: /whip/<path>[/<session>], /<path>/whip.
  if (s[0] === "whip" && (s.length === 2 || s.length === 3)) return stream("publish", s[1]);
  if (s.length === 2 && s[1] === "whip") return stream("publish", s[0]);
  if (path === "/offer") return stream("view", query.get("stream") ?? defaultStream());
  if (s[0] === "ws" && s[1] === "signal" && s.length === 3) return stream("view", s[2]);
  if (s[0] === "ws" && s.length === 2) return stream("view", s[1]);
  const reads = method === "GET" || method === "HEAD";
  // systemd and load balancers probe /health; the page is plain files (what it fetches is guarded).
  if (reads && (path === "/health" || path === "/" || path.startsWith("/static/"))) return undefined;
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
 * Middleware that lets a request through when `policy` allows it, else throws UnauthorizedError.
 * `classify` says what the request asks (undefined = open); by default {@link accessFor}. Refusals go
 * to `log`, rate-limited.
 */
export function requireToken(
  policy: AccessPolicy,
  classify: (method: string, path: string, query: URLSearchParams) => AccessRequest | undefined,
  log: Logger,
): MiddlewareHandler {
  // One budget per app (per service): two services in one process do not share their log lines.
  const refusals = new RateLimitedLog((msg) => log.info(msg));
  return async (c: Context, next: () => Promise<void>) => {
    const query = new URL(c.req.url).searchParams;
    const request = classify(c.req.method, c.req.path, query);
    if (request !== undefined) {
      const decision = policy.decide(request, presentedToken(c.req.header("authorization"), query));
      if (!decision.allow) {
        // The path only, never the query: it may hold the token that was refused.
        const what = request.stream === undefined ? request.kind : `${request.kind} ${request.stream}`;
        refusals.write(`401 ${c.req.method} ${c.req.path} (${what}): ${decision.why}`);
        throw new UnauthorizedError();
      }
    }
    await next();
  };
}
