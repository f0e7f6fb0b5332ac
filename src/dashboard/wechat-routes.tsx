/**
 * The dashboard's WeChat routes: accounts, auto-reply rules and the custom menu, over the same
 * services as `/v1/wechat/apps/…` (the menu is published by `putMenu`, as `PUT …/menu` does).
 * Like the API, every page and action needs `admin`; each checks it itself (403).
 */
import { type Context, Hono } from "hono";
import type { AppEnv } from "../app-env";
import { grants } from "../domain/permissions";
import { AUTO_REPLY_MATCHES, type AutoReplyMatch } from "../domain/vocabulary";
import { MEDIA_TYPES } from "../domain/wechat-media";
import type { Menu, MenuButton, MenuButtonFields, MenuSubButton } from "../domain/wechat-menu";
import { MAX_SUB_BUTTONS, MAX_TOP_BUTTONS } from "../domain/wechat-menu";
import { ApiError } from "../lib/problem";
import { listAppBindings } from "../services/contacts/bindings";
import { listWebhookEndpoints } from "../services/webhooks/endpoints";
import { listRuleQueries } from "../services/webhooks/query-log";
import { getWeChatApp, listWeChatApps, webhookUrl } from "../services/wechat/apps";
import { createAutoReply, deleteAutoReply, listAutoReplies } from "../services/wechat/auto-replies";
import { createBroadcast, listBroadcasts, previewBroadcast } from "../services/wechat/broadcasts";
import {
  changeBlacklist,
  deleteTag,
  listBlacklist,
  MAX_REMARK_CHARS,
  renameTag,
  setRemark,
} from "../services/wechat/follower-admin";
import { createTag, listFollowers, listTags, type Tag } from "../services/wechat/followers";
import { heldFile, listMedia, uploadMedia } from "../services/wechat/media";
import {
  addConditionalMenu,
  deleteConditionalMenu,
  deleteMenu,
  getMenu,
  putMenu,
} from "../services/wechat/menu";
import { createQrCode, listQrCodes, type QrCodeRow } from "../services/wechat/qrcodes";
import { type AccountTemplate, listAccountTemplates } from "../services/wechat/template-library";
import { type FieldErrors, type FormFields, fieldErrorsOf, fieldOf, readForm } from "./forms";
import { type Notice, problemNotice, render, setFlash, tOf } from "./ui";
import {
  AutoRepliesPage,
  type AutoReplyDraft,
  AutoReplyRulePage,
  BindingsPage,
  BROADCAST_KINDS,
  type BroadcastDraft,
  type BroadcastKind,
  BroadcastsPage,
  FollowersPage,
  MediaPage,
  MenuPage,
  NEWS_SLOTS,
  primaryFieldOf,
  QrCodesPage,
  type QrDraft,
  REPLY_KINDS,
  WeChatAppPage,
  WeChatAppsPage,
} from "./wechat";

const APP_ID = /^wx[0-9a-zA-Z]{16}$/;
const TAG_ID = /^\d{1,9}$/;
const MENU_ID = /^\d{1,20}$/;
const OPENID = /^[A-Za-z0-9_-]{1,64}$/;
const RULE_ID = /^arr_[0-9A-Z]{26}$/;

function requireAdmin(c: Context<AppEnv>): void {
  if (!grants(c.get("caller").scopes, "admin")) {
    throw new ApiError("forbidden", tOf(c)("wechat.forbidden"));
  }
}

/** The API's bounds on a template's data (routes/wechat-broadcasts: TemplateSchema). */
const MAX_DATA_KEY = 32;
const MAX_DATA_VALUE = 200;
const MAX_TEMPLATE_ID = 64;

/**
 * A template's data from its `key=value` lines (blank lines skipped; a value may hold `=`), or
 * the first line that is not one.
 */
export function templateDataOf(
  lines: string,
): { ok: true; data: Record<string, { value: string }> } | { ok: false; line: number } {
  const data: Record<string, { value: string }> = {};
  for (const [i, raw] of lines.split(/\r?\n/).entries()) {
    const line = raw.trim();
    if (!line) {
      continue;
    }
    const at = line.indexOf("=");
    const key = at > 0 ? line.slice(0, at).trim() : "";
    const value = line.slice(at + 1).trim();
    if (!key || key.length > MAX_DATA_KEY || value.length > MAX_DATA_VALUE || key in data) {
      return { ok: false, line: i + 1 };
    }
    data[key] = { value };
  }
  return { ok: true, data };
}

/**
 * A broadcast's content as the API takes it: a text, one media id (ours or WeChat's), or a
 * template with its data.
 */
function broadcastContentOf(
  draft: BroadcastDraft,
  data: Record<string, { value: string }>,
): {
  type: BroadcastKind;
  text?: string;
  media_ids?: string[];
  template?: { wechat_template_id: string; data: Record<string, { value: string }> };
} {
  if (draft.kind === "text") {
    return { type: "text", text: draft.text };
  }
  if (draft.kind === "template") {
    return { type: "template", template: { wechat_template_id: draft.templateId, data } };
  }
  return { type: draft.kind, media_ids: [draft.mediaId] };
}

