/**
 * `GET /api/openapi.json`: an OpenAPI 3.1 description of every HTTP route, for client generators, API
 * explorers and anyone wiring edgecam into something else. tests/unit/openapi_test.ts holds it to the
 * routes the app really registers and to the token kinds routes/auth.ts really asks for.
 */
import { Hono } from "hono";
import { CODECS, RECORDING_FORMATS } from "../lib/config/schema.ts";
import { NAME } from "../lib/config/rules.ts";
import { MAX_PROFILE_SECONDS } from "../lib/debug/profiler.ts";
import { EXPOSITION_CONTENT_TYPE } from "../lib/metrics/exposition.ts";
import type { OptionalLibraryStatus } from "../lib/native_library.ts";
import type { PushState, PushStatus } from "../lib/outputs/push.ts";
import type { ShmRingStatus } from "../lib/outputs/shm.ts";
import type { segmentJson } from "../lib/recording/playback.ts";
import type { RecordingStatus } from "../lib/recording/recorder.ts";
import type { healthOf, ServiceStatus, StreamSummary, WebrtcSummary } from "../lib/status.ts";
import type { PressureLevel } from "../lib/stream/memory_guard.ts";
import type { SourceState } from "../lib/stream/stream.ts";
import { VERSION } from "../lib/version.ts";

/** The types of JSON Schema. */
export type JsonType = "object" | "array" | "string" | "integer" | "number" | "boolean" | "null";

/** A JSON Schema (2020-12, the dialect of OpenAPI 3.1): the keywords this document uses. */
export interface Schema {
  $ref?: string;
  type?: JsonType | JsonType[];
  description?: string;
  properties?: Record<string, Schema>;
  required?: string[];
  additionalProperties?: Schema | boolean;
  items?: Schema;
  anyOf?: Schema[];
  enum?: (string | number)[];
  const?: string;
  format?: string;
  pattern?: string;
  minimum?: number;
  maximum?: number;
  exclusiveMinimum?: number;
  default?: string | number;
  examples?: unknown[];
}

/** A reference to a component, whose description may be narrowed where it is used (OpenAPI 3.1). */
export interface Ref {
  $ref: string;
  description?: string;
}

/** A request or response header. */
export interface Header {
  description: string;
  required?: boolean;
  schema: Schema;
}

/** One media type of a body. */
export interface MediaType {
  schema?: Schema;
  example?: unknown;
}

/** One response of an operation. */
export interface Response {
  description: string;
  headers?: Record<string, Header | Ref>;
  content?: Record<string, MediaType>;
}

/** A path, query or header parameter. */
export interface Parameter {
  name: string;
  in: "path" | "query" | "header";
  description: string;
  required?: boolean;
  schema: Schema;
  example?: string | number;
}

/** A request body. */
export interface RequestBody {
  description: string;
  required: boolean;
  content: Record<string, MediaType>;
}

/**
 * How routes/auth.ts's accessFor classes a request: the token kind it needs when tokens of that kind are
 * configured, or "none" for what never takes a token (the page, /health, preflights).
 */
export type Access = "view" | "publish" | "api_read" | "api_change" | "none";

/** One method on one path. */
export interface Operation {
  operationId: string;
  summary: string;
  description: string;
  tags: string[];
  parameters?: Parameter[];
  requestBody?: RequestBody;
  responses: Record<string, Response | Ref>;
  security: Record<string, string[]>[];
  /** The token kind, machine-readable: the test compares it with accessFor. */
  "x-edgecam-access": Access;
}

/** The methods of one path, and the servers it is on when not the main port. */
export interface PathItem {
  servers?: { url: string; description: string; variables?: Record<string, { default: string }> }[];
  get?: Operation;
  head?: Operation;
  post?: Operation;
  patch?: Operation;
  delete?: Operation;
  options?: Operation;
}

/** The whole OpenAPI 3.1 document. */
export interface OpenApiDocument {
  openapi: "3.1.0";
  info: {
    title: string;
    version: string;
    description: string;
    license: { name: string; identifier: string };
  };
  servers: { url: string; description: string }[];
  tags: { name: string; description: string }[];
  paths: Record<string, PathItem>;
  components: {
    schemas: Record<string, Schema>;
    responses: Record<string, Response>;
    headers: Record<string, Header>;
    securitySchemes: Record<string, Record<string, string>>;
  };
}

/** Sentences of one description, joined: keeps each source line inside the formatter's width. */
function para(...sentences: string[]): string {
  return sentences.join(" ");
}

function ref(kind: "schemas" | "responses" | "headers", name: string, description?: string): Ref {
  const target = { $ref: `#/components/${kind}/${name}` };
  return description === undefined ? target : { ...target, description };
}

function schemaRef(name: string): Schema {
  return { $ref: `#/components/schemas/${name}` };
}

/** Every member of a string union, checked complete by the compiler: a new state fails `deno check` here. */
function members<T extends string>(all: Record<T, true>): T[] {
  return Object.keys(all) as T[];
}

/**
 * An object schema whose properties must be exactly the fields of `T`: a field added to a JSON shape in
 * lib/ fails `deno check` until it is described here.
 */
function fields<T>(description: string, properties: { [K in keyof T]-?: Schema }): Schema {
  return {
    type: "object",
    description,
    required: Object.keys(properties),
    properties: properties as Record<string, Schema>,
  };
}

function nullable(schema: Schema): Schema {
  return { anyOf: [schema, { type: "null" }] };
}

const ACCESS_TEXT: Record<Access, string> = {
  view: para(
    "Needs a `view` token for this stream (`[auth] view_tokens`, or the camera's or path's own",
    "`view_tokens`) when view tokens apply to it.",
  ),
  publish: para(
    "Needs a `publish` token for this path (`[auth] publish_tokens`, or the path's own `publish_tokens`)",
    "when publish tokens apply to it.",
  ),
  api_read: "Needs an `api_read` (or `api_change`) token when API tokens are configured.",
  api_change: para(
    "Needs an `api_change` token when API tokens are configured (with only `api_read_tokens` set,",
    "changes are refused to everyone).",
  ),
  none: "Never takes a token; without one it is subject to the origin and Host rules (403).",
};

