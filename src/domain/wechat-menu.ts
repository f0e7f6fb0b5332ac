/**
 * A WeChat Official Account's custom menu (自定义菜单) and WeChat's rules for it, checked before the
 * menu is sent so that every problem comes back at once, each at its JSON Pointer. Field names are
 * WeChat's own (snake_case), as in `/cgi-bin/menu/create`.
 *
 * Source: developers.weixin.qq.com/doc/service/api/custommenu/api_createcustommenu: 1–3 top-level
 * buttons, 1–5 sub-buttons each; a name is at most 16 bytes (top level) or 60 bytes (sub-button;
 * older copies of the page say 40, WeChat accepts 60); `key` at most 128 bytes; `url` at most 1024
 * bytes; `type` and `sub_button` are mutually exclusive. Bytes are UTF-8: a Chinese character is 3.
 */
import { toPointer } from "../lib/problem";

export interface MenuButtonFields {
  name: string;
  type?: string;
  key?: string;
  url?: string;
  media_id?: string;
  article_id?: string;
  appid?: string;
  pagepath?: string;
}

/** A second-level button. `sub_button` is here only so that nesting deeper can be reported. */
export interface MenuSubButton extends MenuButtonFields {
  sub_button?: readonly unknown[];
}

export interface MenuButton extends MenuButtonFields {
  sub_button?: readonly MenuSubButton[];
}

export interface Menu {
  button: readonly MenuButton[];
}

export interface MenuProblem {
  pointer: string;
  detail: string;
}

export const MAX_TOP_BUTTONS = 3;
export const MAX_SUB_BUTTONS = 5;
export const MAX_TOP_NAME_BYTES = 16;
export const MAX_SUB_NAME_BYTES = 60;
export const MAX_KEY_BYTES = 128;
export const MAX_URL_BYTES = 1024;

type ActionField = Exclude<keyof MenuButtonFields, "name" | "type">;

const KEY_ONLY: readonly ActionField[] = ["key"];

/** Each button type and the fields it needs; a field a type does not use is a mistake. */
export const MENU_BUTTON_TYPES: Readonly<Record<string, readonly ActionField[]>> = {
  click: KEY_ONLY,
  scancode_push: KEY_ONLY,
  scancode_waitmsg: KEY_ONLY,
  pic_sysphoto: KEY_ONLY,
  pic_photo_or_album: KEY_ONLY,
  pic_weixin: KEY_ONLY,
  location_select: KEY_ONLY,
  view: ["url"],
  // `url` is what WeChat clients too old for mini programs open instead.
  miniprogram: ["appid", "pagepath", "url"],
  media_id: ["media_id"],
  view_limited: ["media_id"],
  article_id: ["article_id"],
  article_view_limited: ["article_id"],
};

const ACTION_FIELDS: readonly ActionField[] = [
  "key",
  "url",
  "media_id",
  "article_id",
  "appid",
  "pagepath",
];

const encoder = new TextEncoder();

export function utf8Bytes(text: string): number {
  return encoder.encode(text).length;
}

function hasSubButtons(button: { sub_button?: readonly unknown[] }): boolean {
  return (button.sub_button?.length ?? 0) > 0;
}

/** Every way `menu` breaks WeChat's rules; empty when WeChat should accept it. */
export function validateMenu(menu: Menu): MenuProblem[] {
  const problems: MenuProblem[] = [];
  const report = (path: readonly PropertyKey[], detail: string) => {
    problems.push({ pointer: toPointer(path), detail });
  };
  if (menu.button.length === 0 || menu.button.length > MAX_TOP_BUTTONS) {
    report(
      ["button"],
      `a menu has 1–${MAX_TOP_BUTTONS} top-level buttons, not ${menu.button.length}`,
    );
  }
  menu.button.forEach((button, i) => {
    const at = ["button", i];
    checkName(button.name, MAX_TOP_NAME_BYTES, [...at, "name"], report);
    const subs = button.sub_button ?? [];
    if (!hasSubButtons(button)) {
      checkAction(button, at, report);
      return;
    }
    if (subs.length > MAX_SUB_BUTTONS) {
      report(
        [...at, "sub_button"],
        `a button has at most ${MAX_SUB_BUTTONS} sub-buttons, not ${subs.length}`,
      );
    }
    if (button.type !== undefined) {
      report([...at, "type"], "a button with sub-buttons has no `type`: it only opens them");
    }
    for (const field of ACTION_FIELDS) {
      if (button[field] !== undefined) {
        report([...at, field], `a button with sub-buttons has no \`${field}\``);
      }
    }
    subs.forEach((sub, j) => {
      const subAt = [...at, "sub_button", j];
      checkName(sub.name, MAX_SUB_NAME_BYTES, [...subAt, "name"], report);
      if (hasSubButtons(sub)) {
        report([...subAt, "sub_button"], "sub-buttons cannot have sub-buttons of their own");
      }
      checkAction(sub, subAt, report);
    });
  });
  return problems;
}