/** WeChat's tag names: 1 to 30 characters (a create and a rename alike). */
function checkTagName(c: Context<AppEnv>, name: string): void {
  if (name.length === 0 || name.length > 30) {
    throw new ApiError("validation-error", tOf(c)("common.form_errors"), {
      errors: [{ pointer: "/name", detail: tOf(c)("wechat.tags.bad_name") }],
    });
  }
}

function tagIdParam(c: Context<AppEnv>): number {
  const id = c.req.param("tag_id") ?? "";
  if (!TAG_ID.test(id)) {
    throw new ApiError("not-found", `No tag ${id}.`);
  }
  return Number(id);
}

function appIdParam(c: Context<AppEnv>): string {
  const id = c.req.param("app_id") ?? "";
  if (!APP_ID.test(id)) {
    throw new ApiError("not-found", `No WeChat app ${id}.`);
  }
  return id;
}

/** A refused form answers with the problem's own 403/409, else 422; a 404 stays a 404. */
function refusal(error: unknown): ApiError {
  if (!(error instanceof ApiError) || error.status === 404) {
    throw error;
  }
  return error;
}
const formStatus = (error: ApiError) =>
  error.status === 403 || error.status === 409 ? error.status : 422;

/** One slot of the menu form (`button.1`, `button.1.sub_button.3`) as a button; null when empty. */
function buttonOfSlot(form: FormFields, prefix: string): MenuButtonFields | null {
  const name = fieldOf(form, `${prefix}.name`);
  const type = fieldOf(form, `${prefix}.type`).trim();
  const value = fieldOf(form, `${prefix}.value`).trim();
  const appid = fieldOf(form, `${prefix}.appid`).trim();
  const pagepath = fieldOf(form, `${prefix}.pagepath`).trim();
  if (!name.trim() && !type && !value && !appid && !pagepath) {
    return null;
  }
  const button: MenuButtonFields = { name: name.trim() };
  if (type) {
    button.type = type;
    const field = primaryFieldOf(type);
    if (field && value) {
      button[field] = value;
    }
    if (type === "miniprogram") {
      if (appid) {
        button.appid = appid;
      }
      if (pagepath) {
        button.pagepath = pagepath;
      }
    }
  }
  return button;
}

/**
 * The menu the form describes, its empty slots left out, and where each kept button came from:
 * the problems of `validateMenu` point into the compact menu, the form's fields into slots.
 */
export function menuOfForm(form: FormFields): {
  menu: Menu;
  slotOfPointer: (pointer: string) => string;
} {
  const buttons: MenuButton[] = [];
  const topSlots: number[] = [];
  const subSlots: number[][] = [];
  for (let i = 0; i < MAX_TOP_BUTTONS; i++) {
    const prefix = `button.${i}`;
    const subs: MenuSubButton[] = [];
    const kept: number[] = [];
    for (let j = 0; j < MAX_SUB_BUTTONS; j++) {
      const sub = buttonOfSlot(form, `${prefix}.sub_button.${j}`);
      if (sub) {
        subs.push(sub);
        kept.push(j);
      }
    }
    const top = buttonOfSlot(form, prefix);
    if (!top && subs.length === 0) {
      continue;
    }
    const button: MenuButton =
      subs.length > 0 ? { name: top?.name ?? "", sub_button: subs } : (top ?? { name: "" });
    if (subs.length > 0 && top?.type) {
      // A parent with sub-buttons only opens them: its own action would be refused.
      button.type = top.type;
    }
    buttons.push(button);
    topSlots.push(i);
    subSlots.push(kept);
  }
  const slotOfPointer = (pointer: string): string => {
    const parts = pointer.split("/").slice(1);
    if (parts[0] !== "button" || parts.length < 2) {
      return pointer;
    }
    const i = topSlots[Number(parts[1])] ?? Number(parts[1]);
    const rest = parts.slice(2);
    if (rest[0] === "sub_button" && rest.length >= 2) {
      const j = subSlots[Number(parts[1])]?.[Number(rest[1])] ?? Number(rest[1]);
      return ["", "button", i, "sub_button", j, ...fieldOfPointer(rest.slice(2))].join("/");
    }
    return ["", "button", i, ...fieldOfPointer(rest)].join("/");
  };
  return { menu: { button: buttons }, slotOfPointer };
}

/** A problem about `key`, `url`, `media_id` or `article_id` belongs to the slot's value input. */
function fieldOfPointer(rest: string[]): string[] {
  const [field, ...more] = rest;
  if (field === "key" || field === "url" || field === "media_id" || field === "article_id") {
    return ["value", ...more];
  }
  return rest;
}