/** An operation with its token kind spelled out three ways: security, description, and x-edgecam-access. */
function op(
  access: Access,
  spec: Omit<Operation, "security" | "x-edgecam-access" | "description"> & { description?: string },
): Operation {
  const responses: Record<string, Response | Ref> = { ...spec.responses };
  // A preflight (every OPTIONS) is never refused by the token or origin check.
  const preflight = spec.operationId.startsWith("options");
  if (access !== "none") responses["401"] ??= ref("responses", "Unauthorized");
  // The origin and Host rules apply to whatever needs no token, which includes a kind nobody set tokens for.
  if (!preflight) responses["403"] ??= ref("responses", "Forbidden");
  responses["503"] ??= ref("responses", "RetryLater", "The service is shutting down (`Retry-After: 5`).");
  return {
    ...spec,
    description: [spec.description, preflight ? "Never takes a token." : ACCESS_TEXT[access]]
      .filter((s) => s !== undefined).join("\n\n"),
    responses,
    // `{}`: a kind nobody configured tokens for is open (lib/auth.ts); the roles name the kind.
    security: access === "none" ? [] : [{ bearerAuth: [access] }, { tokenQuery: [access] }, {}],
    "x-edgecam-access": access,
  };
}

function pathParam(name: string, description: string, example: string, pattern?: string): Parameter {
  return {
    name,
    in: "path",
    required: true,
    description,
    schema: pattern === undefined ? { type: "string" } : { type: "string", pattern },
    example,
  };
}

const streamParam = (name: string) =>
  pathParam(name, "A stream: a camera's name or a WHIP path's.", "front", NAME.source);
const pathNameParam = pathParam(
  "path",
  para(
    "A WHIP path: one configured in `[[paths]]`, or any free name when `ingest.unconfigured_paths`",
    "is on. A name breaking the naming rule is refused with 400.",
  ),
  "drone",
  NAME.source,
);
const sessionParam = pathParam(
  "session",
  "The session id, the last segment of the `Location` a POST answered.",
  "2f0c8a1e-54a4-4c53-9a55-2bb1f6d3c0aa",
);
const segmentParam = pathParam(
  "file",
  "A segment file name as the listing gives it: its UTC start time and its container's extension.",
  "2026-12-05T07-21-17.123Z.mp4",
);
const offerStreamQuery: Parameter = {
  name: "stream",
  in: "query",
  required: false,
  description: "The stream; without it, the first configured stream.",
  schema: { type: "string", pattern: NAME.source },
  example: "front",
};

const sdpOffer: RequestBody = {
  description: "An SDP offer (at most 128 KiB).",
  required: true,
  content: { "application/sdp": { schema: { type: "string" } } },
};

/** The 201 of a POST that made a WHEP or WHIP session (routes/sessions.ts sessionCreated). */
function sessionCreated(kind: "whep" | "whip", param: string): Response {
  return {
    description: "The SDP answer, holding every server candidate (the server does not trickle).",
    headers: {
      Location: ref("headers", "Location", `The session URL, \`/${kind}/{${param}}/{session}\`.`),
      ETag: ref("headers", "ETag"),
      Link: ref("headers", "Link"),
    },
    content: { "application/sdp": { schema: { type: "string" } } },
  };
}

const error = (description: string) => ref("responses", "Error", description);
const retryLater = (description: string) => ref("responses", "RetryLater", description);

/** What POST, GET, OPTIONS on `/whep/{stream}` and `/{stream}/whep` (or WHIP's) answer. */
function sessionEndpoint(kind: "whep" | "whip", alias: boolean): PathItem {
  const whep = kind === "whep";
  const param = whep ? streamParam("stream") : pathNameParam;
  const access = whep ? "view" : "publish";
  const id = (method: string) => `${method}${whep ? "Whep" : "Whip"}${alias ? "Alias" : ""}`;
  const tags = [whep ? "WHEP" : "WHIP"];
  const aliasNote = alias
    ? para(
      `The same as \`/${kind}/{${param.name}}\`, spelled as MediaMTX does. A \`GET /ws/${kind}\` is the`,
      `WebSocket player of a stream named \`${kind}\`, not this.`,
    )
    : undefined;
  const notFound = whep
    ? "No stream of that name."
    : "No such WHIP path (unconfigured paths refused), or the name is a camera's.";
  return {
    post: op(access, {
      operationId: id("post"),
      summary: whep ? "Start watching a stream (WHEP)" : "Publish to a path (WHIP, RFC 9725)",
      description: [
        whep
          ? "A recvonly offer; the answer is sendonly. The DTLS role follows the offer's `a=setup`."
          : para(
            "A sendonly offer with one video m-line (H.264 or VP8) and at most one audio m-line (Opus);",
            "the path's viewers keep their sessions when its publisher comes back.",
          ),
        aliasNote,
      ].filter((s) => s !== undefined).join("\n\n"),
      tags,
      parameters: [param],
      requestBody: sdpOffer,
      responses: {
        "201": sessionCreated(kind, param.name),
        "400": error(
          whep
            ? "Not an SDP offer with video, or one no real client sends."
            : "Not an SDP offer with video, or a path name breaking the naming rule.",
        ),
        "404": error(notFound),
        "409": retryLater(
          whep
            ? "The stream's source is not running (yet)."
            : "The path already has a publisher, carries another codec, or the name is a stream's.",
        ),
        "413": error("The offer is over 128 KiB."),
        "415": error("Content-Type is not `application/sdp`."),
        "422": error("The offer has nothing this server can take (no codec in common, another m-line kind)."),
        "503": retryLater(
          whep
            ? para(
              "The stream has its `webrtc.max_clients` viewers, this address has too many sessions",
              "still connecting, no ICE candidate could be gathered, or the service is shutting down.",
            )
            : para(
              "`ingest.max_paths` unconfigured paths exist, this address has too many sessions still",
              "connecting, no ICE candidate could be gathered, or the service is shutting down.",
            ),
        ),
      },
    }),
    get: op(access, {
      operationId: id("get"),
      summary: "Check the endpoint exists",
      description: "No side effect (WHIP §4.1 dropped the old 405).",
      tags,
      parameters: [param],
      responses: {
        "204": { description: "The endpoint exists." },
        ...(whep ? {} : { "400": error("The path name breaks the naming rule.") }),
        "404": error(notFound),
      },
    }),
    options: op("none", {
      operationId: id("options"),
      summary: "CORS preflight, or ask what the endpoint takes",
      tags,
      parameters: [param],
      responses: {
        "200": {
          description: "CORS headers; `Accept-Post: application/sdp`.",
          headers: { "Accept-Post": acceptPost("application/sdp") },
        },
        ...(whep ? {} : { "400": error("The path name breaks the naming rule.") }),
        "404": error(notFound),
      },
    }),
  };
}

