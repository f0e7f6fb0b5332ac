import { createRoute, z } from "@hono/zod-openapi";
import { MAX_SSO_REDIRECT_URLS } from "../../domain/sso-redirects";
import { requireScope } from "../../middleware/api-key";
import { bearerAuth } from "../common";
import { jsonBody, jsonResponse, problems } from "../openapi-helpers";

const AppParams = z.object({
  app_id: z.string().regex(/^wx[0-9a-f]{16}$/, "a WeChat app id: wx and 16 hex digits"),
});

export const SsoSettingsSchema = z
  .object({
    app_id: z.string(),
    sso_redirect_urls: z.array(z.string()),
    login_url: z.string().openapi({
      description: "Send the person here with `?redirect=<one of the URLs>&scope=…`",
    }),
    issuer: z.string().openapi({ description: "The `iss` of the identity tokens" }),
    jwks_url: z.string().openapi({ description: "The public keys that verify them" }),
  })
  .openapi("WeChatSsoSettings");

export const getSso = createRoute({
  method: "get",
  path: "/v1/wechat/apps/{app_id}/sso",
  operationId: "getWeChatSso",
  tags: ["WeChat"],
  summary: "Sign-in with WeChat: where it may return, and how its tokens are verified",
  security: bearerAuth,
  middleware: [requireScope("admin")] as const,
  request: { params: AppParams },
  responses: {
    200: jsonResponse(SsoSettingsSchema, "The settings"),
    ...problems(400, 401, 403, 404, 429),
  },
});

export const putSso = createRoute({
  method: "put",
  path: "/v1/wechat/apps/{app_id}/sso",
  operationId: "setWeChatSso",
  tags: ["WeChat"],
  summary: "Set the URLs sign-in with WeChat may return to",
  description:
    "Exact URLs, matched string for string: https, or http on 127.0.0.1 or localhost for local development; no fragment, no user name or password. Replaces the list.",
  security: bearerAuth,
  middleware: [requireScope("admin")] as const,
  request: {
    params: AppParams,
    body: jsonBody(
      z.object({ sso_redirect_urls: z.array(z.string()).max(MAX_SSO_REDIRECT_URLS) }).strict(),
    ),
  },
  responses: {
    200: jsonResponse(SsoSettingsSchema, "Set"),
    ...problems(400, 401, 403, 404, 413, 415, 422, 429),
  },
});

export const rotateSsoKey = createRoute({
  method: "post",
  path: "/v1/wechat/apps/{app_id}/sso/rotate-key",
  operationId: "rotateWeChatSsoKey",
  tags: ["WeChat"],
  summary: "Sign identity tokens with a new key; the JWKS keeps the previous one",
  security: bearerAuth,
  middleware: [requireScope("admin")] as const,
  request: { params: AppParams },
  responses: {
    200: jsonResponse(
      z.object({ kid: z.string(), previous_kid: z.string().nullable() }),
      "The new key's id",
    ),
    ...problems(400, 401, 403, 404, 429),
  },
});
