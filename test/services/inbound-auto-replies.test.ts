import { env } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { autoReplyStage } from "../../src/services/inbound/auto-reply-stage";
import { handleInbound } from "../../src/services/inbound/handling";
import { inboundRow, noWait, storeInbound } from "../support/inbound";
import { approvedTemplate, PROMO_TEMPLATE } from "../support/templates";
import {
  createTenant,
  eventually,
  messageReaches,
  postJson,
  type TestTenant,
} from "../support/tenants";

const ALIYUN = {
  config: { access_key_id: "LTAI5tE2EKey", sign_name: "Relaybox", base_url: "https://aliyun.fake" },
  credentials: { access_key_secret: "aliyun-secret-e2e" },
};

async function addRule(tenant: TestTenant, rule: Record<string, unknown>): Promise<string> {
  const res = await tenant.api("/v1/auto-replies", postJson(rule));
  expect(res.status, await res.clone().text()).toBe(201);
  return ((await res.json()) as { id: string }).id;
}

async function sentTo(tenantId: string, to: string): Promise<{ id: string; body: string }[]> {
  const { results } = await env.DB.prepare(
    "SELECT id, body FROM messages WHERE tenant_id = ? AND recipient = ?",
  )
    .bind(tenantId, to)
    .all<{ id: string; body: string }>();
  return results;
}