function acceptPost(types: string): Header {
  return { description: "The media types a POST takes.", schema: { type: "string", const: types } };
}

/** GET, OPTIONS, PATCH, DELETE on a WHEP or WHIP session URL. */
function sessionUrl(kind: "whep" | "whip"): PathItem {
  const whep = kind === "whep";
  const params = [whep ? streamParam("stream") : pathNameParam, sessionParam];
  const access = whep ? "view" : "publish";
  const name = whep ? "WhepSession" : "WhipSession";
  const tags = [whep ? "WHEP" : "WHIP"];
  const noSession = error("No such session on this stream or path.");
  return {
    get: op(access, {
      operationId: `get${name}`,
      summary: "Check the session exists",
      tags,
      parameters: params,
      responses: { "204": { description: "The session exists." }, "404": noSession },
    }),
    options: op("none", {
      operationId: `options${name}`,
      summary: "CORS preflight, or ask what a PATCH takes",
      tags,
      parameters: params,
      responses: {
        "200": {
          description: "CORS headers; `Accept-Patch: application/trickle-ice-sdpfrag`.",
          headers: {
            "Accept-Patch": {
              description: "The media type a PATCH takes.",
              schema: { type: "string", const: "application/trickle-ice-sdpfrag" },
            },
          },
        },
      },
    }),
    patch: op(access, {
      operationId: `patch${name}`,
      summary: "Trickle ICE candidates, or restart ICE (RFC 8840, WHIP §4.3)",
      description: para(
        "A fragment with candidates adds them (204). One with a new `a=ice-ufrag` and `a=ice-pwd`",
        "restarts ICE (200): the answer carries the server's new credentials and every candidate, and the",
        "session gets a new ETag. Nothing else is renegotiated.",
      ),
      tags,
      parameters: [
        ...params,
        {
          name: "If-Match",
          in: "header",
          required: true,
          description: "The session's ETag as last answered, or `*` (always matches). Without it: 428.",
          schema: { type: "string" },
          example: '"3c9d4f0e2b7a4c1e9f8d6b5a4c3e2f1a"',
        },
      ],
      requestBody: {
        description: "An SDP fragment (at most 128 KiB) with at least one `a=` line.",
        required: true,
        content: { "application/trickle-ice-sdpfrag": { schema: { type: "string" } } },
      },
      responses: {
        "200": {
          description: "ICE restarted: the server's sdpfrag.",
          headers: { ETag: ref("headers", "ETag", "The session's new ETag.") },
          content: { "application/trickle-ice-sdpfrag": { schema: { type: "string" } } },
        },
        "204": { description: "The candidates were added." },
        "400": error("No `a=` line, a malformed candidate, or too many candidates for one session."),
        "404": noSession,
        "409": retryLater(
          "ICE restart refused for now: the session never connected, or the last restart is still checking.",
        ),
        "412": error("`If-Match` is not the session's ETag."),
        "413": error("The fragment is over 128 KiB."),
        "415": error("Content-Type is not `application/trickle-ice-sdpfrag`."),
        "428": error("No `If-Match` header."),
      },
    }),
    delete: op(access, {
      operationId: `delete${name}`,
      summary: "End the session",
      description: "Every resource of the session is freed at once.",
      tags,
      parameters: params,
      responses: { "200": { description: "Ended (no body)." }, "404": noSession },
    }),
  };
}

const recordingStatusResponse = (description: string): Response => ({
  description,
  content: { "application/json": { schema: schemaRef("RecordingStatus") } },
});

const upgradeResponses = {
  "101": { description: "Switched to a WebSocket." },
  "400": error("Not a (valid) WebSocket upgrade request."),
};

/** Query parameter `stream` of the older `/start` and `/stop`. */
const legacyStreamQuery: Parameter = {
  ...offerStreamQuery,
  description: "The stream; without it, the first configured one.",
};

/** Headers of a download (the debug routes' attachments). */
const attachmentHeaders = (extension: string): Record<string, Header | Ref> => ({
  "Content-Disposition": ref(
    "headers",
    "ContentDisposition",
    `\`attachment; filename="edgecam-<UTC time>.${extension}"\`.`,
  ),
  "Cache-Control": ref("headers", "CacheControl", "`no-store`."),
});

const debugNotFound = error("`[debug] enabled` is false.");

