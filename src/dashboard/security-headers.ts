/**
 * The dashboard's response headers, on every response under /dashboard (pages, redirects and
 * problems alike). The pages hold no inline script and no inline style (scripts and stylesheets
 * are static assets), so the policy allows only our own scripts, stylesheets and images, requests
 * to our own origin and posts to our own forms;
 * nothing may frame them; they are never cached (they show messages and carry CSRF tokens).
 */
import { createMiddleware } from "hono/factory";
import { secureHeaders } from "hono/secure-headers";
import type { AppEnv } from "../app-env";

const secure = secureHeaders({
  contentSecurityPolicy: {
    defaultSrc: ["'none'"],
    // Only our own static scripts (htmx, uPlot, charts.js): no inline script, no eval.
    scriptSrc: ["'self'"],
    // htmx's requests and the pages' calls to the API.
    connectSrc: ["'self'"],
    styleSrc: ["'self'"],
    imgSrc: ["'self'"],
    formAction: ["'self'"],
    frameAncestors: ["'none'"],
    baseUri: ["'none'"],
  },
  xFrameOptions: "DENY",
  // Our own pages get the referrer; other sites get none.
  referrerPolicy: "same-origin",
});

export const dashboardHeaders = createMiddleware<AppEnv>(async (c, next) => {
  await secure(c, next);
  c.res.headers.set("Cache-Control", "no-store");
});
