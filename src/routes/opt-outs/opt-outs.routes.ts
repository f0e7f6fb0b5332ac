import { createRoute, z } from "@hono/zod-openapi";
import { requireScope } from "../../middleware/api-key";
import { OPT_OUT_CURSOR } from "../../services/inbound/opt-outs";
import { bearerAuth, IdempotencyHeaders, LimitQuery } from "../common";
import { jsonBody, jsonResponse, listOf, problems } from "../openapi-helpers";

const TAG = "Opt-outs";

const Phone = z.string().min(1).max(64).openapi({
  description: "E.164, or a national number of your home country",
  example: "+8613800138000",
});

export const OptOutSchema = z
  .object({
    phone: z.string().openapi({ description: "E.164" }),
    source: z.enum(["keyword", "manual"]).openapi({
      description:
        "`keyword`: the number replied STOP, 退订, R… (an opt-in keyword such as START lifts it); `manual`: you suppressed it (only you lift it)",
    }),
    reason: z.string().nullable(),
    inbound_id: z
      .string()
      .nullable()
      .openapi({ description: "The inbound message (`inb_…`) that opted it out, for a keyword" }),
    created_at: z.string(),
  })
  .openapi("OptOut", {
    description:
      "A number your messages no longer go to: a send to it is a 422 (a batch rejects its row). Verification codes still go when `verification_opt_out_exempt` is on.",
  });

export const listOptOuts = createRoute({
  method: "get",
  path: "/v1/opt-outs",
  operationId: "listOptOuts",
  tags: [TAG],
  summary: "List the numbers that opted out, newest first",
  security: bearerAuth,
  middleware: [requireScope("inbound:read")] as const,
  request: {
    query: z.object({
      phone: Phone.optional().openapi({ description: "Only this number (E.164 or national)" }),
      limit: LimitQuery,
      cursor: z.string().regex(OPT_OUT_CURSOR, "must be a next_cursor of this list").optional(),
    }),
  },
  responses: {
    200: jsonResponse(listOf(OptOutSchema), "A page of opt-outs"),
    ...problems(400, 401, 403, 429),
  },
});

export const createOptOut = createRoute({
  method: "post",
  path: "/v1/opt-outs",
  operationId: "createOptOut",
  tags: [TAG],
  summary: "Suppress a number: nothing more is sent to it until you remove it",
  description:
    "201 with the new opt-out; 200 with the one there already when the number had opted out (by keyword or by hand), which is left as it is. Emits `opt_out.created`.",
  security: bearerAuth,
  middleware: [requireScope("opt_outs:write")] as const,
  request: {
    headers: IdempotencyHeaders,
    body: jsonBody(
      z.object({ phone: Phone, reason: z.string().trim().min(1).max(500).optional() }).strict(),
    ),
  },
  responses: {
    201: jsonResponse(OptOutSchema, "Suppressed"),
    200: jsonResponse(OptOutSchema, "Opted out already; unchanged"),
    ...problems(400, 401, 403, 415, 422, 429),
  },
});

export const deleteOptOut = createRoute({
  method: "delete",
  path: "/v1/opt-outs/{phone}",
  operationId: "deleteOptOut",
  tags: [TAG],
  summary: "Lift a number's opt-out, however it was made: messages go to it again",
  description:
    "Only when the person asked for it again (or a suppression of yours was a mistake): the opt-out is a legal requirement in most countries. Emits `opt_out.removed`.",
  security: bearerAuth,
  middleware: [requireScope("opt_outs:write")] as const,
  request: { params: z.object({ phone: Phone }) },
  responses: {
    204: { description: "Lifted" },
    ...problems(400, 401, 403, 404, 429),
  },
});
