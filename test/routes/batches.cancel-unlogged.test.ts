/**
 * A batch canceled while its messages are still only in the dispatcher's outbox (a large batch's
 * bulk lane keeps most of it there, and any batch is there for a moment): its counts say canceled
 * at once, as they will once the send log has them.
 */
import { env, runInDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { dispatcherOf } from "../../src/delivery/dispatcher";
import type { TenantDispatcher } from "../../src/durable-objects/dispatcher/tenant-dispatcher";
import { newId } from "../../src/lib/ids";
import { outboxMessage } from "../support/messages";
import { createTenant } from "../support/tenants";

describe("a batch canceled before the send log has it", () => {
  it("answers the cancel, and every read after it, with its messages counted canceled", async () => {
    const tenant = await createTenant();
    const stub = dispatcherOf(env, tenant.id);
    const now = Date.now();
    const sendAt = now + 3_600_000;
    const batchId = newId("bat", now);
    const messages = ["+8613800138511", "+8613800138512"].map((to) =>
      outboxMessage(tenant.id, to, { batchId, lane: "bulk", mode: "live", sendAt }),
    );
    await runInDurableObject(stub, async (instance: TenantDispatcher, state) => {
      await instance.stageBatch({ tenantId: tenant.id, messages });
      await instance.commitBatch(
        {
          id: batchId,
          tenantId: tenant.id,
          templateId: null,
          templateVersion: null,
          kind: "notification",
          mode: "live",
          accepted: messages.length,
          rejected: 0,
          sendAt,
          createdAt: now,
          canceledAt: null,
        },
        0,
      );
      // Not written to D1 until the test says so.
      await state.storage.deleteAlarm();
    });
    const before = await tenant.api(`/v1/batches/${batchId}`);
    expect(await before.json()).toMatchObject({ status: "accepted", counts: { scheduled: 2 } });

    const canceled = await tenant.api(`/v1/batches/${batchId}/cancel`, { method: "POST" });
    expect(canceled.status).toBe(200);
    expect(await canceled.json()).toMatchObject({ status: "canceled", counts: { canceled: 2 } });
    const read = await tenant.api(`/v1/batches/${batchId}`);
    expect(await read.json()).toMatchObject({ status: "canceled", counts: { canceled: 2 } });

    await runInDurableObject(stub, (instance: TenantDispatcher) => instance.alarm());
    const logged = await tenant.api(`/v1/batches/${batchId}`);
    expect(await logged.json()).toMatchObject({ status: "canceled", counts: { canceled: 2 } });
  });
});
