import { env } from "cloudflare:test";
import { eq } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import { database } from "../../src/db/client";
import type { MessageRow } from "../../src/db/message-log";
import { messages } from "../../src/db/schema";
import { sentMessageColumns } from "../../src/delivery/message-events";
import {
  applyReceipts,
  cancelLogged,
  claimForSending,
  expireOverdue,
  failUnlessDone,
  holdReceipts,
  recordAttempts,
} from "../../src/delivery/status-writer";
import type { WebhookJob } from "../../src/delivery/webhook-payloads";
import { logMessages } from "../../src/durable-objects/dispatcher/send-log";
import { outboxMessage, statusOf } from "../support/messages";
import { createTenant, type TestTenant } from "../support/tenants";
import { createEndpoint, deliveriesOf } from "../support/webhooks";

/** The test env with a webhook queue that only records its jobs (or refuses them). */
function recordingEnv(refuse = false) {
  const jobs: WebhookJob[] = [];
  const queue = {
    send: async () => {
      throw new Error("deliveries are queued in batches");
    },
    sendBatch: async (batch: { body: WebhookJob }[]) => {
      if (refuse) {
        throw new Error("Queue send failed: simulated");
      }
      jobs.push(...batch.map((m) => m.body));
    },
  };
  return { env: { ...env, WEBHOOK_QUEUE: queue as unknown as Queue }, jobs };
}

/** A logged message, claimed by a consumer. */
async function claimed(tenant: TestTenant, to: string): Promise<MessageRow> {
  const message = outboxMessage(tenant.id, to, { mode: "live" });
  await logMessages(env.DB, [message]);
  const [row] = await claimForSending(
    env,
    env.DB,
    [message.id],
    `c-${message.id}`,
    Date.now(),
    60_000,
  );
  if (!row) {
    throw new Error("the message was not claimed");
  }
  return row;
}

/** Records `message`'s send through `provider` under the carrier id `serial`. */
function recordSent(target: Env, message: MessageRow, provider: string, serial: string) {
  return recordAttempts(target, target.DB, [
    {
      message,
      attempt: {
        attemptId: `att_${message.id.slice(4)}`,
        claimId: message.claimId ?? "",
        messageId: message.id,
        tenantId: message.tenantId,
        attempt: message.attemptCount,
        provider,
        outcome: "sent",
        reason: null,
        providerMessageId: serial,
        latencyMs: 10,
        createdAt: Date.now(),
      },
      change: { kind: "sent", provider, providerMessageId: serial },
    },
  ]);
}

async function sentMessage(id: string) {
  const [row] = await database(env.DB)
    .select(sentMessageColumns)
    .from(messages)
    .where(eq(messages.id, id));
  if (!row) {
    throw new Error(`no message ${id}`);
  }
  return row;
}

const payloadOf = (row: { payload: string }) =>
  JSON.parse(row.payload) as { type: string; data: Record<string, unknown> };

