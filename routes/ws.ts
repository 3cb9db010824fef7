/**
 * The WebSocket player door: `GET /ws/<stream>` upgrades to the jmuxer WebSocket format.
 */
import { Hono } from "hono";
import { BadRequestError, UnsupportedError } from "../lib/errors.ts";
import { pipeStreamToWebSocket } from "../lib/outputs/ws_player.ts";
import { requireStream, type ServiceContext } from "./context.ts";

/** `GET /ws/<stream>`: the jmuxer-style WebSocket player output (H.264 only). */
export function wsRoutes(ctx: ServiceContext): Hono {
  const app = new Hono();
  app.get("/ws/:name", (c) => {
    const stream = requireStream(ctx, c.req.param("name"));
    if (stream.codec !== "h264") {
      throw new UnsupportedError(
        `stream "${stream.name}" is ${stream.codec.toUpperCase()}; the WebSocket player carries H.264 only (watch it over WHEP)`,
      );
    }
    if (c.req.header("upgrade")?.toLowerCase() !== "websocket") {
      throw new BadRequestError("expected a WebSocket upgrade request");
    }
    const { socket, response } = Deno.upgradeWebSocket(c.req.raw);
    socket.binaryType = "arraybuffer";
    socket.addEventListener("open", () => void pipeStreamToWebSocket(stream, socket));
    return response;
  });
  return app;
}
