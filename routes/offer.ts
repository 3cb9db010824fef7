/**
 * `POST /offer`: the JSON door that pion-based servers use, a way into the same WHEP sessions.
 */
import { type Context, Hono } from "hono";
import { BadRequestError, NotFoundError, UnsupportedMediaTypeError } from "../lib/errors.ts";
import type { Stream } from "../lib/stream/stream.ts";
import { clientAddress, requireStream, type ServiceContext } from "./context.ts";
import { boundedText, mediaType } from "./sessions.ts";
import { whepCreated } from "./whep.ts";

/** `?stream=<name>`, else the first configured stream. */
function offeredStream(c: Context, ctx: ServiceContext): Stream {
  const name = c.req.query("stream");
  if (name !== undefined) return requireStream(ctx, name);
  const first = ctx.streams.all()[0];
  if (!first) throw new NotFoundError("no stream is configured");
  return first;
}

/** The SDP of an offer to the JSON `/offer` door pion-based servers use: `{"type":"offer","sdp":"..."}`. */
function offerSdp(body: string): string {
  let json: unknown;
  try {
    json = JSON.parse(body);
  } catch {
    throw new BadRequestError("body is not JSON");
  }
  const { type, sdp } = (typeof json === "object" && json !== null ? json : {}) as Record<string, unknown>;
  if (type !== "offer" || typeof sdp !== "string") {
    throw new BadRequestError(`body must be {"type":"offer","sdp":"..."}`);
  }
  return sdp;
}

/**
 * `POST /offer` (the JSON door that pion-based servers use, and the design card) for `?stream=<name>` or the
 * first stream: an `application/sdp` body is a WHEP POST; a JSON offer gets 200 with
 * `{"type":"answer","sdp"}`, plus Location and ETag so the session can be PATCHed and DELETEd like a WHEP
 * one.
 */
export function offerRoutes(ctx: ServiceContext): Hono {
  const app = new Hono();
  // A browser on another origin preflights the POST (JSON body, Authorization header): without an
  // answer here the preflight got 404 and the POST was never sent.
  app.options("/offer", (c) => c.body(null, 200, { "Accept-Post": "application/sdp, application/json" }));
  app.post("/offer", async (c) => {
    const type = mediaType(c);
    if (type === "application/sdp") {
      return await whepCreated(c, ctx, offeredStream(c, ctx), await boundedText(c));
    }
    if (type !== "application/json") {
      throw new UnsupportedMediaTypeError("Content-Type must be application/sdp or application/json");
    }
    const sdp = offerSdp(await boundedText(c));
    const stream = offeredStream(c, ctx);
    const answer = await ctx.whep.create(stream, sdp, clientAddress(c));
    return c.json({ type: "answer", sdp: answer.sdp }, 200, {
      Location: `/whep/${stream.name}/${answer.id}`,
      ETag: `"${answer.etag}"`,
    });
  });
  return app;
}
