import { createRoute, z } from "@hono/zod-openapi";
import { MAX_CHECKLIST_ITEMS, MAX_ITEM_POINTS } from "../../domain/inspection";
import { requireScope } from "../../middleware/api-key";
import { bearerAuth, IdempotencyHeaders, LimitQuery } from "../common";
import { jsonBody, jsonResponse, listOf, problems, wholeList } from "../openapi-helpers";

const ChecklistParams = z.object({
  id: z.string().regex(/^chk_[0-9A-Z]{26}$/, "a checklist id: chk_ and 26 characters"),
});
const ConversationParams = z.object({
  id: z.string().regex(/^cnv_[0-9A-Z]{26}$/, "a conversation id: cnv_ and 26 characters"),
});

export const ChecklistSchema = z
  .object({
    id: z.string(),
    name: z.string(),
    items: z.array(z.object({ id: z.string(), label: z.string(), points: z.number().int() })),
    max_score: z.number().int().openapi({ description: "The items' points added up" }),
    created_at: z.string(),
    updated_at: z.string(),
  })
  .openapi("InspectionChecklist");

const ChecklistBody = z
  .object({
    name: z.string().max(100),
    items: z
      .array(
        z
          .object({
            id: z
              .string()
              .max(40)
              .optional()
              .openapi({ description: "An existing item's id keeps it; none: a new item" }),
            label: z.string().max(200),
            points: z.number().int().min(1).max(MAX_ITEM_POINTS),
          })
          .strict(),
      )
      .min(1)
      .max(MAX_CHECKLIST_ITEMS),
  })
  .strict();

export const InspectionSchema = z
  .object({
    id: z.string(),
    conversation_id: z.string(),
    agent_id: z.string().nullable().openapi({ description: "Who resolved it: whose score it is" }),
    checklist_id: z.string(),
    inspector_id: z.string(),
    items: z.array(z.object({ item_id: z.string(), points: z.number().int() })),
    score: z.number().int(),
    max_score: z.number().int(),
    comment: z.string().nullable(),
    created_at: z.string(),
  })
  .openapi("Inspection");

export const listChecklists = createRoute({
  method: "get",
  path: "/v1/desk/checklists",
  operationId: "listInspectionChecklists",
  tags: ["Desk"],
  summary: "The tenant's inspection checklists (at most 50), newest first",
  security: bearerAuth,
  middleware: [requireScope("desk:inspect")] as const,
  responses: {
    200: jsonResponse(wholeList(ChecklistSchema), "Every checklist"),
    ...problems(401, 403, 429),
  },
});

export const getChecklist = createRoute({
  method: "get",
  path: "/v1/desk/checklists/{id}",
  operationId: "getInspectionChecklist",
  tags: ["Desk"],
  summary: "One checklist",
  security: bearerAuth,
  middleware: [requireScope("desk:inspect")] as const,
  request: { params: ChecklistParams },
  responses: {
    200: jsonResponse(ChecklistSchema, "The checklist"),
    ...problems(400, 401, 403, 404, 429),
  },
});

export const createChecklist = createRoute({
  method: "post",
  path: "/v1/desk/checklists",
  operationId: "createInspectionChecklist",
  tags: ["Desk"],
  summary: "A checklist: items with the points each is worth (audited)",
  security: bearerAuth,
  middleware: [requireScope("desk:inspect")] as const,
  request: { headers: IdempotencyHeaders, body: jsonBody(ChecklistBody) },
  responses: {
    201: jsonResponse(ChecklistSchema, "Created"),
    ...problems(400, 401, 403, 415, 422, 429),
  },
});

export const updateChecklist = createRoute({
  method: "put",
  path: "/v1/desk/checklists/{id}",
  operationId: "updateInspectionChecklist",
  tags: ["Desk"],
  summary: "Replace a checklist's name and items (an item given with its id keeps it; audited)",
  security: bearerAuth,
  middleware: [requireScope("desk:inspect")] as const,
  request: { params: ChecklistParams, body: jsonBody(ChecklistBody) },
  responses: {
    200: jsonResponse(ChecklistSchema, "The checklist"),
    ...problems(400, 401, 403, 404, 415, 429),
  },
});

