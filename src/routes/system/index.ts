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
  // For load balancers and uptime checks: D1 answers a query and a dispatcher Durable Object
  // answers a call (its own instance, never a tenant's). 503 names what failed; no key needed.
  .get("/healthz", async (c) => {
    const checks = {
      d1: await probe(() => c.env.DB.prepare("SELECT 1 AS ok").first("ok")),
      dispatcher: await probe(() =>
        c.env.DISPATCHER.get(c.env.DISPATCHER.idFromName("healthz")).peek("msg_healthz"),
      ),
    };
    const healthy = Object.values(checks).every((check) => check === "ok");
    return c.json({ status: healthy ? "ok" : "unavailable", checks }, healthy ? 200 : 503);
  })
  // The same global middleware as every route, and nothing else: the benchmark's baseline.
  .post("/noop", (c) => c.json({ ok: true }, 202))
  .get(
    "/docs",
    // Swagger UI's files are Workers static assets under /docs/swagger-ui-dist/ (copied from npm
    // at install), so the page works with no internet.
    swaggerUI({ url: "/openapi.json", title: "Relaybox API", baseUrl: "/docs" }),
  );

const PROBE_TIMEOUT_MS = 3000;

/** "ok", or why not (an error's message, or "timeout" after 3 s). */
async function probe(check: () => Promise<unknown>): Promise<string> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  try {
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error("timeout")), PROBE_TIMEOUT_MS);
    });
    await Promise.race([check(), timeout]);
    return "ok";
  } catch (error) {
    return error instanceof Error ? error.message.slice(0, 200) : "failed";
  } finally {
    if (timer !== undefined) {
      clearTimeout(timer);
    }
  }
}
