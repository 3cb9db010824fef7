/**
 * WHEP (`/whep/<stream>`, and `/<stream>/whep` as MediaMTX spells it) on the shared session shape.
 */
import type { Context, Hono } from "hono";
import type { Stream } from "../lib/stream/stream.ts";
import { clientAddress, requireStream, type ServiceContext } from "./context.ts";
import { sessionCreated, sessionRoutes } from "./sessions.ts";

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
  const answer = await ctx.whep.create(stream, offer, clientAddress(c));
  return sessionCreated(c, `/whep/${stream.name}/${answer.id}`, answer, ctx.iceLinks);
}

/** WHEP (draft-ietf-wish-whep): `/whep/<stream>` and `/<stream>/whep`, and the sessions they make. */
export function whepRoutes(ctx: ServiceContext): Hono {
  return sessionRoutes({
    prefix: "whep",
    post: (c, name, offer) => whepCreated(c, ctx, requireStream(ctx, name), offer),
    requireEndpoint: (name) => requireStream(ctx, name),
    patch: (name, id, ifMatch, fragment) => ctx.whep.addCandidates(name, id, ifMatch, fragment),
    delete: (name, id) => ctx.whep.delete(name, id),
    require: (name, id) => ctx.whep.require(name, id),
  });
}
