/**
 * The dashboard's response headers, on every response under /dashboard (pages, redirects and
 * problems alike). The pages hold no script and no inline style (their one stylesheet is a static
 * asset), so the policy allows only our own stylesheet and images and posts to our own forms;
 * nothing may frame them; they are never cached (they show messages and carry CSRF tokens).
 */
import { createMiddleware } from "hono/factory";
import { secureHeaders } from "hono/secure-headers";
import type { AppEnv } from "../app-env";

const secure = secureHeaders({
  contentSecurityPolicy: {
    defaultSrc: ["'none'"],
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
