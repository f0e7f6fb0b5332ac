/**
 * Quality inspection: the tenant's checklists (`desk:inspect`, audited), scores of resolved
 * conversations against them (one per conversation and checklist, audited), the sampled queue
 * (domain/inspection's rule over the desk's resolutions) and the scores themselves, which an
 * inspector reads for every agent and anyone else only for themself.
 */
import { and, desc, eq, isNull, lt } from "drizzle-orm";
import { database } from "../../db/client";
import { inspectionChecklists, inspections } from "../../db/schema";
import { actorOf, type Caller } from "../../domain/caller";
import { dayIn } from "../../domain/desk-reports";
import {
  type ChecklistItem,
  MAX_CHECKLIST_ITEMS,
  MAX_ITEM_POINTS,
  type ResolvedConversation,
  type ScoredItem,
  sampleForInspection,
  scoreAgainst,
} from "../../domain/inspection";
import { grants } from "../../domain/permissions";
import { newId } from "../../lib/ids";
import { ApiError } from "../../lib/problem";
import { audited } from "../audit/audit-log";
import { getConversation } from "../conversations/conversations";
import { deskEpisodes } from "./episodes";
import { deskSettingsFor } from "./intake";

export type Checklist = typeof inspectionChecklists.$inferSelect;
export type Inspection = typeof inspections.$inferSelect;

export const MAX_CHECKLISTS = 50;
export const MAX_QUEUE_DAYS = 31;

function mustInspect(caller: Caller): void {
  if (!grants(caller.scopes, "desk:inspect")) {
    throw new ApiError("forbidden", "Quality inspection needs `desk:inspect`.");
  }
}

export async function listChecklists(env: Env, caller: Caller): Promise<Checklist[]> {
  mustInspect(caller);
  return database(env.DB)
    .select()
    .from(inspectionChecklists)
    .where(
      and(
        eq(inspectionChecklists.tenantId, caller.tenant.id),
        isNull(inspectionChecklists.deletedAt),
      ),
    )
    .orderBy(desc(inspectionChecklists.id))
    .limit(MAX_CHECKLISTS);
}

/** One of the tenant's checklists; a deleted one or another tenant's is as missing as none. */
export async function getChecklist(env: Env, caller: Caller, id: string): Promise<Checklist> {
  mustInspect(caller);
  const row = await database(env.DB)
    .select()
    .from(inspectionChecklists)
    .where(
      and(
        eq(inspectionChecklists.tenantId, caller.tenant.id),
        eq(inspectionChecklists.id, id),
        isNull(inspectionChecklists.deletedAt),
      ),
    )
    .get();
  if (!row) {
    throw new ApiError("not-found", `No checklist ${id}.`);
  }
  return row;
}

export interface ChecklistInput {
  name: string;
  /** An item with an `id` of the checklist keeps it (its past scores still name it). */
  items: { id?: string; label: string; points: number }[];
}

function checkedChecklist(input: ChecklistInput, before: Checklist | null, now: number) {
  const name = input.name.trim();
  const errors: { pointer: string; detail: string }[] = [];
  if (name.length === 0 || name.length > 100) {
    errors.push({ pointer: "/name", detail: "1 to 100 characters" });
  }
  if (input.items.length === 0 || input.items.length > MAX_CHECKLIST_ITEMS) {
    errors.push({ pointer: "/items", detail: `1 to ${MAX_CHECKLIST_ITEMS} items` });
  }
  const known = new Set((before?.items ?? []).map((i) => i.id));
  const items: ChecklistItem[] = input.items.map((item, index) => {
    const label = item.label.trim();
    if (label.length === 0 || label.length > 200) {
      errors.push({ pointer: `/items/${index}/label`, detail: "1 to 200 characters" });
    }
    if (!Number.isInteger(item.points) || item.points < 1 || item.points > MAX_ITEM_POINTS) {
      errors.push({
        pointer: `/items/${index}/points`,
        detail: `a whole number from 1 to ${MAX_ITEM_POINTS}`,
      });
    }
    if (item.id !== undefined && !known.has(item.id)) {
      errors.push({ pointer: `/items/${index}/id`, detail: "not an item of this checklist" });
    }
    return {
      id: item.id ?? newId("chk", now + index).replace(/^chk_/, "itm_"),
      label,
      points: item.points,
    };
  });
  if (new Set(items.map((i) => i.id)).size !== items.length) {
    errors.push({ pointer: "/items", detail: "an item id appears twice" });
  }
  if (errors.length > 0) {
    throw new ApiError("validation-error", "The checklist needs a name and items with points.", {
      errors,
    });
  }
  return { name, items };
}

