/**
 * The WebSocket player door: `GET /ws/<stream>` upgrades to the jmuxer WebSocket format.
 */
import { Hono } from "hono";
import { UnsupportedError } from "../lib/errors.ts";
import { requireStream, type ServiceContext, upgradeWebSocket } from "./context.ts";

/** `GET /ws/<stream>`: the jmuxer-style WebSocket player output (H.264 only), within the player limits. */
export function wsRoutes(ctx: ServiceContext): Hono {
  const app = new Hono();
  app.get("/ws/:name", (c) => {
    const stream = requireStream(ctx, c.req.param("name"));
    if (stream.codec !== "h264") {
      throw new UnsupportedError(
        `stream "${stream.name}" is ${stream.codec.toUpperCase()}; the WebSocket player carries H.264 only (watch it over WHEP)`,
      );
    }
    const release = ctx.players.admit(stream);
    let upgraded;
    try {
      upgraded = upgradeWebSocket(c);
    } catch (err) {
      release();
      throw err;
    }
    const { socket, response } = upgraded;
    socket.binaryType = "arraybuffer";
    socket.addEventListener("open", () => void ctx.players.play(stream, socket));
    // A client that goes before the socket opens frees its place too.
    socket.addEventListener("close", release);
    socket.addEventListener("error", release);
    return response;
  });
  return app;
}
