// GET /healthz's checks and the request and send log lines the Worker writes.
import { createExecutionContext, env, waitOnExecutionContext } from "cloudflare:test";
import { afterEach, describe, expect, it, vi } from "vitest";
import worker from "../../src/index";
import { createLogger } from "../../src/lib/log";
import { logSendAttempt } from "../../src/queues/dispatch";
import { createTenant } from "../support/tenants";

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
    const res = await fetchWith({ ...env, LOG_LEVEL: "info" }, "/v1/messages", {
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

describe("a message's request lines", () => {
  it("carry the tenant and the message id, for the send and for reading it back", async () => {
    const tenant = await createTenant();
    const log = vi.spyOn(console, "log").mockImplementation(() => {});
    const infoEnv = { ...env, LOG_LEVEL: "info" };
    const sent = await fetchWith(infoEnv, "/v1/messages", {
      method: "POST",
      headers: { authorization: `Bearer ${tenant.key}`, "content-type": "application/json" },
      body: JSON.stringify({ to: "+8613800138000", body: "a secret code 4711" }),
    });
    expect(sent.status).toBe(202);
    const { id } = (await sent.json()) as { id: string };
    const read = await fetchWith(infoEnv, `/v1/messages/${id}`, {
      headers: { authorization: `Bearer ${tenant.key}` },
    });
    expect(read.status).toBe(200);
    const lines = jsonLines(log).filter((line) => line.event === "request");
    expect(lines).toEqual([
      expect.objectContaining({ method: "POST", tenant_id: tenant.id, message_id: id }),
      expect.objectContaining({ method: "GET", tenant_id: tenant.id, message_id: id }),
    ]);
    expect(JSON.stringify(lines)).not.toContain("4711");
  });
});

describe("error logs", () => {
  it("write an unhandled error as one JSON line with the request id, not plain text", async () => {
    const error = vi.spyOn(console, "error").mockImplementation(() => {});
    const DB = new Proxy(env.DB, {
      get(target, prop) {
        if (prop === "prepare" || prop === "batch") {
          return () => {
            throw new Error("D1_ERROR: simulated failure");
          };
        }
        const value = Reflect.get(target, prop, target);
        return typeof value === "function" ? value.bind(target) : value;
      },
    });
    const token = "tok0123456789abcdefghijklmnopqrstuv";
    const res = await fetchWith({ ...env, DB }, `/hooks/sms/twilio/${token}/status`, {
      method: "POST",
      body: "",
    });
    expect(res.status).toBe(500);
    // Every line the Worker wrote to console.error parses as JSON (lib/log), none is free text.
    const written = error.mock.calls.map((call) => String(call[0]));
    expect(written.length).toBeGreaterThan(0);
    expect(written.filter((line) => !line.startsWith("{"))).toEqual([]);
    const unhandled = jsonLines(error).filter((line) => line.event === "unhandled error");
    expect(unhandled).toHaveLength(1);
    expect(unhandled[0]).toMatchObject({
      level: "error",
      method: "POST",
      path: "/hooks/sms/twilio/[redacted]/status",
      request_id: res.headers.get("x-request-id"),
      error: { name: "Error", message: "D1_ERROR: simulated failure" },
    });
    expect(JSON.stringify(written)).not.toContain(token);
  });
});

describe("send logs", () => {
  // Tests run at LOG_LEVEL warn (test/vitest.config.ts): the consumer's line is checked here, at
  // each level, from the function the consumer calls for each attempt.
  const attempt = (outcome: string) =>
    ({
      attemptId: "att_1",
      claimId: "clm_1",
      messageId: "msg_1",
      tenantId: "tnt_1",
      attempt: 1,
      provider: "sandbox",
      outcome,
      reason: outcome === "sent" ? null : "carrier said no",
      providerMessageId: outcome === "sent" ? "sbx_1" : null,
      latencyMs: 12,
      createdAt: 0,
    }) as Parameters<typeof logSendAttempt>[1];
  const linesAt = (level: string, outcome: string) => {
    const lines: string[] = [];
    const log = createLogger(level, { request_id: "req_1" }, (_, line) => lines.push(line));
    logSendAttempt(log, attempt(outcome));
    return lines.map((line) => JSON.parse(line));
  };

  it("logs each provider attempt with tenant, message, provider and latency, never the body", () => {
    const [line] = linesAt("debug", "sent");
    expect(line).toMatchObject({
      level: "debug",
      event: "send attempt",
      request_id: "req_1",
      tenant_id: "tnt_1",
      message_id: "msg_1",
      provider: "sandbox",
      outcome: "sent",
      latency_ms: 12,
    });
  });

  it("writes a sent attempt at debug only, a refused one at info, an unknown outcome at warn", () => {
    expect(linesAt("info", "sent")).toEqual([]);
    expect(linesAt("info", "retryable")).toMatchObject([{ level: "info", outcome: "retryable" }]);
    expect(linesAt("info", "permanent")).toMatchObject([
      { level: "info", outcome: "permanent", reason: "carrier said no" },
    ]);
    expect(linesAt("warn", "retryable")).toEqual([]);
    expect(linesAt("warn", "unknown")).toMatchObject([{ level: "warn", outcome: "unknown" }]);
  });
});