describe("the status writer", () => {
  it("writes a receipt's event in the batch that makes the change, once, and none for a receipt it refuses", async () => {
    const tenant = await createTenant();
    const endpoint = await createEndpoint(tenant, {
      events: ["message.delivered", "message.undelivered"],
    });
    const { env: target, jobs } = recordingEnv();
    const message = await claimed(tenant, "+8613800138801");
    await recordSent(target, message, "sandbox", "sbx-801");
    const owner = { tenantId: tenant.id, provider: "sandbox" };
    const receipt = {
      message: await sentMessage(message.id),
      providerMessageId: "sbx-801",
      status: "delivered" as const,
      reason: null,
    };
    expect(await applyReceipts(target, target.DB, owner, [receipt], Date.now())).toEqual([true]);
    // A duplicate, and a contradicting late one: the message is final, nothing moves.
    expect(await applyReceipts(target, target.DB, owner, [receipt], Date.now())).toEqual([false]);
    const late = { ...receipt, status: "undelivered" as const, reason: "late" };
    expect(await applyReceipts(target, target.DB, owner, [late], Date.now())).toEqual([false]);

    expect(await statusOf(message.id)).toBe("delivered");
    const rows = await deliveriesOf(endpoint.id);
    expect(rows.map((row) => [row.event_type, row.status])).toEqual([
      ["message.delivered", "pending"],
    ]);
    expect(payloadOf(rows[0] ?? { payload: "{}" }).data).toMatchObject({
      id: message.id,
      status: "delivered",
      status_reason: null,
      provider: "sandbox",
      provider_message_id: "sbx-801",
    });
    expect(jobs.map((job) => job.delivery_id)).toEqual(rows.map((row) => row.id));
  });

  it("writes the event of a receipt that beat the send in the batch that records the send, with the receipt's reason", async () => {
    const tenant = await createTenant();
    const endpoint = await createEndpoint(tenant, {
      events: ["message.sent", "message.delivered", "message.undelivered"],
    });
    const { env: target, jobs } = recordingEnv();
    const message = await claimed(tenant, "+8613800138802");
    const owner = { tenantId: tenant.id, provider: "sandbox" };
    const reason = 'UNDELIV: "blocked" \\ by the handset';
    const held = await holdReceipts(
      target,
      target.DB,
      owner,
      [{ providerMessageId: "sbx-802", status: "undelivered", reason }],
      Date.now(),
    );
    expect(held).toEqual({ changed: [false], recorded: [false] });
    expect(await deliveriesOf(endpoint.id)).toEqual([]);

    await recordSent(target, message, "sandbox", "sbx-802");
    expect(await statusOf(message.id)).toBe("undelivered");
    const rows = await deliveriesOf(endpoint.id);
    const byType = new Map(rows.map((row) => [row.event_type, payloadOf(row)]));
    expect([...byType.keys()].sort()).toEqual(["message.sent", "message.undelivered"]);
    expect(byType.get("message.undelivered")?.data).toMatchObject({
      id: message.id,
      status: "undelivered",
      status_reason: reason,
      provider: "sandbox",
    });
    expect(byType.get("message.sent")?.data).toMatchObject({ status: "sent", status_reason: null });
    expect(jobs).toHaveLength(2);
  });

  it("keeps an event whose queue send fails: its delivery is written, pending, for housekeeping to queue", async () => {
    const tenant = await createTenant();
    const endpoint = await createEndpoint(tenant, { events: ["message.failed"] });
    const { env: target } = recordingEnv(true);
    const message = await claimed(tenant, "+8613800138803");
    await expect(
      recordAttempts(target, target.DB, [
        {
          message,
          attempt: {
            attemptId: `att_${message.id.slice(4)}`,
            claimId: message.claimId ?? "",
            messageId: message.id,
            tenantId: tenant.id,
            attempt: message.attemptCount,
            provider: "sandbox",
            outcome: "permanent",
            reason: "21211: invalid number",
            providerMessageId: null,
            latencyMs: 10,
            createdAt: Date.now(),
          },
          change: { kind: "failed", reason: "21211: invalid number" },
        },
      ]),
    ).resolves.toBeUndefined();
    expect(await statusOf(message.id)).toBe("failed");
    const rows = await deliveriesOf(endpoint.id);
    expect(rows.map((row) => [row.event_type, row.status, row.attempt_count])).toEqual([
      ["message.failed", "pending", 0],
    ]);
  });

  it("expires overdue sent messages with their events, and says when the next one falls due", async () => {
    const tenant = await createTenant();
    const endpoint = await createEndpoint(tenant, { events: ["message.expired"] });
    const { env: target } = recordingEnv();
    const now = Date.now();
    const overdue = [
      await claimed(tenant, "+8613800138804"),
      await claimed(tenant, "+8613800138805"),
    ];
    const fresh = await claimed(tenant, "+8613800138806");
    for (const [message, sentAt] of [
      [overdue[0], now - 5_000],
      [overdue[1], now - 4_000],
      [fresh, now - 500],
    ] as const) {
      await env.DB.prepare(
        "UPDATE messages SET status = 'sent', provider = 'sandbox', sent_at = ? WHERE id = ?",
      )
        .bind(sentAt, message?.id ?? "")
        .run();
    }
    expect(await expireOverdue(target, target.DB, tenant.id, now, 2_000)).toBe(now - 500 + 2_000);
    expect(await statusOf(overdue[0]?.id ?? "")).toBe("expired");
    expect(await statusOf(overdue[1]?.id ?? "")).toBe("expired");
    expect(await statusOf(fresh.id)).toBe("sent");
    const rows = await deliveriesOf(endpoint.id);
    expect(rows.map((row) => payloadOf(row).data.id).sort()).toEqual(
      overdue.map((m) => m?.id).sort(),
    );
    expect(payloadOf(rows[0] ?? { payload: "{}" }).data).toMatchObject({
      status: "expired",
      status_reason: "no delivery receipt within 2 s of sending",
    });
  });

  it("claims a whole queue batch at once, past D1's 100 bound parameters per query", async () => {
    const tenant = await createTenant();
    // The dispatch queue delivers up to 100 messages a batch (wrangler.toml).
    const batch = Array.from({ length: 100 }, (_, i) =>
      outboxMessage(tenant.id, `+86138001${String(39000 + i).padStart(5, "0")}`, { mode: "live" }),
    );
    await logMessages(env.DB, batch);
    const ids = batch.map((m) => m.id);
    const rows = await claimForSending(
      env,
      env.DB,
      ids,
      "c-whole-batch",
      Date.now(),
      60_000,
      new Set(ids.slice(0, 3)),
    );
    expect(rows.map((r) => r.id).sort()).toEqual([...ids].sort());
    expect(new Set(rows.map((r) => r.status))).toEqual(new Set(["sending"]));
  });

  it("writes no move the status machine does not list", async () => {
    const tenant = await createTenant();
    const { env: target } = recordingEnv();
    const now = Date.now();
    // A message a consumer holds cannot be canceled, nor failed by a dead letter meanwhile.
    const sending = await claimed(tenant, "+8613800138807");
    expect(await cancelLogged(env, env.DB, { ids: [sending.id] }, now)).toBe(0);
    expect(await failUnlessDone(target, target.DB, sending.id, "dead-lettered", now)).toEqual({
      kind: "held",
      until: sending.claimedUntil,
    });
    expect(await statusOf(sending.id)).toBe("sending");
    // A delivered message stays delivered: no deadline, cancel or dead letter moves it back.
    const delivered = await claimed(tenant, "+8613800138808");
    await env.DB.prepare(
      "UPDATE messages SET status = 'delivered', sent_at = ?, claim_id = NULL WHERE id = ?",
    )
      .bind(now - 60_000, delivered.id)
      .run();
    expect(await cancelLogged(env, env.DB, { ids: [delivered.id] }, now)).toBe(0);
    expect(await failUnlessDone(target, target.DB, delivered.id, "dead-lettered", now)).toEqual({
      kind: "done",
    });
    await expireOverdue(target, target.DB, tenant.id, now, 2_000);
    expect(await claimForSending(env, env.DB, [delivered.id], "c-again", now, 60_000)).toEqual([]);
    expect(await statusOf(delivered.id)).toBe("delivered");
  });
});
