/**
 * The tenant's settings version: the dispatcher refuses what was composed under settings older
 * than the last it was configured with, so that a message accepted after a change obeys it.
 */
import { describe, expect, it } from "vitest";
import type { BatchRecord } from "../../src/delivery/dispatcher-types";
import { acceptRequest, isolatedDispatcher } from "../support/dispatcher";
import { outboxMessage } from "../support/messages";

function configured(tenantId: string, settingsVersion: number, sendRate = 50) {
  return { tenantId, settingsVersion, sendRate, quietHours: null };
}

describe("the dispatcher and the tenant's settings version", () => {
  it("refuses a message composed under older settings and stores nothing, but takes newer ones", async () => {
    const { tenant, stub, sql } = await isolatedDispatcher();
    await stub.configure(configured(tenant.id, 2));

    const outdated = outboxMessage(tenant.id, "+8613800138401");
    expect(await stub.accept(acceptRequest(outdated, "key-1", "h", 1))).toEqual({
      kind: "stale-settings",
    });
    expect(await sql("SELECT id FROM outbox")).toEqual([]);

    // Composed again under the current settings, with the same idempotency key.
    expect(await stub.accept(acceptRequest(outdated, "key-1", "h", 2))).toMatchObject({
      kind: "accepted",
    });
    // Newer than configured: the change's own call has not arrived yet.
    const newer = outboxMessage(tenant.id, "+8613800138402");
    expect(await stub.accept(acceptRequest(newer, undefined, "h", 3))).toMatchObject({
      kind: "accepted",
    });
  });

  it("replays an idempotency key's first answer whatever settings the repeat was composed under", async () => {
    const { tenant, stub } = await isolatedDispatcher();
    const message = outboxMessage(tenant.id, "+8613800138403");
    const first = await stub.accept(acceptRequest(message, "key-2", "h", 0));
    await stub.configure(configured(tenant.id, 1));

    const repeat = await stub.accept(acceptRequest(message, "key-2", "h", 0));

    expect(first).toMatchObject({ kind: "accepted" });
    expect(repeat).toEqual({
      kind: "replayed",
      response: (first as { response: unknown }).response,
    });
  });

  it("keeps the newer of two changes whose calls arrive out of order", async () => {
    const { tenant, stub, sql } = await isolatedDispatcher();
    await stub.configure(configured(tenant.id, 3, 20));
    await stub.configure(configured(tenant.id, 2, 5));

    expect(
      await sql("SELECT value FROM meta WHERE key IN ('send_rate', 'settings_version')"),
    ).toEqual(expect.arrayContaining([{ value: "20" }, { value: "3" }]));
  });

  it("drops a batch composed under older settings at its commit, so none of it is sent", async () => {
    const { tenant, stub, sql, queue, runAlarm } = await isolatedDispatcher();
    const batchId = "bat_01JD3M6Y8Z5Q7K2N4P6R8T0VS1";
    const messages = [1, 2, 3].map((n) =>
      outboxMessage(tenant.id, `+861380013841${n}`, { batchId, lane: "bulk" }),
    );
    const record: BatchRecord = {
      id: batchId,
      tenantId: tenant.id,
      templateId: null,
      templateVersion: null,
      kind: "notification",
      mode: "test",
      accepted: 3,
      rejected: 0,
      sendAt: Date.now(),
      createdAt: Date.now(),
      canceledAt: null,
    };
    await stub.stageBatch({ tenantId: tenant.id, messages });
    await stub.configure(configured(tenant.id, 1));

    expect(await stub.commitBatch(record, 0)).toBe("stale-settings");

    expect(await sql("SELECT id FROM outbox")).toEqual([]);
    expect(await stub.commitBatch(record, 1)).toBe("incomplete");
    await runAlarm();
    expect(queue.sent).toEqual([]);
  });
});
