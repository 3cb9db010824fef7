/**
 * The HTTP shape WHEP and WHIP share (WHIP §4, which WHEP mirrors): an endpoint that takes an SDP offer
 * and answers 201 with the session URL, and session URLs that take PATCH (trickle, ICE restart), DELETE,
 * GET and OPTIONS. Bodies are bounded and media types checked (CORS is routes/cors.ts).
 */
import { type Context, Hono } from "hono";
import {
  BadRequestError,
  PreconditionRequiredError,
  TooLargeError,
  UnsupportedMediaTypeError,
} from "../lib/errors.ts";
import type { IceRestartAnswer } from "../lib/webrtc/peer_session.ts";

/** Largest SDP offer or fragment taken; real offers are a few KiB. */
const MAX_BODY_BYTES = 128 * 1024;

/** The media type without parameters, lower case. */
export function mediaType(c: Context): string {
  return (c.req.header("content-type") ?? "").split(";")[0].trim().toLowerCase();
}

/** The body as text, refused with TooLargeError past MAX_BODY_BYTES without reading the rest. */
export async function boundedText(c: Context): Promise<string> {
  const declared = Number(c.req.header("content-length") ?? 0);
  if (declared > MAX_BODY_BYTES) throw new TooLargeError(`body over ${MAX_BODY_BYTES} bytes`);
  const chunks: Uint8Array[] = [];
  let size = 0;
  try {
    for await (const chunk of c.req.raw.body ?? []) {
      size += chunk.length;
      if (size > MAX_BODY_BYTES) throw new TooLargeError(`body over ${MAX_BODY_BYTES} bytes`);
      chunks.push(chunk);
    }
  } catch (err) {
    if (err instanceof TooLargeError) throw err;
    // The client went away (or broke its chunked encoding) mid-body: its fault, not a server error.
    throw new BadRequestError(`request body incomplete: ${(err as Error).message.split("\n")[0]}`);
  }
  const body = new Uint8Array(size);
  let at = 0;
  for (const chunk of chunks) {
    body.set(chunk, at);
    at += chunk.length;
  }
  return new TextDecoder().decode(body);
}

/** What the shared routes need from one kind of session (WHEP viewers, WHIP publishers). */
export interface SessionEndpoint {
  /** "whep" or "whip": the first path segment of the endpoint and of its session URLs. */
  prefix: string;
  /** Answers the offer of a POST on the endpoint of `path` (201 with the session's headers). */
  post(c: Context, path: string, offer: string): Promise<Response>;
  /** Throws NotFoundError unless `path` has an endpoint (for GET and OPTIONS on it). */
  requireEndpoint(path: string): void;
  /** Applies a PATCH's sdpfrag: see PeerSessions.patch. */
  patch(path: string, id: string, ifMatch: string, fragment: string): Promise<IceRestartAnswer | undefined>;
  /** Ends a session; NotFoundError when there is none. */
  delete(path: string, id: string): void;
  /** Throws NotFoundError unless the session exists. */
  require(path: string, id: string): void;
}

/** The 201 of a POST that made a session: the SDP answer, its URL, its ETag and the ICE servers (WHIP §4.6). */
export function sessionCreated(
  c: Context,
  location: string,
  answer: { sdp: string; etag: string },
  iceLinks: string[],
): Response {
  return c.body(answer.sdp, 201, {
    "Content-Type": "application/sdp",
    Location: location,
    ETag: `"${answer.etag}"`,
    Link: iceLinks,
  });
}

/**
 * `POST /<prefix>/<path>` (alias `POST /<path>/<prefix>`) with an SDP offer answers 201 with the SDP answer
 * and the session URL; `PATCH` on the session trickles candidates (204) or restarts ICE (200 with the
 * server's sdpfrag and a new ETag), `DELETE` ends it; `GET` and `OPTIONS` answer without side effects.
 */
export function sessionRoutes(endpoint: SessionEndpoint): Hono {
  // CORS is added in routes/app.ts, ahead of the token check, so a 401 carries it too.
  const app = new Hono();
  const { prefix } = endpoint;

  const post = async (c: Context) => {
    const path = c.req.param("path")!;
    if (mediaType(c) !== "application/sdp") {
      throw new UnsupportedMediaTypeError("Content-Type must be application/sdp");
    }
    return await endpoint.post(c, path, await boundedText(c));
  };
  const endpointOptions = (c: Context) => {
    endpoint.requireEndpoint(c.req.param("path")!);
    return c.body(null, 200, { "Accept-Post": "application/sdp" });
  };
  const endpointGet = (c: Context) => {
    endpoint.requireEndpoint(c.req.param("path")!);
    return c.body(null, 204);
  };
  for (const path of [`/${prefix}/:path`, `/:path/${prefix}`]) {
    app.post(path, post);
    app.options(path, endpointOptions);
    app.get(path, endpointGet);
  }

  const session = `/${prefix}/:path/:session`;
  app.get(session, (c) => {
    endpoint.require(c.req.param("path")!, c.req.param("session")!);
    return c.body(null, 204);
  });
  app.options(session, (c) => c.body(null, 200, { "Accept-Patch": "application/trickle-ice-sdpfrag" }));
  app.patch(session, async (c) => {
    const ifMatch = c.req.header("if-match");
    if (!ifMatch) throw new PreconditionRequiredError("PATCH needs If-Match with the session's ETag");
    if (mediaType(c) !== "application/trickle-ice-sdpfrag") {
      throw new UnsupportedMediaTypeError("Content-Type must be application/trickle-ice-sdpfrag");
    }
    const fragment = await boundedText(c);
    if (!/^a=/m.test(fragment)) throw new BadRequestError("the sdpfrag has no a= line");
    const restart = await endpoint.patch(c.req.param("path")!, c.req.param("session")!, ifMatch, fragment);
    if (!restart) return c.body(null, 204);
    // ICE restart (WHIP §4.3.2): the server's new credentials and candidates, and the session's new ETag.
    return c.body(restart.fragment, 200, {
      "Content-Type": "application/trickle-ice-sdpfrag",
      ETag: `"${restart.etag}"`,
    });
  });
  app.delete(session, (c) => {
    endpoint.delete(c.req.param("path")!, c.req.param("session")!);
    return c.body(null, 200);
  });
  return app;
}
