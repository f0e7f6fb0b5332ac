import type { RouteHandler } from "@hono/zod-openapi";
import type { AppEnv } from "../../app-env";
import * as service from "../../services/desk/inspections";
import { once } from "../once";
import type * as routes from "./inspections.routes";

const iso = (ms: number) => new Date(ms).toISOString();
const DAY_MS = 86_400_000;

export function presentChecklist(c: service.Checklist) {
  return {
    id: c.id,
    name: c.name,
    items: c.items.map((i) => ({ id: i.id, label: i.label, points: i.points })),
    max_score: c.items.reduce((sum, i) => sum + i.points, 0),
    created_at: iso(c.createdAt),
    updated_at: iso(c.updatedAt),
  };
}

export function presentInspection(i: service.Inspection) {
  return {
    id: i.id,
    conversation_id: i.conversationId,
    agent_id: i.agentId,
    checklist_id: i.checklistId,
    inspector_id: i.inspectorId,
    items: i.items,
    score: i.score,
    max_score: i.maxScore,
    comment: i.comment,
    created_at: iso(i.createdAt),
  };
}

export const listChecklists: RouteHandler<typeof routes.listChecklists, AppEnv> = async (c) => {
  const rows = await service.listChecklists(c.env, c.get("caller"));
  return c.json({ data: rows.map(presentChecklist), next_cursor: null }, 200);
};

export const getChecklist: RouteHandler<typeof routes.getChecklist, AppEnv> = async (c) => {
  const row = await service.getChecklist(c.env, c.get("caller"), c.req.valid("param").id);
  return c.json(presentChecklist(row), 200);
};

export const createChecklist: RouteHandler<typeof routes.createChecklist, AppEnv> = async (c) => {
  const input = c.req.valid("json");
  const response = await once(c, "checklist.create", input, async () => ({
    status: 201,
    body: presentChecklist(await service.createChecklist(c.env, c.get("caller"), input)),
  }));
  return c.json(response.body, 201);
};

export const updateChecklist: RouteHandler<typeof routes.updateChecklist, AppEnv> = async (c) => {
  const row = await service.updateChecklist(
    c.env,
    c.get("caller"),
    c.req.valid("param").id,
    c.req.valid("json"),
  );
  return c.json(presentChecklist(row), 200);
};

export const deleteChecklist: RouteHandler<typeof routes.deleteChecklist, AppEnv> = async (c) => {
  await service.deleteChecklist(c.env, c.get("caller"), c.req.valid("param").id);
  return c.body(null, 204);
};

export const scoreConversation: RouteHandler<typeof routes.scoreConversation, AppEnv> = async (
  c,
) => {
  const id = c.req.valid("param").id;
  const input = c.req.valid("json");
  const response = await once(c, "inspection.create", { id, ...input }, async () => ({
    status: 201,
    body: presentInspection(
      await service.scoreConversation(c.env, c.get("caller"), id, {
        checklistId: input.checklist_id,
        items: input.items,
        comment: input.comment ?? null,
      }),
    ),
  }));
  return c.json(response.body, 201);
};

export const inspectionQueue: RouteHandler<typeof routes.inspectionQueue, AppEnv> = async (c) => {
  const q = c.req.valid("query");
  const to = q.to === undefined ? Date.now() : Date.parse(q.to);
  const from = q.from === undefined ? to - 7 * DAY_MS : Date.parse(q.from);
  const queue = await service.inspectionQueue(c.env, c.get("caller"), { from, to });
  return c.json(
    {
      data: queue.map((e) => ({
        conversation_id: e.conversationId,
        channel: e.channel,
        agent_id: e.agentId,
        day: e.day,
        resolved_at: iso(e.resolvedAt),
      })),
      next_cursor: null,
    },
    200,
  );
};

export const listInspections: RouteHandler<typeof routes.listInspections, AppEnv> = async (c) => {
  const q = c.req.valid("query");
  const page = await service.listInspections(c.env, c.get("caller"), {
    ...(q.agent_id !== undefined ? { agentId: q.agent_id } : {}),
    ...(q.cursor !== undefined ? { cursor: q.cursor } : {}),
    limit: q.limit,
  });
  return c.json({ data: page.data.map(presentInspection), next_cursor: page.nextCursor }, 200);
};
