/**
 * Snapshots: `GET /snapshot/<stream>.jpg` answers a JPEG of the stream's latest keyframe.
 */
import { Hono } from "hono";
import { NotFoundError } from "../lib/errors.ts";
import { requireStream, type ServiceContext } from "./context.ts";

/** `GET /snapshot/<stream>.jpg`: the latest keyframe as a JPEG (see lib/outputs/snapshot.ts). */
export function snapshotRoutes(ctx: ServiceContext): Hono {
  const app = new Hono();
  app.get("/snapshot/:file", async (c) => {
    const file = c.req.param("file");
    if (!file.endsWith(".jpg")) throw new NotFoundError(`no route for ${c.req.method} ${c.req.path}`);
    const stream = requireStream(ctx, file.slice(0, -".jpg".length));
    const { jpeg, captureMs } = await ctx.snapshots.jpeg(stream);
    return new Response(jpeg, {
      headers: {
        "Content-Type": "image/jpeg",
        "Cache-Control": "no-store",
        "Content-Disposition": `inline; filename="${stream.name}-${utcStamp(captureMs)}.jpg"`,
      },
    });
  });
  return app;
}

/** A capture time as ISO 8601 basic UTC to the second (20250105T171403Z): no character a file name avoids. */
function utcStamp(ms: number): string {
  return new Date(ms).toISOString().replace(/\.\d+Z$/, "Z").replace(/[-:]/g, "");
}
