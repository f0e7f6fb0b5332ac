import { env, runDurableObjectAlarm } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { dispatcherOf } from "../../src/delivery/dispatcher";
import { inboundEventData } from "../../src/delivery/inbound-store";
import { enforceRetention } from "../../src/delivery/retention";
import { emitEvents } from "../../src/delivery/webhook-events";
import { REDACTED_BODY, retentionOf } from "../../src/domain/retention";
import { DAY_MS } from "../../src/domain/verification-limits";
import type { WebhookEvent } from "../../src/domain/vocabulary";
import { newId } from "../../src/lib/ids";
import { enforceRetentionEverywhere } from "../../src/services/messaging/retention";
import { storeInbound } from "../support/inbound";
import { insertMessage } from "../support/message-rows";
import { createTenant, eventually, postJson } from "../support/tenants";
import { createEndpoint, deliveriesOf, messageEvent } from "../support/webhooks";

/** The test env without a webhook queue: deliveries are written, nothing tries to send them. */
const quietEnv = {
  ...env,
  WEBHOOK_QUEUE: { send: async () => undefined, sendBatch: async () => undefined },
} as unknown as Env;

const NOW = Date.parse("2026-12-01T00:00:00.000Z");
const RETENTION = retentionOf({ bodiesDays: 30, messagesDays: 90, inboundDays: 60 });

async function row(id: string) {
  return env.DB.prepare(
    "SELECT body, template_params, payload, metadata, status FROM messages WHERE id = ?",
  )
    .bind(id)
    .first<{ body: string; template_params: string | null; payload: string | null }>();
}

async function attempts(id: string): Promise<number> {
  const found = await env.DB.prepare(
    "SELECT COUNT(*) AS n FROM message_attempts WHERE message_id = ?",
  )
    .bind(id)
    .first<{ n: number }>();
  return found?.n ?? 0;
}

/** A keyword query record of the tenant, asked `askedAt` (its message came 1 s before). */
async function insertQuery(tenantId: string, askedAt: number): Promise<string> {
  const id = newId("qry", askedAt - 1000);
  await env.DB.prepare(
    `INSERT INTO keyword_queries (id, tenant_id, rule_id, channel, endpoint_id, status, latency_ms, asked_at)
     VALUES (?, ?, NULL, 'sms', 'we_test', 'answered', 12, ?)`,
  )
    .bind(id, tenantId, askedAt)
    .run();
  return id;
}

async function queriesOf(tenantId: string): Promise<string[]> {
  const { results } = await env.DB.prepare(
    "SELECT id FROM keyword_queries WHERE tenant_id = ? ORDER BY id",
  )
    .bind(tenantId)
    .all<{ id: string }>();
  return results.map((r) => r.id);
}

async function inboundExists(id: string): Promise<boolean> {
  return (
    (await env.DB.prepare("SELECT 1 FROM inbound_messages WHERE id = ?").bind(id).first()) !== null
  );
}

