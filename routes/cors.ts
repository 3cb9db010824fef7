/**
 * CORS headers: what lets a page on another origin call WHEP, WHIP and the API, read the session URL and
 * send its Bearer token. Which origin is allowed is decided in routes/auth.ts.
 */

/** Sent with every allowed cross-origin answer, whatever the origin allowed. */
const CORS_HEADERS: Record<string, string> = {
  "Access-Control-Allow-Methods": "POST, GET, PATCH, DELETE, OPTIONS",
  "Access-Control-Allow-Headers": "Authorization, If-Match, Content-Type",
  "Access-Control-Expose-Headers": "Location, ETag, Link, Accept-Patch",
};

/**
 * Lets `allowOrigin` (`*`, or the one origin the request came from) read the response. A response that
 * names one origin varies with the Origin header, which caches must know.
 */
export function setCorsHeaders(headers: Headers, allowOrigin: string): void {
  headers.set("Access-Control-Allow-Origin", allowOrigin);
  for (const [name, value] of Object.entries(CORS_HEADERS)) headers.set(name, value);
  if (allowOrigin !== "*") headers.append("Vary", "Origin");
}
