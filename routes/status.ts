/**
 * Status and health: `GET /status`, `GET /health`, `GET /api/streams[/<name>]`.
 */
import { Hono } from "hono";
import { healthOf, serviceStatus, summarizeStream } from "../lib/status.ts";
import type { Stream } from "../lib/stream/stream.ts";
import { requireStream, type ServiceContext } from "./context.ts";

/** `GET /health`, `GET /status`, `GET /api/streams[/<name>]`. */
export function statusRoutes(ctx: ServiceContext): Hono {
  const app = new Hono();
  const outputsOf = (stream: Stream) => ({
    webrtc: ctx.whep.stats(stream.name),
    wsPlayers: ctx.players.count(stream.name),
    shm: ctx.shm.get(stream.name)?.status() ?? null,
    push: ctx.pushes(stream.name),
    recording: ctx.recordings.status(stream.name),
  });
  const summary = (stream: Stream) => summarizeStream(stream, outputsOf(stream));
  app.get("/health", (c) => {
    const { healthy, body } = healthOf(ctx.streams.all());
    return c.json(body, healthy ? 200 : 503);
  });
  app.get(
    "/status",
    (c) => c.json(serviceStatus(ctx.streams.all(), outputsOf, ctx.memory.status, ctx.startedAtMs)),
  );
  app.get("/api/streams", (c) => c.json(ctx.streams.all().map(summary)));
  app.get("/api/streams/:name", (c) => c.json(summary(requireStream(ctx, c.req.param("name")))));
  return app;
}
