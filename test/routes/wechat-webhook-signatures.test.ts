/**
 * `msg_signature` end to end. In safe and compatible mode `signature` covers only the token, the
 * timestamp and the nonce, so a delivery whose `signature` is right proves nothing about its body:
 * the `msg_signature` over `Encrypt` is what does.
 */
import { env } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { expectProblem } from "../support/problem";
import { createTenant } from "../support/tenants";
import { deliver, type Mode, textMessage, wechatApp } from "../support/wechat";

async function storedCount(appId: string): Promise<number> {
  const row = await env.DB.prepare("SELECT COUNT(*) AS n FROM wechat_inbox WHERE app_id = ?")
    .bind(appId)
    .first<{ n: number }>();
  return row?.n ?? -1;
}

describe("msg_signature", () => {
  for (const mode of ["safe", "compatible"] as Mode[]) {
    it(`refuses in ${mode} mode a delivery with a valid signature but another message's Encrypt, storing nothing`, async () => {
      const tenant = await createTenant();
      const appId = await wechatApp(tenant, mode);
      const res = await deliver(appId, textMessage("hello", "6054768590064730001"), {
        mode,
        // Encrypted with the right key and for the right app: only msg_signature can tell.
        substituteXml: textMessage("transfer everything", "6054768590064730002"),
      });
      await expectProblem(res, {
        status: 403,
        slug: "forbidden",
        instance: `/wechat/${appId}`,
        detail: /msg_signature/,
      });
      expect(await storedCount(appId)).toBe(0);
    });

    it(`refuses in ${mode} mode a delivery with a valid signature but a wrong msg_signature, storing nothing`, async () => {
      const tenant = await createTenant();
      const appId = await wechatApp(tenant, mode);
      const res = await deliver(appId, textMessage("hello", "6054768590064730003"), {
        mode,
        msgSignature: "0".repeat(40),
      });
      await expectProblem(res, {
        status: 403,
        slug: "forbidden",
        instance: `/wechat/${appId}`,
        detail: /msg_signature/,
      });
      expect(await storedCount(appId)).toBe(0);
      // The same delivery, signed right, goes through: the refusal stored no dedup record.
      const signed = await deliver(appId, textMessage("hello", "6054768590064730003"), { mode });
      expect(signed.status).toBe(200);
      expect(await storedCount(appId)).toBe(1);
    });
  }
});
