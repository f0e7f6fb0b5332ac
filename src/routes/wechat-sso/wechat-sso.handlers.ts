import type { RouteHandler } from "@hono/zod-openapi";
import type { AppEnv } from "../../app-env";
import * as sso from "../../services/wechat/sso";
import { rotateSsoKey as rotate } from "../../services/wechat/sso-keys";
import type * as routes from "./wechat-sso.routes";

function present(env: Env, settings: sso.SsoSettings) {
  const issuer = sso.ssoIssuer(env, settings.appId);
  return {
    app_id: settings.appId,
    sso_redirect_urls: settings.redirectUrls,
    login_url: `${issuer}/oauth/login`,
    issuer,
    jwks_url: `${issuer}/jwks.json`,
  };
}

export const getSso: RouteHandler<typeof routes.getSso, AppEnv> = async (c) => {
  const settings = await sso.getSsoSettings(c.env, c.get("caller"), c.req.valid("param").app_id);
  return c.json(present(c.env, settings), 200);
};

export const putSso: RouteHandler<typeof routes.putSso, AppEnv> = async (c) => {
  const settings = await sso.setSsoRedirectUrls(
    c.env,
    c.get("caller"),
    c.req.valid("param").app_id,
    c.req.valid("json").sso_redirect_urls,
  );
  return c.json(present(c.env, settings), 200);
};

export const rotateSsoKey: RouteHandler<typeof routes.rotateSsoKey, AppEnv> = async (c) => {
  const { kid, previousKid } = await rotate(c.env, c.get("caller"), c.req.valid("param").app_id);
  return c.json({ kid, previous_kid: previousKid }, 200);
};
