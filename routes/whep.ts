import { type Context, Hono } from "hono";
import {
  BadRequestError,
  PreconditionRequiredError,
  TooLargeError,
  UnsupportedMediaTypeError,
} from "../lib/errors.ts";
import type { Stream } from "../lib/stream.ts";
import { requireStream, type ServiceContext } from "./context.ts";

/** Largest SDP offer or fragment taken; real offers are a few KiB. */
const MAX_BODY_BYTES = 128 * 1024;

/** Sent on every WHEP response so a page on another origin can play and read the session URL. */
const CORS_HEADERS: Record<string, string> = {
  "Access-Control-Allow-Origin": "*",
  "Access-Control-Allow-Methods": "POST, GET, PATCH, DELETE, OPTIONS",
  "Access-Control-Allow-Headers": "Authorization, If-Match, Content-Type",
  "Access-Control-Expose-Headers": "Location, ETag, Link, Accept-Patch",
};

/**
 * Adds the CORS headers after the handler, so error responses (a 401 included) carry them too and a
 * page can read why. Authorization is allowed: a page on another origin sends its Bearer token.
 */
export async function cors(c: Context, next: () => Promise<void>): Promise<void> {
  await next();
  for (const [name, value] of Object.entries(CORS_HEADERS)) c.res.headers.set(name, value);
}

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
  for await (const chunk of c.req.raw.body ?? []) {
    size += chunk.length;
    if (size > MAX_BODY_BYTES) throw new TooLargeError(`body over ${MAX_BODY_BYTES} bytes`);
    chunks.push(chunk);
  }
  const body = new Uint8Array(size);
  let at = 0;
  for (const chunk of chunks) {
    body.set(chunk, at);
    at += chunk.length;
  }
  return new TextDecoder().decode(body);
}

/**
 * Answers an SDP offer as a WHEP POST does: 201, the SDP answer, the session URL, its ETag and a
 * Link header per configured ICE server (WHIP §4.6).
 */
export async function whepCreated(
  c: Context,
  ctx: ServiceContext,
  stream: Stream,
  offer: string,
): Promise<Response> {
  const answer = await ctx.whep.create(stream, offer);
  return c.body(answer.sdp, 201, {
    "Content-Type": "application/sdp",
    Location: `/whep/${stream.name}/${answer.id}`,
    ETag: `"${answer.etag}"`,
    Link: ctx.iceLinks,
  });
}

/**
 * WHEP (draft-ietf-wish-whep): `POST /whep/<stream>` (alias `POST /<stream>/whep`) with an SDP
 * offer answers 201 with the SDP answer and the session URL; `PATCH` trickles candidates (204) or
 * restarts ICE (200 with the server's sdpfrag and a new ETag), `DELETE` ends the session; `GET` and `OPTIONS` answer without side effects.
 */
export function whepRoutes(ctx: ServiceContext): Hono {
  // CORS is added in routes/app.ts, ahead of the token check, so a 401 carries it too.
  const app = new Hono();

  const post = async (c: Context) => {
    const name = c.req.param("stream")!;
    if (mediaType(c) !== "application/sdp") {
      throw new UnsupportedMediaTypeError("Content-Type must be application/sdp");
    }
    const offer = await boundedText(c);
    return await whepCreated(c, ctx, requireStream(ctx, name), offer);
  };
  const endpointOptions = (c: Context) => {
    requireStream(ctx, c.req.param("stream")!);
    return c.body(null, 200, { "Accept-Post": "application/sdp" });
  };
  const endpointGet = (c: Context) => {
    requireStream(ctx, c.req.param("stream")!);
    return c.body(null, 204);
  };
  for (const path of ["/whep/:stream", "/:stream/whep"]) {
    app.post(path, post);
    app.options(path, endpointOptions);
    app.get(path, endpointGet);
  }

  app.get("/whep/:stream/:session", (c) => {
    ctx.whep.require(c.req.param("stream"), c.req.param("session"));
    return c.body(null, 204);
  });
  app.options(
    "/whep/:stream/:session",
    (c) => c.body(null, 200, { "Accept-Patch": "application/trickle-ice-sdpfrag" }),
  );
  app.patch("/whep/:stream/:session", async (c) => {
    const ifMatch = c.req.header("if-match");
    if (!ifMatch) throw new PreconditionRequiredError("PATCH needs If-Match with the session's ETag");
    if (mediaType(c) !== "application/trickle-ice-sdpfrag") {
      throw new UnsupportedMediaTypeError("Content-Type must be application/trickle-ice-sdpfrag");
    }
    const fragment = await boundedText(c);
    if (!/^a=/m.test(fragment)) throw new BadRequestError("the sdpfrag has no a= line");
    const restart = await ctx.whep.addCandidates(
      c.req.param("stream"),
      c.req.param("session"),
      ifMatch,
      fragment,
    );
    if (!restart) return c.body(null, 204);
    // ICE restart (WHIP §4.3.2): the server's new credentials and candidates, and the session's new ETag.
    return c.body(restart.fragment, 200, {
      "Content-Type": "application/trickle-ice-sdpfrag",
      ETag: `"${restart.etag}"`,
    });
  });
  app.delete("/whep/:stream/:session", (c) => {
    ctx.whep.delete(c.req.param("stream"), c.req.param("session"));
    return c.body(null, 200);
  });
  return app;
}
