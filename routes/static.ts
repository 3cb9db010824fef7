/**
 * The viewer page and its files from static/.
 */
import { Hono } from "hono";
import { NotFoundError } from "../lib/errors.ts";

const CONTENT_TYPES: Record<string, string> = {
  html: "text/html; charset=utf-8",
  js: "text/javascript; charset=utf-8",
  css: "text/css; charset=utf-8",
  svg: "image/svg+xml",
  png: "image/png",
  ico: "image/x-icon",
  json: "application/json",
  txt: "text/plain; charset=utf-8",
};

/** Only plain relative names below the static folder: no "..", no hidden files. */
const SAFE_PATH = /^(?:[A-Za-z0-9_-][A-Za-z0-9_.-]*\/)*[A-Za-z0-9_-][A-Za-z0-9_.-]*$/;

/** The folder the viewer page lives in, next to main.ts (and next to the bundle in dist/). */
export const STATIC_DIR = new URL("../static/", import.meta.url);

/** `GET /` and `GET /static/<file>`: the viewer page and its assets, served by the service itself. */
export function staticRoutes(dir: URL = STATIC_DIR): Hono {
  const app = new Hono();
  const serve = async (path: string): Promise<Response> => {
    const ext = path.slice(path.lastIndexOf(".") + 1);
    if (!SAFE_PATH.test(path) || path.includes("..") || !(ext in CONTENT_TYPES)) {
      throw new NotFoundError(`no file ${path}`);
    }
    try {
      const body = await Deno.readFile(new URL(path, dir));
      return new Response(body, {
        headers: { "Content-Type": CONTENT_TYPES[ext], "Cache-Control": "no-cache" },
      });
    } catch (err) {
      if (err instanceof Deno.errors.NotFound) throw new NotFoundError(`no file ${path}`);
      throw err;
    }
  };
  app.get("/", () => serve("index.html"));
  app.get("/static/*", (c) => serve(decodeURIComponent(c.req.path.slice("/static/".length))));
  return app;
}
