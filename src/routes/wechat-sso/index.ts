/**
 * Sign-in with WeChat (services/wechat/sso.ts). The settings and key rotation are API routes
 * (admin). The browser's routes take no API key and are not in the OpenAPI document, like the
 * binding OAuth's: `login` and `login/callback` answer a redirect, or, to a browser, an HTML page
 * saying what went wrong (problem+json to anything else), never a stack trace; `jwks.json` is
 * public and cacheable.
 */
import type { Context } from "hono";
import { Hono } from "hono";
import type { AppEnv } from "../../app-env";
import { ApiError } from "../../lib/problem";
import { receiveSsoCallback, startSsoLogin } from "../../services/wechat/sso";
import { jwksOf } from "../../services/wechat/sso-keys";
import { createRouter } from "../router";
import * as handlers from "./wechat-sso.handlers";
import * as routes from "./wechat-sso.routes";

export const wechatSsoRouter = createRouter()
  .openapi(routes.getSso, handlers.getSso)
  .openapi(routes.putSso, handlers.putSso)
  .openapi(routes.rotateSsoKey, handlers.rotateSsoKey);

const APP_ID = /^wx[0-9a-f]{16}$/;

const escapeHtml = (text: string) =>
  text.replace(
    /[&<>"']/g,
    (ch) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[ch] ?? ch,
  );

/** The refusal as a page a person can read, for a browser; problem+json for anything else. */
function refused(c: Context<AppEnv>, error: ApiError): Response {
  const problem = error.toProblem(new URL(c.req.url).pathname, c.get("requestId") ?? "unknown");
  const accept = c.req.header("accept") ?? "";
  if (!accept.includes("text/html")) {
    return new Response(JSON.stringify(problem), {
      status: error.status,
      headers: {
        "content-type": "application/problem+json",
        "x-request-id": problem.request_id,
        "cache-control": "no-store",
      },
    });
  }
  const html = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width">
<title>${escapeHtml(problem.title)}</title></head>
<body style="font-family:system-ui,sans-serif;max-width:32rem;margin:3rem auto;padding:0 1rem">
<h1 style="font-size:1.4rem">Sign-in with WeChat did not work</h1>
<p>${escapeHtml(problem.detail)}</p>
<p style="color:#666;font-size:.85rem">${escapeHtml(problem.title)} (HTTP ${problem.status}) · request ${escapeHtml(problem.request_id)}</p>
</body></html>`;
  return c.html(html, error.status as 400, {
    "x-request-id": problem.request_id,
    "cache-control": "no-store",
  });
}

async function redirecting(c: Context<AppEnv>, location: () => Promise<string>) {
  try {
    const target = await location();
    c.header("cache-control", "no-store");
    return c.redirect(target, 302);
  } catch (error) {
    if (error instanceof ApiError) {
      return refused(c, error);
    }
    throw error;
  }
}

export const wechatSsoPublicRouter = new Hono<AppEnv>()
  .get("/wechat/:appId/oauth/login", (c) =>
    redirecting(c, () => startSsoLogin(c.env, c.req.param("appId"), c.req.query())),
  )
  .get("/wechat/:appId/oauth/login/callback", (c) =>
    redirecting(c, () => receiveSsoCallback(c.env, c.req.param("appId"), c.req.query())),
  )
  .get("/wechat/:appId/jwks.json", async (c) => {
    const appId = c.req.param("appId");
    if (!APP_ID.test(appId)) {
      throw new ApiError("not-found", `No WeChat app ${appId}.`);
    }
    // Tokens live 5 minutes and a rotation keeps the previous key: a few minutes' cache is safe.
    return c.json(await jwksOf(c.env, appId), 200, {
      "cache-control": "public, max-age=300",
      "access-control-allow-origin": "*",
    });
  });
