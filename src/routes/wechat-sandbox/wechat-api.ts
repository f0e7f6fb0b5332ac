/**
 * The local WeChat sandbox's API: `/sandbox/wechat/cgi-bin/...`, answering the calls the platform
 * makes of WeChat (tokens, template and customer-service sends, followers and tags, the menu,
 * media uploads and deletes, mass sends, previews and their deletion, QR codes) as
 * WeChat does: HTTP 200 with WeChat's JSON, an `errcode` when it refuses. Not part of our API (not
 * in the OpenAPI document), and a 404 problem unless WECHAT_SANDBOX_ENABLED is on.
 */
import type { Context } from "hono";
import { Hono } from "hono";
import { z } from "zod";
import type { AppEnv } from "../../app-env";
import { SANDBOX_PATH } from "../../config/wechat-sandbox";
import { MEDIA_RULES, MEDIA_TYPES } from "../../domain/wechat-media";
import { createLogger } from "../../lib/log";
import {
  isSandboxApp,
  pushMassResult,
  pushTemplateResult,
  sandboxToken,
  type WeChatAnswer,
  wechatRefusal,
  wechatSandboxOf,
} from "../../services/wechat/sandbox";
import { onlyWithSandbox } from "./gate";

const openid = z.string().min(1);
const stableTokenBody = z.object({
  grant_type: z.string(),
  appid: z.string(),
  secret: z.string(),
  force_refresh: z.boolean().optional(),
});
const batchGetBody = z.object({
  user_list: z
    .array(z.object({ openid, lang: z.string().optional() }))
    .min(1)
    .max(100),
});
const tagBody = z.object({ tag: z.object({ id: z.number().int(), name: z.string().min(1) }) });
const tagNameBody = z.object({ tag: z.object({ name: z.string().min(1) }) });
const tagIdBody = z.object({ tag: z.object({ id: z.number().int() }) });
const membersBody = z.object({ openid_list: z.array(openid), tagid: z.number().int() });
const openidBody = z.object({ openid });
const tagFollowersBody = z.object({ tagid: z.number().int(), next_openid: z.string().optional() });
const menuBody = z.object({ button: z.array(z.unknown()) });
const templateBody = z
  .object({ touser: z.string(), template_id: z.string().default("") })
  .catchall(z.unknown());
const qrCodeBody = z.object({
  expire_seconds: z.number().int().positive().optional(),
  action_name: z.string(),
  action_info: z.object({ scene: z.object({ scene_str: z.string() }) }),
});
const blacklistBody = z.object({ openid_list: z.array(openid) });
const beginBody = z.object({ begin_openid: z.string().optional() });
const remarkBody = z.object({ openid, remark: z.string() });
const conditionalBody = z.object({
  button: z.array(z.unknown()).min(1).max(3),
  matchrule: z.object({ tag_id: z.string().optional() }).catchall(z.unknown()),
});
const menuIdBody = z.object({ menuid: z.union([z.string(), z.number()]) });
const addTemplateBody = z.object({
  template_id_short: z.string().min(1),
  keyword_name_list: z.array(z.string()).optional(),
});
const templateIdBody = z.object({ template_id: z.string().min(1) });
const noticeBody = z
  .object({
    touser: z.string(),
    template_id: z.string().default(""),
    data: z.record(z.string(), z.unknown()),
  })
  .catchall(z.unknown());
const customBody = z.object({ touser: z.string(), msgtype: z.string() }).catchall(z.unknown());
const massBody = z.object({ msgtype: z.string() }).catchall(z.unknown());
const mediaIdBody = z.object({ media_id: z.string() });
const massDeleteBody = z.object({ msg_id: z.coerce.number().int() });

const MASS_CALLS: Readonly<Record<string, "sendall" | "send" | "preview">> = {
  "message/mass/sendall": "sendall",
  "message/mass/send": "send",
  "message/mass/preview": "preview",
};

/** The media upload paths: a multipart form with the file as `media`, the type on the URL. */
const UPLOADS: Readonly<Record<string, boolean>> = {
  "media/upload": false,
  "material/add_material": true,
};

/** WeChat's answer to an upload: 40004 for a type it does not take, 40006 over its size. */
async function upload(
  sandbox: ReturnType<typeof wechatSandboxOf>,
  token: string,
  appId: string,
  request: Request,
  permanent: boolean,
): Promise<string> {
  const type = new URL(request.url).searchParams.get("type") ?? "";
  if (!(MEDIA_TYPES as readonly string[]).includes(type)) {
    return refusal(40004);
  }
  const form = await request.formData().catch(() => null);
  const file = form?.get("media");
  if (!(file instanceof File)) {
    return refusal(41005); // media data missing
  }
  if (file.size === 0 || file.size > MEDIA_RULES[type as keyof typeof MEDIA_RULES].maxBytes) {
    return refusal(40006);
  }
  return sandbox.addMedia(token, appId, { type, permanent, bytes: file.size });
}

