import { env } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { enforceRetention } from "../../src/delivery/retention";
import { REDACTED_BODY, retentionOf } from "../../src/domain/retention";
import { DAY_MS } from "../../src/domain/verification-limits";
import { newId } from "../../src/lib/ids";
import { createTenant } from "../support/tenants";

const NOW = Date.parse("2026-12-01T00:00:00.000Z");
const RETENTION = retentionOf({ bodiesDays: 30, messagesDays: 90, inboundDays: 60 });
const at = (days: number, ms = 0) => NOW - days * DAY_MS - ms;

async function insertWebchatMessage(tenantId: string, createdAt: number, body: string) {
  const id = newId("wcm", createdAt);
  await env.DB.prepare(
    `INSERT INTO webchat_messages (id, tenant_id, counterpart, body, sender, created_at)
     VALUES (?, ?, 'v_visitor', ?, 'agent', ?)`,
  )
    .bind(id, tenantId, body, createdAt)
    .run();
  return id;
}

async function insertConversation(tenantId: string, lastAt: number, body: string) {
  const id = newId("cnv", lastAt);
  await env.DB.prepare(
    `INSERT INTO conversations (id, tenant_id, channel, counterpart, last_message,
       last_activity_at, created_at) VALUES (?, ?, 'webchat', ?, ?, ?, ?)`,
  )
    .bind(
      id,
      tenantId,
      `v_${id}`,
      JSON.stringify({ direction: "inbound", body, at: lastAt }),
      lastAt,
      lastAt,
    )
    .run();
  return id;
}

async function insertEvent(
  tenantId: string,
  conversationId: string,
  type: string,
  when: number,
  detail: Record<string, unknown>,
) {
  const id = newId("cev", when);
  await env.DB.prepare(
    `INSERT INTO conversation_events (id, tenant_id, conversation_id, type, actor, detail, at)
     VALUES (?, ?, ?, ?, 'usr_x', ?, ?)`,
  )
    .bind(id, tenantId, conversationId, type, JSON.stringify(detail), when)
    .run();
  return id;
}

async function webchatBody(id: string) {
  const row = await env.DB.prepare("SELECT body FROM webchat_messages WHERE id = ?")
    .bind(id)
    .first<{ body: string }>();
  return row?.body ?? null;
}

async function eventDetail(id: string) {
  const row = await env.DB.prepare("SELECT detail FROM conversation_events WHERE id = ?")
    .bind(id)
    .first<{ detail: string }>();
  return row ? (JSON.parse(row.detail) as Record<string, unknown>) : null;
}

async function preview(id: string) {
  const row = await env.DB.prepare("SELECT last_message FROM conversations WHERE id = ?")
    .bind(id)
    .first<{ last_message: string }>();
  return row ? (JSON.parse(row.last_message) as Record<string, unknown>) : null;
}