describe("retention", () => {
  it("redacts bodies and deletes messages and inbound messages strictly past their days, no sooner", async () => {
    const tenant = await createTenant();
    const other = await createTenant();
    const at = (days: number, ms = 0) => NOW - days * DAY_MS - ms;
    const params = [{ name: "code", value: "123456" }];
    const gone = await insertMessage(tenant.id, { at: at(90, 1), attempt: true });
    const edge = await insertMessage(tenant.id, {
      at: at(90),
      attempt: true,
      body: "at the edge",
      templateParams: params,
    });
    const redacted = await insertMessage(tenant.id, {
      at: at(30, 1),
      body: "secret",
      templateParams: params,
      payload: { touser: "o1" },
      metadata: { order: "42" },
    });
    const kept = await insertMessage(tenant.id, { at: at(30), body: "still kept" });
    // Still on its way (a retry after an outage): its body and row are needed.
    const sending = await insertMessage(tenant.id, { at: at(100), status: "sending", body: "wip" });
    const othersOld = await insertMessage(other.id, { at: at(100), body: "theirs" });
    const inboundGone = await storeInbound(tenant.id, { body: "old", receivedAt: at(60, 1) });
    const inboundKept = await storeInbound(tenant.id, { body: "edge", receivedAt: at(60) });

    const round = await enforceRetention(env.DB, tenant.id, RETENTION, NOW);
    expect(round).toEqual({
      redacted: 2,
      deleted: 1,
      inboundDeleted: 1,
      deliveriesRedacted: 0,
      queriesDeleted: 0,
      webchatRedacted: 0,
      webchatDeleted: 0,
      notesRedacted: 0,
      previewsRedacted: 0,
      more: false,
    });

    expect(await row(gone)).toBeNull();
    expect(await attempts(gone)).toBe(0);
    expect(await row(edge)).toMatchObject({ body: REDACTED_BODY, template_params: null });
    expect(await attempts(edge)).toBe(1);
    expect(await row(redacted)).toMatchObject({
      body: REDACTED_BODY,
      template_params: null,
      payload: null,
      metadata: '{"order":"42"}',
      status: "delivered",
    });
    expect(await row(kept)).toMatchObject({ body: "still kept" });
    expect(await row(sending)).toMatchObject({ body: "wip", status: "sending" });
    expect(await row(othersOld)).toMatchObject({ body: "theirs" });
    expect(await inboundExists(inboundGone.id)).toBe(false);
    expect(await inboundExists(inboundKept.id)).toBe(true);

    // Nothing more is due: a second round changes nothing.
    expect(await enforceRetention(env.DB, tenant.id, RETENTION, NOW)).toEqual({
      redacted: 0,
      deleted: 0,
      inboundDeleted: 0,
      deliveriesRedacted: 0,
      queriesDeleted: 0,
      webchatRedacted: 0,
      webchatDeleted: 0,
      notesRedacted: 0,
      previewsRedacted: 0,
      more: false,
    });
  });

  it("takes message text out of webhook delivery payloads when its body or its inbound message is due", async () => {
    const tenant = await createTenant();
    const other = await createTenant();
    const events: WebhookEvent[] = ["inbound.received", "message.delivered"];
    const endpoint = await createEndpoint(tenant, { events });
    const othersEndpoint = await createEndpoint(other, { events });
    const at = (days: number, ms = 0) => NOW - days * DAY_MS - ms;
    /** An inbound message and its `inbound.received` delivery, made when it came. */
    const received = async (tenantId: string, body: string, when: number) => {
      const row = await storeInbound(tenantId, { body, receivedAt: when });
      await emitEvents(
        quietEnv,
        [
          {
            type: "inbound.received",
            tenantId,
            messageId: row.id,
            occurredAt: when,
            data: inboundEventData(row),
          },
        ],
        when,
      );
      return row;
    };
    const pastInbound = await received(tenant.id, "gone with its message", at(60, 1));
    const pastBody = await received(tenant.id, "text past 30 days", at(30, 1));
    const kept = await received(tenant.id, "within both", at(30));
    const others = await received(other.id, "another tenant's", at(100));
    // A sent message's event (its body past due too) carries no text to take out.
    const sent = await insertMessage(tenant.id, { at: at(30, 1), body: "a sent text" });
    await emitEvents(quietEnv, [{ ...messageEvent(tenant, "message.delivered", sent) }], at(30, 1));

    const payloads = async (endpointId: string) =>
      new Map(
        (await deliveriesOf(endpointId)).map((d) => {
          const payload = JSON.parse(d.payload) as { data: { id: string; body?: string } };
          return [payload.data.id, payload.data.body];
        }),
      );
    const before = await payloads(endpoint.id);
    expect(before.get(pastBody.id)).toBe("text past 30 days");
    expect(before.has(sent)).toBe(true);
    expect(before.get(sent)).toBeUndefined();

    const round = await enforceRetention(env.DB, tenant.id, RETENTION, NOW);
    expect(round).toMatchObject({ inboundDeleted: 1, deliveriesRedacted: 2, more: false });
    const after = await payloads(endpoint.id);
    expect(after.get(pastInbound.id)).toBe(REDACTED_BODY);
    expect(after.get(pastBody.id)).toBe(REDACTED_BODY);
    expect(after.get(kept.id)).toBe("within both");
    expect(after.get(sent)).toBeUndefined();
    expect((await payloads(othersEndpoint.id)).get(others.id)).toBe("another tenant's");
    // The payload stays the event it was, less the text.
    const [delivery] = (await deliveriesOf(endpoint.id)).filter((d) =>
      d.payload.includes(pastBody.id),
    );
    expect(JSON.parse(delivery?.payload ?? "{}")).toMatchObject({
      type: "inbound.received",
      data: { id: pastBody.id, from: pastBody.sender, body: REDACTED_BODY },
    });
    expect(await enforceRetention(env.DB, tenant.id, RETENTION, NOW)).toMatchObject({
      deliveriesRedacted: 0,
    });
  });

  it("leaves no copy of a redacted message's body in its webhook deliveries (DELETE /v1/messages/{id}/body)", async () => {
    const tenant = await createTenant();
    const endpoint = await createEndpoint(tenant, {
      events: ["message.sent", "message.delivered", "message.failed", "message.undelivered"],
    });
    const sent = await tenant.api(
      "/v1/messages",
      postJson({ to: "+8613800138000", body: "a private word 4711" }),
    );
    expect(sent.status, await sent.clone().text()).toBe(202);
    const { id } = (await sent.json()) as { id: string };
    const deliveries = await eventually(async () => {
      const rows = (await deliveriesOf(endpoint.id)).filter((d) => d.payload.includes(id));
      return rows.some((d) => d.event_type !== "message.sent") ? rows : undefined;
    }, 10_000);
    const redacted = await tenant.api(`/v1/messages/${id}/body`, { method: "DELETE" });
    expect(redacted.status, await redacted.clone().text()).toBe(200);
    for (const d of [...deliveries, ...(await deliveriesOf(endpoint.id))]) {
      expect(d.payload).not.toContain("private word");
    }
  });

  it("works in bounded batches, saying when more may be due", async () => {
    const tenant = await createTenant();
    for (let i = 0; i < 7; i++) {
      await insertMessage(tenant.id, { at: NOW - 100 * DAY_MS - i, attempt: true });
    }
    const rounds = [];
    for (let i = 0; i < 3; i++) {
      rounds.push(await enforceRetention(env.DB, tenant.id, RETENTION, NOW, 3));
    }
    expect(rounds.map((r) => [r.deleted, r.more])).toEqual([
      [3, true],
      [3, true],
      [1, false],
    ]);
    const left = await env.DB.prepare("SELECT COUNT(*) AS n FROM messages WHERE tenant_id = ?")
      .bind(tenant.id)
      .first<{ n: number }>();
    expect(left?.n).toBe(0);
  });

  it("deletes keyword query records past messages_days, in bounded batches, the tenant's alone", async () => {
    const tenant = await createTenant();
    const other = await createTenant();
    const at = (days: number, ms = 0) => NOW - days * DAY_MS - ms;
    const due = [];
    for (let i = 0; i < 5; i++) {
      due.push(await insertQuery(tenant.id, at(90, 1 + i)));
    }
    const edge = await insertQuery(tenant.id, at(90));
    const recent = await insertQuery(tenant.id, at(1));
    const others = await insertQuery(other.id, at(200));

    const rounds = [];
    for (let i = 0; i < 3; i++) {
      rounds.push(await enforceRetention(env.DB, tenant.id, RETENTION, NOW, 2));
    }
    expect(rounds.map((r) => [r.queriesDeleted, r.more])).toEqual([
      [2, true],
      [2, true],
      [1, false],
    ]);
    expect(await queriesOf(tenant.id)).toEqual([edge, recent].sort());
    expect(await queriesOf(other.id)).toEqual([others]);

    // The cron run counts them too.
    const run = await enforceRetentionEverywhere(env, NOW + 365 * DAY_MS);
    expect(run.queriesDeleted).toBeGreaterThanOrEqual(3);
    expect(await queriesOf(tenant.id)).toEqual([]);
    expect(await queriesOf(other.id)).toEqual([]);
  });

  it("keeps the audit log whole while deleting a tenant's old messages", async () => {
    const tenant = await createTenant();
    const res = await tenant.api("/v1/tenant", {
      method: "PATCH",
      body: JSON.stringify({ retention: { bodies_days: 1, messages_days: 1, inbound_days: 1 } }),
    });
    expect(res.status).toBe(200);
    await insertMessage(tenant.id, { at: Date.now() - 2 * DAY_MS });
    await enforceRetentionEverywhere(env, Date.now() + 10 * DAY_MS);
    const audit = await env.DB.prepare(
      "SELECT COUNT(*) AS n FROM audit_entries WHERE tenant_id = ?",
    )
      .bind(tenant.id)
      .first<{ n: number }>();
    expect(audit?.n).toBe(1);
  });

  it("cron does bounded rounds per tenant and hands a backlog to the tenant's dispatcher alarm", async () => {
    const tenant = await createTenant();
    const now = Date.now();
    const ids = [];
    for (let i = 0; i < 5; i++) {
      ids.push(await insertMessage(tenant.id, { at: now - 200 * DAY_MS - i }));
    }
    const run = await enforceRetentionEverywhere(env, now, { roundsPerTenant: 1, batch: 2 });
    expect(run.handedOver).toContain(tenant.id);
    const count = async () =>
      (
        await env.DB.prepare("SELECT COUNT(*) AS n FROM messages WHERE tenant_id = ?")
          .bind(tenant.id)
          .first<{ n: number }>()
      )?.n;
    expect(await count()).toBe(3);
    // The dispatcher's alarm (what runs under `wrangler dev`) takes the rest, and, done, sets no
    // further alarm for it.
    expect(await runDurableObjectAlarm(dispatcherOf(env, tenant.id))).toBe(true);
    expect(await count()).toBe(0);
    expect(await runDurableObjectAlarm(dispatcherOf(env, tenant.id))).toBe(false);
  });

  it("is enforced locally by the dispatcher's alarm once the tenant sends, with no cron", async () => {
    const tenant = await createTenant();
    const old = await insertMessage(tenant.id, { at: Date.now() - 181 * DAY_MS });
    const young = await insertMessage(tenant.id, { at: Date.now() - 179 * DAY_MS });
    const res = await tenant.api("/v1/messages", postJson({ to: "+8613800138000", body: "hi" }));
    expect(res.status).toBe(202);
    await eventually(
      async () => ((await row(old)) === null ? true : undefined),
      10_000,
      "retention",
    );
    expect(await row(young)).toMatchObject({ body: "hello" });
  });
});

