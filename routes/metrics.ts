/** `GET /metrics`: the Prometheus text exposition of the service's figures. */
import { Hono } from "hono";
import { exposition, EXPOSITION_CONTENT_TYPE } from "../lib/metrics/exposition.ts";
import { serviceMetrics } from "../lib/metrics/service_metrics.ts";
import type { ServiceContext } from "./context.ts";

/** `GET /metrics`, on the main port and on `[metrics] listen`. */
export function metricsRoutes(ctx: ServiceContext): Hono {
  const app = new Hono();
  app.get(
    "/metrics",
    () =>
      new Response(exposition(serviceMetrics(ctx)), { headers: { "Content-Type": EXPOSITION_CONTENT_TYPE } }),
  );
  return app;
}
