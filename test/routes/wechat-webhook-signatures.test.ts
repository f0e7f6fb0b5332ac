/**
 * `msg_signature` end to end. In safe and compatible mode `signature` covers only the token, the
 * timestamp and the nonce, so a delivery whose `signature` is right proves nothing about its body:
 * the `msg_signature` over `Encrypt` is what does.
 */
import { env } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { expectProblem } from "../support/problem";
import { createTenant, postJson } from "../support/tenants";
import {
  deliver,
  type Mode,
  post,
  replyFields,
  signDelivery,
  textMessage,
  wechatApp,
} from "../support/wechat";

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

/**
 * `signature` covers the token, timestamp and nonce only: in plaintext mode, and in compatible
 * mode (which also takes plaintext), whoever sees one push's URL could send any body with it while
 * the timestamp is fresh. A (timestamp, nonce) is taken once; only WeChat's retry, the same body
 * again, may come with it.
 */
describe("a signature used again", () => {
  for (const mode of ["plaintext", "compatible"] as Mode[]) {
    it(`refuses in ${mode} mode a signature used again with another body, storing nothing of it, and answers WeChat's retry of the first as before`, async () => {
      const tenant = await createTenant();
      const appId = await wechatApp(tenant, mode);
      await tenant.api(
        `/v1/wechat/apps/${appId}/auto-replies`,
        postJson({ match: "exact", keyword: "hours", reply: { type: "text", content: "9 to 5" } }),
      );
      const pushed = await signDelivery(appId, textMessage("hours", "6054768590064730101"), {
        mode,
      });
      const first = await post(pushed);
      expect((await replyFields(first, appId)).Content).toBe("9 to 5");
      // The captured URL with a body of the forger's own, in plaintext (compatible mode takes it).
      const query = new URLSearchParams(pushed.query);
      query.delete("encrypt_type");
      query.delete("msg_signature");
      const forged = await post({
        path: pushed.path,
        query,
        body: textMessage("hours", "6054768590064730102", "oSomeoneElse"),
      });
      await expectProblem(forged, {
        status: 403,
        slug: "forbidden",
        instance: `/wechat/${appId}`,
        detail: /already used/,
      });
      expect(await storedCount(appId)).toBe(1);
      const retry = await post(pushed);
      expect(retry.status).toBe(200);
      expect((await replyFields(retry, appId)).Content).toBe("9 to 5");
      expect(await storedCount(appId)).toBe(1);
    });
  }

  it("answers WeChat's retries of an encrypted delivery in safe mode alike, storing it once", async () => {
    const tenant = await createTenant();
    const appId = await wechatApp(tenant, "safe");
    await tenant.api(
      `/v1/wechat/apps/${appId}/auto-replies`,
      postJson({ match: "exact", keyword: "hours", reply: { type: "text", content: "9 to 5" } }),
    );
    const pushed = await signDelivery(appId, textMessage("hours", "6054768590064730103"), {
      mode: "safe",
    });
    for (const res of [await post(pushed), await post(pushed)]) {
      expect(res.status).toBe(200);
      expect((await replyFields(res, appId)).Content).toBe("9 to 5");
    }
    expect(await storedCount(appId)).toBe(1);
  });

  it("refuses a timestamp more than 5 minutes ahead of our clock, as one more than 5 minutes behind", async () => {
    const tenant = await createTenant();
    const appId = await wechatApp(tenant, "plaintext");
    const now = Math.floor(Date.now() / 1000);
    // 30 s past the 5 minutes: a loaded machine can take a few seconds between this line and the
    // server reading its clock, which must not bring the ahead one back inside the window.
    for (const [timestampSeconds, msgId] of [
      [now + 330, "6054768590064730201"],
      [now - 330, "6054768590064730202"],
    ] as const) {
      const res = await deliver(appId, textMessage("hi", msgId), {
        mode: "plaintext",
        timestampSeconds,
      });
      await expectProblem(res, {
        status: 403,
        slug: "forbidden",
        instance: `/wechat/${appId}`,
        detail: /5 minutes/,
      });
    }
    expect(await storedCount(appId)).toBe(0);
  });
});
