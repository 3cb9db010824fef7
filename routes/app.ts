/**
 * The whole HTTP surface in one Hono app: the token, origin and CORS check, every route, errors mapped to
 * statuses.
 */
import { Hono } from "hono";
import { NotFoundError } from "../lib/errors.ts";
import { accessFor, admit } from "./auth.ts";
import type { HttpHandlers } from "../lib/service.ts";
import { type ServiceContext, whileRunning } from "./context.ts";
import { debugRoutes } from "./debug.ts";
import { bugLog, errorResponse } from "./errors.ts";
import { metricsRoutes } from "./metrics.ts";
import { offerRoutes } from "./offer.ts";
import { openApiRoutes } from "./openapi.ts";
import { recordingRoutes } from "./recordings.ts";
import { cameraSignalApp, signalRoutes } from "./signal.ts";
import { snapshotRoutes } from "./snapshot.ts";
import { staticRoutes } from "./static.ts";
import { statusRoutes } from "./status.ts";
import { whepRoutes } from "./whep.ts";
import { whipRoutes } from "./whip.ts";
import { wsRoutes } from "./ws.ts";

/** The whole HTTP surface: every route, behind the token check, with domain errors mapped in one place. */
export function createApp(ctx: ServiceContext): Hono {
  const app = guardedApp(ctx);
  app.route("/", statusRoutes(ctx));
  app.route("/", metricsRoutes(ctx));
  app.route("/", debugRoutes(ctx));
  app.route("/", openApiRoutes());
  app.route("/", signalRoutes(ctx));
  app.route("/", wsRoutes(ctx));
  app.route("/", offerRoutes(ctx));
  app.route("/", whepRoutes(ctx));
  app.route("/", whipRoutes(ctx));
  app.route("/", snapshotRoutes(ctx));
  app.route("/", recordingRoutes(ctx));
  app.route("/", staticRoutes());
  return withErrors(app, ctx);
}

/** `[metrics] listen`'s own port: `GET /metrics` alone, behind the same checks as the main port. */
export function createMetricsApp(ctx: ServiceContext): Hono {
  const app = guardedApp(ctx);
  app.route("/", metricsRoutes(ctx));
  return withErrors(app, ctx);
}

/** An app that refuses everything while stopping and runs the token, origin and CORS check first. */
function guardedApp(ctx: ServiceContext): Hono {
  const app = new Hono();
  app.use("*", whileRunning(ctx));
  // One check in front of every route (tokens, origins, CORS): a route added later is guarded without
  // anyone remembering to.
  const defaultStream = () => ctx.streams.all()[0]?.name;
  app.use(
    "*",
    admit(
      ctx.access,
      ctx.origins,
      (method, path, query) => accessFor(method, path, query, defaultStream),
      ctx.log.logger("auth"),
    ),
  );
  return app;
}

/** Unknown routes and thrown domain errors become their statuses (routes/errors.ts). */
function withErrors(app: Hono, ctx: ServiceContext): Hono {
  const log = bugLog(ctx.log.logger("http"));
  app.notFound((c) => errorResponse(new NotFoundError(`no route for ${c.req.method} ${c.req.path}`), log));
  app.onError((err) => errorResponse(err, log));
  return app;
}

/** The HTTP handlers `startService` takes: every route on the main port, each camera's signaling port. */
export const httpHandlers: HttpHandlers = {
  app: (ctx) => createApp(ctx).fetch,
  metrics: (ctx) => createMetricsApp(ctx).fetch,
  cameraSignal: (ctx, camera) => cameraSignalApp(ctx, camera).fetch,
};
