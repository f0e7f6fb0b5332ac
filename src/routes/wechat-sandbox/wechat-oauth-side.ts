/**
 * The local WeChat sandbox's web OAuth, WeChat's side: the authorize page
 * (`/sandbox/wechat/connect/oauth2/authorize`, open.weixin.qq.com's in production), where one of
 * the account's followers agrees or declines, and `/sandbox/wechat/sns/oauth2/access_token` and
 * `/sns/userinfo`. Not part of our API; a 404 problem unless WECHAT_SANDBOX_ENABLED is on.
 */
import { Hono } from "hono";
import type { AppEnv } from "../../app-env";
import { SANDBOX_PATH } from "../../config/wechat-sandbox";
import {
  sandboxAuthorize,
  sandboxSnsToken,
  sandboxSnsUserInfo,
} from "../../services/wechat/sandbox-oauth";
import { onlyWithSandbox } from "./gate";

const escapeHtml = (text: string) =>
  text.replace(
    /[&<>"']/g,
    (ch) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[ch] ?? ch,
  );

const json = (text: string) =>
  new Response(text, {
    status: 200,
    headers: { "content-type": "application/json; charset=utf-8" },
  });

export const wechatOAuthSideRouter = new Hono<AppEnv>()
  .use(`${SANDBOX_PATH}/connect/*`, onlyWithSandbox)
  .use(`${SANDBOX_PATH}/sns/*`, onlyWithSandbox)
  .get(`${SANDBOX_PATH}/connect/oauth2/authorize`, async (c) => {
    const q = c.req.query();
    const request = {
      appid: q.appid ?? "",
      redirect_uri: q.redirect_uri ?? "",
      response_type: q.response_type ?? "",
      scope: q.scope ?? "",
      state: q.state ?? "",
      follower: q.follower,
    };
    const outcome = await sandboxAuthorize(c.env, request, q.decline === "1");
    if (outcome.kind === "redirect") {
      return c.redirect(outcome.location, 302);
    }
    if (outcome.kind === "refused") {
      // WeChat shows its error page in the browser, naming the errcode.
      return c.html(
        `<!doctype html><meta charset="utf-8"><title>WeChat sandbox</title><h1>${outcome.errcode}</h1><p>${escapeHtml(outcome.errmsg)}</p>`,
        400,
      );
    }
    const link = (extra: Record<string, string>) => {
      const url = new URL(c.req.url);
      for (const [name, value] of Object.entries(extra)) {
        url.searchParams.set(name, value);
      }
      return escapeHtml(url.pathname + url.search);
    };
    const items = outcome.followers
      .map(
        (f) =>
          `<li><a href="${link({ follower: f.openid })}">${escapeHtml(f.remark)}</a> <code>${escapeHtml(f.openid)}</code></li>`,
      )
      .join("");
    return c.html(
      `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>WeChat sandbox: sign in</title></head>
<body style="font-family:system-ui,sans-serif;max-width:32rem;margin:3rem auto">
<h1 style="font-size:1.3rem">WeChat sandbox: ${escapeHtml(request.appid)} asks who you are (${escapeHtml(request.scope)})</h1>
<p>Agree as one of the account's followers:</p><ul>${items}</ul>
<p><a href="${link({ decline: "1" })}">Decline</a></p></body></html>`,
      200,
    );
  })
  .get(`${SANDBOX_PATH}/sns/oauth2/access_token`, async (c) => {
    const q = c.req.query();
    return json(
      await sandboxSnsToken(c.env, {
        appid: q.appid ?? "",
        secret: q.secret ?? "",
        code: q.code ?? "",
        grant_type: q.grant_type ?? "",
      }),
    );
  })
  .get(`${SANDBOX_PATH}/sns/userinfo`, async (c) => {
    const q = c.req.query();
    return json(
      await sandboxSnsUserInfo(c.env, {
        access_token: q.access_token ?? "",
        openid: q.openid ?? "",
      }),
    );
  });
