/** What every handler shares: the running service's context, and finding a stream by name. */
import { NotFoundError } from "../lib/errors.ts";
import type { ServiceContext } from "../lib/service.ts";
import type { Stream } from "../lib/stream/stream.ts";

export type { ServiceContext };

/** The stream with this name, or a NotFoundError that names it. */
export function requireStream(ctx: ServiceContext, name: string): Stream {
  const stream = ctx.streams.get(name);
  if (!stream) throw new NotFoundError(`no stream named "${name}"`);
  return stream;
}
