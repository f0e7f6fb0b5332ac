/** The front door, health, the benchmark's no-op baseline, the OpenAPI document's viewer. */
import { swaggerUI } from "@hono/swagger-ui";
import { Hono } from "hono";
import type { AppEnv } from "../../app-env";

export const systemRouter = new Hono<AppEnv>()
  // A browser goes to the dashboard; a program learns where things are instead of a 404.
  .get("/", (c) =>
    c.req.header("accept")?.includes("text/html")
      ? c.redirect("/dashboard", 302)
      : c.json(
          {
            name: "Relaybox",
            api: "/v1",
            docs: "/docs",
            openapi: "/openapi.json",
            dashboard: "/dashboard",
          },
          200,
        ),
  )
  .get("/healthz", (c) => c.json({ status: "ok" }, 200))
  // The same global middleware as every route, and nothing else: the benchmark's baseline.
  .post("/noop", (c) => c.json({ ok: true }, 202))
  .get(
    "/docs",
    // Swagger UI's files are Workers static assets under /docs/swagger-ui-dist/ (copied from npm
    // at install), so the page works with no internet.
    swaggerUI({ url: "/openapi.json", title: "Relaybox API", baseUrl: "/docs" }),
  );