export async function createChecklist(
  env: Env,
  caller: Caller,
  input: ChecklistInput,
  now: number = Date.now(),
): Promise<Checklist> {
  mustInspect(caller);
  const values = checkedChecklist(input, null, now);
  if ((await listChecklists(env, caller)).length >= MAX_CHECKLISTS) {
    throw new ApiError(
      "unprocessable-entity",
      `A tenant keeps at most ${MAX_CHECKLISTS} checklists: delete one first.`,
    );
  }
  const row: Checklist = {
    id: newId("chk", now),
    tenantId: caller.tenant.id,
    ...values,
    createdAt: now,
    updatedAt: now,
    deletedAt: null,
  };
  await audited(
    env,
    caller,
    { action: "checklist.create", target: row.id, diff: { name: { from: null, to: row.name } } },
    [database(env.DB).insert(inspectionChecklists).values(row)],
  );
  return row;
}

export async function updateChecklist(
  env: Env,
  caller: Caller,
  id: string,
  input: ChecklistInput,
  now: number = Date.now(),
): Promise<Checklist> {
  const before = await getChecklist(env, caller, id);
  const values = checkedChecklist(input, before, now);
  await audited(
    env,
    caller,
    {
      action: "checklist.update",
      target: id,
      diff: {
        name: { from: before.name, to: values.name },
        items: { from: before.items.length, to: values.items.length },
      },
    },
    [
      database(env.DB)
        .update(inspectionChecklists)
        .set({ ...values, updatedAt: now })
        .where(
          and(eq(inspectionChecklists.tenantId, caller.tenant.id), eq(inspectionChecklists.id, id)),
        ),
    ],
  );
  return { ...before, ...values, updatedAt: now };
}

/** Deleting keeps the row (its scores still refer to it) but lists and scores it no more. */
export async function deleteChecklist(
  env: Env,
  caller: Caller,
  id: string,
  now: number = Date.now(),
): Promise<void> {
  const before = await getChecklist(env, caller, id);
  await audited(
    env,
    caller,
    { action: "checklist.delete", target: id, diff: { name: { from: before.name, to: null } } },
    [
      database(env.DB)
        .update(inspectionChecklists)
        .set({ deletedAt: now })
        .where(
          and(eq(inspectionChecklists.tenantId, caller.tenant.id), eq(inspectionChecklists.id, id)),
        ),
    ],
  );
}

export interface ScoreInput {
  checklistId: string;
  items: ScoredItem[];
  comment: string | null;
}

/**
 * An inspector's score of a resolved conversation against one checklist, for the agent who
 * resolved it; each conversation is scored once per checklist (another try is a 409).
 */
export async function scoreConversation(
  env: Env,
  caller: Caller,
  conversationId: string,
  input: ScoreInput,
  now: number = Date.now(),
): Promise<Inspection> {
  mustInspect(caller);
  const conversation = await getConversation(env, caller, conversationId);
  if (conversation.deskState !== "resolved") {
    throw new ApiError(
      "unprocessable-entity",
      `Only a resolved conversation is scored; this one is ${conversation.deskState}.`,
    );
  }
  const checklist = await database(env.DB)
    .select()
    .from(inspectionChecklists)
    .where(
      and(
        eq(inspectionChecklists.tenantId, caller.tenant.id),
        eq(inspectionChecklists.id, input.checklistId),
        isNull(inspectionChecklists.deletedAt),
      ),
    )
    .get();
  if (!checklist) {
    throw new ApiError("unprocessable-entity", `No checklist ${input.checklistId}.`, {
      errors: [{ pointer: "/checklist_id", detail: "not one of the tenant's checklists" }],
    });
  }
  const scored = scoreAgainst(checklist.items, input.items);
  if (!scored.ok) {
    throw new ApiError("unprocessable-entity", "Each item's points must be within its own.", {
      errors: scored.errors,
    });
  }
  const comment = input.comment?.trim() || null;
  if (comment !== null && comment.length > 2_000) {
    throw new ApiError("validation-error", "The comment is too long.", {
      errors: [{ pointer: "/comment", detail: "at most 2000 characters" }],
    });
  }
  const already = await database(env.DB)
    .select({ id: inspections.id })
    .from(inspections)
    .where(
      and(
        eq(inspections.tenantId, caller.tenant.id),
        eq(inspections.conversationId, conversation.id),
        eq(inspections.checklistId, checklist.id),
      ),
    )
    .get();
  if (already) {
    throw new ApiError(
      "conflict",
      `This conversation is already scored against ${checklist.id} (${already.id}).`,
    );
  }
  const episodes = await deskEpisodes(env, caller.tenant.id, { conversationId });
  const row: Inspection = {
    id: newId("isp", now),
    tenantId: caller.tenant.id,
    conversationId: conversation.id,
    agentId: episodes.at(-1)?.agentId ?? null,
    checklistId: checklist.id,
    inspectorId: actorOf(caller).id,
    items: input.items.map((i) => ({ item_id: i.item_id, points: i.points })),
    score: scored.score,
    maxScore: scored.maxScore,
    comment,
    createdAt: now,
  };
  try {
    await audited(
      env,
      caller,
      {
        action: "inspection.create",
        target: row.id,
        diff: { score: { from: null, to: `${row.score}/${row.maxScore}` } },
      },
      [database(env.DB).insert(inspections).values(row)],
    );
  } catch (error) {
    if (String(error).includes("UNIQUE")) {
      throw new ApiError(
        "conflict",
        `This conversation is already scored against ${checklist.id}.`,
      );
    }
    throw error;
  }
  return row;
}

