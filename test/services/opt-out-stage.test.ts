import { env } from "cloudflare:test";
import { eq } from "drizzle-orm";
import { describe, expect, it } from "vitest";
import { database } from "../../src/db/client";
import { inboundMessages, tenants } from "../../src/db/schema";
import { newId } from "../../src/lib/ids";
import { handleInbound } from "../../src/services/inbound/handling";
import { optOutStage, runOptOutStage } from "../../src/services/inbound/opt-out-stage";
import type { InboundRow } from "../../src/services/inbound/stage";
import { createTenant, eventually, postJson, type TestTenant } from "../support/tenants";

const CN_PHONE = "+8613800138555";
const US_PHONE = "+14155550123";
const ctx = { waitUntil: () => {} };

/** An inbound SMS stored as the inbound hook would store it. */
async function inbound(
  tenant: TestTenant,
  body: string,
  sender = CN_PHONE,
  channel: "sms" | "wechat" = "sms",
): Promise<InboundRow> {
  const now = Date.now();
  const row: InboundRow = {
    id: newId("inb", now),
    tenantId: tenant.id,
    channel,
    conversationId: newId("cnv", now),
    sender,
    recipient: "+8610690000",
    body,
    provider: "sandbox",
    providerMessageId: crypto.randomUUID(),
    raw: { body },
    handling: {},
    autoReplyMessageId: null,
    receivedAt: now,
  };
  await database(env.DB).insert(inboundMessages).values(row);
  return row;
}

const send = (tenant: TestTenant, to = CN_PHONE) =>
  tenant.api("/v1/messages", postJson({ to, body: "Your order shipped" }));

async function count(sql: string, ...bindings: unknown[]): Promise<number> {
  const row = await env.DB.prepare(sql)
    .bind(...bindings)
    .first<{ n: number }>();
  return row?.n ?? 0;
}

async function setConfirmation(tenant: TestTenant, texts: { zh?: string; en?: string }) {
  await database(env.DB)
    .update(tenants)
    .set({ optOutConfirmation: texts })
    .where(eq(tenants.id, tenant.id));
}

