import type { RouteHandler } from "@hono/zod-openapi";
import type { AppEnv } from "../../app-env";
import * as menus from "../../services/wechat/menu";
import type * as routes from "./wechat-menu.routes";

export const putMenu: RouteHandler<typeof routes.putMenu, AppEnv> = async (c) => {
  const menu = await menus.putMenu(
    c.env,
    c.get("caller"),
    c.req.valid("param").app_id,
    c.req.valid("json"),
  );
  return c.json(menu, 200);
};

export const getMenu: RouteHandler<typeof routes.getMenu, AppEnv> = async (c) => {
  const menu = await menus.getMenu(c.env, c.get("caller"), c.req.valid("param").app_id);
  return c.json(menu, 200);
};
