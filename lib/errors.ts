/**
 * Domain errors, typed where they arise. `routes/errors.ts` maps each kind to one HTTP status;
 * nothing below routes/ knows about HTTP.
 */

/** A named thing (stream, session) does not exist. */
export class NotFoundError extends Error {
  override name = "NotFoundError";
}

/** The request is well-formed but the resource cannot serve it (wrong codec for this output). */
export class UnsupportedError extends Error {
  override name = "UnsupportedError";
}

/** The resource exists but is not in a state to serve the request; try again later. */
export class UnavailableError extends Error {
  override name = "UnavailableError";
  /** Seconds after which a retry may succeed. */
  constructor(message: string, readonly retryAfterSeconds = 1) {
    super(message);
  }
}

/** The request itself is malformed. */
export class BadRequestError extends Error {
  override name = "BadRequestError";
}