describe("the opt-out stage", () => {
  it("opts a number out on 退订 and back in on START: sends refused, then accepted again", async () => {
    const tenant = await createTenant();
    expect((await send(tenant)).status).toBe(202);

    const stop = await inbound(tenant, " 退订！");
    const handling = await handleInbound(env, stop, ctx, [optOutStage]);
    expect(handling).toMatchObject({ opt_out: { action: "opted_out" }, done: true });
    expect((await send(tenant)).status).toBe(422);
    const listed = await tenant.api("/v1/opt-outs");
    expect(await listed.json()).toMatchObject({
      data: [{ phone: CN_PHONE, source: "keyword", inbound_id: stop.id }],
    });

    const start = await inbound(tenant, "start");
    expect(await handleInbound(env, start, ctx, [optOutStage])).toMatchObject({
      opt_out: { action: "opted_in" },
    });
    expect((await send(tenant)).status).toBe(202);
    expect(await count("SELECT COUNT(*) AS n FROM opt_outs WHERE tenant_id = ?", tenant.id)).toBe(
      0,
    );
  });

  it("opts out on R to a marketing message, mixed case and full width included", async () => {
    for (const body of ["r", "ＴＤ", "Stop.", "UNSUBSCRIBE!!"]) {
      const tenant = await createTenant();
      const outcome = await runOptOutStage(env, await inbound(tenant, body));
      expect(outcome, body).toMatchObject({ result: { action: "opted_out" }, stop: true });
      expect((await send(tenant)).status, body).toBe(422);
    }
  });

  it("leaves a keyword inside a sentence, and WeChat messages, to the later stages", async () => {
    const tenant = await createTenant();
    for (const body of ["please stop sending", "我要退订", "yes I will come"]) {
      expect(await runOptOutStage(env, await inbound(tenant, body)), body).toEqual({});
    }
    expect(await runOptOutStage(env, await inbound(tenant, "STOP", "oOpenId", "wechat"))).toEqual(
      {},
    );
    expect((await send(tenant)).status).toBe(202);
    // The later stages do run for a message that is not a keyword, and not after one.
    const later = { name: "later", run: async () => ({ result: "ran" }) };
    const plain = await handleInbound(env, await inbound(tenant, "hello"), ctx, [
      optOutStage,
      later,
    ]);
    expect(plain.later).toBe("ran");
    const stop = await handleInbound(env, await inbound(tenant, "STOP"), ctx, [optOutStage, later]);
    expect(stop.later).toBeUndefined();
  });

  it("sends the confirmation once, in Chinese to a Chinese number, even though it opted out", async () => {
    const tenant = await createTenant();
    await setConfirmation(tenant, { zh: "您已退订", en: "You are unsubscribed" });
    const stop = await inbound(tenant, "TD");
    const first = await runOptOutStage(env, stop);
    const second = await runOptOutStage(env, stop);
    const id = (first.result as { confirmation: { message_id: string } }).confirmation.message_id;
    expect(id).toMatch(/^msg_/);
    expect(second.result).toEqual(first.result);
    const texts = await eventually(async () => {
      const { results } = await env.DB.prepare(
        "SELECT id, body FROM messages WHERE tenant_id = ? AND recipient = ?",
      )
        .bind(tenant.id, CN_PHONE)
        .all<{ id: string; body: string }>();
      return results.length > 0 ? results : undefined;
    });
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(texts).toHaveLength(1);
    expect(texts[0]?.id).toBe(id);
    expect(texts[0]?.body).toContain("您已退订");
    // A second STOP from a number already opted out gets no second confirmation.
    const again = await runOptOutStage(env, await inbound(tenant, "STOP"));
    expect(again.result).toEqual({ action: "already_opted_out" });
  });

  it("confirms in English to other numbers", async () => {
    const tenant = await createTenant();
    await setConfirmation(tenant, { zh: "您已退订", en: "You are unsubscribed" });
    const outcome = await runOptOutStage(env, await inbound(tenant, "stop", US_PHONE));
    const id = (outcome.result as { confirmation: { message_id: string } }).confirmation.message_id;
    const row = await eventually(async () =>
      env.DB.prepare("SELECT body FROM messages WHERE id = ?")
        .bind(id)
        .first<{ body: string }>()
        .then((r) => r ?? undefined),
    );
    expect(row.body).toBe("You are unsubscribed");
    expect((await send(tenant, US_PHONE)).status).toBe(422);
  });

  it("audits and emits the opt-out once when run twice", async () => {
    const tenant = await createTenant();
    const created = await tenant.api(
      "/v1/webhooks",
      postJson({
        url: "https://hooks.example.com/o",
        events: ["opt_out.created", "opt_out.removed"],
      }),
    );
    const { id: endpointId } = (await created.json()) as { id: string };
    const stop = await inbound(tenant, "STOP");
    await runOptOutStage(env, stop);
    await runOptOutStage(env, stop);
    const start = await inbound(tenant, "UNSTOP");
    await runOptOutStage(env, start);
    await runOptOutStage(env, start);

    const { results: entries } = await env.DB.prepare(
      "SELECT action, actor_type, actor_id FROM audit_entries WHERE tenant_id = ? AND action LIKE 'opt_out.%' ORDER BY seq",
    )
      .bind(tenant.id)
      .all();
    expect(entries).toEqual([
      { action: "opt_out.create", actor_type: "system", actor_id: "inbound" },
      { action: "opt_out.remove", actor_type: "system", actor_id: "inbound" },
    ]);
    const { results: events } = await env.DB.prepare(
      "SELECT event_type, payload FROM webhook_deliveries WHERE endpoint_id = ? ORDER BY event_type",
    )
      .bind(endpointId)
      .all<{ event_type: string; payload: string }>();
    expect(events.map((e) => e.event_type)).toEqual(["opt_out.created", "opt_out.removed"]);
    expect(JSON.parse(events[0]?.payload ?? "{}").data).toMatchObject({
      phone: CN_PHONE,
      source: "keyword",
      inbound_id: stop.id,
    });
  });

  it("keeps a number the tenant suppressed by hand suppressed when it says START", async () => {
    const tenant = await createTenant();
    expect((await tenant.api("/v1/opt-outs", postJson({ phone: CN_PHONE }))).status).toBe(201);
    const outcome = await runOptOutStage(env, await inbound(tenant, "START"));
    expect(outcome).toMatchObject({ result: { action: "still_suppressed" }, stop: true });
    expect((await send(tenant)).status).toBe(422);
  });

  it("opts a number out of one tenant only", async () => {
    const tenant = await createTenant();
    const other = await createTenant();
    await runOptOutStage(env, await inbound(tenant, "STOP"));
    expect((await send(tenant)).status).toBe(422);
    expect((await send(other)).status).toBe(202);
    expect(await other.api("/v1/opt-outs").then((r) => r.json())).toEqual({
      data: [],
      next_cursor: null,
    });
  });
});
