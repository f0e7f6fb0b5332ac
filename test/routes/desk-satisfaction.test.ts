import { createMessageBatch, env } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { deskOf } from "../../src/delivery/desk";
import { deskSettingsOf } from "../../src/domain/desk";
import {
  consumeDeskAnswers,
  type DeskAnswerJobBody,
} from "../../src/services/desk/timeout-answers";
import { insertConversation } from "../support/conversations";
import { createTenant, eventually, postJson, type TestTenant } from "../support/tenants";
import { invite } from "../support/users";

const allDay = [{ start: "00:00", end: "24:00" }];
const DAYS = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"] as const;
const always = Object.fromEntries(DAYS.map((d) => [d, allDay]));

async function patchDesk(tenant: TestTenant, desk: Record<string, unknown>) {
  const res = await tenant.api("/v1/tenant", {
    method: "PATCH",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ desk: { enabled: true, working_hours: always, ...desk } }),
  });
  expect(res.status).toBe(200);
  return (await res.json()) as { desk: Record<string, unknown> };
}

async function messagesTo(tenantId: string, recipient: string) {
  const { results } = await env.DB.prepare(
    "SELECT body FROM messages WHERE tenant_id = ? AND recipient = ?",
  )
    .bind(tenantId, recipient)
    .all<{ body: string }>();
  return results.map((r) => r.body);
}

/** A conversation handed to an online agent, then resolved through the API. */
async function resolvedOne(tenant: TestTenant, counterpart: string) {
  const { user } = await invite(tenant, "agent");
  const desk = deskOf(env, tenant.id);
  const now = Date.now();
  await desk.setAgent({ tenantId: tenant.id, userId: user.id, status: "online", at: now });
  const id = await insertConversation(tenant.id, { counterpart });
  await desk.handoff({
    tenantId: tenant.id,
    conversationId: id,
    channel: "sms",
    skill: null,
    settings: deskSettingsOf({ enabled: true, workingHours: always as never }),
    at: now,
  });
  const res = await tenant.api(`/v1/conversations/${id}/resolve`, postJson({}));
  expect(res.status).toBe(200);
  return id;
}

describe("the satisfaction question", () => {
  it("is asked once after a resolution, in the tenant's words, however often the job comes", async () => {
    const tenant = await createTenant();
    const view = await patchDesk(tenant, {
      satisfaction_survey: true,
      satisfaction_question: "满意吗？回复1-5",
    });
    expect(view.desk).toMatchObject({
      satisfaction_question: "满意吗？回复1-5",
      inspection_sample_percent: 10,
    });
    const id = await resolvedOne(tenant, "+8613800000011");
    const sent = await eventually(
      async () => {
        const found = await messagesTo(tenant.id, "+8613800000011");
        return found.length > 0 ? found : undefined;
      },
      10_000,
      "the satisfaction question",
    );
    expect(sent).toEqual(["【Relaybox】满意吗？回复1-5"]);
    const row = await env.DB.prepare("SELECT desk_version FROM conversations WHERE id = ?")
      .bind(id)
      .first<{ desk_version: number }>();
    const job: DeskAnswerJobBody = {
      v: 1,
      kind: "desk_answer",
      tenant_id: tenant.id,
      conversation_id: id,
      version: row?.desk_version ?? -1,
      answer: "satisfaction",
    };
    const batch = createMessageBatch<DeskAnswerJobBody>("relaybox-inbound", [
      { id: "again-1", timestamp: new Date(), attempts: 2, body: job },
      { id: "again-2", timestamp: new Date(), attempts: 2, body: job },
    ]);
    await consumeDeskAnswers(batch.messages, env);
    expect(await messagesTo(tenant.id, "+8613800000011")).toHaveLength(1);
  });

  it("asks in the tenant's language by default, and not at all when the survey is off", async () => {
    const tenant = await createTenant({ homeCountry: "CN" });
    await patchDesk(tenant, { satisfaction_survey: true });
    await resolvedOne(tenant, "+8613800000012");
    const sent = await eventually(
      async () => {
        const found = await messagesTo(tenant.id, "+8613800000012");
        return found.length > 0 ? found : undefined;
      },
      10_000,
      "the default question",
    );
    expect(sent[0]).toMatch(/请为本次服务评分/);

    const quiet = await createTenant();
    await patchDesk(quiet, { satisfaction_survey: false });
    const id = await resolvedOne(quiet, "+8613800000013");
    const batch = createMessageBatch<DeskAnswerJobBody>("relaybox-inbound", [
      {
        id: "off",
        timestamp: new Date(),
        attempts: 1,
        body: {
          v: 1,
          kind: "desk_answer",
          tenant_id: quiet.id,
          conversation_id: id,
          version: 99,
          answer: "satisfaction",
        },
      },
    ]);
    await consumeDeskAnswers(batch.messages, env);
    expect(await messagesTo(quiet.id, "+8613800000013")).toEqual([]);
  });
});
