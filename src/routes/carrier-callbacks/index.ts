/**
 * Carrier callbacks: `/hooks/sms/{provider}/{hook_token}/status`. The token (random per tenant
 * and provider) authenticates carriers that do not sign their callbacks; Twilio's signature is
 * checked as well. Each carrier gets the answer it documents as "received".
 */
import { Hono } from "hono";
import type { AppEnv } from "../../app-env";
import { acceptStatusCallback } from "../../services/carriers/receipts";

/** What each carrier expects back; anything else makes some of them post again. */
const RECEIVED: Record<string, (counts: Record<string, number>) => Response> = {
  aliyun: () => Response.json({ code: 0, msg: "成功" }),
  tencent: () => Response.json({ result: 0, errmsg: "OK" }),
  twilio: () => new Response(null, { status: 204 }),
};

export const hooksRouter = new Hono<AppEnv>().post(
  "/hooks/sms/:provider/:hookToken/status",
  async (c) => {
    const provider = c.req.param("provider");
    const counts = await acceptStatusCallback(c.env, provider, c.req.param("hookToken"), c.req.raw);
    const answer = RECEIVED[provider];
    return answer ? answer(counts) : c.json({ ok: true, ...counts }, 200);
  },
);
