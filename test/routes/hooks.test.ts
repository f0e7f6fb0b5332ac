import { env } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { logMessages } from "../../src/durable-objects/dispatcher/send-log";
import { outboxMessage, statusOf } from "../support/messages";
import { call, createTenant } from "../support/tenants";

function receipt(messageId: string, status: "delivered" | "undelivered", reason?: string) {
  return {
    method: "POST",
    body: JSON.stringify({
      message_id: messageId,
      provider_message_id: `sbx_${messageId}`,
      status,
      ...(reason ? { reason } : {}),
    }),
  };
}

async function sentMessage() {
  const tenant = await createTenant();
  const message = outboxMessage(tenant.id, "+8613800138200");
  await logMessages(env.DB, [message]);
  await env.DB.prepare(
    "UPDATE messages SET status = 'sent', provider = 'sandbox', provider_message_id = ? WHERE id = ?",
  )
    .bind(`sbx_${message.id}`, message.id)
    .run();
  const hook = `/hooks/sms/sandbox/${tenant.hookToken}/status`;
  return { tenant, message, hook };
}

describe("POST /hooks/sms/{provider}/{hook_token}/status", () => {
  it("moves a sent message to delivered", async () => {
    const { message, hook } = await sentMessage();
    const res = await call(hook, null, receipt(message.id, "delivered"));
    expect(res.status).toBe(200);
    expect(await statusOf(message.id)).toBe("delivered");
  });

  it("records undelivered with the carrier's reason", async () => {
    const { message, hook } = await sentMessage();
    await call(hook, null, receipt(message.id, "undelivered", "handset unreachable"));
    const row = await env.DB.prepare("SELECT status, status_reason FROM messages WHERE id = ?")
      .bind(message.id)
      .first();
    expect(row).toEqual({ status: "undelivered", status_reason: "handset unreachable" });
  });

  it("never moves a final status: a duplicate or out-of-order receipt is ignored", async () => {
    const { message, hook } = await sentMessage();
    await call(hook, null, receipt(message.id, "delivered"));
    const late = await call(hook, null, receipt(message.id, "undelivered", "late"));
    expect(late.status).toBe(200);
    expect(await statusOf(message.id)).toBe("delivered");
  });

  it("refuses an unknown hook token with 404 and changes nothing", async () => {
    const { message } = await sentMessage();
    const res = await call(
      "/hooks/sms/sandbox/not-a-real-token/status",
      null,
      receipt(message.id, "delivered"),
    );
    expect(res.status).toBe(404);
    expect(res.headers.get("content-type")).toBe("application/problem+json");
    expect(await statusOf(message.id)).toBe("sent");
  });

  it("refuses an unknown provider with 404", async () => {
    const { tenant, message } = await sentMessage();
    const res = await call(
      `/hooks/sms/nosuch/${tenant.hookToken}/status`,
      null,
      receipt(message.id, "delivered"),
    );
    expect(res.status).toBe(404);
  });

  it("cannot touch another tenant's message with its own token", async () => {
    const { message } = await sentMessage();
    const other = await createTenant();
    const res = await call(
      `/hooks/sms/sandbox/${other.hookToken}/status`,
      null,
      receipt(message.id, "delivered"),
    );
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ applied: 0, unknown: 1 });
    expect(await statusOf(message.id)).toBe("sent");
  });

  it("answers 200 for a receipt about an unknown message", async () => {
    const { hook } = await sentMessage();
    const res = await call(hook, null, receipt("msg_00000000000000000000000000", "delivered"));
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ applied: 0, unknown: 1 });
  });

  it("applies a batch of receipts in one post, counting each", async () => {
    const { tenant, message, hook } = await sentMessage();
    const second = outboxMessage(tenant.id, "+8613800138201");
    await logMessages(env.DB, [second]);
    await env.DB.prepare(
      "UPDATE messages SET status = 'delivered', provider = 'sandbox', provider_message_id = 'p2' WHERE id = ?",
    )
      .bind(second.id)
      .run();
    const body = JSON.stringify([
      { message_id: message.id, provider_message_id: `sbx_${message.id}`, status: "delivered" },
      { message_id: second.id, provider_message_id: "p2", status: "undelivered" },
      {
        message_id: "msg_00000000000000000000000000",
        provider_message_id: "p3",
        status: "delivered",
      },
    ]);
    const res = await call(hook, null, { method: "POST", body });
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ applied: 1, ignored: 1, unknown: 1 });
    expect(await statusOf(message.id)).toBe("delivered");
    expect(await statusOf(second.id)).toBe("delivered");
  });

  it("refuses a body it cannot read with 400 problem+json", async () => {
    const { message, hook } = await sentMessage();
    const res = await call(hook, null, { method: "POST", body: '{"status":"delivered"}' });
    expect(res.status).toBe(400);
    expect(((await res.json()) as { type: string }).type).toMatch(/validation-error$/);
    expect(await statusOf(message.id)).toBe("sent");
  });
});
