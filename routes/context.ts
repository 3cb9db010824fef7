import type { AccessPolicy } from "../lib/auth.ts";
import type { PushStatus } from "../lib/outputs/push.ts";
import type { MemoryGuard } from "../lib/stream/memory_guard.ts";
import type { ShmOutput } from "../lib/outputs/shm.ts";
import { NotFoundError } from "../lib/errors.ts";
import type { Stream, StreamRegistry } from "../lib/stream/stream.ts";
import type { WhepSessions } from "../lib/outputs/whep.ts";
import type { WhipSessions } from "../lib/ingest/publishers.ts";

/** What the handlers need from the running service. */
export interface ServiceContext {
  streams: StreamRegistry;
  memory: MemoryGuard;
  startedAtMs: number;
  whep: WhepSessions;
  whip: WhipSessions;
  /** `Link` header values announcing the configured ICE servers to WHEP clients. */
  iceLinks: string[];
  /** The push targets of a stream, as status shows them. */
  pushes: (streamName: string) => PushStatus[];
  /** The Bearer tokens of each kind of request. */
  access: AccessPolicy;
  /** Shared-memory rings, by stream name. */
  shm: ReadonlyMap<string, ShmOutput>;
}

/** The stream with this name, or a NotFoundError that names it. */
export function requireStream(ctx: ServiceContext, name: string): Stream {
  const stream = ctx.streams.get(name);
  if (!stream) throw new NotFoundError(`no stream named "${name}"`);
  return stream;
}
