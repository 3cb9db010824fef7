import { Hono } from "hono";
import { NotFoundError } from "../lib/errors.ts";
import type { ServiceContext } from "./context.ts";
import { errorResponse } from "./errors.ts";
import { offerRoutes } from "./offer.ts";
import { signalRoutes } from "./signal.ts";
import { staticRoutes } from "./static.ts";
import { statusRoutes } from "./status.ts";
import { whepRoutes } from "./whep.ts";
import { wsRoutes } from "./ws.ts";

/** The whole HTTP surface: every route, with domain errors mapped in one place. */
export function createApp(ctx: ServiceContext): Hono {
  const app = new Hono();
  app.route("/", statusRoutes(ctx));
  app.route("/", signalRoutes(ctx));
  app.route("/", wsRoutes(ctx));
  app.route("/", offerRoutes(ctx));
  app.route("/", whepRoutes(ctx));
  app.route("/", staticRoutes());
  app.notFound((c) => errorResponse(new NotFoundError(`no route for ${c.req.method} ${c.req.path}`)));
  app.onError((err) => errorResponse(err));
  return app;
}