describe("the auto-reply stage", () => {
  it("answers a keyword with the reply of the first matching rule, once, and records it", async () => {
    const tenant = await createTenant();
    const hours = await addRule(tenant, {
      match: "exact",
      keyword: "营业时间",
      reply: { type: "text", content: "每天9点到18点" },
      priority: 1,
    });
    await addRule(tenant, {
      match: "contains",
      keyword: "时间",
      reply: { type: "text", content: "later rule" },
      priority: 5,
    });
    const inbound = await storeInbound(tenant.id, { body: "  营业时间 " });
    const handling = await handleInbound(env, inbound, noWait, [autoReplyStage]);
    const result = handling.auto_reply as { rule_id: string; message_id: string };
    expect(result.rule_id).toBe(hours);
    const row = await inboundRow(inbound.id);
    expect(row?.autoReplyMessageId).toBe(result.message_id);
    const done = await messageReaches(tenant, result.message_id, "delivered");
    expect(done).toMatchObject({ to: inbound.sender, provider: "sandbox" });
    expect(String(done.body)).toContain("每天9点到18点");

    // Handling it again (a crash, a carrier's retry) sends nothing more.
    const again = await handleInbound(env, { ...inbound }, noWait, [autoReplyStage]);
    expect(again.auto_reply).toEqual(result);
    const fresh = await inboundRow(inbound.id);
    expect(fresh).toBeDefined();
    if (fresh) {
      expect((await handleInbound(env, fresh, noWait, [autoReplyStage])).auto_reply).toEqual(
        result,
      );
    }
    expect(await sentTo(tenant.id, inbound.sender)).toHaveLength(1);
  });

  it("sends nothing for a text no rule matches, and nothing for another tenant's rules", async () => {
    const tenant = await createTenant();
    const other = await createTenant();
    await addRule(other, {
      match: "contains",
      keyword: "help",
      reply: { type: "text", content: "x" },
    });
    await addRule(tenant, {
      match: "exact",
      keyword: "price",
      reply: { type: "text", content: "y" },
    });
    const inbound = await storeInbound(tenant.id, { body: "HELP me" });
    const handling = await handleInbound(env, inbound, noWait, [autoReplyStage]);
    expect(handling.auto_reply).toBeUndefined();
    expect((await inboundRow(inbound.id))?.autoReplyMessageId).toBeNull();
  });

  it("stops after 3 automatic replies to one number within the hour (two robots)", async () => {
    const tenant = await createTenant();
    await addRule(tenant, {
      match: "prefix",
      keyword: "auto",
      reply: { type: "text", content: "auto: ok" },
    });
    const from = "+8613900139001";
    const start = Date.now() - 30 * 60 * 1000;
    const results: Record<string, unknown>[] = [];
    for (let i = 0; i < 4; i++) {
      const inbound = await storeInbound(tenant.id, {
        from,
        body: `Auto reply ${i}`,
        receivedAt: start + i * 60_000,
      });
      results.push(await handleInbound(env, inbound, noWait, [autoReplyStage]));
    }
    expect(
      results
        .slice(0, 3)
        .every((h) => typeof (h.auto_reply as { message_id?: string }).message_id === "string"),
    ).toBe(true);
    expect(results[3]?.auto_reply).toMatchObject({ skipped: "loop_guard" });
    const ids = results.slice(0, 3).map((h) => (h.auto_reply as { message_id: string }).message_id);
    expect(new Set(ids).size).toBe(3);
    await eventually(async () => ((await sentTo(tenant.id, from)).length >= 3 ? true : undefined));
    expect(await sentTo(tenant.id, from)).toHaveLength(3);

    // An hour after the first three, the number gets replies again.
    const later = await storeInbound(tenant.id, {
      from,
      body: "auto again",
      receivedAt: start + 61 * 60_000 + 3 * 60_000,
    });
    const handling = await handleInbound(env, later, noWait, [autoReplyStage]);
    expect(handling.auto_reply).toHaveProperty("message_id");
  });

  it("answers only inside the rule's active window, in the tenant's zone", async () => {
    const tenant = await createTenant({ homeCountry: "CN" });
    await addRule(tenant, {
      match: "exact",
      keyword: "hi",
      reply: { type: "text", content: "office hours" },
      active_window: { days: [1, 2, 3, 4, 5], start: "09:00", end: "18:00" },
    });
    // Monday 2026-12-07 10:00 in Shanghai (02:00 UTC), then Saturday 2026-12-12 10:00.
    const monday = await storeInbound(tenant.id, {
      body: "hi",
      from: "+8613700137001",
      receivedAt: Date.parse("2026-12-07T02:00:00Z"),
    });
    const saturday = await storeInbound(tenant.id, {
      body: "hi",
      from: "+8613700137002",
      receivedAt: Date.parse("2026-12-12T02:00:00Z"),
    });
    expect((await handleInbound(env, monday, noWait, [autoReplyStage])).auto_reply).toHaveProperty(
      "message_id",
    );
    expect(
      (await handleInbound(env, saturday, noWait, [autoReplyStage])).auto_reply,
    ).toBeUndefined();
  });

  it("skips a reply routed only to Aliyun when its template has no Aliyun code, and says why", async () => {
    const tenant = await createTenant();
    const put = await tenant.api("/v1/providers/aliyun", {
      method: "PUT",
      body: JSON.stringify(ALIYUN),
    });
    expect(put.status).toBeLessThan(300);
    await tenant.api(
      "/v1/routes",
      postJson({ destination: "CN", providers: [{ provider: "aliyun" }] }),
    );
    const templateId = await approvedTemplate(tenant, PROMO_TEMPLATE);
    const textRule = await addRule(tenant, {
      match: "exact",
      keyword: "text",
      reply: { type: "text", content: "hello" },
    });
    await addRule(tenant, {
      match: "exact",
      keyword: "promo",
      reply: { type: "template", template_id: templateId, variables: { name: "Li" } },
    });

    const promo = await storeInbound(tenant.id, { body: "PROMO", from: "+8613600136001" });
    const skipped = await handleInbound(env, promo, noWait, [autoReplyStage]);
    expect(skipped.auto_reply).toMatchObject({ skipped: "unsendable" });
    expect(String((skipped.auto_reply as { reason: string }).reason)).toMatch(
      new RegExp(`aliyun.*${templateId}.*provider-codes`),
    );
    const text = await storeInbound(tenant.id, { body: "text", from: "+8613600136002" });
    expect((await handleInbound(env, text, noWait, [autoReplyStage])).auto_reply).toMatchObject({
      rule_id: textRule,
      skipped: "unsendable",
    });
    expect(await sentTo(tenant.id, "+8613600136001")).toHaveLength(0);
    expect((await inboundRow(promo.id))?.handling).toMatchObject({
      auto_reply: { skipped: "unsendable" },
    });

    // With the template's Aliyun code, the same keyword gets its reply.
    await tenant.api(`/v1/templates/${templateId}/provider-codes`, {
      method: "PUT",
      body: JSON.stringify({ aliyun: "SMS_154950909" }),
    });
    const coded = await storeInbound(tenant.id, { body: "promo", from: "+8613600136003" });
    expect((await handleInbound(env, coded, noWait, [autoReplyStage])).auto_reply).toHaveProperty(
      "message_id",
    );
  });
});
