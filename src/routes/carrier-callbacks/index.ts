/**
 * Carrier callbacks: `/hooks/sms/{provider}/{hook_token}/status` (delivery receipts) and
 * `.../inbound` (what subscribers send). The token (random per tenant and provider) authenticates
 * carriers that do not sign their callbacks; Twilio's signature is checked as well. Each carrier
 * gets the answer it documents as "received"; an error stores nothing and answers a problem.
 */
import { Hono } from "hono";
import type { AppEnv } from "../../app-env";
import { acceptStatusCallback } from "../../services/carriers/receipts";
import { receiveInboundSms } from "../../services/inbound/receive";

/** What each carrier expects back; anything else makes some of them post again. */
const RECEIVED: Record<string, (counts: Record<string, number>) => Response> = {
  aliyun: () => Response.json({ code: 0, msg: "成功" }),
  tencent: () => Response.json({ result: 0, errmsg: "OK" }),
  twilio: () => new Response(null, { status: 204 }),
};

/** Inbound messages: Twilio wants TwiML, and an empty one sends no reply (replies are sends). */
const INBOUND_RECEIVED: Record<string, () => Response> = {
  aliyun: () => Response.json({ code: 0, msg: "成功" }),
  tencent: () => Response.json({ result: 0, errmsg: "OK" }),
  twilio: () =>
    new Response("<Response/>", {
      status: 200,
      headers: { "content-type": "text/xml" },
    }),
};

export const hooksRouter = new Hono<AppEnv>()
  .post("/hooks/sms/:provider/:hookToken/status", async (c) => {
    const provider = c.req.param("provider");
    const counts = await acceptStatusCallback(c.env, provider, c.req.param("hookToken"), c.req.raw);
    const answer = RECEIVED[provider];
    return answer ? answer(counts) : c.json({ ok: true, ...counts }, 200);
  })
  .post("/hooks/sms/:provider/:hookToken/inbound", async (c) => {
    const provider = c.req.param("provider");
    const rows = await receiveInboundSms(c.env, provider, c.req.param("hookToken"), c.req.raw);
    const answer = INBOUND_RECEIVED[provider];
    // The sandbox: the ids of what was stored, so a local "phone" can look its messages up.
    return answer ? answer() : c.json({ ids: rows.map((row) => row.id) }, 202);
  });