export const deleteChecklist = createRoute({
  method: "delete",
  path: "/v1/desk/checklists/{id}",
  operationId: "deleteInspectionChecklist",
  tags: ["Desk"],
  summary: "Delete a checklist (its scores stay; audited)",
  security: bearerAuth,
  middleware: [requireScope("desk:inspect")] as const,
  request: { params: ChecklistParams },
  responses: {
    204: { description: "Deleted" },
    ...problems(400, 401, 403, 404, 429),
  },
});

export const scoreConversation = createRoute({
  method: "post",
  path: "/v1/conversations/{id}/inspections",
  operationId: "createInspection",
  tags: ["Desk"],
  summary: "Score a resolved conversation against a checklist (once per checklist; audited)",
  description:
    "Every item of the checklist scored once, each from 0 to its points; otherwise a 422 with a pointer at the item. A conversation that is not resolved is a 422; a second score against the same checklist a 409. The score counts for the agent who resolved it.",
  security: bearerAuth,
  middleware: [requireScope("desk:inspect")] as const,
  request: {
    params: ConversationParams,
    headers: IdempotencyHeaders,
    body: jsonBody(
      z
        .object({
          checklist_id: z.string().max(40),
          items: z
            .array(z.object({ item_id: z.string().max(40), points: z.number().int() }).strict())
            .max(MAX_CHECKLIST_ITEMS),
          comment: z.string().max(2000).nullable().optional(),
        })
        .strict(),
    ),
  },
  responses: {
    201: jsonResponse(InspectionSchema, "The score"),
    ...problems(400, 401, 403, 404, 409, 415, 422, 429),
  },
});

const Day = z
  .string()
  .regex(/^\d{4}-\d{2}-\d{2}(T.+)?$/)
  .refine((v) => !Number.isNaN(Date.parse(v)), "an ISO 8601 date or date-time");

export const inspectionQueue = createRoute({
  method: "get",
  path: "/v1/desk/inspections/queue",
  operationId: "listInspectionQueue",
  tags: ["Desk"],
  summary: "The sample of resolved conversations waiting for a score, oldest first",
  description:
    "Of each agent's conversations resolved on a day (in the desk's `time_zone`), those whose id hashes into the desk's `inspection_sample_percent` (at least one per agent-day), not yet scored. The sample is the same on every read. Default range: the last 7 days; at most 31.",
  security: bearerAuth,
  middleware: [requireScope("desk:inspect")] as const,
  request: {
    query: z.object({
      from: Day.optional().openapi({ description: "Resolutions at or after this instant" }),
      to: Day.optional().openapi({ description: "Resolutions before this instant; default now" }),
    }),
  },
  responses: {
    200: jsonResponse(
      wholeList(
        z.object({
          conversation_id: z.string(),
          channel: z.string(),
          agent_id: z.string().nullable(),
          day: z.string(),
          resolved_at: z.string(),
        }),
      ),
      "The queue",
    ),
    ...problems(400, 401, 403, 429),
  },
});

export const listInspections = createRoute({
  method: "get",
  path: "/v1/desk/inspections",
  operationId: "listInspections",
  tags: ["Desk"],
  summary: "Scores, newest first: an inspector's every agent's, anyone else's only their own",
  description:
    "With `desk:inspect`, every score (or `agent_id`'s); otherwise the signed-in agent's own, and `agent_id` of another agent is a 403.",
  security: bearerAuth,
  middleware: [requireScope("inbound:read")] as const,
  request: {
    query: z.object({
      agent_id: z
        .string()
        .regex(/^usr_[0-9A-Z]{26}$/, "a user id")
        .optional(),
      limit: LimitQuery,
      cursor: z.string().max(40).optional(),
    }),
  },
  responses: {
    200: jsonResponse(listOf(InspectionSchema), "A page of scores"),
    ...problems(400, 401, 403, 429),
  },
});
