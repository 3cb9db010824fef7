/** What every handler shares: the running service's context, finding a stream by name, the client's address. */
import type { Context, MiddlewareHandler } from "hono";
import { BadRequestError, NotFoundError, UnavailableError } from "../lib/errors.ts";
import type { ServiceContext } from "../lib/service.ts";
import type { Stream } from "../lib/stream/stream.ts";

export type { ServiceContext };

/** The stream with this name, or a NotFoundError that names it. */
export function requireStream(ctx: ServiceContext, name: string): Stream {
  const stream = ctx.streams.get(name);
  if (!stream) throw new NotFoundError(`no stream named "${name}"`);
  return stream;
}

/**
 * The address of the client that sent the request (Deno.serve's remoteAddr), which bounds the sessions
 * one client may leave connecting; "unknown" where the server gives none (a request made in a test).
 */
export function clientAddress(c: Context): string {
  const remote = (c.env as Deno.ServeHandlerInfo<Deno.NetAddr> | undefined)?.remoteAddr;
  return remote?.hostname ?? "unknown";
}

/** Middleware that refuses every request (503) once the service is stopping: a session or path made then would outlive its rings. */
export function whileRunning(ctx: ServiceContext): MiddlewareHandler {
  return async (_c, next) => {
    if (ctx.stopping()) throw new UnavailableError("edgecam is shutting down", 5);
    await next();
  };
}

/**
 * Upgrades the request to a WebSocket, or refuses it with BadRequestError: a request that is no upgrade,
 * or one whose handshake Deno rejects (no Sec-WebSocket-Key, a wrong version), is the client's fault.
 */
export function upgradeWebSocket(c: Context): { socket: WebSocket; response: Response } {
  if (c.req.header("upgrade")?.toLowerCase() !== "websocket") {
    throw new BadRequestError("expected a WebSocket upgrade request");
  }
  try {
    return Deno.upgradeWebSocket(c.req.raw);
  } catch (err) {
    throw new BadRequestError(`not a valid WebSocket upgrade: ${(err as Error).message.split("\n")[0]}`);
  }
}