interface Call {
  sandbox: ReturnType<typeof wechatSandboxOf>;
  token: string;
  query: URLSearchParams;
  /** The JSON body; undefined when there is none. */
  body: unknown;
}

/** WeChat's answer text. */
type Answer = Promise<string>;

const refusal = (errcode: number): string => JSON.stringify(wechatRefusal(errcode));

/** The body as `schema` reads it, or WeChat's refusal of it (44002 none, 47001 malformed). */
function read<T extends z.ZodType>(
  call: Call,
  schema: T,
): { ok: true; body: z.output<T> } | { ok: false; answer: string } {
  if (call.body === undefined) {
    return { ok: false, answer: refusal(44002) };
  }
  const parsed = schema.safeParse(call.body);
  return parsed.success ? { ok: true, body: parsed.data } : { ok: false, answer: refusal(47001) };
}

function withBody<T extends z.ZodType>(
  schema: T,
  answer: (call: Call, body: z.output<T>) => Answer,
): (call: Call) => Answer {
  return async (call) => {
    const read_ = read(call, schema);
    return read_.ok ? answer(call, read_.body) : read_.answer;
  };
}

/** Every API the sandbox plays but the token endpoints and template sends, by path. */
const CALLS: Readonly<Record<string, (call: Call) => Answer>> = {
  "user/get": (c) => c.sandbox.listFollowers(c.token, c.query.get("next_openid") ?? ""),
  "user/info": (c) => c.sandbox.userInfo(c.token, [c.query.get("openid") ?? ""], false),
  "user/info/batchget": withBody(batchGetBody, (c, body) =>
    c.sandbox.userInfo(
      c.token,
      body.user_list.map((user) => user.openid),
      true,
    ),
  ),
  "tags/get": (c) => c.sandbox.listTags(c.token),
  "tags/create": withBody(tagNameBody, (c, body) => c.sandbox.createTag(c.token, body.tag.name)),
  "tags/update": withBody(tagBody, (c, body) =>
    c.sandbox.changeTag(c.token, body.tag.id, body.tag.name),
  ),
  "tags/delete": withBody(tagIdBody, (c, body) => c.sandbox.changeTag(c.token, body.tag.id, null)),
  "tags/members/batchtagging": withBody(membersBody, (c, body) =>
    c.sandbox.tagMembers(c.token, body.tagid, body.openid_list, true),
  ),
  "tags/members/batchuntagging": withBody(membersBody, (c, body) =>
    c.sandbox.tagMembers(c.token, body.tagid, body.openid_list, false),
  ),
  "tags/getidlist": withBody(openidBody, (c, body) => c.sandbox.tagsOf(c.token, body.openid)),
  "user/tag/get": withBody(tagFollowersBody, (c, body) =>
    c.sandbox.tagFollowers(c.token, body.tagid, body.next_openid ?? ""),
  ),
  // WeChat allows 1–3 top-level buttons; the platform checks the rest before it calls.
  "menu/create": withBody(menuBody, async (c, body) =>
    body.button.length < 1 || body.button.length > 3
      ? refusal(40016)
      : c.sandbox.menu(c.token, body),
  ),
  "menu/get": (c) => c.sandbox.menu(c.token),
  "menu/delete": (c) => c.sandbox.menu(c.token, null),
  "qrcode/create": withBody(qrCodeBody, (c, body) =>
    c.sandbox.createQrCode(c.token, {
      action_name: body.action_name,
      scene_str: body.action_info.scene.scene_str,
      expire_seconds: body.expire_seconds,
    }),
  ),
  "message/custom/send": withBody(customBody, (c, body) => c.sandbox.sendCustom(c.token, body)),
  "material/del_material": withBody(mediaIdBody, (c, body) =>
    c.sandbox.deleteMaterial(c.token, body.media_id),
  ),
  "message/mass/delete": withBody(massDeleteBody, (c, body) =>
    c.sandbox.deleteMass(c.token, body.msg_id),
  ),
  "tags/members/batchblacklist": withBody(blacklistBody, (c, body) =>
    c.sandbox.changeBlacklist(c.token, body.openid_list, true),
  ),
  "tags/members/batchunblacklist": withBody(blacklistBody, (c, body) =>
    c.sandbox.changeBlacklist(c.token, body.openid_list, false),
  ),
  "tags/members/getblacklist": withBody(beginBody, (c, body) =>
    c.sandbox.blacklist(c.token, body.begin_openid ?? ""),
  ),
  "user/info/updateremark": withBody(remarkBody, (c, body) =>
    c.sandbox.setRemark(c.token, body.openid, body.remark),
  ),
  "menu/addconditional": withBody(conditionalBody, (c, body) =>
    c.sandbox.addConditionalMenu(c.token, body),
  ),
  "menu/delconditional": withBody(menuIdBody, (c, body) =>
    c.sandbox.deleteConditionalMenu(c.token, String(body.menuid)),
  ),
  "ticket/getticket": async (c) =>
    c.query.get("type") === "jsapi" ? c.sandbox.jsapiTicket(c.token) : refusal(40097),
  "template/get_all_private_template": (c) => c.sandbox.listTemplates(c.token),
  "template/api_add_template": withBody(addTemplateBody, (c, body) =>
    c.sandbox.addTemplate(c.token, body.template_id_short),
  ),
  "template/del_private_template": withBody(templateIdBody, (c, body) =>
    c.sandbox.deleteTemplate(c.token, body.template_id),
  ),
  "message/subscribe/bizsend": withBody(noticeBody, (c, body) =>
    c.sandbox.sendSubscribeNotice(c.token, body),
  ),
};

