/**
 * The HTTP side of a WHIP push: which request may carry the target's token, redirects followed by hand,
 * the session URL a 201 names, and upstream bodies read with a cap. A push target is a server we do not
 * control, so nothing it answers may take the token elsewhere or make us buffer without end.
 */
import type { PushTarget } from "../config/schema.ts";

/** Largest upstream body read (an SDP answer, an error text): the cap our own routes put on offers. */
export const MAX_UPSTREAM_BODY_BYTES = 128 * 1024;
/** Redirects (307, 308) followed per request, as browsers cap them. */
export const MAX_REDIRECTS = 5;

/** A URL from the upstream (a redirect's or a 201's Location) that the push will not use. */
export class UpstreamUrlError extends Error {
  override name = "UpstreamUrlError";
}

/** An upstream body longer than the push reads. */
export class UpstreamBodyTooLargeError extends Error {
  override name = "UpstreamBodyTooLargeError";

  constructor(maxBytes: number) {
    super(`body over ${maxBytes} bytes`);
  }
}

/** An upstream answer other than the one the request wants; the message carries its first line. */
export class UpstreamRefusedError extends Error {
  override name = "UpstreamRefusedError";

  /** @param body the answer's body, of which only the first line (cut) reaches the log and status. */
  constructor(method: string, readonly status: number, body: string) {
    super(`${method} answered ${status} ${body.split("\n")[0].slice(0, 200)}`);
  }
}

/**
 * The headers of a request to `url` for `target`: `base`, plus the target's token as a Bearer only when
 * `url` has the configured endpoint's origin (scheme, host, port). RFC 9725 lets a redirect or the session
 * URL be on another origin; the token is the endpoint's secret, so it does not go there (fetch draws the
 * same line on its own redirects), and never over http when the endpoint is https.
 */
export function requestHeaders(target: PushTarget, url: string, base: HeadersInit = {}): Headers {
  const headers = new Headers(base);
  if (target.token && new URL(url).origin === new URL(target.url).origin) {
    headers.set("Authorization", `Bearer ${target.token}`);
  }
  return headers;
}

/**
 * Where a redirect answered to `url` sends the request: the 307 or 308 `location` resolved against
 * `url` (they keep the method and body; WHIP §4.5 names 307), or undefined for any other answer.
 * Throws UpstreamUrlError for a URL the push may not go to (see {@link sessionUrl}).
 */
export function redirectTarget(url: string, status: number, location: string | null): string | undefined {
  if ((status !== 307 && status !== 308) || !location) return undefined;
  return nextUrl(url, location, "redirects to");
}

/**
 * The session URL of a 201 answered by `url`: its `location` resolved against `url`. Throws
 * UpstreamUrlError without one, or for one that is not http(s) or that goes from https to http (the
 * session's PATCH and DELETE would travel in clear).
 */
export function sessionUrl(url: string, location: string | null): string {
  if (!location) throw new UpstreamUrlError(`${url} answered 201 without a Location`);
  return nextUrl(url, location, "gives its session at");
}

function nextUrl(from: string, location: string, how: string): string {
  if (!URL.canParse(location, from)) {
    throw new UpstreamUrlError(`${from} ${how} ${JSON.stringify(location)}: not a URL`);
  }
  const next = new URL(location, from);
  if (next.protocol !== "http:" && next.protocol !== "https:") {
    throw new UpstreamUrlError(`${from} ${how} ${next.href}: refused, not http or https`);
  }
  if (next.protocol === "http:" && new URL(from).protocol === "https:") {
    throw new UpstreamUrlError(`${from} ${how} ${next.href}: refused, it would go in clear`);
  }
  return next.href;
}

/**
 * fetch for a push target: 307 and 308 followed by hand, up to MAX_REDIRECTS, each hop with the headers
 * {@link requestHeaders} allows it. Resolves with the response and the URL that gave it.
 */
export async function fetchUpstream(
  target: PushTarget,
  url: string,
  init: RequestInit,
): Promise<{ res: Response; url: string }> {
  for (let hops = 0;; hops++) {
    const headers = requestHeaders(target, url, init.headers);
    const res = await fetch(url, { ...init, headers, redirect: "manual" });
    let next: string | undefined;
    try {
      next = redirectTarget(url, res.status, res.headers.get("location"));
    } catch (err) {
      await res.body?.cancel();
      throw err;
    }
    if (next === undefined) return { res, url };
    await res.body?.cancel();
    if (hops === MAX_REDIRECTS) {
      throw new UpstreamUrlError(`more than ${MAX_REDIRECTS} redirects from ${url}`);
    }
    url = next;
  }
}

/**
 * `res`'s body as text, read only up to `maxBytes`: past it (declared or read) the rest is cancelled
 * unread and UpstreamBodyTooLargeError thrown.
 */
export async function boundedText(res: Response, maxBytes = MAX_UPSTREAM_BODY_BYTES): Promise<string> {
  if (!res.body) return "";
  if (Number(res.headers.get("content-length") ?? 0) > maxBytes) {
    await res.body.cancel();
    throw new UpstreamBodyTooLargeError(maxBytes);
  }
  const reader = res.body.getReader();
  const decoder = new TextDecoder();
  let size = 0;
  let text = "";
  for (;;) {
    const { done, value } = await reader.read();
    if (done) return text + decoder.decode();
    size += value.length;
    if (size > maxBytes) {
      await reader.cancel();
      throw new UpstreamBodyTooLargeError(maxBytes);
    }
    text += decoder.decode(value, { stream: true });
  }
}
