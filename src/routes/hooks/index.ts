/**
 * Carrier callbacks: `/hooks/sms/{provider}/{hook_token}/status`. The token (random per tenant
 * and provider) authenticates carriers that do not sign their callbacks.
 */
import { Hono } from "hono";
import type { AppEnv } from "../../middleware/context";
import { acceptStatusCallback } from "../../services/receipts";

export const hooksRouter = new Hono<AppEnv>().post(
  "/hooks/sms/:provider/:hookToken/status",
  async (c) => {
    const result = await acceptStatusCallback(
      c.env,
      c.req.param("provider"),
      c.req.param("hookToken"),
      c.req.raw,
    );
    return c.json({ ok: true, ...result }, 200);
  },
);
