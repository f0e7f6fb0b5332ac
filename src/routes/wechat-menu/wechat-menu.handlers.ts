import type { RouteHandler, z } from "@hono/zod-openapi";
import type { AppEnv } from "../../app-env";
import type { Menu } from "../../domain/wechat-menu";
import * as menus from "../../services/wechat/menu";
import type * as routes from "./wechat-menu.routes";

/** The domain keeps a menu read-only; the answer is the same value in the schema's (mutable) type. */
const asBody = (menu: Menu) => menu as z.infer<typeof routes.MenuSchema>;

export const putMenu: RouteHandler<typeof routes.putMenu, AppEnv> = async (c) => {
  const menu = await menus.putMenu(
    c.env,
    c.get("caller"),
    c.req.valid("param").app_id,
    c.req.valid("json"),
  );
  return c.json(asBody(menu), 200);
};

export const getMenu: RouteHandler<typeof routes.getMenu, AppEnv> = async (c) => {
  const menu = await menus.getMenu(c.env, c.get("caller"), c.req.valid("param").app_id);
  return c.json(asBody(menu), 200);
};