async function renderMenu(
  c: Context<AppEnv>,
  appId: string,
  refused?: { draft?: Menu; error: ApiError; errors: FieldErrors; tagId?: string },
) {
  const caller = c.get("caller");
  let published: Menu | null = null;
  let readError: ApiError | undefined;
  try {
    published = await getMenu(c.env, caller, appId);
  } catch (error) {
    readError = refusal(error);
  }
  const failed = refused?.error ?? readError;
  const notice = failed ? problemNotice(failed) : undefined;
  // The tags a conditional menu may target; none to offer when WeChat cannot be asked.
  const tags = await listTags(c.env, caller, appId).catch(() => []);
  return render(
    c,
    <MenuPage
      appId={appId}
      tags={tags}
      tagId={refused?.tagId}
      published={published}
      draft={refused?.draft ?? published ?? { button: [] }}
      canWrite
      notice={notice}
      errors={refused?.errors}
    />,
    refused ? formStatus(refused.error) : 200,
  );
}

async function renderAutoReplies(
  c: Context<AppEnv>,
  appId: string,
  refused?: { draft: AutoReplyDraft; error: ApiError },
) {
  const rules = await listAutoReplies(c.env, c.get("caller"), appId);
  // The endpoints a query rule may ask (the first 100: a tenant has at most 20).
  const endpoints = await listWebhookEndpoints(c.env, c.get("caller"), { limit: 100 });
  return render(
    c,
    <AutoRepliesPage
      appId={appId}
      rules={rules}
      endpoints={endpoints.data}
      canWrite
      draft={refused?.draft}
      notice={refused ? problemNotice(refused.error) : undefined}
      errors={refused ? fieldErrorsOf(refused.error) : undefined}
    />,
    refused ? formStatus(refused.error) : 200,
  );
}

async function renderQrCodes(
  c: Context<AppEnv>,
  appId: string,
  view: { refused?: { draft: QrDraft; error: ApiError }; created?: QrCodeRow } = {},
) {
  const codes = await listQrCodes(c.env, c.get("caller"), appId, 100);
  const { refused } = view;
  return render(
    c,
    <QrCodesPage
      appId={appId}
      codes={codes}
      created={view.created}
      draft={refused?.draft}
      notice={refused ? problemNotice(refused.error) : undefined}
      errors={refused ? fieldErrorsOf(refused.error) : undefined}
    />,
    refused ? formStatus(refused.error) : view.created ? 201 : 200,
  );
}

const FOLLOWER_CURSOR = /^[A-Za-z0-9_-]{1,64}$/;

async function renderFollowers(c: Context<AppEnv>, appId: string, refused?: ApiError) {
  const caller = c.get("caller");
  if (!grants(caller.scopes, "messages:read")) {
    throw new ApiError("forbidden", tOf(c)("wechat.forbidden"));
  }
  const followingParam = c.req.query("following");
  const following =
    followingParam === "true" ? true : followingParam === "false" ? false : undefined;
  const cursorParam = c.req.query("cursor");
  const cursor = cursorParam && FOLLOWER_CURSOR.test(cursorParam) ? cursorParam : undefined;
  const page = await listFollowers(c.env, caller, appId, { following, cursor, limit: 50 });
  const canManageTags = grants(caller.scopes, "admin");
  let tags: Tag[] | null = null;
  let blacklist: { total: number; openids: string[] } | null = null;
  let notice = refused ? problemNotice(refused) : undefined;
  if (canManageTags) {
    try {
      tags = await listTags(c.env, caller, appId);
      blacklist = await listBlacklist(c.env, caller, appId, undefined);
    } catch (error) {
      notice ??= problemNotice(refusal(error));
    }
  }
  return render(
    c,
    <FollowersPage
      appId={appId}
      followers={page.data}
      following={following === undefined ? undefined : String(following)}
      cursor={cursor}
      nextCursor={page.nextCursor}
      tags={tags}
      blacklist={blacklist}
      canManageTags={canManageTags}
      notice={notice}
      errors={refused ? fieldErrorsOf(refused) : undefined}
    />,
    refused ? formStatus(refused) : 200,
  );
}

const QUERY_CURSOR = /^[A-Za-z0-9_-]{1,64}$/;

const BROADCAST_CURSOR = /^wbc_[0-9A-Z]{26}$|^[A-Za-z0-9_-]{1,64}$/;

