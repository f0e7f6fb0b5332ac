/**
 * WeChat web OAuth, opened in the person's WeChat browser (no API key): `start` checks a link made
 * with `POST /v1/contacts/{external_id}/wechat/{app_id}/oauth-link` and sends the browser to
 * WeChat; `callback` spends the state, binds the openid and sends the browser to the redirect.
 * Refusals are problem+json and never bind (services/wechat/oauth.ts).
 */
import { Hono } from "hono";
import type { AppEnv } from "../../app-env";
import { receiveOAuthCallback, startOAuth } from "../../services/wechat/oauth";

export const wechatOAuthRouter = new Hono<AppEnv>()
  .get("/wechat/:appId/oauth/start", async (c) => {
    const location = await startOAuth(c.env, c.req.param("appId"), c.req.query());
    return c.redirect(location, 302);
  })
  .get("/wechat/:appId/oauth/callback", async (c) => {
    const location = await receiveOAuthCallback(c.env, c.req.param("appId"), c.req.query());
    return c.redirect(location, 302);
  });