type Report = (path: readonly PropertyKey[], detail: string) => void;

function checkName(name: string, maxBytes: number, path: PropertyKey[], report: Report): void {
  if (name.trim() === "") {
    report(path, "a button needs a name");
    return;
  }
  const bytes = utf8Bytes(name);
  if (bytes > maxBytes) {
    report(
      path,
      `at most ${maxBytes} bytes of UTF-8 here (a Chinese character is 3), not ${bytes}`,
    );
  }
}

/** A button without sub-buttons: its type, the fields that type needs, and no others. */
function checkAction(button: MenuButtonFields, at: PropertyKey[], report: Report): void {
  if (button.type === undefined) {
    report([...at, "type"], "a button without sub-buttons needs a `type`");
    return;
  }
  const needs = MENU_BUTTON_TYPES[button.type];
  if (!needs || !Object.hasOwn(MENU_BUTTON_TYPES, button.type)) {
    report(
      [...at, "type"],
      `unknown button type \`${button.type}\`; one of ${Object.keys(MENU_BUTTON_TYPES).join(", ")}`,
    );
    return;
  }
  for (const field of ACTION_FIELDS) {
    const value = button[field];
    if (needs.includes(field)) {
      if (value === undefined || value.trim() === "") {
        report([...at, field], `a \`${button.type}\` button needs \`${field}\``);
      } else {
        checkValue(field, value, [...at, field], report);
      }
    } else if (value !== undefined) {
      report([...at, field], `a \`${button.type}\` button has no \`${field}\``);
    }
  }
}

function checkValue(field: ActionField, value: string, path: PropertyKey[], report: Report): void {
  if (field === "key" && utf8Bytes(value) > MAX_KEY_BYTES) {
    report(path, `at most ${MAX_KEY_BYTES} bytes of UTF-8, not ${utf8Bytes(value)}`);
  }
  if (field === "url") {
    if (utf8Bytes(value) > MAX_URL_BYTES) {
      report(path, `at most ${MAX_URL_BYTES} bytes of UTF-8, not ${utf8Bytes(value)}`);
    } else if (!isWebUrl(value)) {
      report(path, "an http or https URL");
    }
  }
}

function isWebUrl(value: string): boolean {
  try {
    const url = new URL(value);
    return (url.protocol === "http:" || url.protocol === "https:") && url.hostname !== "";
  } catch {
    return false;
  }
}

/**
 * The menu as WeChat's `/cgi-bin/menu/get` has it (`{menu: {button: [...]}}`), in our shape:
 * only the known string fields, and no empty `sub_button` lists (WeChat adds one to every leaf).
 */
export function menuFromWeChat(answer: Record<string, unknown>): Menu {
  const menu = answer.menu;
  const buttons = isRecord(menu) && Array.isArray(menu.button) ? menu.button : [];
  return { button: buttons.filter(isRecord).map(buttonFromWeChat) };
}

function buttonFromWeChat(raw: Record<string, unknown>): MenuButton {
  const button: MenuButton = { name: typeof raw.name === "string" ? raw.name : "" };
  for (const field of ["type", ...ACTION_FIELDS] as const) {
    const value = raw[field];
    if (typeof value === "string") {
      button[field] = value;
    }
  }
  if (Array.isArray(raw.sub_button) && raw.sub_button.length > 0) {
    button.sub_button = raw.sub_button.filter(isRecord).map(buttonFromWeChat);
  }
  return button;
}

/** The body for `/cgi-bin/menu/create`: the menu as given, without empty `sub_button` lists. */
export function menuForWeChat(menu: Menu): Menu {
  return { button: menu.button.map(withoutEmptySubButtons) };
}

function withoutEmptySubButtons(button: MenuButton): MenuButton {
  const { sub_button, ...fields } = button;
  if (!sub_button || sub_button.length === 0) {
    return fields;
  }
  // Validated: a sub-button's own `sub_button` can only be empty.
  return { ...fields, sub_button: sub_button.map(({ sub_button: _empty, ...sub }) => sub) };
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}
