import { createRoute, z } from "@hono/zod-openapi";
import { requireScope } from "../../middleware/api-key";
import { OAUTH_SCOPES } from "../../services/wechat/oauth-link";
import { bearerAuth, IdempotencyHeaders, LimitQuery } from "../common";
import { conflict, jsonBody, jsonResponse, listOf, problems } from "../openapi-helpers";

const ExternalId = z
  .string()
  .regex(
    /^[A-Za-z0-9][A-Za-z0-9._:@-]{0,127}$/,
    "your own user id: 1–128 letters, digits and . _ : @ -, starting with a letter or digit",
  );
const AppId = z.string().regex(/^wx[0-9a-f]{16}$/, "a WeChat app id: wx and 16 hex digits");
// WeChat's openids are 28 characters of base64url today; leave room without accepting anything.
const OpenId = z
  .string()
  .regex(/^[A-Za-z0-9_-]{1,64}$/, "an openid: 1–64 letters, digits, _ and -");

const Name = z.string().trim().min(1).max(200);
const Phone = z.string().max(64).openapi({
  description: "Normalised to E.164; a national number is read in your home country",
});
const Bindings = z
  .array(z.object({ app_id: AppId, openid: OpenId }).strict())
  .max(50)
  .openapi({ description: "One openid per app, in your own WeChat apps" });

const ContactParams = z.object({ external_id: ExternalId });

export const ContactSchema = z
  .object({
    id: z.string(),
    external_id: z.string(),
    name: z.string().nullable(),
    phone: z.string().nullable().openapi({ description: "E.164" }),
    wechat: z.array(
      z.object({
        app_id: z.string(),
        openid: z.string(),
        source: z.enum(["api", "oauth", "qrcode"]).openapi({
          description:
            "`oauth` when the person bound themselves through an OAuth link, `qrcode` by scanning a binding QR code",
        }),
        created_at: z.string(),
      }),
    ),
    created_at: z.string(),
    updated_at: z.string(),
  })
  .openapi("Contact");

export const createContact = createRoute({
  method: "post",
  path: "/v1/contacts",
  operationId: "createContact",
  tags: ["Contacts"],
  summary: "Add one of your users: a phone and their openids in your WeChat apps",
  security: bearerAuth,
  middleware: [requireScope("messages:send")] as const,
  request: {
    headers: IdempotencyHeaders,
    body: jsonBody(
      z
        .object({
          external_id: ExternalId,
          name: Name.optional(),
          phone: Phone.optional(),
          wechat: Bindings.optional(),
        })
        .strict(),
    ),
  },
  responses: {
    201: jsonResponse(ContactSchema, "Added"),
    ...problems(400, 401, 403, 413, 415, 422, 429),
    ...conflict(
      "A contact with this external_id exists, or an openid is already another contact's in that app",
    ),
  },
});

export const listContacts = createRoute({
  method: "get",
  path: "/v1/contacts",
  operationId: "listContacts",
  tags: ["Contacts"],
  summary: "Your contacts, newest first",
  security: bearerAuth,
  middleware: [requireScope("messages:read")] as const,
  request: {
    query: z.object({
      limit: LimitQuery,
      cursor: z
        .string()
        .regex(/^ctc_[0-9A-Z]{26}$/)
        .optional(),
    }),
  },
  responses: {
    200: jsonResponse(listOf(ContactSchema), "A page of contacts"),
    ...problems(400, 401, 403, 429),
  },
});

export const getContact = createRoute({
  method: "get",
  path: "/v1/contacts/{external_id}",
  operationId: "getContact",
  tags: ["Contacts"],
  summary: "One contact, by your own user id",
  security: bearerAuth,
  middleware: [requireScope("messages:read")] as const,
  request: { params: ContactParams },
  responses: {
    200: jsonResponse(ContactSchema, "The contact"),
    ...problems(400, 401, 403, 404, 429),
  },
});

