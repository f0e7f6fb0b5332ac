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

export const deleteMenu: RouteHandler<typeof routes.deleteMenu, AppEnv> = async (c) => {
  await menus.deleteMenu(c.env, c.get("caller"), c.req.valid("param").app_id);
  return c.body(null, 204);
};

export const addConditionalMenu: RouteHandler<typeof routes.addConditionalMenu, AppEnv> = async (
  c,
) => {
  const { tag_id, ...menu } = c.req.valid("json");
  const added = await menus.addConditionalMenu(
    c.env,
    c.get("caller"),
    c.req.valid("param").app_id,
    menu,
    tag_id,
  );
  return c.json({ menu_id: added.menuId, tag_id, ...asBody(added.menu) }, 201);
};

export const deleteConditionalMenu: RouteHandler<
  typeof routes.deleteConditionalMenu,
  AppEnv
> = async (c) => {
  const { app_id, menu_id } = c.req.valid("param");
  await menus.deleteConditionalMenu(c.env, c.get("caller"), app_id, menu_id);
  return c.body(null, 204);
};
