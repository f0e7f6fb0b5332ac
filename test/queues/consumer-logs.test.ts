import { createExecutionContext, createMessageBatch, env, getQueueResult } from "cloudflare:test";
import { afterEach, describe, expect, it, vi } from "vitest";
import { consumeDeadLetters } from "../../src/queues/dead-letters";
import { consumeWebhooks } from "../../src/queues/webhooks";

/** D1 that refuses every statement, as during an outage. */
const brokenDb = new Proxy(env.DB, {
  get(target, property) {
    if (property === "prepare" || property === "batch" || property === "exec") {
      return () => {
        throw new Error("D1_ERROR: database unavailable");
      };
    }
    const value = Reflect.get(target, property);
    return typeof value === "function" ? value.bind(target) : value;
  },
});
const outage = { ...env, DB: brokenDb } as Env;

function errorLines(spy: { mock: { calls: unknown[][] } }): Record<string, unknown>[] {
  return spy.mock.calls.map((call) => {
    expect(call).toHaveLength(1);
    return JSON.parse(String(call[0])) as Record<string, unknown>;
  });
}

afterEach(() => {
  vi.restoreAllMocks();
});

describe("queue consumers' failure logs", () => {
  it("the dispatch dead-letter consumer writes one JSON line with the tenant and message ids", async () => {
    const spy = vi.spyOn(console, "error").mockImplementation(() => {});
    const batch = createMessageBatch("relaybox-dispatch-dlq", [
      {
        id: "q1",
        timestamp: new Date(),
        attempts: 1,
        body: { v: 1, tenant_id: "tnt_logs", message_id: "msg_logs" },
      },
    ]);
    const ctx = createExecutionContext();
    await consumeDeadLetters(batch, outage);
    const result = await getQueueResult(batch, ctx);
    expect(result.retryMessages).toEqual([{ msgId: "q1" }]);
    const [line, ...others] = errorLines(spy);
    expect(others).toEqual([]);
    expect(line).toMatchObject({
      level: "error",
      event: "dead letter: could not record, will retry",
      queue: "dispatch-dlq",
      tenant_id: "tnt_logs",
      message_id: "msg_logs",
      error: { name: "Error", message: expect.stringContaining("database unavailable") },
    });
    expect(typeof line?.time).toBe("string");
  });

  it("an unreadable job is logged without its body, and the webhook consumer names its deliveries", async () => {
    const spy = vi.spyOn(console, "error").mockImplementation(() => {});
    const batch = createMessageBatch("relaybox-webhooks", [
      { id: "q1", timestamp: new Date(), attempts: 1, body: { secret_body: "hello there" } },
      {
        id: "q2",
        timestamp: new Date(),
        attempts: 1,
        body: { v: 1, delivery_id: "whd_logs", series_started_at: 1 },
      },
    ]);
    await consumeWebhooks(batch, outage);
    const lines = errorLines(spy);
    expect(lines).toEqual([
      expect.objectContaining({
        event: "webhooks: unreadable job, dropped",
        queue_message_id: "q1",
        payload: "[omitted]",
      }),
      expect.objectContaining({
        event: "webhooks: could not load deliveries, will retry",
        delivery_ids: ["whd_logs"],
      }),
    ]);
    expect(JSON.stringify(lines)).not.toContain("hello there");
  });
});
