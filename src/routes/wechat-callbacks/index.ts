/**
 * WeChat's server calls: `GET /wechat/{app_id}` checks the URL, `POST /wechat/{app_id}` delivers
 * a message or event. Both are authenticated by WeChat's signature (services/wechat/webhook.ts).
 */
import { Hono } from "hono";
import type { AppEnv } from "../../app-env";
import { receiveDelivery, verifyUrl } from "../../services/wechat/webhook";
import { defaultDeliveryIO } from "../../services/wechat/webhook-actions";

export const wechatHookRouter = new Hono<AppEnv>()
  .get("/wechat/:appId", async (c) => {
    const echostr = await verifyUrl(c.env, c.req.param("appId"), c.req.query());
    return c.text(echostr, 200);
  })
  .post("/wechat/:appId", async (c) => {
    const answer = await receiveDelivery(
      c.env,
      c.req.param("appId"),
      c.req.query(),
      await c.req.text(),
      Date.now(),
      { ...defaultDeliveryIO(), waitUntil: (promise) => c.executionCtx.waitUntil(promise) },
    );
    return c.body(answer.body, 200, { "content-type": answer.contentType });
  });
