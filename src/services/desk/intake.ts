/**
 * What the desk does with an inbound message (SMS through the inbound stages, WeChat from its
 * webhook), in the precedence of domain/desk: opt-out keywords are handled before any of this;
 * then handoff keywords (and the WeChat menu keys the tenant names) hand off at once; a
 * conversation already with people gets the message and the robot stays quiet; then the robot's
 * auto-replies; then, after a resolution, a satisfaction digit (recorded when the survey is on);
 * a message the robot had no answer for hands off. A handoff outside working hours or with no
 * agent online is a left message (留言), answered automatically on the same channel.
 */
import { eq } from "drizzle-orm";
import { database } from "../../db/client";
import { conversations, tenants } from "../../db/schema";
import { deskOf, recordConversationEvent } from "../../delivery/desk";
import {
  type DeskSettings,
  type DeskState,
  decideAfterRobot,
  decideBeforeRobot,
  deskSettingsOf,
} from "../../domain/desk";
import { TtlCache } from "../../lib/ttl-cache";

/** A settings change reaches other isolates within this time. */
const settingsCache = new TtlCache<string, DeskSettings>({ ttlMs: 5_000, maxEntries: 10_000 });

export async function deskSettingsFor(
  env: Env,
  tenantId: string,
  now: number = Date.now(),
): Promise<DeskSettings> {
  const cached = settingsCache.get(tenantId, now);
  if (cached) {
    return cached;
  }
  const row = await database(env.DB)
    .select({ desk: tenants.desk })
    .from(tenants)
    .where(eq(tenants.id, tenantId))
    .get();
  const settings = deskSettingsOf(row?.desk);
  settingsCache.set(tenantId, settings, now);
  return settings;
}

/** Forgets this isolate's copy (after a change made here). */
export function forgetDeskSettings(tenantId: string): void {
  settingsCache.delete(tenantId);
}

export interface DeskInbound {
  tenantId: string;
  conversationId: string;
  channel: string;
  text: string | null;
  menuKey: string | null;
  /** The message as live events show it. */
  message: Record<string, unknown>;
  at: number;
}

export type DeskOutcome =
  | { kind: "none" }
  | { kind: "to_people"; state: DeskState | null }
  | { kind: "handoff"; state: DeskState; agentId: string | null; answer: string | null }
  | { kind: "satisfaction"; score: number };

async function stateOf(env: Env, tenantId: string, conversationId: string): Promise<DeskState> {
  const row = await database(env.DB)
    .select({ state: conversations.deskState, tenantId: conversations.tenantId })
    .from(conversations)
    .where(eq(conversations.id, conversationId))
    .get();
  return row && row.tenantId === tenantId ? row.state : "bot";
}

async function handoff(env: Env, m: DeskInbound, settings: DeskSettings): Promise<DeskOutcome> {
  const desk = deskOf(env, m.tenantId);
  const placed = await desk.handoff({
    tenantId: m.tenantId,
    conversationId: m.conversationId,
    channel: m.channel,
    skill: null,
    settings,
    at: m.at,
  });
  await desk.customerWrote({
    tenantId: m.tenantId,
    conversationId: m.conversationId,
    message: m.message,
    at: m.at,
  });
  return { kind: "handoff", state: placed.state, agentId: placed.agentId, answer: placed.answer };
}

/** Before the robot: a handoff keyword or menu key, or a conversation with people already. */
export async function deskBeforeRobot(env: Env, m: DeskInbound): Promise<DeskOutcome> {
  const settings = await deskSettingsFor(env, m.tenantId, m.at);
  if (!settings.enabled) {
    return { kind: "none" };
  }
  const state = await stateOf(env, m.tenantId, m.conversationId);
  const decision = decideBeforeRobot(settings, state, { text: m.text, menuKey: m.menuKey });
  if (decision.kind === "to_people") {
    const wrote = await deskOf(env, m.tenantId).customerWrote({
      tenantId: m.tenantId,
      conversationId: m.conversationId,
      message: m.message,
      at: m.at,
    });
    return { kind: "to_people", state: wrote.state };
  }
  if (decision.kind === "handoff") {
    return handoff(env, m, settings);
  }
  return { kind: "none" };
}

/** After the robot: a satisfaction digit after a resolution, or a handoff for its silence. */
export async function deskAfterRobot(
  env: Env,
  m: DeskInbound,
  robotAnswered: boolean,
): Promise<DeskOutcome> {
  const settings = await deskSettingsFor(env, m.tenantId, m.at);
  if (!settings.enabled) {
    return { kind: "none" };
  }
  const state = await stateOf(env, m.tenantId, m.conversationId);
  const decision = decideAfterRobot(settings, state, { text: m.text, robotAnswered });
  if (decision.kind === "satisfaction") {
    await recordConversationEvent(env, {
      tenantId: m.tenantId,
      conversationId: m.conversationId,
      type: "satisfaction",
      actor: "customer",
      detail: { score: decision.score },
      at: m.at,
    });
    await env.DB.prepare("UPDATE conversations SET satisfaction = ? WHERE id = ? AND tenant_id = ?")
      .bind(decision.score, m.conversationId, m.tenantId)
      .run();
    return decision;
  }
  if (decision.kind === "handoff") {
    return handoff(env, m, settings);
  }
  return { kind: "none" };
}