export interface QueueEntry extends ResolvedConversation {
  channel: string;
}

/**
 * The inspector's queue: of the conversations resolved in [from, to), the sample (per agent and
 * day in the desk's zone, `inspection_sample_percent`, at least one per agent-day) not yet scored.
 */
export async function inspectionQueue(
  env: Env,
  caller: Caller,
  range: { from: number; to: number },
): Promise<QueueEntry[]> {
  mustInspect(caller);
  if (range.to <= range.from || range.to - range.from > MAX_QUEUE_DAYS * 86_400_000) {
    throw new ApiError("validation-error", `from to to is 1 ms to ${MAX_QUEUE_DAYS} days.`, {
      errors: [{ pointer: "/query/to", detail: `after from, at most ${MAX_QUEUE_DAYS} days on` }],
    });
  }
  const settings = await deskSettingsFor(env, caller.tenant.id);
  const latest = new Map<string, ResolvedConversation>();
  for (const e of await deskEpisodes(env, caller.tenant.id, range)) {
    latest.set(e.conversationId, {
      conversationId: e.conversationId,
      agentId: e.agentId,
      day: dayIn(e.resolvedAt, settings.timeZone),
      resolvedAt: e.resolvedAt,
    });
  }
  const sample = sampleForInspection([...latest.values()], settings.inspectionSamplePercent);
  if (sample.length === 0) {
    return [];
  }
  const scored = new Set<string>();
  const channels = new Map<string, string>();
  for (let i = 0; i < sample.length; i += 90) {
    const ids = sample.slice(i, i + 90).map((s) => s.conversationId);
    const marks = ids.map((_, n) => `?${n + 2}`).join(",");
    const done = await env.DB.prepare(
      `SELECT DISTINCT conversation_id FROM inspections WHERE tenant_id = ?1 AND conversation_id IN (${marks})`,
    )
      .bind(caller.tenant.id, ...ids)
      .all<{ conversation_id: string }>();
    for (const r of done.results) {
      scored.add(r.conversation_id);
    }
    const rows = await env.DB.prepare(
      `SELECT id, channel FROM conversations WHERE tenant_id = ?1 AND id IN (${marks})`,
    )
      .bind(caller.tenant.id, ...ids)
      .all<{ id: string; channel: string }>();
    for (const r of rows.results) {
      channels.set(r.id, r.channel);
    }
  }
  return sample
    .filter((s) => !scored.has(s.conversationId))
    .map((s) => ({ ...s, channel: channels.get(s.conversationId) ?? "sms" }));
}

/**
 * Scores, newest first. An inspector reads anyone's (all, or `agentId`'s); any other caller only
 * their own, and asking for another agent's is a 403.
 */
export async function listInspections(
  env: Env,
  caller: Caller,
  query: { agentId?: string; cursor?: string; limit: number },
): Promise<{ data: Inspection[]; nextCursor: string | null }> {
  let agentId = query.agentId;
  if (!grants(caller.scopes, "desk:inspect")) {
    const actor = actorOf(caller);
    const own = actor.type === "user" ? actor.id : null;
    if (agentId !== undefined && agentId !== own) {
      throw new ApiError(
        "forbidden",
        "An agent reads only their own scores (`desk:inspect` reads all).",
      );
    }
    if (own === null) {
      return { data: [], nextCursor: null };
    }
    agentId = own;
  }
  const rows = await database(env.DB)
    .select()
    .from(inspections)
    .where(
      and(
        eq(inspections.tenantId, caller.tenant.id),
        agentId === undefined ? undefined : eq(inspections.agentId, agentId),
        query.cursor === undefined ? undefined : lt(inspections.id, query.cursor),
      ),
    )
    .orderBy(desc(inspections.id))
    .limit(query.limit + 1);
  const data = rows.slice(0, query.limit);
  return {
    data,
    nextCursor: rows.length > query.limit ? (data.at(-1)?.id ?? null) : null,
  };
}
