/**
 * The one place domain errors become HTTP statuses: a typed error → its status and a one-line text body.
 */
import {
  BadRequestError,
  ConflictError,
  ForbiddenError,
  NotFoundError,
  PreconditionFailedError,
  PreconditionRequiredError,
  RangeNotSatisfiableError,
  type RetryLaterError,
  TooLargeError,
  UnauthorizedError,
  UnavailableError,
  UnsupportedError,
  UnsupportedMediaTypeError,
} from "../lib/errors.ts";
import { type Logger, RateLimitedLog } from "../lib/log.ts";

/** Where a bug's stack goes: a Logger, or a rate-limited one (see bugLog). */
export interface BugLog {
  error(msg: string): void;
}

/**
 * A log for the bugs one app meets, rate-limited: a request that hits a bug can be sent in a loop by
 * anyone, and must not flood the journal.
 */
export function bugLog(log: Logger): BugLog {
  const limited = new RateLimitedLog((msg) => log.error(msg));
  return { error: (msg) => limited.write(msg) };
}

/**
 * The one place a domain error becomes an HTTP status, with a one-line text body; what maps to no
 * status is a bug, logged to `log` with its stack.
 */
export function errorResponse(err: unknown, log: BugLog): Response {
  const message = err instanceof Error ? err.message.split("\n")[0] : String(err);
  // RFC 6750 §3: a 401 names the scheme. No error="invalid_token": that would tell a wrong token from
  // a missing one.
  if (err instanceof UnauthorizedError) {
    return text(401, message, { "WWW-Authenticate": 'Bearer realm="edgecam"' });
  }
  if (err instanceof ForbiddenError) return text(403, message);
  if (err instanceof NotFoundError) return text(404, message);
  if (err instanceof BadRequestError) return text(400, message);
  if (err instanceof UnsupportedError) return text(422, message);
  if (err instanceof UnsupportedMediaTypeError) return text(415, message);
  if (err instanceof TooLargeError) return text(413, message);
  if (err instanceof RangeNotSatisfiableError) {
    return text(416, message, { "Content-Range": `bytes */${err.size}` });
  }
  if (err instanceof PreconditionRequiredError) return text(428, message);
  if (err instanceof PreconditionFailedError) return text(412, message);
  if (err instanceof ConflictError) return text(409, message, retryAfter(err));
  if (err instanceof UnavailableError) return text(503, message, retryAfter(err));
  // decodeURIComponent on a path with a bad escape (`%E0`): the client's URL, not our fault.
  if (err instanceof URIError) return text(400, "malformed percent-encoding in the URL");
  log.error(`unhandled: ${err instanceof Error ? err.stack : message}`);
  return text(500, "internal error");
}

function retryAfter(err: RetryLaterError): Record<string, string> {
  return { "Retry-After": String(err.retryAfterSeconds) };
}

function text(status: number, body: string, headers: Record<string, string> = {}): Response {
  return new Response(body + "\n", {
    status,
    headers: { "Content-Type": "text/plain; charset=utf-8", ...headers },
  });
}
