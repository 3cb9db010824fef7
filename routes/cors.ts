/**
 * CORS for the doors a page on another origin calls (WHEP, WHIP, the JSON `/offer`): the headers
 * that let it play, read the session URL and send its Bearer token.
 */
import type { Context } from "hono";

/** Sent on every WHEP and WHIP response so a page on another origin can play and read the session URL. */
const CORS_HEADERS: Record<string, string> = {
  "Access-Control-Allow-Origin": "*",
  "Access-Control-Allow-Methods": "POST, GET, PATCH, DELETE, OPTIONS",
  "Access-Control-Allow-Headers": "Authorization, If-Match, Content-Type",
  "Access-Control-Expose-Headers": "Location, ETag, Link, Accept-Patch",
};

/**
 * Adds the CORS headers after the handler, so error responses (a 401 included) carry them too and a
 * page can read why. Authorization is allowed: a page on another origin sends its Bearer token.
 */
export async function cors(c: Context, next: () => Promise<void>): Promise<void> {
  await next();
  for (const [name, value] of Object.entries(CORS_HEADERS)) c.res.headers.set(name, value);
}
