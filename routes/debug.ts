/**
 * On-demand profiling of the running service (only with `[debug] enabled = true`):
 * `POST /api/debug/cpu-profile?seconds=N` and `POST /api/debug/heap-snapshot`.
 */
import { Hono } from "hono";
import { MAX_PROFILE_SECONDS } from "../lib/debug/profiler.ts";
import { BadRequestError, NotFoundError } from "../lib/errors.ts";
import type { ServiceContext } from "./context.ts";

/** Default length of a CPU profile when `seconds` is not given. */
const DEFAULT_PROFILE_SECONDS = 10;

/** The profiling routes; each answers 404 naming the key while `[debug] enabled` is false. */
export function debugRoutes(ctx: ServiceContext): Hono {
  const app = new Hono();
  app.use("/api/debug/*", async (_c, next) => {
    if (!ctx.debug) throw new NotFoundError("profiling is off: set [debug] enabled = true");
    await next();
  });
  app.post("/api/debug/cpu-profile", async (c) => {
    const seconds = profileSeconds(c.req.query("seconds"));
    const profile = await ctx.profiler.cpuProfile(seconds);
    return new Response(profile, { headers: download("cpuprofile") });
  });
  app.post(
    "/api/debug/heap-snapshot",
    () => new Response(ctx.profiler.heapSnapshot(), { headers: download("heapsnapshot") }),
  );
  return app;
}

function profileSeconds(text: string | undefined): number {
  if (text === undefined) return DEFAULT_PROFILE_SECONDS;
  const seconds = Number(text);
  if (!/^\d+$/.test(text) || seconds < 1 || seconds > MAX_PROFILE_SECONDS) {
    throw new BadRequestError(`seconds must be a whole number from 1 to ${MAX_PROFILE_SECONDS}`);
  }
  return seconds;
}

/** Headers that make a browser save the body as `edgecam-<time>.<extension>`. */
function download(extension: string): HeadersInit {
  const time = new Date().toISOString().replaceAll(":", "-").replace(/\.\d+Z$/, "Z");
  return {
    "Content-Type": "application/json",
    "Content-Disposition": `attachment; filename="edgecam-${time}.${extension}"`,
    "Cache-Control": "no-store",
  };
}