describe("retention at the service desk", () => {
  it("redacts and deletes web chat messages to visitors by the send log's days, no sooner", async () => {
    const tenant = await createTenant();
    const other = await createTenant();
    const gone = await insertWebchatMessage(tenant.id, at(90, 1), "old answer");
    const edge = await insertWebchatMessage(tenant.id, at(90), "at the edge");
    const redacted = await insertWebchatMessage(tenant.id, at(30, 1), "your card ends 1234");
    const kept = await insertWebchatMessage(tenant.id, at(30), "still kept");
    const theirs = await insertWebchatMessage(other.id, at(100), "theirs");

    const round = await enforceRetention(env.DB, tenant.id, RETENTION, NOW);
    expect(round).toMatchObject({ webchatDeleted: 1, webchatRedacted: 2, more: false });
    expect(await webchatBody(gone)).toBeNull();
    expect(await webchatBody(edge)).toBe(REDACTED_BODY);
    expect(await webchatBody(redacted)).toBe(REDACTED_BODY);
    expect(await webchatBody(kept)).toBe("still kept");
    expect(await webchatBody(theirs)).toBe("theirs");

    const again = await enforceRetention(env.DB, tenant.id, RETENTION, NOW);
    expect(again).toMatchObject({ webchatDeleted: 0, webchatRedacted: 0 });
  });

  it("redacts notes' text and last-message previews, and keeps the moves, satisfaction and inspections reports read", async () => {
    const tenant = await createTenant();
    const other = await createTenant();
    const old = await insertConversation(tenant.id, at(30, 1), "my account is 6222…");
    // The inbound cutoff (60 days) is later than the bodies one here, so bodies decide.
    const recent = await insertConversation(tenant.id, at(30), "hello");
    const theirs = await insertConversation(other.id, at(100), "theirs");
    const oldNote = await insertEvent(tenant.id, old, "note", at(30, 1), { body: "called back" });
    const newNote = await insertEvent(tenant.id, old, "note", at(30), { body: "fresh note" });
    const move = await insertEvent(tenant.id, old, "state", at(200), { reason: "resolved" });
    const rating = await insertEvent(tenant.id, old, "satisfaction", at(200), { rating: 5 });
    const theirNote = await insertEvent(other.id, theirs, "note", at(100), { body: "their note" });
    await env.DB.prepare(
      `INSERT INTO inspections (id, tenant_id, conversation_id, agent_id, checklist_id,
         inspector_id, items, score, max_score, comment, created_at)
       VALUES (?, ?, ?, 'usr_a', 'chk_1', 'usr_i', '[]', 8, 10, 'polite', ?)`,
    )
      .bind(newId("isp", at(200)), tenant.id, old, at(200))
      .run();

    const round = await enforceRetention(env.DB, tenant.id, RETENTION, NOW);
    expect(round).toMatchObject({ notesRedacted: 1, previewsRedacted: 1, more: false });
    expect(await eventDetail(oldNote)).toEqual({ body: REDACTED_BODY });
    expect(await eventDetail(newNote)).toEqual({ body: "fresh note" });
    expect(await eventDetail(move)).toEqual({ reason: "resolved" });
    expect(await eventDetail(rating)).toEqual({ rating: 5 });
    expect(await eventDetail(theirNote)).toEqual({ body: "their note" });
    expect(await preview(old)).toEqual({
      direction: "inbound",
      body: REDACTED_BODY,
      at: at(30, 1),
    });
    expect(await preview(recent)).toMatchObject({ body: "hello" });
    expect(await preview(theirs)).toMatchObject({ body: "theirs" });
    const inspection = await env.DB.prepare(
      "SELECT score, comment FROM inspections WHERE tenant_id = ?",
    )
      .bind(tenant.id)
      .first();
    expect(inspection).toEqual({ score: 8, comment: "polite" });

    const again = await enforceRetention(env.DB, tenant.id, RETENTION, NOW);
    expect(again).toMatchObject({ notesRedacted: 0, previewsRedacted: 0 });
  });

  it("a preview is due by inbound_days when that comes before bodies_days", async () => {
    const tenant = await createTenant();
    const retention = retentionOf({ bodiesDays: 90, messagesDays: 90, inboundDays: 10 });
    const due = await insertConversation(tenant.id, at(10, 1), "old question");
    const kept = await insertConversation(tenant.id, at(10), "new question");
    await enforceRetention(env.DB, tenant.id, retention, NOW);
    expect(await preview(due)).toMatchObject({ body: REDACTED_BODY });
    expect(await preview(kept)).toMatchObject({ body: "new question" });
  });

  it("bounds each kind by the batch and says more is due", async () => {
    const tenant = await createTenant();
    for (let i = 0; i < 3; i++) {
      await insertWebchatMessage(tenant.id, at(40, i + 1), `answer ${i}`);
    }
    const first = await enforceRetention(env.DB, tenant.id, RETENTION, NOW, 2);
    expect(first).toMatchObject({ webchatRedacted: 2, more: true });
    const second = await enforceRetention(env.DB, tenant.id, RETENTION, NOW, 2);
    expect(second).toMatchObject({ webchatRedacted: 1, more: false });
  });
});