/** The OpenAPI 3.1 description of every route of routes/app.ts, served at `GET /api/openapi.json`. */
export const openApiDocument: OpenApiDocument = {
  openapi: "3.1.0",
  info: {
    title: "edgecam",
    version: VERSION,
    license: { name: "MIT", identifier: "MIT" },
    description: [
      para(
        "Camera streaming service: WHEP and WHIP (WebRTC), a WebSocket player, snapshots, recordings and",
        "playback, status and Prometheus metrics.",
      ),
      para(
        "**Errors** are `text/plain; charset=utf-8`, one line. Any request may be answered 503 with",
        "`Retry-After: 5` while the service shuts down, and 500 `internal error` on a bug. A `HEAD` of",
        "any `GET` route is answered as the `GET` without its body.",
      ),
      para(
        "**Tokens** (`[auth]`) are per kind: `view`, `publish`, `api_read`, `api_change`. Each operation",
        "says which kind it needs (also as `x-edgecam-access`, and as the role of its security",
        "requirement); a kind with no tokens configured is open. Send the token as",
        "`Authorization: Bearer <token>`, or as `?token=<token>` where headers cannot be set (WebSockets,",
        "`<video>`). The token is checked first: a guarded route answers 401 even for an unknown stream.",
        "What takes no token is refused with 403 to pages of other origins and to foreign `Host`s, unless",
        "`server.allowed_origins` / `server.allowed_hosts` admit them.",
      ),
      para(
        "**CORS**: token-bearing requests and WHEP/WHIP answers carry `Access-Control-Allow-Origin: *`,",
        "with Allow-Methods, Allow-Headers (`Authorization, If-Match, Content-Type`) and Expose-Headers",
        "(`Location, ETag, Link, Accept-Patch`).",
      ),
    ].join("\n\n"),
  },
  servers: [{ url: "/", description: "The service that served this document (`server.port`)." }],
  tags: [
    { name: "status", description: "Health, status and the streams." },
    { name: "WHEP", description: "Watching over WebRTC (draft-ietf-wish-whep)." },
    { name: "WHIP", description: "Publishing over WebRTC (RFC 9725)." },
    { name: "WebSocket", description: "The WebSocket player and the WebSocket JSON signaling." },
    { name: "recording", description: "Recording, the recordings on disk, and playback." },
    { name: "snapshot", description: "JPEG snapshots." },
    { name: "observability", description: "Prometheus metrics and on-demand profiling." },
    { name: "page", description: "The viewer page, its files, and this document." },
  ],
  paths: {
    "/": {
      get: op("none", {
        operationId: "getViewerPage",
        summary: "The viewer page",
        description: "`?transport=ws` or `?transport=webrtc` pins the transport; `?token=` is passed on.",
        tags: ["page"],
        responses: {
          "200": {
            description: "The page (`Cache-Control: no-cache`).",
            content: { "text/html; charset=utf-8": { schema: { type: "string" } } },
          },
        },
      }),
    },
    "/static/{file}": {
      get: op("none", {
        operationId: "getStaticFile",
        summary: "A file of the viewer page",
        description: para(
          "`{file}` may span folders (`vendor/jmuxer.min.js`), which an OpenAPI path parameter cannot",
          "express: the route matches everything below `/static/`. Only plain names (no `..`, no hidden",
          "files) with a known extension are served.",
        ),
        tags: ["page"],
        parameters: [pathParam("file", "A file below static/.", "app.js")],
        responses: {
          "200": {
            description: "The file (`Cache-Control: no-cache`).",
            content: Object.fromEntries(
              [
                "text/html; charset=utf-8",
                "text/javascript; charset=utf-8",
                "text/css; charset=utf-8",
                "image/svg+xml",
                "image/png",
                "image/x-icon",
                "application/json",
                "text/plain; charset=utf-8",
              ].map((type) => [type, {}]),
            ),
          },
          "404": error("No such file, or not one that is served."),
        },
      }),
    },
    "/api/openapi.json": {
      get: op("api_read", {
        operationId: "getOpenApi",
        summary: "This document",
        tags: ["page"],
        responses: {
          "200": {
            description: "The OpenAPI 3.1 document.",
            content: { "application/json": { schema: { type: "object" } } },
          },
        },
      }),
    },
    "/health": {
      get: op("none", {
        operationId: "getHealth",
        summary: "Whether every camera runs",
        description:
          "For systemd and load balancers. A WHIP path waiting for its publisher counts as healthy.",
        tags: ["status"],
        responses: {
          "200": {
            description: "Every stream is `running` or `waiting`.",
            content: { "application/json": { schema: schemaRef("Health") } },
          },
          "503": {
            description: para(
              "A stream is in another state (JSON body), or the service is shutting down (text body,",
              "`Retry-After: 5`).",
            ),
            headers: { "Retry-After": ref("headers", "RetryAfter", "Only while shutting down.") },
            content: {
              "application/json": { schema: schemaRef("Health") },
              "text/plain": { schema: { type: "string" } },
            },
          },
        },
      }),
    },
    "/status": {
      get: op("api_read", {
        operationId: "getStatus",
        summary: "The service and every stream",
        tags: ["status"],
        responses: {
          "200": {
            description: "Version, uptime, memory and every stream.",
            content: { "application/json": { schema: schemaRef("ServiceStatus") } },
          },
        },
      }),
    },
    "/api/streams": {
      get: op("api_read", {
        operationId: "listStreams",
        summary: "Every stream",
        tags: ["status"],
        responses: {
          "200": {
            description: "Every stream, cameras first, in configuration order.",
            content: {
              "application/json": { schema: { type: "array", items: schemaRef("StreamSummary") } },
            },
          },
        },
      }),
    },
    "/api/streams/{name}": {
      get: op("api_read", {
        operationId: "getStream",
        summary: "One stream",
        tags: ["status"],
        parameters: [streamParam("name")],
        responses: {
          "200": {
            description: "The stream.",
            content: { "application/json": { schema: schemaRef("StreamSummary") } },
          },
          "404": error("No stream of that name."),
        },
      }),
    },
    "/api/streams/{name}/recording": {
      get: op("api_read", {
        operationId: "getRecording",
        summary: "A stream's recording",
        tags: ["recording"],
        parameters: [streamParam("name")],
        responses: {
          "200": recordingStatusResponse("The recording's state."),
          "404": error("No stream of that name."),
        },
      }),
      post: op("api_change", {
        operationId: "startRecording",
        summary: "Start recording a stream",
        tags: ["recording"],
        parameters: [streamParam("name")],
        responses: {
          "200": recordingStatusResponse("It was already recording."),
          "201": recordingStatusResponse("Recording started."),
          "404": error("No stream of that name."),
        },
      }),
      delete: op("api_change", {
        operationId: "stopRecording",
        summary: "Stop recording a stream",
        description: "Answers once the last part is written and the file closed.",
        tags: ["recording"],
        parameters: [streamParam("name")],
        responses: {
          "200": recordingStatusResponse("The final status (also when it was not recording)."),
          "404": error("No stream of that name."),
        },
      }),
    },
    "/start": {
      post: op("api_change", {
        operationId: "startRecordingLegacy",
        summary: "Start recording (the pion-based streaming server's door)",
        description: "As `POST /api/streams/{name}/recording`.",
        tags: ["recording"],
        parameters: [legacyStreamQuery],
        responses: {
          "200": recordingStatusResponse("It was already recording."),
          "201": recordingStatusResponse("Recording started."),
          "404": error("No stream of that name, or none configured."),
        },
      }),
    },
    "/stop": {
      post: op("api_change", {
        operationId: "stopRecordingLegacy",
        summary: "Stop recording (the pion-based streaming server's door)",
        description: "As `DELETE /api/streams/{name}/recording`.",
        tags: ["recording"],
        parameters: [legacyStreamQuery],
        responses: {
          "200": recordingStatusResponse("The final status."),
          "404": error("No stream of that name, or none configured."),
        },
      }),
    },
    "/api/recordings": {
      get: op("api_read", {
        operationId: "listRecordedStreams",
        summary: "The streams with recordings on disk",
        tags: ["recording"],
        responses: {
          "200": {
            description: "The streams with at least one segment, sorted by name.",
            content: { "application/json": { schema: schemaRef("RecordedStreams") } },
          },
        },
      }),
    },
    "/api/recordings/{name}": {
      get: op("view", {
        operationId: "listSegments",
        summary: "A stream's recorded segments",
        description: "Oldest first; with `start`/`end`, those overlapping that range.",
        tags: ["recording"],
        parameters: [
          streamParam("name"),
          ...(["start", "end"] as const).map((key): Parameter => ({
            name: key,
            in: "query",
            required: false,
            description: `RFC 3339 ${key} of the range.`,
            schema: { type: "string", format: "date-time" },
            example: "2026-12-05T07:21:17Z",
          })),
        ],
        responses: {
          "200": {
            description: "The segments (none for a stream never recorded).",
            content: { "application/json": { schema: schemaRef("Segments") } },
          },
          "400": error("`start` or `end` is not an RFC 3339 time."),
        },
      }),
    },
    "/api/recordings/{name}/{file}": {
      get: op("view", {
        operationId: "getSegment",
        summary: "A segment file",
        description: "One `Range` (bytes) is honoured; several, or a malformed one, get the whole file.",
        tags: ["recording"],
        parameters: [
          streamParam("name"),
          segmentParam,
          {
            name: "Range",
            in: "header",
            required: false,
            description: "One byte range.",
            schema: { type: "string" },
            example: "bytes=0-1023",
          },
        ],
        responses: {
          "200": segmentResponse("The whole file."),
          "206": segmentResponse("The range asked for.", true),
          "404": error("No such segment."),
          "416": ref("responses", "RangeNotSatisfiable"),
        },
      }),
      head: op("view", {
        operationId: "headSegment",
        summary: "A segment file's headers",
        tags: ["recording"],
        parameters: [streamParam("name"), segmentParam],
        responses: {
          "200": segmentResponse("The headers of the whole file, no body.", false, false),
          "206": segmentResponse("The headers of the range, no body.", true, false),
          "404": error("No such segment."),
          "416": ref("responses", "RangeNotSatisfiable"),
        },
      }),
      delete: op("api_change", {
        operationId: "deleteSegment",
        summary: "Delete a segment",
        tags: ["recording"],
        parameters: [streamParam("name"), segmentParam],
        responses: {
          "204": { description: "Deleted." },
          "404": error("No such segment."),
          "409": retryLater("The segment is being written; stop the recording first."),
        },
      }),
    },
    "/playback/{name}": {
      get: op("view", {
        operationId: "playback",
        summary: "A time range as one fragmented MP4",
        description: para(
          "Across segments, from the keyframe at or before `start`, timestamps from 0; playable in a",
          "`<video>` element. Only fMP4 segments are played; the answer ends where the codec parameters",
          "change.",
        ),
        tags: ["recording"],
        parameters: [
          streamParam("name"),
          {
            name: "start",
            in: "query",
            required: true,
            description: "RFC 3339 time to start at.",
            schema: { type: "string", format: "date-time" },
            example: "2026-12-05T07:21:17Z",
          },
          {
            name: "duration",
            in: "query",
            required: false,
            description: "Seconds to play.",
            schema: { type: "number", exclusiveMinimum: 0, maximum: 24 * 3600, default: 60 },
          },
        ],
        responses: {
          "200": {
            description: para(
              "The MP4, streamed (`Cache-Control: no-store`,",
              '`Content-Disposition: inline; filename="<name>-<start>.mp4"`).',
            ),
            content: { "video/mp4": {} },
          },
          "400": error("`start` missing or not RFC 3339, or `duration` out of range."),
          "404": error("No fMP4 recording covers `start`, or its first segment has no complete header."),
        },
      }),
    },
    "/snapshot/{file}": {
      get: op("view", {
        operationId: "getSnapshot",
        summary: "A JPEG of the stream's latest keyframe",
        description: para(
          "`{file}` is `<stream>.jpg`. One shared decode per stream, at most one a second (meanwhile the",
          "last image). A name not ending in `.jpg` is classed as an API read (then 404), not a view.",
        ),
        tags: ["snapshot"],
        parameters: [pathParam("file", "`<stream>.jpg`.", "front.jpg", "^.+\\.jpg$")],
        responses: {
          "200": {
            description: "The JPEG.",
            headers: {
              "Content-Disposition": ref(
                "headers",
                "ContentDisposition",
                '`inline; filename="<stream>-<capture time, UTC>.jpg"`.',
              ),
              "Cache-Control": ref("headers", "CacheControl", "`no-store`."),
            },
            content: { "image/jpeg": {} },
          },
          "404": error("No stream of that name, or the file does not end in `.jpg`."),
          "422": error("No decoder for the stream's codec is installed."),
          "503": retryLater(
            "No keyframe yet, the decode failed (`Retry-After: 1`), or the service is shutting down.",
          ),
        },
      }),
    },
    "/metrics": {
      get: op("api_read", {
        operationId: "getMetrics",
        summary: "Prometheus metrics",
        description: "Also served alone on `[metrics] listen` when set, behind the same checks.",
        tags: ["observability"],
        responses: {
          "200": {
            description: "The text exposition format 0.0.4.",
            content: { [EXPOSITION_CONTENT_TYPE]: { schema: { type: "string" } } },
          },
        },
      }),
    },
    "/api/debug/cpu-profile": {
      post: op("api_change", {
        operationId: "takeCpuProfile",
        summary: "Profile the service's CPU",
        description: para(
          "Samples the running process for `seconds` and answers V8's `.cpuprofile` (Chrome DevTools",
          "Performance → Load profile, speedscope). Only with `[debug] enabled = true`.",
        ),
        tags: ["observability"],
        parameters: [{
          name: "seconds",
          in: "query",
          required: false,
          description: "How long to sample.",
          schema: { type: "integer", minimum: 1, maximum: MAX_PROFILE_SECONDS, default: 10 },
        }],
        responses: {
          "200": {
            description: "The profile, as an attachment.",
            headers: attachmentHeaders("cpuprofile"),
            content: { "application/json": { schema: schemaRef("CpuProfile") } },
          },
          "400": error(`\`seconds\` is not a whole number from 1 to ${MAX_PROFILE_SECONDS}.`),
          "404": debugNotFound,
          "409": retryLater("A profile or heap snapshot is being taken (`Retry-After: 5`)."),
        },
      }),
    },
    "/api/debug/heap-snapshot": {
      post: op("api_change", {
        operationId: "takeHeapSnapshot",
        summary: "Snapshot the service's heap",
        description: para(
          "V8's `.heapsnapshot` (Chrome DevTools → Memory → Load). The process pauses while V8 takes it,",
          "about a second per 100 MB of heap. Only with `[debug] enabled = true`.",
        ),
        tags: ["observability"],
        responses: {
          "200": {
            description: "The snapshot, streamed, as an attachment.",
            headers: attachmentHeaders("heapsnapshot"),
            content: { "application/json": { schema: schemaRef("HeapSnapshot") } },
          },
          "404": debugNotFound,
          "409": retryLater("A profile or heap snapshot is being taken (`Retry-After: 5`)."),
        },
      }),
    },
    "/ws/{stream}": {
      get: op("view", {
        operationId: "wsPlayer",
        summary: "WebSocket player (jmuxer format, H.264 only)",
        description: para(
          "Each binary message is one access unit in Annex-B followed by its capture time (ms since the",
          "epoch, uint64 little-endian); the first is a keyframe.",
        ),
        tags: ["WebSocket"],
        parameters: [streamParam("stream")],
        responses: {
          ...upgradeResponses,
          "404": error("No stream of that name."),
          "422": error("The stream is VP8; watch it over WHEP."),
          "503": retryLater(
            para(
              "`limits.max_ws_players_per_stream` or `limits.max_ws_players` reached,",
              "or the service is shutting down.",
            ),
          ),
        },
      }),
    },
    "/ws/signal/{stream}": {
      get: op("view", {
        operationId: "wsSignal",
        summary: "WebSocket JSON signaling (the Pion-based Pi camera streamer's protocol)",
        description: para(
          "JSON text messages, one viewer per socket, answered by the same sessions as WHEP: the client",
          "sends `SignalClientMessage`s, the server `SignalServerMessage`s (see the schemas).",
        ),
        tags: ["WebSocket"],
        parameters: [streamParam("stream")],
        responses: { ...upgradeResponses, "404": error("No stream of that name.") },
      }),
    },
    "/ws": {
      servers: [{
        url: "http://{host}:{webrtc_port}",
        description: "A camera's own `webrtc_port` (only for cameras that set one).",
        variables: { host: { default: "localhost" }, webrtc_port: { default: "8081" } },
      }],
      get: op("view", {
        operationId: "wsSignalCameraPort",
        summary: "WebSocket JSON signaling of the camera this port belongs to",
        description: "As `GET /ws/signal/{stream}` for that camera; nothing else is served on this port.",
        tags: ["WebSocket"],
        responses: { ...upgradeResponses },
      }),
    },
    "/offer": {
      post: op("view", {
        operationId: "postOffer",
        summary: "Start watching a stream (the JSON door of pion-based servers)",
        description: para(
          "`application/sdp` is exactly a WHEP POST (201). A JSON offer gets 200 with a JSON answer, plus",
          "`Location` and `ETag` so the session can be PATCHed and DELETEd as a WHEP one (no `Link`).",
        ),
        tags: ["WHEP"],
        parameters: [offerStreamQuery],
        requestBody: {
          description: "An SDP offer, bare or in JSON (at most 128 KiB).",
          required: true,
          content: {
            "application/sdp": { schema: { type: "string" } },
            "application/json": { schema: schemaRef("OfferRequest") },
          },
        },
        responses: {
          "200": {
            description: "The answer to a JSON offer.",
            headers: {
              Location: ref("headers", "Location", "The WHEP session URL, `/whep/{stream}/{session}`."),
              ETag: ref("headers", "ETag"),
            },
            content: { "application/json": { schema: schemaRef("OfferAnswer") } },
          },
          "201": sessionCreated("whep", "stream"),
          "400": error("Bad JSON, or not an SDP offer with video."),
          "404": error("No stream of that name, or none configured."),
          "409": retryLater("The stream's source is not running (yet)."),
          "413": error("The body is over 128 KiB."),
          "415": error("Content-Type is neither `application/sdp` nor `application/json`."),
          "422": error("The offer has no codec in common with the stream."),
          "503": retryLater(
            para(
              "The stream has its `webrtc.max_clients` viewers, this address has too many sessions",
              "still connecting, or the service is shutting down.",
            ),
          ),
        },
      }),
      options: op("none", {
        operationId: "optionsOffer",
        summary: "CORS preflight",
        tags: ["WHEP"],
        responses: {
          "200": {
            description: "CORS headers.",
            headers: { "Accept-Post": acceptPost("application/sdp, application/json") },
          },
        },
      }),
    },
    "/whep/{stream}": sessionEndpoint("whep", false),
    "/{stream}/whep": sessionEndpoint("whep", true),
    "/whep/{stream}/{session}": sessionUrl("whep"),
    "/whip/{path}": sessionEndpoint("whip", false),
    "/{path}/whip": sessionEndpoint("whip", true),
    "/whip/{path}/{session}": sessionUrl("whip"),
  },
  components: {
    securitySchemes: {
      bearerAuth: {
        type: "http",
        scheme: "bearer",
        description: "`Authorization: Bearer <token>`; preferred, it stays out of URLs and logs.",
      },
      tokenQuery: {
        type: "apiKey",
        in: "query",
        name: "token",
        description: "`?token=<token>`, read when there is no Bearer header (WebSockets, `<video>`).",
      },
    },
    headers: {
      Location: { description: "A session URL, relative to the service.", schema: { type: "string" } },
      ETag: {
        description: "The session's strong ETag, for PATCH's `If-Match`.",
        schema: { type: "string", pattern: '^"[0-9a-f]+"$' },
      },
      Link: {
        description: para(
          'One `<url>; rel="ice-server"` value per configured ICE server URL (WHIP §4.6), TURN ones with',
          '`username`, `credential` and `credential-type="password"`; absent with no ICE servers.',
        ),
        schema: { type: "string" },
      },
      RetryAfter: { description: "Seconds to wait before trying again.", schema: { type: "integer" } },
      ContentDisposition: {
        description: "How a browser shows or saves the body.",
        schema: { type: "string" },
      },
      CacheControl: { description: "Caching of the answer.", schema: { type: "string" } },
    },
    responses: {
      Error: {
        description: "A one-line explanation (`text/plain; charset=utf-8`, ending in a newline).",
        content: { "text/plain": { schema: { type: "string" }, example: 'no stream named "back"\n' } },
      },
      Unauthorized: {
        description: para(
          "The route needs a token and none was accepted (missing, wrong, or of another kind: the",
          "answer is the same).",
        ),
        headers: {
          "WWW-Authenticate": {
            description: "The scheme (RFC 6750 §3).",
            required: true,
            schema: { type: "string", const: 'Bearer realm="edgecam"' },
          },
        },
        content: {
          "text/plain": { schema: { type: "string" }, example: "a valid bearer token is required\n" },
        },
      },
      Forbidden: {
        description: para(
          "No token was needed, but the page's origin or the `Host` is not one this service serves",
          "(`server.allowed_origins`, `server.allowed_hosts`).",
        ),
        content: { "text/plain": { schema: { type: "string" } } },
      },
      RetryLater: {
        description: "Refused for now; `Retry-After` says when to try again.",
        headers: { "Retry-After": ref("headers", "RetryAfter") },
        content: { "text/plain": { schema: { type: "string" } } },
      },
      RangeNotSatisfiable: {
        description: "The range starts past the end of the file.",
        headers: {
          "Content-Range": {
            description: "`bytes */<size>`.",
            required: true,
            schema: { type: "string", pattern: "^bytes \\*/\\d+$" },
          },
        },
        content: { "text/plain": { schema: { type: "string" } } },
      },
    },
    schemas: {
      SourceState: {
        type: "string",
        description: "Where a stream's source is (`waiting`: a WHIP path without its publisher).",
        enum: members<SourceState>({
          starting: true,
          running: true,
          restarting: true,
          stopped: true,
          failed: true,
          waiting: true,
        }),
      },
      Health: fields<ReturnType<typeof healthOf>["body"]>("The body of `GET /health`.", {
        status: { type: "string", enum: ["ok", "unhealthy"] },
        streams: {
          type: "object",
          description: "Each stream's state, by name.",
          additionalProperties: schemaRef("SourceState"),
        },
      }),
      ServiceStatus: fields<ServiceStatus>("The body of `GET /status`.", {
        version: { type: "string" },
        uptime_s: { type: "integer", minimum: 0 },
        rtp_time_origin_ms: {
          type: "number",
          description: para(
            "Wall-clock ms that RTP timestamp 0 stands for: a frame was captured at",
            "`rtp_time_origin_ms + rtp / 90` (modulo the 32-bit wrap).",
          ),
        },
        memory: fields<ServiceStatus["memory"]>("Memory and the memory guard.", {
          rss_mb: { type: "integer" },
          heap_used_mb: { type: "integer" },
          heap_total_mb: { type: "integer", description: "The V8 heap reserved." },
          external_mb: {
            type: "integer",
            description: "Memory outside the V8 heap held by JS objects (ArrayBuffers).",
          },
          limit_mb: { type: "integer", description: "`limits.max_memory_usage_mb`." },
          pressure: {
            type: "string",
            enum: members<PressureLevel>({ normal: true, high: true, critical: true }),
          },
          cuts: { type: "integer", description: "Readers cut back to a keyframe by pressure, since start." },
        }),
        native_libraries: {
          type: "array",
          description:
            "The WebRTC send path's native libraries (libcrypto's SRTP, libc's sendto), or their fallbacks.",
          items: fields<OptionalLibraryStatus>("One optional native library.", {
            library: { type: "string", examples: ["libcrypto.so.3"] },
            loaded: { type: "boolean" },
            instead: {
              type: ["string", "null"],
              description: "What runs instead when it is not loaded (slower), else null.",
            },
          }),
        },
        streams: { type: "array", items: schemaRef("StreamSummary") },
      }),
      StreamSummary: fields<StreamSummary>("One stream with its outputs.", {
        name: { type: "string" },
        state: schemaRef("SourceState"),
        codec: { type: "string", enum: [...CODECS] },
        width: { type: ["integer", "null"] },
        height: { type: ["integer", "null"] },
        profile_level_id: { type: ["string", "null"], description: "H.264 profile-level-id (hex)." },
        b_frames: {
          type: "boolean",
          description: "H.264 B-frames seen (WebRTC viewers cannot reorder them).",
        },
        fps: { type: "number" },
        bitrate: { type: "number", description: "Bits per second." },
        frames: { type: "integer" },
        keyframes: { type: "integer" },
        readers: { type: "integer" },
        drops: { type: "integer" },
        restarts: { type: "integer" },
        attempt: { type: "integer", description: "Restart attempt in progress." },
        last_error: { type: ["string", "null"] },
        last_frame_ms: { type: ["integer", "null"] },
        pid: { type: ["integer", "null"] },
        webrtc: schemaRef("WebrtcSummary"),
        ws_players: { type: "integer" },
        shm: nullable(schemaRef("ShmRingStatus")),
        push: { type: "array", items: schemaRef("PushStatus") },
        recording: schemaRef("RecordingStatus"),
      }),
      WebrtcSummary: fields<WebrtcSummary>("A stream's WebRTC viewers and their RTCP feedback.", {
        viewers: { type: "integer", description: "Connected now (what `max_clients` bounds)." },
        pending: { type: "integer", description: "Answered and still connecting." },
        nacks: { type: "integer" },
        retransmits: { type: "integer" },
        retransmits_suppressed: { type: "integer" },
        plis: { type: "integer" },
        firs: { type: "integer" },
      }),
      ShmRingStatus: fields<ShmRingStatus>("A stream's shared-memory ring.", {
        name: { type: "string", description: "Readers open `/dev/shm/<name>`." },
        size: { type: "integer" },
        generation: { type: ["integer", "null"] },
        write_seq: { type: "integer" },
        frames_written: { type: "integer" },
        skipped_too_large: { type: "integer" },
        slot_count: { type: "integer" },
        slot_size: { type: "integer" },
        error: { type: ["string", "null"], description: "Why the ring could not be created." },
      }),
      PushStatus: fields<PushStatus>("One WHIP push target of a stream.", {
        url: { type: "string" },
        state: {
          type: "string",
          enum: members<PushState>({
            waiting: true,
            connecting: true,
            connected: true,
            retrying: true,
            stopped: true,
          }),
        },
        attempt: { type: "integer" },
        last_error: { type: ["string", "null"] },
        session: { type: ["string", "null"], description: "The upstream session URL while there is one." },
        candidates: {
          type: "object",
          description: "Local ICE candidates of the current session by type (`host`, `srflx`, `relay`).",
          additionalProperties: { type: "integer" },
        },
        route: { type: ["string", "null"], description: "The local candidate type ICE chose." },
      }),
      RecordingStatus: fields<RecordingStatus>("A stream's recording.", {
        recording: { type: "boolean" },
        filename: { type: ["string", "null"], description: "The file being written, or the last one." },
        frame_count: { type: "integer" },
        bytes_written: { type: "integer" },
        duration_ms: { type: "integer" },
        start_time: { type: ["string", "null"], format: "date-time" },
        format: { type: "string", enum: [...RECORDING_FORMATS] },
        error: { type: ["string", "null"], description: "Why it paused or stopped by itself." },
      }),
      RecordedStreams: fields<{ streams: unknown }>("The body of `GET /api/recordings`.", {
        streams: {
          type: "array",
          items: fields<{ name: string; url: string }>("A stream with recordings.", {
            name: { type: "string" },
            url: { type: "string", description: "`/api/recordings/<name>`." },
          }),
        },
      }),
      Segments: fields<{ segments: unknown }>("The body of `GET /api/recordings/{name}`.", {
        segments: {
          type: "array",
          items: fields<ReturnType<typeof segmentJson>>("One segment file.", {
            start: { type: "string", format: "date-time" },
            duration_s: { type: "number" },
            bytes: { type: "integer" },
            url: { type: "string", description: "`/api/recordings/<name>/<file>`." },
          }),
        },
      }),
      OfferRequest: fields<{ type: "offer"; sdp: string }>("A JSON offer to `POST /offer`.", {
        type: { type: "string", const: "offer" },
        sdp: { type: "string" },
      }),
      OfferAnswer: fields<{ type: "answer"; sdp: string }>("The JSON answer of `POST /offer`.", {
        type: { type: "string", const: "answer" },
        sdp: { type: "string" },
      }),
      SignalClientMessage: {
        description: "A message a signaling client sends (text; at most 128 KiB).",
        anyOf: [
          schemaRef("OfferRequest"),
          fields<{ type: "candidate"; candidate: unknown }>(
            "A trickled candidate; an empty or null one ends the candidates.",
            {
              type: { type: "string", const: "candidate" },
              candidate: {
                description: "RTCIceCandidateInit as `onicecandidate` gives it, or the bare line.",
                anyOf: [
                  { type: "object", properties: { candidate: { type: ["string", "null"] } } },
                  { type: ["string", "null"] },
                ],
              },
            },
          ),
        ],
      },
      SignalServerMessage: {
        description: "A message the signaling server sends.",
        anyOf: [
          fields<{ type: "answer"; sdp: string; session: string }>(
            "The answer, with every server candidate.",
            {
              type: { type: "string", const: "answer" },
              sdp: { type: "string" },
              session: { type: "string", description: "The WHEP session URL (for DELETE)." },
            },
          ),
          fields<{ type: "error"; message: string }>("A refused message; the socket stays open.", {
            type: { type: "string", const: "error" },
            message: { type: "string" },
          }),
        ],
      },
      CpuProfile: {
        type: "object",
        description: "V8's CPU profile (`Profiler.Profile` of the DevTools protocol).",
        required: ["nodes", "startTime", "endTime"],
        properties: {
          nodes: { type: "array", items: { type: "object" } },
          startTime: { type: "number" },
          endTime: { type: "number" },
          samples: { type: "array", items: { type: "integer" } },
          timeDeltas: { type: "array", items: { type: "integer" } },
        },
      },
      HeapSnapshot: {
        type: "object",
        description: "V8's heap snapshot, as Chrome DevTools loads it.",
        required: ["snapshot", "nodes", "edges", "strings"],
        properties: {
          snapshot: { type: "object" },
          nodes: { type: "array", items: { type: "integer" } },
          edges: { type: "array", items: { type: "integer" } },
          strings: { type: "array", items: { type: "string" } },
        },
      },
    },
  },
};

