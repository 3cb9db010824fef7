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

/** A refusal that may succeed when retried: its status carries Retry-After. */
export abstract class RetryLaterError extends Error {
  /** Seconds after which a retry may succeed. */
  constructor(message: string, readonly retryAfterSeconds = 1) {
    super(message);
  }
}

/** The service is at a limit (viewers, memory); try again later. */
export class UnavailableError extends RetryLaterError {
  override name = "UnavailableError";
}

/** The request itself is malformed. */
export class BadRequestError extends Error {
  override name = "BadRequestError";
}

/** The resource exists but its state conflicts with the request (a stream with no live source yet). */
export class ConflictError extends RetryLaterError {
  override name = "ConflictError";
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

/** The request needs no token but comes from somewhere the service does not serve (a foreign page or Host). */
export class ForbiddenError extends Error {
  override name = "ForbiddenError";
}

/**
 * The request carries no token accepted for what it asks. One message whatever was wrong (no token, a
 * wrong one, one of another kind): the refusal must not tell a guesser which part to change.
 */
export class UnauthorizedError extends Error {
  override name = "UnauthorizedError";

  constructor() {
    super("a valid bearer token is required");
  }
}

/** A byte range lies outside the resource; `size` is the resource's length, for `Content-Range`. */
export class RangeNotSatisfiableError extends Error {
  override name = "RangeNotSatisfiableError";

  constructor(message: string, readonly size: number) {
    super(message);
  }
}
