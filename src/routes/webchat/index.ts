import { connectVisitor } from "../../services/webchat/connect";
import { createRouter } from "../router";
import * as handlers from "./webchat.handlers";
import * as routes from "./webchat.routes";
import { WIDGET_SCRIPT } from "./widget-script";

export const webchatRouter = createRouter()
  .openapi(routes.createWidgetKey, handlers.createWidgetKey)
  .openapi(routes.listWidgetKeys, handlers.listWidgetKeys)
  .openapi(routes.updateWidgetKey, handlers.updateWidgetKey)
  .openapi(routes.revokeWidgetKey, handlers.revokeWidgetKey);

/** The widget: public, cached briefly, any page may load it (the socket checks the origin). */
webchatRouter.get("/webchat.js", (c) => {
  c.header("Content-Type", "text/javascript; charset=utf-8");
  c.header("Cache-Control", "public, max-age=300");
  c.header("Access-Control-Allow-Origin", "*");
  c.header("Cross-Origin-Resource-Policy", "cross-origin");
  return c.body(WIDGET_SCRIPT);
});

/** A visitor's socket: the widget key, the page's Origin, and an identity token or visitor id. */
webchatRouter.get("/webchat/connect", (c) =>
  connectVisitor(c.env, c.req.raw, {
    key: c.req.query("key"),
    visitor: c.req.query("visitor"),
    token: c.req.query("token"),
  }),
);