/** A sandbox token names its app: `<app id>.<random>`. */
const TOKEN_FORMAT = /^(wx[0-9a-f]{16})\.[A-Za-z0-9]+$/;

async function bodyOf(request: Request): Promise<{ ok: boolean; body: unknown }> {
  const text = await request.text();
  if (text.trim() === "") {
    return { ok: true, body: undefined };
  }
  try {
    return { ok: true, body: JSON.parse(text) };
  } catch {
    return { ok: false, body: undefined };
  }
}

/** WeChat answers HTTP 200 with JSON, whatever it says. */
function answered(c: Context<AppEnv>, text: string | WeChatAnswer): Response {
  const body = typeof text === "string" ? text : JSON.stringify(text);
  return c.body(body, 200, { "content-type": "application/json; charset=utf-8" });
}

export const wechatApiRouter = new Hono<AppEnv>()
  .use(`${SANDBOX_PATH}/*`, onlyWithSandbox)
  .get(`${SANDBOX_PATH}/cgi-bin/token`, async (c) => {
    const query = c.req.query();
    if (query.grant_type !== "client_credential") {
      return answered(c, wechatRefusal(40002));
    }
    const request = { appid: query.appid ?? "", secret: query.secret ?? "" };
    return answered(c, await sandboxToken(c.env, { ...request, classic: true, force: false }));
  })
  .post(`${SANDBOX_PATH}/cgi-bin/stable_token`, async (c) => {
    const { ok, body } = await bodyOf(c.req.raw);
    const parsed = stableTokenBody.safeParse(body);
    if (!parsed.success) {
      return answered(c, wechatRefusal(ok && body === undefined ? 44002 : 47001));
    }
    const { grant_type, appid, secret, force_refresh } = parsed.data;
    if (grant_type !== "client_credential") {
      return answered(c, wechatRefusal(40002));
    }
    const request = { appid, secret, classic: false, force: force_refresh === true };
    return answered(c, await sandboxToken(c.env, request));
  })
  .all(`${SANDBOX_PATH}/cgi-bin/*`, async (c) => {
    const url = new URL(c.req.url);
    const path = url.pathname.slice(`${SANDBOX_PATH}/cgi-bin/`.length);
    const token = url.searchParams.get("access_token");
    if (!token) {
      return answered(c, wechatRefusal(41001));
    }
    const appId = TOKEN_FORMAT.exec(token)?.[1];
    if (!appId || !(await isSandboxApp(c.env, appId))) {
      return answered(c, wechatRefusal(40001));
    }
    const sandbox = wechatSandboxOf(c.env, appId);
    const permanent = UPLOADS[path];
    if (permanent !== undefined) {
      return answered(c, await upload(sandbox, token, appId, c.req.raw, permanent));
    }
    const { ok, body } = await bodyOf(c.req.raw);
    if (!ok) {
      return answered(c, wechatRefusal(47001));
    }
    const call: Call = { sandbox, token, query: url.searchParams, body };
    if (path === "message/template/send") {
      const message = read(call, templateBody);
      if (!message.ok) {
        return answered(c, message.answer);
      }
      const { answer, job } = await sandbox.sendTemplate(token, message.body);
      if (job) {
        // WeChat pushes the job's result moments after it answered the send.
        c.executionCtx.waitUntil(
          scheduler
            .wait(50)
            .then(() => pushTemplateResult(c.env, appId, job))
            .catch((error) =>
              createLogger(c.env.LOG_LEVEL).error("wechat sandbox: no template result pushed", {
                app_id: appId,
                error,
              }),
            ),
        );
      }
      return answered(c, answer);
    }
    const massKind = MASS_CALLS[path];
    if (massKind) {
      const message = read(call, massBody);
      if (!message.ok) {
        return answered(c, message.answer);
      }
      const { answer, job } = await sandbox.massSend(token, massKind, message.body);
      if (job) {
        // WeChat pushes the job's counts once the mass send is done.
        c.executionCtx.waitUntil(
          scheduler
            .wait(50)
            .then(() => pushMassResult(c.env, appId, job))
            .catch((error) =>
              createLogger(c.env.LOG_LEVEL).error("wechat sandbox: no mass result pushed", {
                app_id: appId,
                error,
              }),
            ),
        );
      }
      return answered(c, answer);
    }
    const answer = CALLS[path];
    return answered(c, answer ? await answer(call) : wechatRefusal(48001));
  });
