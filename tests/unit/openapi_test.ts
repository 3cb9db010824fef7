import assert from "node:assert/strict";
import { compileErrors, validate } from "@readme/openapi-parser";
import type { Hono } from "hono";
import { AccessPolicy } from "../../lib/auth.ts";
import type { AuthConfig } from "../../lib/config/schema.ts";
import { Log } from "../../lib/log.ts";
import { OriginPolicy } from "../../lib/origin.ts";
import type { ServiceContext } from "../../lib/service.ts";
import { createApp } from "../../routes/app.ts";
import { accessFor } from "../../routes/auth.ts";
import { openApiDocument, type Operation, type PathItem } from "../../routes/openapi.ts";
import { cameraSignalApp } from "../../routes/signal.ts";

const METHODS = ["get", "head", "post", "patch", "delete", "options"] as const;
const NONE: AuthConfig = { publishTokens: [], viewTokens: [], apiReadTokens: [], apiChangeTokens: [] };

/**
 * The few parts of a ServiceContext that building the apps and the token check touch. Any other member
 * read throws, naming it: a route that starts reading the context when it is built shows up here as that,
 * not as an undefined deep inside Hono.
 */
function bareContext(auth: AuthConfig = NONE): ServiceContext {
  const parts: Record<string, unknown> = {
    log: new Log("error"),
    access: new AccessPolicy(auth),
    origins: new OriginPolicy({ allowedOrigins: [], allowedHosts: ["*"] }, () => []),
    stopping: () => false,
    streams: { all: () => [], get: () => undefined },
    // recordingRoutes takes it apart when built; nothing here calls it.
    recordings: {},
  };
  return new Proxy(parts, {
    get(target, key) {
      if (typeof key !== "string" || key in target) return target[key as string];
      throw new Error(`the test's context has no "${key}"`);
    },
  }) as unknown as ServiceContext;
}

/** A path with every parameter as `{}`: the code's names (`:path`) and the document's (`{stream}`) differ. */
function shape(path: string): string {
  return path.replace(/\{[^}]+\}/g, "{}");
}

/** Hono's `/whep/:path` as `/whep/{path}`; a trailing `/*` (static files) as one parameter. */
function honoTemplate(path: string): string {
  return path.replace(/:([A-Za-z0-9_]+)(\{[^}]*\})?/g, "{$1}").replace(/\/\*$/, "/{*}");
}

/** "METHOD shape" → how to show it, for every route an app registers. Middleware (`use`) is left out. */
function appRoutes(app: Hono): Map<string, string> {
  const routes = new Map<string, string>();
  for (const { method, path } of app.routes) {
    // `use` registers method ALL on a wildcard; edgecam has no `app.all` route (one would show up here).
    if (method === "ALL" && path.endsWith("*")) continue;
    const template = honoTemplate(path);
    routes.set(`${method} ${shape(template)}`, `${method} ${template}`);
  }
  return routes;
}

/** The document's operations of the main port (`own` false) or of another port (path-level `servers`). */
function documentRoutes(own: boolean): Map<string, string> {
  const routes = new Map<string, string>();
  for (const [path, item] of Object.entries(openApiDocument.paths)) {
    if ((item.servers !== undefined) !== own) continue;
    for (const method of METHODS) {
      if (item[method]) {
        routes.set(`${method.toUpperCase()} ${shape(path)}`, `${method.toUpperCase()} ${path}`);
      }
    }
  }
  return routes;
}

/** Both ways: what the app serves and the document lacks, and what the document has that no route serves. */
function assertSameRoutes(app: Map<string, string>, doc: Map<string, string>): void {
  const missing = [...app.keys()].filter((k) => !doc.has(k)).map((k) => app.get(k)!);
  const extra = [...doc.keys()].filter((k) => !app.has(k)).map((k) => doc.get(k)!);
  assert.deepEqual(
    { missing, extra },
    { missing: [], extra: [] },
    `routes the app serves but the document lacks:\n  ${missing.join("\n  ") || "(none)"}\n` +
      `operations the document has but no route serves:\n  ${extra.join("\n  ") || "(none)"}`,
  );
}

