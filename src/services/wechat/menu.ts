/**
 * An account's custom menu: checked against WeChat's rules, then set with `/cgi-bin/menu/create`
 * (which replaces the whole menu, so sending it again is harmless), and read back with
 * `/cgi-bin/menu/get`. Every call goes through `callWeChat`, so through the app's token authority.
 */

import type { Caller } from "../../domain/caller";
import { type Menu, menuForWeChat, menuFromWeChat, validateMenu } from "../../domain/wechat-menu";
import { ApiError } from "../../lib/problem";
import { audited } from "../audit/audit-log";
import { getWeChatApp } from "./apps";
import { callWeChat, type WeChatClientIO, wechatProblem } from "./client";

/** WeChat's answer to `/cgi-bin/menu/get` when the account has no menu set through the API. */
const MENU_NOT_SET = 46003;

/** Sets the menu: 404 for another tenant's app, 422 for a menu that breaks WeChat's rules. */
export async function putMenu(
  env: Env,
  caller: Caller,
  appId: string,
  menu: Menu,
  io?: WeChatClientIO,
): Promise<Menu> {
  await getWeChatApp(env, caller, appId);
  const problems = validateMenu(menu);
  if (problems.length > 0) {
    const summary = problems.map((p) => `${p.pointer}: ${p.detail}`).join("; ");
    throw new ApiError("unprocessable-entity", `The menu breaks WeChat's rules: ${summary}`, {
      errors: problems,
    });
  }
  const body = menuForWeChat(menu);
  const answer = await callWeChat(env, appId, "/cgi-bin/menu/create", { method: "POST", body }, io);
  if (!answer.ok) {
    throw wechatProblem(answer.error, "set the menu");
  }
  // The menu lives at WeChat, not in D1: the entry follows WeChat's yes, with nothing beside it.
  await audited(
    env,
    caller,
    { action: "wechat_menu.update", target: appId, diff: { menu: { to: body } } },
    [],
  );
  return body;
}

/** The menu as WeChat has it; an account without one has an empty `button` list. */
export async function getMenu(
  env: Env,
  caller: Caller,
  appId: string,
  io?: WeChatClientIO,
): Promise<Menu> {
  await getWeChatApp(env, caller, appId);
  const answer = await callWeChat(env, appId, "/cgi-bin/menu/get", { method: "GET" }, io);
  if (!answer.ok) {
    if (answer.error.errcode === MENU_NOT_SET) {
      return { button: [] };
    }
    throw wechatProblem(answer.error, "read the menu");
  }
  return menuFromWeChat(answer.value);
}

/** Deletes the menu, the conditional menus with it (WeChat's menu/delete). */
export async function deleteMenu(
  env: Env,
  caller: Caller,
  appId: string,
  io?: WeChatClientIO,
): Promise<void> {
  await getWeChatApp(env, caller, appId);
  const answer = await callWeChat(env, appId, "/cgi-bin/menu/delete", { method: "GET" }, io);
  if (!answer.ok) {
    throw wechatProblem(answer.error, "delete the menu");
  }
  await audited(env, caller, { action: "wechat_menu.delete", target: appId, diff: {} }, []);
}

/**
 * Adds a conditional (personalised) menu shown to the followers with tag `tagId`; WeChat answers
 * with its `menuid`. WeChat needs a default menu first (65303 otherwise, a 422).
 */
export async function addConditionalMenu(
  env: Env,
  caller: Caller,
  appId: string,
  menu: Menu,
  tagId: number,
  io?: WeChatClientIO,
): Promise<{ menuId: string; menu: Menu; tagId: number }> {
  await getWeChatApp(env, caller, appId);
  const problems = validateMenu(menu);
  if (problems.length > 0) {
    const summary = problems.map((p) => `${p.pointer}: ${p.detail}`).join("; ");
    throw new ApiError("unprocessable-entity", `The menu breaks WeChat's rules: ${summary}`, {
      errors: problems,
    });
  }
  const body = { ...menuForWeChat(menu), matchrule: { tag_id: String(tagId) } };
  const answer = await callWeChat(
    env,
    appId,
    "/cgi-bin/menu/addconditional",
    { method: "POST", body },
    io,
  );
  if (!answer.ok) {
    throw wechatProblem(answer.error, "add the conditional menu");
  }
  const menuId = String(answer.value.menuid ?? "");
  await audited(
    env,
    caller,
    {
      action: "wechat_menu.conditional_create",
      target: `${appId}/${menuId}`,
      diff: { menu: { to: body } },
    },
    [],
  );
  return { menuId, menu: menuForWeChat(menu), tagId };
}

export async function deleteConditionalMenu(
  env: Env,
  caller: Caller,
  appId: string,
  menuId: string,
  io?: WeChatClientIO,
): Promise<void> {
  await getWeChatApp(env, caller, appId);
  const answer = await callWeChat(
    env,
    appId,
    "/cgi-bin/menu/delconditional",
    { method: "POST", body: { menuid: menuId } },
    io,
  );
  if (!answer.ok) {
    throw wechatProblem(answer.error, "delete the conditional menu");
  }
  await audited(
    env,
    caller,
    { action: "wechat_menu.conditional_delete", target: `${appId}/${menuId}`, diff: {} },
    [],
  );
}