/** What a segment answer carries (routes/recordings.ts): `ranged` for a 206, no `body` for a HEAD. */
function segmentResponse(description: string, ranged = false, body = true): Response {
  const response: Response = {
    description,
    headers: {
      "Accept-Ranges": { description: "`bytes`.", schema: { type: "string", const: "bytes" } },
      "Content-Length": { description: "Bytes of the body.", schema: { type: "integer" } },
      ...(ranged
        ? {
          "Content-Range": {
            description: "`bytes <first>-<last>/<size>`.",
            required: true,
            schema: { type: "string" },
          },
        }
        : {}),
      "Content-Disposition": ref(
        "headers",
        "ContentDisposition",
        '`attachment; filename="<stream>-<file>"`.',
      ),
    },
  };
  if (!body) return response;
  return {
    ...response,
    content: {
      "video/mp4": { schema: { description: "An fMP4 segment." } },
      "video/h264": { schema: { description: "A raw H.264 (Annex-B) segment." } },
      "video/x-ivf": { schema: { description: "A raw VP8 (IVF) segment." } },
    },
  };
}

/** `GET /api/openapi.json`: {@link openApiDocument}. */
export function openApiRoutes(): Hono {
  const app = new Hono();
  app.get("/api/openapi.json", (c) => c.json(openApiDocument));
  return app;
}
