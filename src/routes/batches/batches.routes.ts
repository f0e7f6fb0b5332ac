import { createRoute, z } from "@hono/zod-openapi";
import { MESSAGE_STATUSES, TEMPLATE_KINDS } from "../../domain/vocabulary";
import { requireScope } from "../../middleware/api-key";
import { MAX_BATCH_RECIPIENTS } from "../../services/messaging/batches";
import { bearerAuth, IdempotencyHeaders, LimitQuery } from "../common";
import {
  asContent,
  MessageText,
  requireOneContent,
  SendAt,
  TemplateId,
  Variables,
} from "../messages/messages.schemas";
import { jsonBody, jsonResponse, listOf, problems } from "../openapi-helpers";

const BatchId = z.string().regex(/^bat_[0-9A-Z]{26}$/, "must be a batch id (bat_…)");

export const CreateBatchBody = z
  .object({
    template_id: TemplateId.optional(),
    body: MessageText.optional().openapi({
      description: "A free text sent to every recipient (instead of a template)",
    }),
    recipients: z
      .array(
        z
          .object({
            to: z.string().min(1).max(32),
            variables: Variables.optional(),
          })
          .strict(),
      )
      .min(1)
      .max(MAX_BATCH_RECIPIENTS)
      .optional()
      .openapi({ description: "Each recipient with its own variables" }),
    csv: z.string().min(1).optional().openapi({
      description:
        "Instead of `recipients`: CSV text whose header row is `to,<variable>…`, one recipient per line",
      example: "to,code\n+8613800138000,123456\n+8613800138001,654321",
    }),
    send_at: SendAt.optional(),
    smart_encoding: z.boolean().optional(),
    partial: z.boolean().optional().openapi({
      description:
        "When the batch would pass your monthly budget or prepaid balance: true sends the rows that fit (in order) and lists the rest as refused; otherwise (the default) the whole batch is refused with a 422 `budget-exceeded`",
    }),
    metadata: z
      .record(z.string().max(40), z.string().max(500))
      .refine((m) => Object.keys(m).length <= 20, "at most 20 keys")
      .optional(),
  })
  .strict()
  .superRefine((value, ctx) => {
    requireOneContent({ ...value, variables: undefined }, ctx);
    if ((value.recipients === undefined) === (value.csv === undefined)) {
      ctx.addIssue({
        code: "custom",
        path: ["recipients"],
        message: "give either recipients or csv, not both or neither",
      });
    }
  })
  .transform(asContent)
  .openapi("CreateBatch");

const Rejection = z.object({
  row: z.number().int().openapi({
    description: "1-based: the recipient's position in `recipients`, or the CSV line (header = 1)",
  }),
  reason: z.string(),
});

const RejectedCount = z.number().int().openapi({
  description:
    "Rows not accepted (every one, even past the 1,000 that `rejected_rows` lists in the 202)",
});

export const AcceptedBatchSchema = z
  .object({
    id: z.string(),
    status: z.literal("accepted"),
    accepted: z.number().int().openapi({ description: "Rows accepted: one message each" }),
    rejected_rows: z.array(Rejection).openapi({
      description: "The rows not accepted, each with its reason (the first 1,000)",
    }),
    rejected_count: RejectedCount,
    partial: z.boolean().optional().openapi({
      description:
        "true when the batch was cut at the budget (asked for with `partial: true`): the rows past it are in `rejected_rows` with a `budget:` reason",
    }),
    budget_refused: z.number().int().optional().openapi({
      description: "Rows refused because the budget or balance was reached",
    }),
    send_at: z.string(),
    created_at: z.string(),
  })
  .openapi("AcceptedBatch");

export const BatchSchema = z
  .object({
    id: z.string(),
    status: z.enum(["accepted", "sending", "completed", "canceled"]).openapi({
      description:
        "`completed` once every message has a send result; `canceled` after a cancel (messages already with a provider still finish)",
    }),
    kind: z.enum(TEMPLATE_KINDS),
    template_id: z.string().nullable(),
    template_version: z.number().int().nullable(),
    accepted: z.number().int().openapi({ description: "Rows accepted: one message each" }),
    rejected_count: RejectedCount,
    counts: z.partialRecord(z.enum(MESSAGE_STATUSES), z.number().int()).openapi({
      description: "The batch's messages by status",
      example: { queued: 90_000, sent: 6_000, delivered: 4_000 },
    }),
    send_at: z.string(),
    created_at: z.string(),
    canceled_at: z.string().nullable(),
  })
  .openapi("Batch");

export const createBatch = createRoute({
  method: "post",
  path: "/v1/batches",
  operationId: "createBatch",
  tags: ["Batches"],
  summary: "Send one template or text to up to 100,000 recipients",
  description:
    "Bad rows are counted in `rejected_count`, listed with their reasons in `rejected_rows`, and do not fail the batch. Batches go in the bulk lane: the account's transactional messages are always released first. The body may be up to 20 MB.",
  security: bearerAuth,
  middleware: [requireScope("messages:send", "test-mode")] as const,
  request: {
    headers: IdempotencyHeaders,
    body: jsonBody(CreateBatchBody),
  },
  responses: {
    202: jsonResponse(AcceptedBatchSchema, "Accepted: every accepted row is durably queued"),
    ...problems(400, 401, 403, 413, 415, 422, 429),
  },
});

export const getBatch = createRoute({
  method: "get",
  path: "/v1/batches/{id}",
  operationId: "getBatch",
  tags: ["Batches"],
  summary: "A batch and its progress",
  security: bearerAuth,
  middleware: [requireScope("messages:read", "test-mode")] as const,
  request: { params: z.object({ id: BatchId }) },
  responses: {
    200: jsonResponse(BatchSchema, "The batch"),
    ...problems(400, 401, 403, 404, 429),
  },
});

export const listBatches = createRoute({
  method: "get",
  path: "/v1/batches",
  operationId: "listBatches",
  tags: ["Batches"],
  summary: "List batches, newest first (without counts)",
  security: bearerAuth,
  middleware: [requireScope("messages:read", "test-mode")] as const,
  request: { query: z.object({ limit: LimitQuery, cursor: BatchId.optional() }) },
  responses: {
    200: jsonResponse(
      listOf(BatchSchema.omit({ counts: true, status: true })),
      "A page of batches",
    ),
    ...problems(400, 401, 403, 429),
  },
});

export const cancelBatch = createRoute({
  method: "post",
  path: "/v1/batches/{id}/cancel",
  operationId: "cancelBatch",
  tags: ["Batches"],
  summary: "Cancel what of a batch is not yet sent",
  security: bearerAuth,
  middleware: [requireScope("messages:send", "test-mode")] as const,
  request: { params: z.object({ id: BatchId }) },
  responses: {
    200: jsonResponse(BatchSchema, "The batch"),
    ...problems(400, 401, 403, 404, 409, 429),
  },
});