function operations(): [string, PathItem, (typeof METHODS)[number], Operation][] {
  return Object.entries(openApiDocument.paths).flatMap(([path, item]) =>
    METHODS.flatMap((method) => item[method] ? [[path, item, method, item[method]!] as const] : [])
  ) as [string, PathItem, (typeof METHODS)[number], Operation][];
}

/** A concrete URL path for a template, from its parameters' examples. */
function examplePath(path: string, op: Operation): string {
  return path.replace(/\{([^}]+)\}/g, (_, name: string) => {
    const param = op.parameters?.find((p) => p.in === "path" && p.name === name);
    assert.ok(param?.example !== undefined, `${path}: parameter ${name} needs an example`);
    return encodeURIComponent(String(param.example));
  });
}

Deno.test("the document has an operation for every route of the main port, and no other", () => {
  const docPaths = Object.keys(openApiDocument.paths);
  // Two templates of one shape are the same path to OpenAPI (and would hide each other here).
  assert.equal(
    new Set(docPaths.map(shape)).size,
    docPaths.length,
    "two paths differ only in parameter names",
  );
  assertSameRoutes(appRoutes(createApp(bareContext())), documentRoutes(false));
});

Deno.test("the paths with their own servers are exactly a camera's webrtc_port app", () => {
  assertSameRoutes(appRoutes(cameraSignalApp(bareContext(), "front")), documentRoutes(true));
});

Deno.test("the document is valid OpenAPI 3.1 (@readme/openapi-parser)", async () => {
  assert.equal(openApiDocument.openapi, "3.1.0");
  // What is served (JSON) is what is validated.
  const result = await validate(JSON.parse(JSON.stringify(openApiDocument)));
  if (!result.valid) console.error(compileErrors(result));
  assert.ok(result.valid, "the OpenAPI validator refused the document (errors above)");
  assert.deepEqual(result.warnings, [], "the validator warned");
});

Deno.test("each path parameter of a template is declared and required, none in vain", async (t) => {
  for (const [path, , method, op] of operations()) {
    await t.step(`${method.toUpperCase()} ${path}`, () => {
      const inTemplate = [...path.matchAll(/\{([^}]+)\}/g)].map((m) => m[1]).sort();
      const declared = (op.parameters ?? []).filter((p) => p.in === "path");
      assert.deepEqual(declared.map((p) => p.name).sort(), inTemplate);
      for (const p of declared) assert.equal(p.required, true, `${p.name} must be required`);
    });
  }
});

Deno.test("each operation names the token kind routes/auth.ts really asks of it", async (t) => {
  for (const [path, item, method, op] of operations()) {
    if (item.servers !== undefined) continue;
    await t.step(`${method.toUpperCase()} ${path}`, () => {
      const kind = accessFor(method.toUpperCase(), examplePath(path, op), new URLSearchParams(), () =>
        "front")
        ?.kind ?? "none";
      assert.equal(op["x-edgecam-access"], kind);
      // The same kind as the security requirement's role, and as the 401 it may answer.
      const roles = op.security.flatMap((requirement) => Object.values(requirement).flat());
      assert.deepEqual([...new Set(roles)], kind === "none" ? [] : [kind]);
      assert.equal("401" in op.responses, kind !== "none");
    });
  }
});

Deno.test("a camera's webrtc_port takes that camera's view tokens, as its operation says", async () => {
  const [[, , , op]] = operations().filter(([, item]) => item.servers !== undefined);
  assert.equal(op["x-edgecam-access"], "view");
  const tokens = { publishTokens: ["p"], viewTokens: ["v"], apiReadTokens: ["r"], apiChangeTokens: ["c"] };
  const app = cameraSignalApp(bareContext(tokens), "front");
  const status = async (token: string) =>
    (await app.request("/ws", { headers: { Authorization: `Bearer ${token}` } })).status;
  assert.equal(await status("c"), 401, "an api_change token opens the signaling port");
  // Past the token check: the bare context has no stream, so the handler answers 404.
  assert.equal(await status("v"), 404);
});

Deno.test("GET /api/openapi.json serves the document as JSON", async () => {
  const res = await createApp(bareContext()).request("/api/openapi.json");
  assert.equal(res.status, 200);
  assert.match(res.headers.get("content-type") ?? "", /^application\/json/);
  assert.deepEqual(await res.json(), JSON.parse(JSON.stringify(openApiDocument)));
});
