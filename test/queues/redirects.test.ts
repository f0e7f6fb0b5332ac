import { env, runInDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { settingsOf } from "../../src/config/settings";
import { database } from "../../src/db/client";
import { wechatApps } from "../../src/db/schema";
import { wechatAccountOf } from "../../src/delivery/wechat-account";
import { logMessages } from "../../src/durable-objects/dispatcher/send-log";
import type { WeChatAccount } from "../../src/durable-objects/wechat-account/wechat-account";
import { encryptSecret } from "../../src/lib/secrets";
import { callWeChat } from "../../src/services/wechat/client";
import { outboxMessage } from "../support/messages";
import { fakeNetwork, redirectingTo } from "../support/redirecting-network";
import { approvedTemplate } from "../support/templates";
import { createTenant, postJson } from "../support/tenants";
import { consumeBatch, follower, viewOf } from "../support/wechat-outbound";

/** Where every redirect in this file points: a host the URL rules would never let us call. */
const REFUSED = "refused.fake";

const CARRIERS = {
  twilio: {
    config: { account_sid: `AC${"d5".repeat(16)}`, from: "+14155550100" },
    credentials: { auth_token: "twilio-auth-token-redirect-0123" },
    code: {},
  },
  aliyun: {
    config: { access_key_id: "LTAI5tRedirectKey", sign_name: "Relaybox" },
    credentials: { access_key_secret: "aliyun-secret-redirect" },
    code: { aliyun: "SMS_154950909" },
  },
  tencent: {
    config: { secret_id: "AKIDredirect", sms_sdk_app_id: "1400000001", sign_name: "Relaybox" },
    credentials: { secret_key: "tencent-secret-redirect" },
    code: { tencent: "1110000" },
  },
} as const;

describe("a carrier whose base_url answers with a redirect", () => {
  for (const [provider, carrier] of Object.entries(CARRIERS)) {
    it(`${provider}: nothing reaches the redirect's target, and the message ends failed saying why`, async () => {
      const tenant = await createTenant();
      const put = await tenant.api(`/v1/providers/${provider}`, {
        method: "PUT",
        body: JSON.stringify({
          config: { ...carrier.config, base_url: `https://${provider}.fake` },
          credentials: carrier.credentials,
        }),
      });
      expect(put.status).toBe(201);
      await tenant.api("/v1/routes", postJson({ destination: "CN", providers: [{ provider }] }));
      const templateId = await approvedTemplate(tenant);
      await tenant.api(`/v1/templates/${templateId}/provider-codes`, {
        method: "PUT",
        body: JSON.stringify(carrier.code),
      });
      const message = outboxMessage(tenant.id, "+8613800138700", {
        mode: "live",
        body: "【Relaybox】Your code is 4821. It expires in 5 minutes.",
        templateId,
        templateVersion: 1,
        templateParams: [
          { name: "code", value: "4821" },
          { name: "minutes", value: "5" },
        ],
      });
      await logMessages(env.DB, [message]);
      const network = fakeNetwork({
        [`${provider}.fake`]: redirectingTo(`https://${REFUSED}`),
        [REFUSED]: () => Response.json({}),
      });

      const result = await consumeBatch(tenant, [message.id], network.fetch);

      expect(network.receivedBy(`${provider}.fake`)).toHaveLength(1);
      expect(network.receivedBy(REFUSED)).toEqual([]);
      // Permanent: acked, not retried, and not tried again anywhere.
      expect(result.explicitAcks).toEqual(["q-1"]);
      expect(result.retryMessages).toEqual([]);
      const view = await viewOf(tenant, message.id);
      expect(view.status).toBe("failed");
      expect(view.status_reason).toMatch(/redirect/i);
      expect(view.status_reason).toContain("307");
      expect(view.status_reason).toContain(REFUSED);
    });
  }
});

/** A WeChat app in D1 whose API base URL is `https://wx.fake`, its WeChatAccount on `fetch`. */
async function appOn(
  fetch: (request: Request) => Promise<Response>,
  tokenEndpoint: "stable_token" | "token" = "stable_token",
) {
  const tenant = await createTenant();
  const appId = `wxr${crypto.randomUUID().replaceAll("-", "").slice(0, 15)}`;
  const appSecret = `app-secret-${crypto.randomUUID()}`;
  const now = Date.now();
  await database(env.DB)
    .insert(wechatApps)
    .values({
      appId,
      tenantId: tenant.id,
      mode: "plaintext",
      secretCiphertext: await encryptSecret(
        settingsOf(env).MASTER_KEY,
        "provider-credentials",
        JSON.stringify({ app_secret: appSecret, token: "tok", encoding_aes_key: "k".repeat(43) }),
      ),
      apiBaseUrl: "https://wx.fake",
      tokenEndpoint,
      createdAt: now,
      updatedAt: now,
    });
  await runInDurableObject(wechatAccountOf(env, appId), (instance: WeChatAccount) => {
    Object.defineProperty(instance, "io", { value: { fetch, now: () => Date.now() } });
  });
  return { tenant, appId, appSecret };
}

describe("a WeChat token endpoint that answers with a redirect", () => {
  for (const endpoint of ["stable_token", "token"] as const) {
    it(`${endpoint}: the AppSecret never reaches the redirect's target, and the error says why`, async () => {
      const network = fakeNetwork({
        "wx.fake": redirectingTo(`https://${REFUSED}`),
        [REFUSED]: () => Response.json({ access_token: "STOLEN", expires_in: 7200 }),
      });
      const { appId, appSecret } = await appOn(network.fetch, endpoint);

      const answer = await wechatAccountOf(env, appId).accessToken({ appId });

      expect(network.receivedBy(REFUSED)).toEqual([]);
      expect(answer.ok).toBe(false);
      const error = answer.ok ? undefined : answer.error;
      expect(error).toMatchObject({ code: "redirected", retryable: false });
      expect(error?.message).toMatch(/redirect/i);
      expect(error?.message).toContain("307");
      expect(error?.message).toContain(REFUSED);
      // The classic endpoint's URL, and so a Location echoing it, carries the AppSecret.
      expect(error?.message).not.toContain(appSecret);
    });
  }
});

describe("a WeChat API call that is answered with a redirect", () => {
  const network = () =>
    fakeNetwork({
      "wx.fake": (request) =>
        new URL(request.url).pathname === "/cgi-bin/stable_token"
          ? Response.json({ access_token: "ACCESS_TOKEN_1", expires_in: 7200 })
          : redirectingTo(`https://${REFUSED}`)(request),
      [REFUSED]: () => Response.json({ errcode: 0, msgid: 1 }),
    });

  it("is not followed, and the error says why without the access token", async () => {
    const fake = network();
    const { appId } = await appOn(fake.fetch);

    const answer = await callWeChat(env, appId, "/cgi-bin/menu/get", {}, { fetch: fake.fetch });

    expect(fake.receivedBy(REFUSED)).toEqual([]);
    expect(answer.ok).toBe(false);
    const error = answer.ok ? undefined : answer.error;
    expect(error).toMatchObject({ code: "redirected", retryable: false });
    expect(error?.message).toMatch(/redirect/i);
    expect(error?.message).toContain(REFUSED);
    expect(error?.message).not.toContain("ACCESS_TOKEN_1");
  });

  it("ends a customer-service message failed, saying why, with nothing sent to the target", async () => {
    const fake = network();
    const { tenant, appId } = await appOn(fake.fetch);
    await follower(tenant, appId, "oRedirected", 60_000);
    const message = outboxMessage(tenant.id, "oRedirected", {
      channel: "wechat",
      mode: "live",
      sender: appId,
      segments: 0,
      payload: JSON.stringify({
        msgtype: "text",
        touser: "oRedirected",
        text: { content: "Thanks for writing" },
      }),
    });
    await logMessages(env.DB, [message]);

    const result = await consumeBatch(tenant, [message.id], fake.fetch);

    expect(fake.receivedBy(REFUSED)).toEqual([]);
    expect(result.explicitAcks).toEqual(["q-1"]);
    const view = await viewOf(tenant, message.id);
    expect(view.status).toBe("failed");
    expect(view.status_reason).toMatch(/redirect/i);
    expect(view.status_reason).toContain(REFUSED);
  });
});
