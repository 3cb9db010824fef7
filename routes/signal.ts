/**
 * The WebSocket JSON signaling door: per stream at `/ws/signal/<name>`, and on a camera's own port.
 */
import { type Context, Hono } from "hono";
import { BadRequestError, NotFoundError } from "../lib/errors.ts";
import type { Stream } from "../lib/stream/stream.ts";
import { serveSignaling } from "../lib/webrtc/signaling.ts";
import { requireToken } from "./auth.ts";
import { requireStream, type ServiceContext } from "./context.ts";
import { errorResponse } from "./errors.ts";

/** Upgrades to the WebSocket JSON signaling socket for `stream`. */
function upgrade(c: Context, ctx: ServiceContext, stream: Stream): Response {
  if (c.req.header("upgrade")?.toLowerCase() !== "websocket") {
    throw new BadRequestError("expected a WebSocket upgrade request");
  }
  const { socket, response } = Deno.upgradeWebSocket(c.req.raw);
  serveSignaling(socket, stream, ctx.whep, ctx.log.logger("signal"));
  return response;
}

/** `GET /ws/signal/<stream>`: the WebSocket JSON signaling, one channel per stream. */
export function signalRoutes(ctx: ServiceContext): Hono {
  const app = new Hono();
  app.get("/ws/signal/:stream", (c) => upgrade(c, ctx, requireStream(ctx, c.req.param("stream"))));
  return app;
}

/** The app on a camera's own `webrtc_port`: `GET /ws` is that camera's signaling channel, as the Pion-based Pi camera streamer served it. */
export function cameraSignalApp(ctx: ServiceContext, streamName: string): Hono {
  const app = new Hono();
  // Everything on this port is this camera's signaling: viewing it takes a view token, as on the main port.
  app.use(
    "*",
    requireToken(ctx.access, () => ({ kind: "view", stream: streamName }), ctx.log.logger("auth")),
  );
  app.get("/ws", (c) => upgrade(c, ctx, requireStream(ctx, streamName)));
  const log = ctx.log.logger("http");
  app.notFound((c) => errorResponse(new NotFoundError(`no route for ${c.req.method} ${c.req.path}`), log));
  app.onError((err) => errorResponse(err, log));
  return app;
}