async function renderBroadcasts(
  c: Context<AppEnv>,
  appId: string,
  view: { notice?: Notice; draft?: BroadcastDraft; refused?: ApiError } = {},
) {
  const caller = c.get("caller");
  if (!grants(caller.scopes, "messages:read")) {
    throw new ApiError("forbidden", tOf(c)("wechat.forbidden"));
  }
  const cursorParam = c.req.query("cursor");
  const cursor = cursorParam && BROADCAST_CURSOR.test(cursorParam) ? cursorParam : undefined;
  const page = await listBroadcasts(c.env, caller, appId, { cursor, limit: 50 });
  // The account's uploaded media to pick an image or news from (the newest 100).
  const media = await listMedia(c.env, caller, appId, { limit: 100 });
  // The account's templates, as WeChat lists them (at most 25), for one who may send; WeChat out
  // of reach (or a subscription account without templates) leaves the id to be typed.
  let templates: AccountTemplate[] = [];
  let templatesUnavailable = false;
  if (grants(caller.scopes, "messages:send")) {
    try {
      templates = await listAccountTemplates(c.env, caller, appId);
    } catch (error) {
      if (!(error instanceof ApiError)) {
        throw error;
      }
      templatesUnavailable = true;
    }
  }
  const { refused } = view;
  return render(
    c,
    <BroadcastsPage
      appId={appId}
      broadcasts={page.data}
      media={media.data}
      templates={templates}
      templatesUnavailable={templatesUnavailable}
      cursor={cursor}
      nextCursor={page.nextCursor}
      canSend={grants(caller.scopes, "messages:send")}
      draft={view.draft}
      notice={refused ? problemNotice(refused) : view.notice}
      errors={refused ? fieldErrorsOf(refused) : undefined}
    />,
    refused ? formStatus(refused) : 200,
  );
}

const MEDIA_CURSOR = /^[A-Za-z0-9_-]{1,64}$/;

async function renderMedia(c: Context<AppEnv>, appId: string, refused?: ApiError) {
  const caller = c.get("caller");
  if (!grants(caller.scopes, "messages:read")) {
    throw new ApiError("forbidden", tOf(c)("wechat.forbidden"));
  }
  const cursorParam = c.req.query("cursor");
  const cursor = cursorParam && MEDIA_CURSOR.test(cursorParam) ? cursorParam : undefined;
  const page = await listMedia(c.env, caller, appId, { cursor, limit: 50 });
  return render(
    c,
    <MediaPage
      appId={appId}
      media={page.data}
      cursor={cursor}
      nextCursor={page.nextCursor}
      canUpload={grants(caller.scopes, "messages:send")}
      notice={refused ? problemNotice(refused) : undefined}
      errors={refused ? fieldErrorsOf(refused) : undefined}
    />,
    refused ? formStatus(refused) : 200,
  );
}