export const updateContact = createRoute({
  method: "patch",
  path: "/v1/contacts/{external_id}",
  operationId: "updateContact",
  tags: ["Contacts"],
  summary: "Change a contact's name, phone or WeChat bindings",
  description:
    "A field left out stays as it is; `null` clears it. `wechat` replaces the whole list of bindings (a binding sent unchanged keeps its `source` and `created_at`).",
  security: bearerAuth,
  middleware: [requireScope("messages:send")] as const,
  request: {
    params: ContactParams,
    body: jsonBody(
      z
        .object({
          name: Name.nullable().optional(),
          phone: Phone.nullable().optional(),
          wechat: Bindings.nullable().optional(),
        })
        .strict()
        .refine((body) => Object.keys(body).length > 0, {
          message: "send at least one of `name`, `phone` and `wechat`",
        })
        .openapi({ minProperties: 1 }),
    ),
  },
  responses: {
    200: jsonResponse(ContactSchema, "The contact as changed"),
    ...problems(400, 401, 403, 404, 413, 415, 422, 429),
    ...conflict("An openid is already another contact's in that app"),
  },
});

export const deleteContact = createRoute({
  method: "delete",
  path: "/v1/contacts/{external_id}",
  operationId: "deleteContact",
  tags: ["Contacts"],
  summary: "Delete a contact and its WeChat bindings",
  security: bearerAuth,
  middleware: [requireScope("messages:send")] as const,
  request: { params: ContactParams },
  responses: { 204: { description: "Deleted" }, ...problems(400, 401, 403, 404, 429) },
});

export const unbindWeChat = createRoute({
  method: "delete",
  path: "/v1/contacts/{external_id}/wechat/{app_id}",
  operationId: "deleteContactWeChatBinding",
  tags: ["Contacts"],
  summary: "Remove a contact's binding in one WeChat app (however it was made)",
  security: bearerAuth,
  middleware: [requireScope("messages:send")] as const,
  request: { params: ContactParams.extend({ app_id: AppId }) },
  responses: { 204: { description: "Unbound" }, ...problems(400, 401, 403, 404, 429) },
});

export const createOAuthLink = createRoute({
  method: "post",
  path: "/v1/contacts/{external_id}/wechat/{app_id}/oauth-link",
  operationId: "createContactWeChatOAuthLink",
  tags: ["Contacts"],
  summary: "A link that lets the person bind their WeChat openid to this contact themselves",
  description: [
    "Send the `url` to the person (in a message, a QR code…); it works for 10 minutes and needs no API key, as it is opened in the person's WeChat browser.",
    "1. `GET /wechat/{app_id}/oauth/start?contact=…&scope=…&redirect=…&sig=…` checks the link (`sig` is a JWS, HS256, signed with a key derived from MASTER_KEY by HKDF, naming your tenant, the contact, the app, the scope and the redirect; the readable parameters must match it) and sends the browser to WeChat's `connect/oauth2/authorize` with a `state`.",
    "2. The `state` is a second JWS (its own id and an expiry ≤ 10 minutes, short enough for WeChat's 128-byte limit); what it stands for (tenant, contact, app, redirect) is kept server-side until it expires.",
    "3. WeChat sends the browser to `GET /wechat/{app_id}/oauth/callback?code=…&state=…`: the state is checked (signature, expiry) and spent (single use), the code is exchanged at `/sns/oauth2/access_token` for the openid, the binding is recorded with `source: oauth`, and the browser is sent to `redirect` with `bound=1`.",
    "A tampered or expired state, a state or code used twice is refused with a problem and no binding. Unbind with `DELETE /v1/contacts/{external_id}/wechat/{app_id}`.",
  ].join("\n\n"),
  security: bearerAuth,
  middleware: [requireScope("messages:send")] as const,
  request: {
    params: ContactParams.extend({ app_id: AppId }),
    body: jsonBody(
      z
        .object({
          scope: z.enum(OAUTH_SCOPES).default("snsapi_base").openapi({
            description: "`snsapi_base` binds silently; `snsapi_userinfo` asks the person to agree",
          }),
          redirect: z.string().max(2000).openapi({
            description: "Where the browser goes afterwards (https, no credentials)",
          }),
        })
        .strict(),
    ),
  },
  responses: {
    200: jsonResponse(
      z.object({ url: z.string(), expires_at: z.string() }).openapi("OAuthLink"),
      "The link",
    ),
    ...problems(400, 401, 403, 404, 413, 415, 422, 429),
  },
});
