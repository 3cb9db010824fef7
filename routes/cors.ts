/**
 * CORS headers: what lets a page on another origin call WHEP, WHIP and the API, read the session URL and
 * send its Bearer token. Which origin is allowed is decided in routes/auth.ts.
 */

/** What a page may send and read, on every answer that has CORS headers. */
const CORS_HEADERS: Record<string, string> = {
  "Access-Control-Allow-Methods": "POST, GET, PATCH, DELETE, OPTIONS",
  "Access-Control-Allow-Headers": "Authorization, If-Match, Content-Type",
  "Access-Control-Expose-Headers": "Location, ETag, Link, Accept-Patch",
};

/**
 * The CORS headers of an answer: what may be sent and read, always (a preflight from a page that is not
 * allowed learns nothing from them), and, when `allowOrigin` is given (`*`, or the one origin the request
 * came from), the permission to read it. An answer that names one origin varies with Origin, which caches
 * must know.
 */
export function setCorsHeaders(headers: Headers, allowOrigin: string | undefined): void {
  for (const [name, value] of Object.entries(CORS_HEADERS)) headers.set(name, value);
  if (allowOrigin === undefined) return;
  headers.set("Access-Control-Allow-Origin", allowOrigin);
  if (allowOrigin !== "*") headers.append("Vary", "Origin");
}
