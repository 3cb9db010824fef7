/**
 * The WebSocket JSON signaling door: per stream at `/ws/signal/<name>`, and on a camera's own port.
 */
import { type Context, Hono } from "hono";
import { NotFoundError } from "../lib/errors.ts";
import { RateLimitedLog } from "../lib/log.ts";
import type { Stream } from "../lib/stream/stream.ts";
import { serveSignaling } from "../lib/webrtc/signaling.ts";
import { admit } from "./auth.ts";
import {
  clientAddress,
  requireStream,
  type ServiceContext,
  upgradeWebSocket,
  whileRunning,
} from "./context.ts";
import { bugLog, errorResponse } from "./errors.ts";

/** The log of refused signaling messages of one app, rate-limited. */
function signalRefusals(ctx: ServiceContext): RateLimitedLog {
  const log = ctx.log.logger("signal");
  return new RateLimitedLog((line) => log.info(line));
}

/**
 * Upgrades to the WebSocket JSON signaling socket for `stream`; `refusals` is the app's budget of log
 * lines for bad messages, shared by all its sockets so many sockets cannot flood the journal either.
 */
function upgrade(c: Context, ctx: ServiceContext, stream: Stream, refusals: RateLimitedLog): Response {
  // Read before the upgrade: the request's connection info is gone once the socket takes it over.
  const address = clientAddress(c);
  const { socket, response } = upgradeWebSocket(c);
  serveSignaling(socket, stream, ctx.whep, refusals, address);
  return response;
}

/** `GET /ws/signal/<stream>`: the WebSocket JSON signaling, one channel per stream. */
export function signalRoutes(ctx: ServiceContext): Hono {
  const app = new Hono();
  const refusals = signalRefusals(ctx);
  app.get("/ws/signal/:stream", (c) => upgrade(c, ctx, requireStream(ctx, c.req.param("stream")), refusals));
  return app;
}

/**
 * The app on a camera's own `webrtc_port`: `GET /ws` is that camera's signaling channel, as the Pion-based
 * Pi camera streamer served it.
 */
export function cameraSignalApp(ctx: ServiceContext, streamName: string): Hono {
  const app = new Hono();
  app.use("*", whileRunning(ctx));
  // Everything on this port is this camera's signaling: viewing it takes a view token, as on the main port.
  app.use(
    "*",
    admit(ctx.access, ctx.origins, () => ({ kind: "view", stream: streamName }), ctx.log.logger("auth")),
  );
  const refusals = signalRefusals(ctx);
  app.get("/ws", (c) => upgrade(c, ctx, requireStream(ctx, streamName), refusals));
  const log = bugLog(ctx.log.logger("http"));
  app.notFound((c) => errorResponse(new NotFoundError(`no route for ${c.req.method} ${c.req.path}`), log));
  app.onError((err) => errorResponse(err, log));
  return app;
}
