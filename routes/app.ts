/**
 * The whole HTTP surface in one Hono app: CORS, the token check, every route, errors mapped to statuses.
 */
import { Hono } from "hono";
import { NotFoundError } from "../lib/errors.ts";
import { accessFor, requireToken } from "./auth.ts";
import { cors } from "./cors.ts";
import type { HttpHandlers } from "../lib/service.ts";
import type { ServiceContext } from "./context.ts";
import { errorResponse } from "./errors.ts";
import { offerRoutes } from "./offer.ts";
import { cameraSignalApp, signalRoutes } from "./signal.ts";
import { staticRoutes } from "./static.ts";
import { statusRoutes } from "./status.ts";
import { whepRoutes } from "./whep.ts";
import { whipRoutes } from "./whip.ts";
import { wsRoutes } from "./ws.ts";

/** Paths a page on another origin calls (WHEP, WHIP, the JSON `/offer`): they answer with CORS headers. */
const CORS_PATHS = ["/whep/*", "/:stream/whep", "/whip/*", "/:path/whip", "/offer"];

/** The whole HTTP surface: every route, behind the token check, with domain errors mapped in one place. */
export function createApp(ctx: ServiceContext): Hono {
  const app = new Hono();
  // Middleware runs in the order it is added: CORS first, so a refusal by the token check below still
  // carries the headers and a page on another origin can read its status.
  for (const path of CORS_PATHS) app.use(path, cors);
  // One check in front of every route: a route added later is guarded without anyone remembering to.
  const defaultStream = () => ctx.streams.all()[0]?.name;
  app.use(
    "*",
    requireToken(
      ctx.access,
      (method, path, query) => accessFor(method, path, query, defaultStream),
      ctx.log.logger("auth"),
    ),
  );
  app.route("/", statusRoutes(ctx));
  app.route("/", signalRoutes(ctx));
  app.route("/", wsRoutes(ctx));
  app.route("/", offerRoutes(ctx));
  app.route("/", whepRoutes(ctx));
  app.route("/", whipRoutes(ctx));
  app.route("/", staticRoutes());
  const log = ctx.log.logger("http");
  app.notFound((c) => errorResponse(new NotFoundError(`no route for ${c.req.method} ${c.req.path}`), log));
  app.onError((err) => errorResponse(err, log));
  return app;
}

/** The HTTP handlers `startService` takes: every route on the main port, each camera's signaling port. */
export const httpHandlers: HttpHandlers = {
  app: (ctx) => createApp(ctx).fetch,
  cameraSignal: (ctx, camera) => cameraSignalApp(ctx, camera).fetch,
};
