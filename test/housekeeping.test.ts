import { createScheduledController, env } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { logMessages } from "../src/durable-objects/dispatcher/send-log";
import worker from "../src/index";
import {
  requeueStrandedDeliveries,
  wakeStalledDispatchers,
} from "../src/services/messaging/housekeeping";
import { outboxMessage } from "./support/messages";
import { createTenant, postJson } from "./support/tenants";

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

  it("queues again the webhook deliveries whose queue job was lost, and no others", async () => {
    const tenant = await createTenant();
    const created = await tenant.api(
      "/v1/webhooks",
      postJson({ url: "https://hooks.example.com/stranded", events: ["message.sent"] }),
    );
    const { id: endpointId } = (await created.json()) as { id: string };
    const now = Date.now();
    const insert = (id: string, status: string, nextAttemptAt: number) =>
      env.DB.prepare(
        `INSERT INTO webhook_deliveries (id, tenant_id, endpoint_id, event_id, event_type, payload,
           status, attempt_count, attempts, next_attempt_at, created_at, updated_at)
         VALUES (?, ?, ?, ?, 'message.sent', '{}', ?, 0, '[]', ?, ?, ?)`,
      )
        .bind(id, tenant.id, endpointId, `evt_${id}`, status, nextAttemptAt, nextAttemptAt, now)
        .run();
    const twoHoursAgo = now - 2 * 60 * 60 * 1000;
    await insert(`whd_stranded_${now}`, "pending", twoHoursAgo);
    await insert(`whd_due_${now}`, "pending", now - 60_000);
    await insert(`whd_done_${now}`, "delivered", twoHoursAgo);
    const sent: unknown[] = [];
    const queue = {
      sendBatch: async (jobs: Iterable<{ body: unknown }>) => {
        sent.push(...[...jobs].map((job) => job.body));
      },
    };
    const count = await requeueStrandedDeliveries(
      { ...env, WEBHOOK_QUEUE: queue } as unknown as Env,
      now,
    );
    expect(count).toBe(1);
    expect(sent).toEqual([expect.objectContaining({ delivery_id: `whd_stranded_${now}` })]);
  });
});
