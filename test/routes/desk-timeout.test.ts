import {
  createExecutionContext,
  createMessageBatch,
  env,
  getQueueResult,
  runDurableObjectAlarm,
} from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { deskOf } from "../../src/delivery/desk";
import { deskSettingsOf } from "../../src/domain/desk";
import {
  consumeDeskAnswers,
  type DeskAnswerJobBody,
} from "../../src/services/desk/timeout-answers";
import { insertConversation } from "../support/conversations";
import { createTenant, eventually, type TestTenant } from "../support/tenants";
import { invite } from "../support/users";

const allDay = [{ start: "00:00", end: "24:00" }];
const DAYS = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"] as const;
const always = Object.fromEntries(DAYS.map((d) => [d, allDay]));
const ANSWER = "稍等，客服忙，我们会尽快回复";

async function enableDesk(tenant: TestTenant) {
  const res = await tenant.api("/v1/tenant", {
    method: "PATCH",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({
      desk: { enabled: true, working_hours: always, no_agent_answer: ANSWER },
    }),
  });
  expect(res.status).toBe(200);
}

async function answersTo(tenantId: string, recipient: string) {
  const { results } = await env.DB.prepare(
    "SELECT id, body FROM messages WHERE tenant_id = ? AND recipient = ?",
  )
    .bind(tenantId, recipient)
    .all<{ id: string; body: string }>();
  return results;
}

describe("a conversation that waits past max_queue_seconds", () => {
  it("gets the no-agent answer through its channel once, however often the job comes", async () => {
    const tenant = await createTenant();
    await enableDesk(tenant);
    const { user } = await invite(tenant, "agent");
    const desk = deskOf(env, tenant.id);
    const now = Date.now();
    // One agent with one slot, taken by the first customer: the second waits in the queue.
    await desk.setAgent({
      tenantId: tenant.id,
      userId: user.id,
      status: "online",
      capacity: 1,
      at: now,
    });
    const settings = {
      ...deskSettingsOf({ enabled: true, workingHours: always as never }),
      maxQueueSeconds: 10,
    };
    const [busy, waiting] = [
      await insertConversation(tenant.id, { counterpart: "+8613800000001" }),
      await insertConversation(tenant.id, { counterpart: "+8613800000002" }),
    ];
    for (const conversationId of [busy, waiting]) {
      await desk.handoff({
        tenantId: tenant.id,
        conversationId,
        channel: "sms",
        skill: null,
        settings,
        at: now - 20_000,
      });
    }
    await runDurableObjectAlarm(env.DESK.get(env.DESK.idFromName(`tenant:${tenant.id}`)));

    // The alarm's move enqueued the job; the inbound queue's consumer sent the answer.
    const sent = await eventually(
      async () => {
        const found = await answersTo(tenant.id, "+8613800000002");
        return found.length > 0 ? found : undefined;
      },
      10_000,
      "the no-agent answer",
    );
    expect(sent.map((m) => m.body)).toEqual([`【Relaybox】${ANSWER}`]);
    expect(await answersTo(tenant.id, "+8613800000001")).toEqual([]);
    const row = await env.DB.prepare(
      "SELECT desk_state, desk_version FROM conversations WHERE id = ?",
    )
      .bind(waiting)
      .first<{ desk_state: string; desk_version: number }>();
    expect(row?.desk_state).toBe("left_message");

    // The queue delivers the same job again (twice in one batch, and later): nothing more is sent.
    const job: DeskAnswerJobBody = {
      v: 1,
      kind: "desk_answer",
      tenant_id: tenant.id,
      conversation_id: waiting,
      version: row?.desk_version ?? -1,
    };
    const batch = createMessageBatch<DeskAnswerJobBody>("relaybox-inbound", [
      { id: "again-1", timestamp: new Date(), attempts: 2, body: job },
      { id: "again-2", timestamp: new Date(), attempts: 2, body: job },
    ]);
    const rest = await consumeDeskAnswers(batch.messages, env);
    expect(rest).toEqual([]);
    const result = await getQueueResult(batch, createExecutionContext());
    expect(result.explicitAcks.sort()).toEqual(["again-1", "again-2"]);
    expect(await answersTo(tenant.id, "+8613800000002")).toHaveLength(1);
  });

  it("sends nothing once an agent has taken the left message", async () => {
    const tenant = await createTenant();
    await enableDesk(tenant);
    const { user } = await invite(tenant, "agent");
    const desk = deskOf(env, tenant.id);
    const now = Date.now();
    const conversationId = await insertConversation(tenant.id, { counterpart: "+8613800000003" });
    const settings = deskSettingsOf({ enabled: true, workingHours: always as never });
    // No agent online: a left message at once; then an agent comes and takes it.
    await desk.handoff({
      tenantId: tenant.id,
      conversationId,
      channel: "sms",
      skill: null,
      settings,
      at: now,
    });
    await desk.setAgent({ tenantId: tenant.id, userId: user.id, status: "online", at: now });
    const taken = await desk.assign({
      tenantId: tenant.id,
      conversationId,
      channel: "sms",
      agentId: user.id,
      actor: user.id,
      reason: null,
      at: now,
    });
    expect(taken.ok).toBe(true);
    const batch = createMessageBatch<DeskAnswerJobBody>("relaybox-inbound", [
      {
        id: "late",
        timestamp: new Date(),
        attempts: 1,
        body: {
          v: 1,
          kind: "desk_answer",
          tenant_id: tenant.id,
          conversation_id: conversationId,
          version: 1,
        },
      },
    ]);
    await consumeDeskAnswers(batch.messages, env);
    expect(await answersTo(tenant.id, "+8613800000003")).toEqual([]);
  });
});
