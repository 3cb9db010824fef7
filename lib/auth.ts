/**
 * Who may do what: the Bearer tokens of each kind of request, and the decision for one request. Pure:
 * no HTTP here (routes/auth.ts reads the token off the request and says which kind a route is).
 *
 * Kinds and how they combine:
 * - `publish`: sending a stream in (WHIP). `[auth] publish_tokens` open every path; a `[[paths]]` entry's
 *   own `publish_tokens` open that path too.
 * - `view`: watching a stream (WHEP and its sessions, `POST /offer`, the WebSocket player and signaling).
 *   `[auth] view_tokens` open every stream; a camera's or path's own `view_tokens` open that stream too.
 * - `api_read`: reading the API (`/status`, `/api/*`). `api_change` tokens are accepted as well.
 * - `api_change`: any API request that changes something.
 *
 * A kind with no tokens is open, as edgecam was before tokens existed, with one exception: API changes
 * are never more open than API reads, so with `api_read_tokens` set and `api_change_tokens` empty,
 * changes are refused to everyone.
 */
import { createHash, timingSafeEqual } from "node:crypto";
import type { AuthConfig } from "./config/schema.ts";

/** The kinds of request that tokens are configured for. */
export const ACCESS_KINDS = ["publish", "view", "api_read", "api_change"] as const;
/** One of {@link ACCESS_KINDS}. */
export type AccessKind = typeof ACCESS_KINDS[number];

/** What a request asks to do: its kind and, for `view` and `publish`, the stream it concerns. */
export interface AccessRequest {
  /** The kind of request. */
  kind: AccessKind;
  /** The stream name, when the request concerns one (per-stream tokens apply to it). */
  stream?: string;
}

/**
 * The outcome for one request. `why` is for the service's log only; a refused caller always gets the
 * same answer whichever reason applies.
 */
export type Decision =
  | { allow: true; why: "open" | "token accepted" }
  | { allow: false; why: "no token" | "token not accepted" };

/** How a kind is guarded, for the start-up log line. */
export interface KindSummary {
  /** The kind. */
  kind: AccessKind;
  /** False when anyone may make such requests (for `view`: on streams without their own tokens). */
  protected: boolean;
  /** Tokens accepted for it, counting those of kinds that include it (change tokens for api_read). */
  tokens: number;
}

/** A stream's own tokens: a camera's view tokens, a WHIP path's view and publish tokens. */
export interface StreamTokens {
  name: string;
  viewTokens: string[];
  publishTokens?: string[];
}

/** A SHA-256 digest: every token compared has the same length, so comparing tells nothing of lengths. */
function digest(token: string): Uint8Array {
  return new Uint8Array(createHash("sha256").update(token, "utf8").digest());
}

/** The digests of the distinct tokens of several lists. */
function digests(...lists: string[][]): Uint8Array[] {
  return [...new Set(lists.flat())].map(digest);
}

/** The configured tokens, kept as digests, and the decision for each request. */
export class AccessPolicy {
  readonly #accepted: Record<AccessKind, Uint8Array[]>;
  readonly #protected: Record<AccessKind, boolean>;
  /** Per-stream tokens (already including the global ones of their kind), by kind and stream name. */
  readonly #streamTokens = {
    view: new Map<string, Uint8Array[]>(),
    publish: new Map<string, Uint8Array[]>(),
  };

  /** Builds the policy from `[auth]` and each camera's or path's own tokens. */
  constructor(auth: AuthConfig, streams: StreamTokens[] = []) {
    this.#accepted = {
      publish: digests(auth.publishTokens),
      view: digests(auth.viewTokens),
      // change ⊇ read: whoever may change the API may look at it.
      api_read: digests(auth.apiReadTokens, auth.apiChangeTokens),
      api_change: digests(auth.apiChangeTokens),
    };
    this.#protected = {
      publish: auth.publishTokens.length > 0,
      view: auth.viewTokens.length > 0,
      // Read tokens alone (no change tokens) must not leave changing open while reading is guarded.
      api_read: auth.apiReadTokens.length > 0,
      api_change: auth.apiChangeTokens.length > 0 || auth.apiReadTokens.length > 0,
    };
    for (const { name, viewTokens, publishTokens = [] } of streams) {
      if (viewTokens.length > 0) this.#streamTokens.view.set(name, digests(auth.viewTokens, viewTokens));
      if (publishTokens.length > 0) {
        this.#streamTokens.publish.set(name, digests(auth.publishTokens, publishTokens));
      }
    }
  }

  /** True when this request needs a token (its kind, or its stream, has tokens configured). */
  guarded(request: AccessRequest): boolean {
    return this.#acceptedFor(request) !== undefined;
  }

  /**
   * Whether `presented` (the token the request carried, if any) may do what `request` asks. Every
   * accepted digest is compared, in constant time, whatever matched before: the time taken depends on
   * the number of configured tokens only, never on which one (or how much of one) was right.
   */

  decide(request: AccessRequest, presented: string | undefined): Decision {
    const accepted = this.#acceptedFor(request);
    if (accepted === undefined) return { allow: true, why: "open" };
    if (presented === undefined || presented === "") return { allow: false, why: "no token" };
    const candidate = digest(presented);
    let matched = false;
    for (const known of accepted) {
      if (timingSafeEqual(candidate, known)) matched = true;
    }
    return matched ? { allow: true, why: "token accepted" } : { allow: false, why: "token not accepted" };
  }

  /** Each kind's guard, for the start-up log (operators must see when everything is open). */
  summary(): KindSummary[] {
    return ACCESS_KINDS.map((kind) => ({
      kind,
      protected: this.#protected[kind],
      tokens: this.#accepted[kind].length,
    }));
  }

  /** Names of the streams that have tokens of their own of this kind. */
  streamsWithOwnTokens(kind: "view" | "publish" = "view"): string[] {
    return [...this.#streamTokens[kind].keys()];
  }

  /** The digests accepted for this request, or undefined when it needs no token. */
  #acceptedFor({ kind, stream }: AccessRequest): Uint8Array[] | undefined {
    if ((kind === "view" || kind === "publish") && stream !== undefined) {
      const own = this.#streamTokens[kind].get(stream);
      if (own) return own;
    }
    return this.#protected[kind] ? this.#accepted[kind] : undefined;
  }
}
