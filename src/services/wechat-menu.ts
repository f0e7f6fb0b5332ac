/**
 * An account's custom menu: checked against WeChat's rules, then set with `/cgi-bin/menu/create`
 * (which replaces the whole menu, so sending it again is harmless), and read back with
 * `/cgi-bin/menu/get`. Every call goes through `callWeChat`, so through the app's token authority.
 */

import { type Menu, menuForWeChat, menuFromWeChat, validateMenu } from "../domain/wechat-menu";
import type { WeChatError } from "../durable-objects/wechat-types";
import { ApiError } from "../lib/problem";
import type { Caller } from "../middleware/context";
import { getWeChatApp } from "./wechat-apps";
import { callWeChat, type WeChatClientIO } from "./wechat-client";

/** WeChat's answer to `/cgi-bin/menu/get` when the account has no menu set through the API. */
const MENU_NOT_SET = 46003;

/**
 * WeChat errcodes that say nothing about the menu: the token (still refused after the client's one
 * retry) or the app id. Any other errcode is WeChat refusing this menu or this account.
 */
const CREDENTIAL_ERRCODES = new Set([40001, 40013, 40125, 40164, 41001, 42001]);

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
    throw menuError(answer.error, "set");
  }
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
    throw menuError(answer.error, "read");
  }
  return menuFromWeChat(answer.value);
}

function menuError(error: WeChatError, action: "set" | "read"): ApiError {
  const { errcode } = error;
  if (error.code === "app-not-found") {
    // The app was removed between our lookup and the token authority's.
    return new ApiError("not-found", "The WeChat app was just removed.");
  }
  if (
    error.code === "wechat-error" &&
    errcode !== undefined &&
    !error.retryable &&
    !CREDENTIAL_ERRCODES.has(errcode)
  ) {
    return new ApiError(
      "unprocessable-entity",
      `WeChat refused to ${action} the menu: errcode ${errcode} (${error.errmsg ?? ""}).`,
    );
  }
  const why = errcode === undefined ? error.message : `errcode ${errcode} (${error.errmsg ?? ""})`;
  const headers: Record<string, string> =
    error.retryAfterMs === undefined
      ? {}
      : { "Retry-After": String(Math.ceil(error.retryAfterMs / 1000)) };
  return new ApiError(
    "provider-unavailable",
    `WeChat could not ${action} the menu now: ${why}. Nothing is lost by trying again.`,
    { headers },
  );
}
