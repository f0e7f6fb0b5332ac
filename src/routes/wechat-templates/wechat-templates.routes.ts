import { createRoute, z } from "@hono/zod-openapi";
import { requireScope } from "../../middleware/api-key";
import { bearerAuth } from "../common";
import { jsonBody, jsonResponse, problems, wholeList } from "../openapi-helpers";
import { AppParams, unavailable } from "../wechat-followers/wechat-followers.routes";

const TemplateSchema = z
  .object({
    template_id: z.string().openapi({ description: "Use it as a message's wechat_template_id" }),
    title: z.string(),
    content: z.string().openapi({ description: "WeChat's template text with its {{key.DATA}}" }),
    example: z.string(),
    primary_industry: z.string(),
    deputy_industry: z.string(),
  })
  .openapi("WeChatAccountTemplate");

export const listTemplates = createRoute({
  method: "get",
  path: "/v1/wechat/apps/{app_id}/templates",
  operationId: "listWeChatAccountTemplates",
  tags: ["WeChat"],
  summary: "The account's templates for template messages, as WeChat has them",
  security: bearerAuth,
  middleware: [requireScope("templates:read")] as const,
  request: { params: AppParams },
  responses: {
    200: jsonResponse(wholeList(TemplateSchema), "The templates"),
    ...problems(400, 401, 403, 404, 422, 429),
    ...unavailable,
  },
});

export const addTemplate = createRoute({
  method: "post",
  path: "/v1/wechat/apps/{app_id}/templates",
  operationId: "addWeChatAccountTemplate",
  tags: ["WeChat"],
  summary: "Add a template from WeChat's library to the account",
  description:
    "`template_id_short` is the library template's number (e.g. OPENTM207498902); the newer library also takes the keyword names to keep. WeChat keeps at most 25 templates per account (errcode 45026, a 422).",
  security: bearerAuth,
  middleware: [requireScope("templates:write")] as const,
  request: {
    params: AppParams,
    body: jsonBody(
      z
        .object({
          template_id_short: z.string().regex(/^[A-Za-z0-9_-]{1,64}$/, "a library template id"),
          keyword_names: z.array(z.string().min(1).max(20)).min(1).max(10).optional(),
        })
        .strict(),
    ),
  },
  responses: {
    201: jsonResponse(z.object({ template_id: z.string() }), "Added"),
    ...problems(400, 401, 403, 404, 413, 415, 422, 429),
    ...unavailable,
  },
});

export const deleteTemplate = createRoute({
  method: "delete",
  path: "/v1/wechat/apps/{app_id}/templates/{template_id}",
  operationId: "deleteWeChatAccountTemplate",
  tags: ["WeChat"],
  summary: "Delete a template from the account",
  security: bearerAuth,
  middleware: [requireScope("templates:write")] as const,
  request: {
    params: AppParams.extend({
      template_id: z.string().regex(/^[A-Za-z0-9_-]{1,64}$/, "WeChat's template id"),
    }),
  },
  responses: {
    204: { description: "Deleted" },
    ...problems(400, 401, 403, 404, 422, 429),
    ...unavailable,
  },
});