export const wechatPages = new Hono<AppEnv>()
  .get("/dashboard/wechat", async (c) => {
    requireAdmin(c);
    const apps = await listWeChatApps(c.env, c.get("caller"));
    return render(c, <WeChatAppsPage apps={apps} />);
  })
  .get("/dashboard/wechat/:app_id", async (c) => {
    requireAdmin(c);
    const app = await getWeChatApp(c.env, c.get("caller"), appIdParam(c));
    return render(c, <WeChatAppPage app={app} webhookUrl={webhookUrl(c.env, app.appId)} />);
  })
  .get("/dashboard/wechat/:app_id/menu", async (c) => {
    requireAdmin(c);
    const appId = appIdParam(c);
    await getWeChatApp(c.env, c.get("caller"), appId);
    return renderMenu(c, appId);
  })
  .post("/dashboard/wechat/:app_id/menu", async (c) => {
    requireAdmin(c);
    const appId = appIdParam(c);
    const form = await readForm(c);
    const { menu, slotOfPointer } = menuOfForm(form);
    // A tag makes it a conditional (personalised) menu for that tag's followers.
    const tagId = fieldOf(form, "tag_id").trim();
    let conditional: string | undefined;
    try {
      if (tagId && !TAG_ID.test(tagId)) {
        throw new ApiError("validation-error", tOf(c)("common.form_errors"), {
          errors: [{ pointer: "/tag_id", detail: tOf(c)("wechat.menu.bad_tag") }],
        });
      }
      if (tagId) {
        conditional = (await addConditionalMenu(c.env, c.get("caller"), appId, menu, Number(tagId)))
          .menuId;
      } else {
        await putMenu(c.env, c.get("caller"), appId, menu);
      }
    } catch (error) {
      const refused = refusal(error);
      const slotted = new ApiError("unprocessable-entity", refused.message, {
        errors: (refused.errors ?? []).map((e) => ({
          ...e,
          pointer: slotOfPointer(e.pointer),
        })),
      });
      // The form shows the draft in its slots, as it was typed.
      const draft = draftOfSlots(menu, slotOfPointer);
      return renderMenu(c, appId, {
        draft,
        error: refused.status === 422 ? slotted : refused,
        errors: fieldErrorsOf(slotted),
        tagId,
      });
    }
    if (conditional !== undefined) {
      setFlash(c, "ok", "wechat.menu.conditional_ok", { id: conditional, tag: tagId });
    } else {
      setFlash(c, "ok", "wechat.menu.published_ok");
    }
    return c.redirect(`/dashboard/wechat/${appId}/menu`, 303);
  })
  .post("/dashboard/wechat/:app_id/menu/delete", async (c) => {
    requireAdmin(c);
    const appId = appIdParam(c);
    await deleteMenu(c.env, c.get("caller"), appId);
    setFlash(c, "ok", "wechat.menu.deleted");
    return c.redirect(`/dashboard/wechat/${appId}/menu`, 303);
  })
  .post("/dashboard/wechat/:app_id/menu/conditional/delete", async (c) => {
    requireAdmin(c);
    const appId = appIdParam(c);
    const menuId = fieldOf(await readForm(c), "menu_id").trim();
    try {
      if (!MENU_ID.test(menuId)) {
        throw new ApiError("validation-error", tOf(c)("common.form_errors"), {
          errors: [{ pointer: "/menu_id", detail: tOf(c)("wechat.menu.bad_menu_id") }],
        });
      }
      await deleteConditionalMenu(c.env, c.get("caller"), appId, menuId);
    } catch (error) {
      const refused = refusal(error);
      return renderMenu(c, appId, {
        error: refused,
        errors: fieldErrorsOf(refused),
      });
    }
    setFlash(c, "ok", "wechat.menu.conditional_deleted", { id: menuId });
    return c.redirect(`/dashboard/wechat/${appId}/menu`, 303);
  })
  .get("/dashboard/wechat/:app_id/auto-replies", async (c) => {
    requireAdmin(c);
    return renderAutoReplies(c, appIdParam(c));
  })
  .post("/dashboard/wechat/:app_id/auto-replies", async (c) => {
    requireAdmin(c);
    const appId = appIdParam(c);
    const form = await readForm(c);
    const draft = autoReplyDraftOf(form);
    try {
      const t = tOf(c);
      const match = AUTO_REPLY_MATCHES.find((m) => m === draft.match);
      const priority = draft.priority === "" ? undefined : Number(draft.priority);
      const { reply, errors } = replyOfDraft(draft, t);
      if (!match) {
        errors.push({ pointer: "/match", detail: t("wechat.auto_replies.bad_match") });
      }
      if (
        priority !== undefined &&
        !(Number.isInteger(priority) && priority >= 0 && priority <= 1000)
      ) {
        errors.push({ pointer: "/priority", detail: t("wechat.auto_replies.bad_priority") });
      }
      if (errors.length > 0 || !match) {
        throw new ApiError("validation-error", t("common.form_errors"), { errors });
      }
      await createAutoReply(c.env, c.get("caller"), appId, {
        match: match satisfies AutoReplyMatch,
        keyword: draft.keyword || undefined,
        reply,
        priority,
      });
    } catch (error) {
      return renderAutoReplies(c, appId, { draft, error: refusal(error) });
    }
    setFlash(c, "ok", "wechat.auto_replies.created");
    return c.redirect(`/dashboard/wechat/${appId}/auto-replies`, 303);
  })
  .get("/dashboard/wechat/:app_id/qrcodes", async (c) => {
    requireAdmin(c);
    return renderQrCodes(c, appIdParam(c));
  })
  .post("/dashboard/wechat/:app_id/qrcodes", async (c) => {
    requireAdmin(c);
    const appId = appIdParam(c);
    const form = await readForm(c);
    const draft: QrDraft = {
      scene: fieldOf(form, "scene").trim(),
      temporary: fieldOf(form, "temporary") !== "false",
      expire: fieldOf(form, "expire_seconds").trim(),
    };
    try {
      const t = tOf(c);
      const expire = draft.expire === "" ? undefined : Number(draft.expire);
      const errors = [
        ...(draft.scene ? [] : [{ pointer: "/scene", detail: t("wechat.qrcodes.bad_scene") }]),
        ...(expire === undefined || (Number.isInteger(expire) && expire >= 60)
          ? []
          : [{ pointer: "/expire_seconds", detail: t("wechat.qrcodes.bad_expire") }]),
      ];
      if (errors.length > 0) {
        throw new ApiError("validation-error", t("common.form_errors"), { errors });
      }
      const created = await createQrCode(c.env, c.get("caller"), appId, {
        scene: draft.scene,
        temporary: draft.temporary,
        // A permanent code has no end: the field is for temporary ones only.
        expire_seconds: draft.temporary ? expire : undefined,
      });
      return renderQrCodes(c, appId, { created });
    } catch (error) {
      return renderQrCodes(c, appId, { refused: { draft, error: refusal(error) } });
    }
  })
  .get("/dashboard/wechat/:app_id/followers", (c) => renderFollowers(c, appIdParam(c)))
  .post("/dashboard/wechat/:app_id/tags", async (c) => {
    requireAdmin(c);
    const appId = appIdParam(c);
    const name = fieldOf(await readForm(c), "name").trim();
    try {
      checkTagName(c, name);
      const tag = await createTag(c.env, c.get("caller"), appId, name);
      setFlash(c, "ok", "wechat.tags.created", { name: tag.name });
    } catch (error) {
      return renderFollowers(c, appId, refusal(error));
    }
    return c.redirect(`/dashboard/wechat/${appId}/followers`, 303);
  })
  .post("/dashboard/wechat/:app_id/tags/:tag_id/rename", async (c) => {
    requireAdmin(c);
    const appId = appIdParam(c);
    const id = tagIdParam(c);
    const name = fieldOf(await readForm(c), "name").trim();
    try {
      checkTagName(c, name);
      await renameTag(c.env, c.get("caller"), appId, { id, name });
    } catch (error) {
      return renderFollowers(c, appId, refusal(error));
    }
    setFlash(c, "ok", "wechat.tags.renamed", { name });
    return c.redirect(`/dashboard/wechat/${appId}/followers`, 303);
  })
  .post("/dashboard/wechat/:app_id/tags/:tag_id/delete", async (c) => {
    requireAdmin(c);
    const appId = appIdParam(c);
    const id = tagIdParam(c);
    try {
      await deleteTag(c.env, c.get("caller"), appId, id);
    } catch (error) {
      return renderFollowers(c, appId, refusal(error));
    }
    setFlash(c, "ok", "wechat.tags.deleted", { id });
    return c.redirect(`/dashboard/wechat/${appId}/followers`, 303);
  })
  .post("/dashboard/wechat/:app_id/followers/remark", async (c) => {
    requireAdmin(c);
    const appId = appIdParam(c);
    const form = await readForm(c);
    const openid = fieldOf(form, "openid").trim();
    const remark = fieldOf(form, "remark").trim();
    try {
      const t = tOf(c);
      const errors = [
        ...(OPENID.test(openid)
          ? []
          : [{ pointer: "/openid", detail: t("wechat.followers.bad_openid") }]),
        ...([...remark].length < MAX_REMARK_CHARS
          ? []
          : [
              {
                pointer: "/remark",
                detail: t("wechat.followers.bad_remark", { max: MAX_REMARK_CHARS - 1 }),
              },
            ]),
      ];
      if (errors.length > 0) {
        throw new ApiError("validation-error", t("common.form_errors"), { errors });
      }
      await setRemark(c.env, c.get("caller"), appId, { openid, remark });
    } catch (error) {
      return renderFollowers(c, appId, refusal(error));
    }
    setFlash(c, "ok", "wechat.followers.remarked", { openid });
    return c.redirect(`/dashboard/wechat/${appId}/followers`, 303);
  })
  .post("/dashboard/wechat/:app_id/blacklist", async (c) => {
    requireAdmin(c);
    const appId = appIdParam(c);
    const form = await readForm(c);
    const action = fieldOf(form, "action") === "remove" ? "remove" : "add";
    const openids = fieldOf(form, "openids")
      .split(/[\s,]+/)
      .filter(Boolean);
    try {
      const bad = openids.findIndex((o) => !OPENID.test(o));
      if (openids.length === 0 || openids.length > 1000 || bad >= 0) {
        throw new ApiError("validation-error", tOf(c)("common.form_errors"), {
          errors: [{ pointer: "/openids", detail: tOf(c)("wechat.blacklist.bad_openids") }],
        });
      }
      await changeBlacklist(c.env, c.get("caller"), appId, { openids, action });
    } catch (error) {
      return renderFollowers(c, appId, refusal(error));
    }
    setFlash(c, "ok", action === "add" ? "wechat.blacklist.added" : "wechat.blacklist.removed", {
      n: openids.length,
    });
    return c.redirect(`/dashboard/wechat/${appId}/followers#blacklist`, 303);
  })
  .get("/dashboard/wechat/:app_id/broadcasts", (c) => renderBroadcasts(c, appIdParam(c)))
  .post("/dashboard/wechat/:app_id/broadcasts", async (c) => {
    const appId = appIdParam(c);
    const form = await readForm(c);
    const draft: BroadcastDraft = {
      kind: BROADCAST_KINDS.find((k) => k === fieldOf(form, "type")) ?? "text",
      mediaId: fieldOf(form, "media_ids.0").trim(),
      text: fieldOf(form, "text"),
      templateId: fieldOf(form, "template.wechat_template_id").trim(),
      templateData: fieldOf(form, "template.data"),
      target: fieldOf(form, "target") === "tag" ? "tag" : "all",
      tagId: fieldOf(form, "target.tag_id").trim(),
      openid: fieldOf(form, "openid").trim(),
    };
    const intent = fieldOf(form, "intent") === "preview" ? "preview" : "send";
    const t = tOf(c);
    try {
      if (!grants(c.get("caller").scopes, "messages:send")) {
        throw new ApiError("forbidden", t("wechat.forbidden"));
      }
      const tagId = Number(draft.tagId);
      const data = templateDataOf(draft.templateData);
      const content = broadcastContentOf(draft, data.ok ? data.data : {});
      const template = draft.kind === "template";
      const errors = [
        ...(draft.kind !== "text" || draft.text.trim()
          ? []
          : [{ pointer: "/text", detail: t("wechat.broadcasts.bad_text") }]),
        ...(draft.kind === "text" || template || draft.mediaId
          ? []
          : [{ pointer: "/media_ids/0", detail: t("wechat.broadcasts.bad_media") }]),
        ...(!template || (draft.templateId && draft.templateId.length <= MAX_TEMPLATE_ID)
          ? []
          : [
              {
                pointer: "/template/wechat_template_id",
                detail: t("wechat.broadcasts.bad_template"),
              },
            ]),
        ...(!template || (data.ok && Object.keys(data.data).length > 0)
          ? []
          : [
              {
                pointer: "/template/data",
                detail: data.ok
                  ? t("wechat.broadcasts.no_template_data")
                  : t("wechat.broadcasts.bad_template_data", { line: data.line }),
              },
            ]),
        ...(draft.target === "tag" && !(Number.isInteger(tagId) && tagId > 0 && draft.tagId)
          ? [{ pointer: "/target/tag_id", detail: t("wechat.broadcasts.bad_tag") }]
          : []),
        ...(intent === "preview" && !draft.openid
          ? [{ pointer: "/openid", detail: t("wechat.broadcasts.bad_openid") }]
          : []),
      ];
      if (errors.length > 0) {
        throw new ApiError("validation-error", t("common.form_errors"), { errors });
      }
      if (intent === "preview") {
        await previewBroadcast(c.env, c.get("caller"), appId, {
          ...content,
          openid: draft.openid,
        });
        // The form stays filled: the preview is checked on a phone, then sent.
        return renderBroadcasts(c, appId, {
          draft,
          notice: { kind: "ok", text: t("wechat.broadcasts.previewed", { openid: draft.openid }) },
        });
      }
      const { row } = await createBroadcast(c.env, c.get("caller"), appId, {
        ...content,
        target: draft.target === "tag" ? { kind: "tag", tag_id: tagId } : { kind: "all" },
      });
      setFlash(
        c,
        "ok",
        `wechat.broadcasts.created.${row.status === "pending_review" ? "held" : "sent"}`,
      );
    } catch (error) {
      return renderBroadcasts(c, appId, { draft, refused: refusal(error) });
    }
    return c.redirect(`/dashboard/wechat/${appId}/broadcasts`, 303);
  })
  .get("/dashboard/wechat/:app_id/bindings", async (c) => {
    const caller = c.get("caller");
    // Like GET /v1/contacts: who is bound to which follower is contact data.
    if (!grants(caller.scopes, "messages:read")) {
      throw new ApiError("forbidden", tOf(c)("wechat.forbidden"));
    }
    const appId = appIdParam(c);
    await getWeChatApp(c.env, caller, appId);
    const cursorParam = c.req.query("cursor");
    const cursor = cursorParam && MEDIA_CURSOR.test(cursorParam) ? cursorParam : undefined;
    const page = await listAppBindings(c.env, caller, appId, { cursor, limit: 50 });
    return render(
      c,
      <BindingsPage
        appId={appId}
        bindings={page.data}
        cursor={cursor}
        nextCursor={page.nextCursor}
      />,
    );
  })
  .get("/dashboard/wechat/:app_id/media", (c) => renderMedia(c, appIdParam(c)))
  .post("/dashboard/wechat/:app_id/media", async (c) => {
    const appId = appIdParam(c);
    const form = await readForm(c);
    const t = tOf(c);
    try {
      if (!grants(c.get("caller").scopes, "messages:send")) {
        throw new ApiError("forbidden", t("wechat.forbidden"));
      }
      const type = MEDIA_TYPES.find((m) => m === fieldOf(form, "type"));
      const file = form.file instanceof File && form.file.size > 0 ? form.file : undefined;
      if (!type || !file) {
        throw new ApiError("validation-error", t("common.form_errors"), {
          errors: [
            ...(type ? [] : [{ pointer: "/type", detail: t("wechat.media.bad_type") }]),
            ...(file ? [] : [{ pointer: "/file", detail: t("wechat.media.bad_file") }]),
          ],
        });
      }
      const row = await uploadMedia(c.env, c.get("caller"), appId, {
        type,
        permanent: fieldOf(form, "permanent") === "true",
        file: heldFile(file),
      });
      setFlash(c, "ok", "wechat.media.uploaded", { id: row.id });
    } catch (error) {
      return renderMedia(c, appId, refusal(error));
    }
    return c.redirect(`/dashboard/wechat/${appId}/media`, 303);
  })
  .get("/dashboard/wechat/:app_id/auto-replies/:id", async (c) => {
    requireAdmin(c);
    const appId = appIdParam(c);
    const id = c.req.param("id");
    // The rule of this account (another account's or tenant's is the 404 of a missing one).
    const rule = RULE_ID.test(id)
      ? (await listAutoReplies(c.env, c.get("caller"), appId)).find((r) => r.id === id)
      : undefined;
    if (!rule) {
      throw new ApiError("not-found", `No auto-reply rule ${id}.`);
    }
    const cursorParam = c.req.query("cursor");
    const cursor = cursorParam && QUERY_CURSOR.test(cursorParam) ? cursorParam : undefined;
    const page =
      rule.reply.type === "query"
        ? await listRuleQueries(c.env, c.get("caller"), rule.id, { cursor, limit: 50 })
        : { data: [], nextCursor: null };
    const endpointId = rule.reply.endpoint_id;
    const endpoint =
      rule.reply.type === "query"
        ? (await listWebhookEndpoints(c.env, c.get("caller"), { limit: 100 })).data.find(
            (e) => e.id === endpointId,
          )
        : undefined;
    return render(
      c,
      <AutoReplyRulePage
        appId={appId}
        rule={rule}
        endpointUrl={endpoint?.url}
        queries={page.data}
        cursor={cursor}
        nextCursor={page.nextCursor}
      />,
    );
  })
  .post("/dashboard/wechat/:app_id/auto-replies/:id/delete", async (c) => {
    requireAdmin(c);
    const appId = appIdParam(c);
    const id = c.req.param("id");
    if (!RULE_ID.test(id)) {
      throw new ApiError("not-found", `No auto-reply rule ${id}.`);
    }
    await deleteAutoReply(c.env, c.get("caller"), appId, id);
    setFlash(c, "ok", "wechat.auto_replies.deleted");
    return c.redirect(`/dashboard/wechat/${appId}/auto-replies`, 303);
  });

