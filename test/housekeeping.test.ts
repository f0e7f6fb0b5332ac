import { createScheduledController, env } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { logMessages } from "../src/durable-objects/send-log";
import worker from "../src/index";
import { wakeStalledDispatchers } from "../src/services/housekeeping";
import { outboxMessage } from "./support/messages";
import { createTenant } from "./support/tenants";

describe("scheduled housekeeping", () => {
  it("wakes the dispatcher of a tenant whose messages have stalled, and only that one", async () => {
    const stalled = await createTenant();
    const healthy = await createTenant();
    const old = Date.now() - 2 * 60 * 60 * 1000;
    await logMessages(env.DB, [
      outboxMessage(stalled.id, "+8613800138400", { createdAt: old, sendAt: old }),
      outboxMessage(healthy.id, "+8613800138401"),
    ]);
    expect(await wakeStalledDispatchers(env)).toEqual([stalled.id]);
    // The cron entry point runs the same sweep without failing.
    await worker.scheduled(createScheduledController({ cron: "17 3 * * *" }), env);
  });
});
