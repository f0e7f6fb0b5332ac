// GET /healthz's checks and the request and send log lines the Worker writes.
import { createExecutionContext, env, waitOnExecutionContext } from "cloudflare:test";
import { afterEach, describe, expect, it, vi } from "vitest";
import worker from "../../src/index";
import { createTenant, eventually, postJson } from "../support/tenants";

afterEach(() => {
  vi.restoreAllMocks();
});

async function fetchWith(testEnv: Env, path: string, init?: RequestInit) {
  const ctx = createExecutionContext();
  const request = new Request<unknown, IncomingRequestCfProperties>(
    new Request(`http://x${path}`, init),
  );
  const res = await worker.fetch(request, testEnv, ctx);
  await waitOnExecutionContext(ctx);
  return res;
}

function jsonLines(spy: { mock: { calls: unknown[][] } }) {
  return spy.mock.calls.flatMap((call) => {
    try {
      return [JSON.parse(String(call[0])) as Record<string, unknown>];
    } catch {
      return [];
    }
  });
}

describe("GET /healthz", () => {
  it("answers 200 when D1 and a dispatcher answer", async () => {
    const res = await fetchWith(env, "/healthz");
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ status: "ok", checks: { d1: "ok", dispatcher: "ok" } });
  });

  it("answers 503 naming D1 when D1 fails", async () => {
    const DB = new Proxy(env.DB, {
      get(target, prop) {
        if (prop === "prepare") {
          return () => {
            throw new Error("D1_ERROR: simulated failure");
          };
        }
        const value = Reflect.get(target, prop, target);
        return typeof value === "function" ? value.bind(target) : value;
      },
    });
    const res = await fetchWith({ ...env, DB }, "/healthz");
    expect(res.status).toBe(503);
    expect(await res.json()).toEqual({
      status: "unavailable",
      checks: { d1: "D1_ERROR: simulated failure", dispatcher: "ok" },
    });
  });
});

describe("request logs", () => {
  it("writes one JSON line per request with its id, status and no headers", async () => {
    const log = vi.spyOn(console, "log").mockImplementation(() => {});
    const res = await fetchWith(env, "/v1/messages", {
      headers: { authorization: "Bearer rbx_test_nosuchkey0000000000000000000000" },
    });
    expect(res.status).toBe(401);
    const lines = jsonLines(log).filter((line) => line.event === "request");
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatchObject({
      level: "info",
      method: "GET",
      path: "/v1/messages",
      status: 401,
      request_id: res.headers.get("x-request-id"),
    });
    expect(JSON.stringify(lines)).not.toContain("rbx_test_nosuchkey");
  });
});

describe("send logs", () => {
  it("logs each provider attempt with tenant, message, provider and latency, never the body", async () => {
    const log = vi.spyOn(console, "log").mockImplementation(() => {});
    const tenant = await createTenant();
    const res = await tenant.api(
      "/v1/messages",
      postJson({ to: "+8613800138000", body: "Secret code 918273" }),
    );
    expect(res.status).toBe(202);
    const { id } = (await res.json()) as { id: string };
    const attempt = await eventually(
      async () =>
        jsonLines(log).find((line) => line.event === "send attempt" && line.message_id === id),
      10_000,
      "the send attempt's log line",
    );
    expect(attempt).toMatchObject({
      level: "info",
      tenant_id: tenant.id,
      message_id: id,
      provider: "sandbox",
      outcome: "sent",
    });
    expect(typeof attempt.latency_ms).toBe("number");
    const requestLine = jsonLines(log).find(
      (line) => line.event === "request" && line.path === "/v1/messages",
    );
    expect(requestLine).toMatchObject({ tenant_id: tenant.id, status: 202 });
    expect(JSON.stringify(log.mock.calls)).not.toContain("918273");
  });
});