/** The auto-reply form as typed. */
function autoReplyDraftOf(form: FormFields): AutoReplyDraft {
  const kind = REPLY_KINDS.find((k) => k === fieldOf(form, "reply.type")) ?? "text";
  return {
    match: fieldOf(form, "match"),
    keyword: fieldOf(form, "keyword").trim(),
    kind,
    content: fieldOf(form, "reply.content"),
    articles: Array.from({ length: NEWS_SLOTS }, (_, i) => ({
      title: fieldOf(form, `reply.articles.${i}.title`).trim(),
      description: fieldOf(form, `reply.articles.${i}.description`).trim(),
      url: fieldOf(form, `reply.articles.${i}.url`).trim(),
      pic_url: fieldOf(form, `reply.articles.${i}.pic_url`).trim(),
    })),
    endpointId: fieldOf(form, "reply.endpoint_id").trim(),
    priority: fieldOf(form, "priority").trim(),
  };
}

const WEB_URL = /^https?:\/\/[^\s]+$/;

/**
 * The reply the API's schema accepts (POST …/auto-replies: a text, news of 1 to 8 articles, or a
 * query to one of the tenant's endpoints) with the form's errors at the API's pointers. Blank
 * article slots are left out, so the pointers follow the kept articles' slots.
 */
function replyOfDraft(
  draft: AutoReplyDraft,
  t: ReturnType<typeof tOf>,
): { reply: Record<string, unknown>; errors: { pointer: string; detail: string }[] } {
  const errors: { pointer: string; detail: string }[] = [];
  if (draft.kind === "query") {
    if (!/^whk_[0-9A-Z]{26}$/.test(draft.endpointId)) {
      errors.push({ pointer: "/reply/endpoint_id", detail: t("wechat.auto_replies.bad_endpoint") });
    }
    return { reply: { type: "query", endpoint_id: draft.endpointId }, errors };
  }
  if (draft.kind === "news") {
    const articles: Record<string, string>[] = [];
    draft.articles.forEach((a, i) => {
      if (!a.title && !a.url && !a.description && !a.pic_url) {
        return;
      }
      const at = `/reply/articles/${i}`;
      if (a.title.length < 1 || a.title.length > 64) {
        errors.push({ pointer: `${at}/title`, detail: t("wechat.auto_replies.bad_title") });
      }
      if (a.description.length > 120) {
        errors.push({
          pointer: `${at}/description`,
          detail: t("wechat.auto_replies.bad_description"),
        });
      }
      for (const field of ["url", "pic_url"] as const) {
        if ((field === "url" || a[field]) && !(WEB_URL.test(a[field]) && URL.canParse(a[field]))) {
          errors.push({ pointer: `${at}/${field}`, detail: t("wechat.auto_replies.bad_url") });
        }
      }
      articles.push({
        title: a.title,
        url: a.url,
        ...(a.description ? { description: a.description } : {}),
        ...(a.pic_url ? { pic_url: a.pic_url } : {}),
      });
    });
    if (articles.length === 0) {
      errors.push({
        pointer: "/reply/articles/0/title",
        detail: t("wechat.auto_replies.bad_news"),
      });
    }
    return { reply: { type: "news", articles }, errors };
  }
  if (!draft.content.trim() || draft.content.length > 2000) {
    errors.push({ pointer: "/reply/content", detail: t("wechat.auto_replies.bad_text") });
  }
  return { reply: { type: "text", content: draft.content }, errors };
}

/** The compact menu put back into the slots it came from, for the refused form. */
function draftOfSlots(menu: Menu, slotOfPointer: (pointer: string) => string): Menu {
  const top: MenuButton[] = [];
  menu.button.forEach((button, ci) => {
    const i = Number(slotOfPointer(`/button/${ci}`).split("/")[2]);
    const subs: MenuSubButton[] = [];
    (button.sub_button ?? []).forEach((sub, cj) => {
      const j = Number(slotOfPointer(`/button/${ci}/sub_button/${cj}`).split("/")[4]);
      subs[j] = sub;
    });
    top[i] = { ...button, sub_button: subs };
  });
  return { button: top };
}
