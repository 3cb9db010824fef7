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

/** The resource exists but its state conflicts with the request (a stream with no live source yet). */
export class ConflictError extends Error {
  override name = "ConflictError";
  /** Seconds after which a retry may succeed. */
  constructor(message: string, readonly retryAfterSeconds = 1) {
    super(message);
  }
}

/** The request body is of a media type this resource does not take. */
export class UnsupportedMediaTypeError extends Error {
  override name = "UnsupportedMediaTypeError";
}

/** The request body is larger than this resource accepts. */
export class TooLargeError extends Error {
  override name = "TooLargeError";
}

/** A change was asked for without naming the version it applies to (no If-Match). */
export class PreconditionRequiredError extends Error {
  override name = "PreconditionRequiredError";
}

/** A change names a version of the resource that is not the current one (If-Match mismatch). */
export class PreconditionFailedError extends Error {
  override name = "PreconditionFailedError";
}
