import { createRoute, z } from "@hono/zod-openapi";
import { signatureNameProblem } from "../../domain/signatures";
import { REVIEW_STATUSES } from "../../domain/vocabulary";
import { requireScope } from "../../middleware/api-key";
import { bearerAuth, IdempotencyHeaders, LimitQuery } from "../common";
import { conflict, jsonBody, jsonResponse, listOf, problems } from "../openapi-helpers";
import { reviewRoutes } from "../review-routes";

const SignatureId = z.string().regex(/^sig_[0-9A-Z]{26}$/, "must be a signature id (sig_…)");

const SignatureName = z
  .string()
  .trim()
  .superRefine((name, ctx) => {
    const problem = signatureNameProblem(name);
    if (problem) {
      ctx.addIssue({ code: "custom", message: problem });
    }
  })
  .openapi({ example: "Relaybox" });

export const SignatureSchema = z
  .object({
    id: z.string(),
    name: z.string(),
    text: z
      .string()
      .openapi({ description: "As sent: the name in brackets", example: "【Relaybox】" }),
    status: z.enum(REVIEW_STATUSES),
    default: z.boolean().openapi({
      description: "Whether messages to Chinese numbers are signed with it (the account's default)",
    }),
    review_reason: z.string().nullable().openapi({
      description: "Why it was rejected, or which words the screening flagged for the reviewer",
    }),
    submitted_at: z.string().nullable(),
    reviewed_at: z.string().nullable(),
    created_at: z.string(),
    updated_at: z.string(),
  })
  .openapi("Signature");

const Params = z.object({ id: SignatureId });

export const createSignature = createRoute({
  method: "post",
  path: "/v1/signatures",
  operationId: "createSignature",
  tags: ["Signatures"],
  summary: "Create a sender signature (签名), a draft",
  description:
    "Signatures are reviewed like templates: `draft → pending_review → approved | rejected`. Messages to Chinese numbers start with the account's default signature, which counts in their length. The first signature approved while the account has no default becomes the default.",
  security: bearerAuth,
  middleware: [requireScope("templates:write")] as const,
  request: {
    headers: IdempotencyHeaders,
    body: jsonBody(z.object({ name: SignatureName }).strict()),
  },
  responses: {
    201: jsonResponse(SignatureSchema, "Created as a draft"),
    ...problems(400, 401, 403, 415, 422, 429),
    ...conflict("The account already has a signature with this name"),
  },
});

export const listSignatures = createRoute({
  method: "get",
  path: "/v1/signatures",
  operationId: "listSignatures",
  tags: ["Signatures"],
  summary: "List signatures, newest first",
  security: bearerAuth,
  middleware: [requireScope("templates:read")] as const,
  request: {
    query: z.object({
      status: z.enum(REVIEW_STATUSES).optional(),
      limit: LimitQuery,
      cursor: SignatureId.optional(),
    }),
  },
  responses: {
    200: jsonResponse(listOf(SignatureSchema), "A page of signatures"),
    ...problems(400, 401, 403, 429),
  },
});

export const getSignature = createRoute({
  method: "get",
  path: "/v1/signatures/{id}",
  operationId: "getSignature",
  tags: ["Signatures"],
  summary: "Read a signature",
  security: bearerAuth,
  middleware: [requireScope("templates:read")] as const,
  request: { params: Params },
  responses: {
    200: jsonResponse(SignatureSchema, "The signature"),
    ...problems(400, 401, 403, 404, 429),
  },
});

export const deleteSignature = createRoute({
  method: "delete",
  path: "/v1/signatures/{id}",
  operationId: "deleteSignature",
  tags: ["Signatures"],
  summary: "Delete a signature",
  description:
    "Deleting the default leaves the account without one until another is made the default; messages already accepted keep theirs.",
  security: bearerAuth,
  middleware: [requireScope("templates:write")] as const,
  request: { params: Params },
  responses: {
    204: { description: "Deleted" },
    ...problems(400, 401, 403, 404, 429),
  },
});

export const {
  submit: submitSignature,
  approve: approveSignature,
  reject: rejectSignature,
} = reviewRoutes({
  path: "/v1/signatures/{id}",
  tag: "Signatures",
  noun: "Signature",
  params: Params,
  item: SignatureSchema,
  subject: "The signature",
  submit: {
    summary: "Submit a signature for review",
    description:
      "The name is screened for sensitive words: a blocked word refuses it with 422 (its `hits` list the words) and leaves it as it was; words that need a reviewer's look are named in `review_reason`.",
  },
  approve: {
    summary: "Approve a signature pending review",
    description: "If the account has no default signature, this one becomes the default.",
  },
  reject: { summary: "Reject a signature pending review, with the reason" },
});

export const setDefaultSignature = createRoute({
  method: "post",
  path: "/v1/signatures/{id}/default",
  operationId: "setDefaultSignature",
  tags: ["Signatures"],
  summary: "Make an approved signature the account's default",
  description: "Messages to Chinese numbers accepted after this answer start with it.",
  security: bearerAuth,
  middleware: [requireScope("templates:write")] as const,
  request: { params: Params },
  responses: {
    200: jsonResponse(SignatureSchema, "The default signature"),
    ...problems(400, 401, 403, 404, 429),
    ...conflict("The signature is not approved"),
  },
});