describe("PATCH /v1/tenant retention", () => {
  it("shows 180 days each by default and changes the members given, audited", async () => {
    const tenant = await createTenant();
    const before = (await (await tenant.api("/v1/tenant")).json()) as Record<string, unknown>;
    expect(before.retention).toEqual({ bodies_days: 180, messages_days: 180, inbound_days: 180 });
    const res = await tenant.api("/v1/tenant", {
      method: "PATCH",
      body: JSON.stringify({ retention: { bodies_days: 30 } }),
    });
    expect(res.status).toBe(200);
    const after = (await res.json()) as Record<string, unknown>;
    expect(after.retention).toEqual({ bodies_days: 30, messages_days: 180, inbound_days: 180 });
    const audit = await env.DB.prepare(
      "SELECT action, diff FROM audit_entries WHERE tenant_id = ? ORDER BY seq DESC LIMIT 1",
    )
      .bind(tenant.id)
      .first<{ action: string; diff: string }>();
    expect(audit?.action).toBe("tenant.update");
    expect(JSON.parse(audit?.diff ?? "{}")).toEqual({
      retention: {
        from: { bodiesDays: 180, messagesDays: 180, inboundDays: 180 },
        to: { bodiesDays: 30, messagesDays: 180, inboundDays: 180 },
      },
    });
  });

  it("refuses bodies kept longer than messages (422) and days out of range (400)", async () => {
    const tenant = await createTenant();
    const patch = (retention: unknown) =>
      tenant.api("/v1/tenant", { method: "PATCH", body: JSON.stringify({ retention }) });
    const refused = await patch({ messages_days: 90 });
    expect(refused.status).toBe(422);
    expect(((await refused.json()) as { errors: { pointer: string }[] }).errors).toEqual([
      expect.objectContaining({ pointer: "/retention/bodies_days" }),
    ]);
    expect((await patch({ bodies_days: 200 })).status).toBe(422);
    expect((await patch({ bodies_days: 0 })).status).toBe(400);
    expect((await patch({ inbound_days: 3651 })).status).toBe(400);
    expect((await patch({ messages_days: 90, bodies_days: 90 })).status).toBe(200);
  });
});
