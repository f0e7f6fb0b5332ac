import { createRoute, z } from "@hono/zod-openapi";
import {
  MAX_KEY_BYTES,
  MAX_SUB_BUTTONS,
  MAX_SUB_NAME_BYTES,
  MAX_TOP_BUTTONS,
  MAX_TOP_NAME_BYTES,
  MAX_URL_BYTES,
  MENU_BUTTON_TYPES,
} from "../../domain/wechat-menu";
import { requireScope } from "../../middleware/api-key";
import { bearerAuth } from "../common";
import { jsonBody, jsonResponse, problem, problems } from "../openapi-helpers";

const AppParams = z.object({
  app_id: z.string().regex(/^wx[0-9a-f]{16}$/, "a WeChat app id: wx and 16 hex digits"),
});

// Only the JSON shape is checked here (400); WeChat's own rules (counts, byte limits, types and
// the fields each needs) are checked by validateMenu, so that they all come back in one 422.
const buttonFields = {
  name: z.string().openapi({
    description: `At most ${MAX_TOP_NAME_BYTES} bytes of UTF-8 (4 Chinese characters) at the top level, ${MAX_SUB_NAME_BYTES} in a sub-button`,
  }),
  type: z
    .string()
    .optional()
    .openapi({
      description: `One of ${Object.keys(MENU_BUTTON_TYPES).join(", ")}; none on a button with sub-buttons`,
    }),
  key: z
    .string()
    .optional()
    .openapi({
      description: `click, scancode_*, pic_*, location_select: at most ${MAX_KEY_BYTES} bytes`,
    }),
  url: z
    .string()
    .optional()
    .openapi({
      description: `view, miniprogram (for clients without mini programs): http(s), at most ${MAX_URL_BYTES} bytes`,
    }),
  media_id: z.string().optional().openapi({ description: "media_id, view_limited" }),
  article_id: z.string().optional().openapi({ description: "article_id, article_view_limited" }),
  appid: z.string().optional().openapi({ description: "miniprogram: the mini program's app id" }),
  pagepath: z.string().optional().openapi({ description: "miniprogram: the page to open" }),
};

const SubButtonSchema = z
  .object({
    ...buttonFields,
    sub_button: z
      .array(z.unknown())
      .optional()
      .openapi({ description: "Empty if present: sub-buttons do not nest" }),
  })
  .strict()
  .openapi("WeChatMenuSubButton");

const ButtonSchema = z
  .object({
    ...buttonFields,
    sub_button: z
      .array(SubButtonSchema)
      .optional()
      .openapi({ description: `1–${MAX_SUB_BUTTONS} sub-buttons` }),
  })
  .strict()
  .openapi("WeChatMenuButton");

export const MenuSchema = z
  .object({
    button: z
      .array(ButtonSchema)
      .openapi({ description: `1–${MAX_TOP_BUTTONS} top-level buttons` }),
  })
  .strict()
  .openapi("WeChatMenu");

const unavailable = problem(
  503,
  "WeChat (or the app's token) could not be reached; trying again is safe",
);

export const putMenu = createRoute({
  method: "put",
  path: "/v1/wechat/apps/{app_id}/menu",
  operationId: "setWeChatMenu",
  tags: ["WeChat"],
  summary: "Set the account's custom menu (replaces the whole menu)",
  description:
    "Checked against WeChat's rules before it is sent: every problem comes back in one 422 at its JSON Pointer. A menu WeChat itself refuses is a 422 naming WeChat's errcode and errmsg. WeChat clients may take a few minutes to show a new menu.",
  security: bearerAuth,
  middleware: [requireScope("admin")] as const,
  request: {
    params: AppParams,
    body: jsonBody(MenuSchema),
  },
  responses: {
    200: jsonResponse(MenuSchema, "Set: the menu as sent to WeChat"),
    ...problems(400, 401, 403, 404, 413, 415, 422, 429),
    ...unavailable,
  },
});

export const getMenu = createRoute({
  method: "get",
  path: "/v1/wechat/apps/{app_id}/menu",
  operationId: "getWeChatMenu",
  tags: ["WeChat"],
  summary: "The account's custom menu, as WeChat has it (an empty `button` list when none is set)",
  security: bearerAuth,
  middleware: [requireScope("admin")] as const,
  request: { params: AppParams },
  responses: {
    200: jsonResponse(MenuSchema, "The menu"),
    ...problems(400, 401, 403, 404, 429),
    ...unavailable,
  },
});

export const deleteMenu = createRoute({
  method: "delete",
  path: "/v1/wechat/apps/{app_id}/menu",
  operationId: "deleteWeChatMenu",
  tags: ["WeChat"],
  summary: "Delete the account's menu, its conditional menus with it",
  security: bearerAuth,
  middleware: [requireScope("admin")] as const,
  request: { params: AppParams },
  responses: {
    204: { description: "Deleted" },
    ...problems(400, 401, 403, 404, 422, 429),
    ...unavailable,
  },
});

export const addConditionalMenu = createRoute({
  method: "post",
  path: "/v1/wechat/apps/{app_id}/menu/conditional",
  operationId: "addWeChatConditionalMenu",
  tags: ["WeChat"],
  summary: "Add a conditional (personalised) menu shown to the followers with one tag",
  description:
    "Checked against WeChat's menu rules first (a 422 at each problem's pointer). WeChat needs the default menu to be set first (errcode 65303, a 422).",
  security: bearerAuth,
  middleware: [requireScope("admin")] as const,
  request: {
    params: AppParams,
    body: jsonBody(
      MenuSchema.extend({
        tag_id: z.number().int().min(0).openapi({ description: "Followers with this tag see it" }),
      }).strict(),
    ),
  },
  responses: {
    201: jsonResponse(
      z.object({ menu_id: z.string(), tag_id: z.number().int(), button: MenuSchema.shape.button }),
      "Added",
    ),
    ...problems(400, 401, 403, 404, 413, 415, 422, 429),
    ...unavailable,
  },
});

export const deleteConditionalMenu = createRoute({
  method: "delete",
  path: "/v1/wechat/apps/{app_id}/menu/conditional/{menu_id}",
  operationId: "deleteWeChatConditionalMenu",
  tags: ["WeChat"],
  summary: "Delete a conditional menu",
  security: bearerAuth,
  middleware: [requireScope("admin")] as const,
  request: {
    params: AppParams.extend({ menu_id: z.string().regex(/^\d{1,20}$/, "WeChat's menuid") }),
  },
  responses: {
    204: { description: "Deleted" },
    ...problems(400, 401, 403, 404, 422, 429),
    ...unavailable,
  },
});
