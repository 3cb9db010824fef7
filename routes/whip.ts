/**
 * WHIP (`/whip/<path>`, and `/<path>/whip` as MediaMTX spells it) on the shared session shape.
 */
import type { Hono } from "hono";
import { clientAddress, type ServiceContext } from "./context.ts";
import { sessionCreated, sessionRoutes } from "./sessions.ts";

/**
 * WHIP (RFC 9725): `/whip/<path>` and `/<path>/whip` take a publisher's offer; the session URLs
 * `/whip/<path>/<id>` take PATCH (trickle, ICE restart) and DELETE, as WHEP's do.
 */
export function whipRoutes(ctx: ServiceContext): Hono {
  return sessionRoutes({
    prefix: "whip",
    post: async (c, path, offer) => {
      const answer = await ctx.whip.create(path, offer, clientAddress(c));
      return sessionCreated(c, `/whip/${path}/${answer.id}`, answer, ctx.iceLinks);
    },
    requireEndpoint: (path) => ctx.whip.requireEndpoint(path),
    patch: (path, id, ifMatch, fragment) => ctx.whip.patch(path, id, ifMatch, fragment),
    delete: (path, id) => ctx.whip.delete(path, id),
    require: (path, id) => ctx.whip.require(path, id),
  });
}
