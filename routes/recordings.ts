/**
 * Recording, recordings and playback: start/stop/status per stream (and the older `POST /start` and
 * `POST /stop` of the pion-based streaming server), the segment listing, one segment's file with Range
 * requests, and any time range as one fragmented MP4.
 */
import { Hono } from "hono";
import { BadRequestError, ConflictError, NotFoundError } from "../lib/errors.ts";
import { planPlayback, playbackBody, segmentJson } from "../lib/recording/playback.ts";
import type { SegmentInfo } from "../lib/recording/library.ts";
import { requireStream, type ServiceContext } from "./context.ts";
import { fileSlice, parseRange } from "./range.ts";

const CONTENT_TYPE: Record<SegmentInfo["extension"], string> = {
  mp4: "video/mp4",
  h264: "video/h264",
  ivf: "video/x-ivf",
};

/** Longest range one playback request may ask for. */
const MAX_PLAYBACK_S = 24 * 3600;

/** The recording and recordings routes. */
export function recordingRoutes(ctx: ServiceContext): Hono {
  const app = new Hono();
  const { recordings } = ctx;
  const start = (name: string) => {
    const { started, status } = recordings.start(name);
    return Response.json(status, { status: started ? 201 : 200 });
  };
  const stop = async (name: string) => Response.json(await recordings.stop(name));
  // The older server's doors act on the first camera unless ?stream= names another.
  const named = (query: string | undefined) => {
    const name = query ?? ctx.streams.all()[0]?.name;
    if (!name) throw new NotFoundError("no stream to record");
    return name;
  };

  app.post("/api/streams/:name/recording", (c) => start(c.req.param("name")));
  app.delete("/api/streams/:name/recording", (c) => stop(c.req.param("name")));
  app.get("/api/streams/:name/recording", (c) => {
    requireStream(ctx, c.req.param("name"));
    return c.json(recordings.status(c.req.param("name")));
  });
  app.post("/start", (c) => start(named(c.req.query("stream"))));
  app.post("/stop", (c) => stop(named(c.req.query("stream"))));

  app.get("/api/recordings", async (c) => {
    const names = await recordings.library.streams();
    return c.json({ streams: names.map((name) => ({ name, url: `/api/recordings/${name}` })) });
  });
  app.get("/api/recordings/:name", async (c) => {
    const name = c.req.param("name");
    const from = time(c.req.query("start"), "start") ?? -Infinity;
    const to = time(c.req.query("end"), "end") ?? Infinity;
    const segments = await recordings.library.segments(name, from, to);
    return c.json({ segments: segments.map((s) => segmentJson(s, `/api/recordings/${name}/${s.name}`)) });
  });
  app.on(["GET", "HEAD"], "/api/recordings/:name/:file", async (c) => {
    const segment = await requireSegment(ctx, c.req.param("name"), c.req.param("file"));
    const range = parseRange(c.req.header("range"), segment.bytes);
    const headers: Record<string, string> = {
      "Content-Type": CONTENT_TYPE[segment.extension],
      "Accept-Ranges": "bytes",
      "Content-Disposition": `attachment; filename="${segment.stream}-${segment.name}"`,
    };
    const { start, end } = range ?? { start: 0, end: segment.bytes - 1 };
    headers["Content-Length"] = String(Math.max(0, end - start + 1));
    if (range) headers["Content-Range"] = `bytes ${start}-${end}/${segment.bytes}`;
    const body = c.req.method === "HEAD" || segment.bytes === 0
      ? null
      : await fileSlice(segment.path, start, end);
    return new Response(body, { status: range ? 206 : 200, headers });
  });
  app.delete("/api/recordings/:name/:file", async (c) => {
    const segment = await requireSegment(ctx, c.req.param("name"), c.req.param("file"));
    if (recordings.recorder(segment.stream)?.activePath === segment.path) {
      throw new ConflictError(`${segment.name} is being written; stop the recording first`);
    }
    await recordings.library.remove(segment);
    return c.body(null, 204);
  });

  app.get("/playback/:name", async (c) => {
    const start = time(c.req.query("start"), "start");
    if (start === undefined) {
      throw new BadRequestError("start is required (RFC 3339, e.g. 2026-12-05T07:21:17Z)");
    }
    const durationText = c.req.query("duration") ?? "60";
    const duration = Number(durationText);
    if (!Number.isFinite(duration) || duration <= 0 || duration > MAX_PLAYBACK_S) {
      throw new BadRequestError(
        `duration must be a number of seconds from 0 to ${MAX_PLAYBACK_S}, not "${durationText}"`,
      );
    }
    const name = c.req.param("name");
    const plan = await planPlayback(recordings.library, name, start, duration * 1000);
    const stamp = new Date(start).toISOString().replaceAll(":", "-");
    return new Response(playbackBody(plan), {
      headers: {
        "Content-Type": "video/mp4",
        "Content-Disposition": `inline; filename="${name}-${stamp}.mp4"`,
        "Cache-Control": "no-store",
      },
    });
  });
  return app;
}

/** A segment named in the URL, or NotFoundError. */
async function requireSegment(ctx: ServiceContext, stream: string, file: string): Promise<SegmentInfo> {
  const segment = await ctx.recordings.library.segment(stream, file);
  if (!segment) throw new NotFoundError(`no recording "${file}" of "${stream}"`);
  return segment;
}

/** An RFC 3339 time from a query parameter, undefined when absent; BadRequestError when it is not one. */
function time(text: string | undefined, key: string): number | undefined {
  if (text === undefined) return undefined;
  const ms = /^\d{4}-\d\d-\d\dT\d\d:\d\d(:\d\d(\.\d+)?)?(Z|[+-]\d\d:\d\d)$/.test(text)
    ? Date.parse(text)
    : NaN;
  if (Number.isNaN(ms)) {
    throw new BadRequestError(`${key} must be an RFC 3339 time such as 2026-12-05T07:21:17Z`);
  }
  return ms;
}
