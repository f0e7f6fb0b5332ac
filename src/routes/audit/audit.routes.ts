import { createRoute, z } from "@hono/zod-openapi";
import { requireScope } from "../../middleware/api-key";
import { bearerAuth, LimitQuery } from "../common";
import { jsonResponse, listOf, problems } from "../openapi-helpers";

const AuditEntryId = z.string().regex(/^aud_[0-9A-Z]{26}$/, "must be an audit entry id (aud_…)");

export const AuditEntrySchema = z
  .object({
    id: z.string(),
    seq: z
      .number()
      .int()
      .openapi({ description: "The entry's place in the tenant's chain, from 1" }),
    at: z.string(),
    actor: z.object({
      type: z.enum(["user", "key", "platform"]),
      id: z.string(),
    }),
    ip: z.string().nullable(),
    request_id: z.string().nullable(),
    action: z.string().openapi({ example: "api_key.create" }),
    target: z.string(),
    diff: z
      .record(z.string(), z.object({ from: z.unknown().optional(), to: z.unknown().optional() }))
      .openapi({
        description:
          'What changed, field by field: `{from, to}`; a secret shows only `{"to": "(changed)"}`',
      }),
    prev_hash: z.string(),
    hash: z.string().openapi({
      description: "SHA-256 of the entry's canonical content, which includes `prev_hash`",
    }),
  })
  .openapi("AuditEntry");

export const listAuditEntries = createRoute({
  method: "get",
  path: "/v1/audit",
  operationId: "listAuditEntries",
  tags: ["Audit log"],
  summary: "List audit entries, newest first",
  security: bearerAuth,
  middleware: [requireScope("audit:read")] as const,
  request: {
    query: z.object({
      action: z.string().min(1).max(100).optional(),
      actor: z.string().min(1).max(100).optional().openapi({
        description: "A user's id (`usr_…`), an API key's id (`key_…`) or `platform`",
      }),
      target: z.string().min(1).max(200).optional(),
      since: z.iso.datetime({ offset: true }).optional(),
      until: z.iso.datetime({ offset: true }).optional(),
      limit: LimitQuery,
      cursor: AuditEntryId.optional(),
    }),
  },
  responses: {
    200: jsonResponse(listOf(AuditEntrySchema), "A page of entries"),
    ...problems(400, 401, 403, 422, 429),
  },
});

export const verifyAuditLog = createRoute({
  method: "get",
  path: "/v1/audit/verify",
  operationId: "verifyAuditLog",
  tags: ["Audit log"],
  summary: "Walk the audit log's hash chain and say where it first breaks",
  security: bearerAuth,
  middleware: [requireScope("audit:read")] as const,
  responses: {
    200: jsonResponse(
      z
        .object({
          valid: z.boolean(),
          entries: z.number().int(),
          first_broken_at: z.string().optional().openapi({
            description: "The id of the first entry whose hash, link or number does not match",
          }),
        })
        .openapi("AuditVerification"),
      "The chain's check",
    ),
    ...problems(401, 403, 429),
  },
});
