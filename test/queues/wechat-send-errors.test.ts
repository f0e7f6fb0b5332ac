import { env } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import type { OutboxMessage } from "../../src/delivery/dispatcher-types";
import { logMessages } from "../../src/durable-objects/dispatcher/send-log";
import { outboxMessage } from "../support/messages";
import { createTenant, type TestTenant } from "../support/tenants";
import {
  appWithFakeApi,
  consumeBatch,
  type Fetch,
  fakeWeChat,
  follower,
  SMS_FALLBACK,
  smsFallbackSent,
  viewOf,
  WX_HOST,
} from "../support/wechat-outbound";

/** The env with a WeChatAccount namespace whose objects answer `accessToken` with `answer`. */
function withTokenAuthority(answer: () => Promise<unknown>): Env {
  const namespace = {
    idFromName: (name: string) => env.WECHAT_ACCOUNT.idFromName(name),
    get: () => ({ accessToken: answer }),
  };
  return { ...env, WECHAT_ACCOUNT: namespace } as unknown as Env;
}

function wechatMessage(
  tenant: TestTenant,
  appId: string,
  openid: string,
  options: { template?: boolean; fallback?: boolean } = {},
): OutboxMessage {
  const content = options.template
    ? { msgtype: "template", touser: openid, template_id: "tmpl1", data: {} }
    : { msgtype: "text", touser: openid, text: { content: "Thanks for writing" } };
  return outboxMessage(tenant.id, openid, {
    channel: "wechat",
    sender: appId,
    mode: "live",
    segments: 0,
    payload: JSON.stringify({
      ...content,
      ...(options.fallback ? { fallback: SMS_FALLBACK } : {}),
    }),
  });
}

/** Runs the consumer on one message until it is no longer waiting for a retry (at most `max`). */
async function consumeUntilDone(tenant: TestTenant, id: string, fetch: Fetch, max = 6) {
  for (let run = 0; run < max; run++) {
    const result = await consumeBatch(tenant, [id], fetch);
    if (result.retryMessages.length === 0) {
      return;
    }
  }
}

describe("a WeChat send that breaks on our side", () => {
  it("retries only that message when its token authority throws, and the batch's SMS is sent once", async () => {
    const tenant = await createTenant();
    const wechat = fakeWeChat(() => ({ errcode: 0 }));
    const appId = await appWithFakeApi(tenant, wechat.fetch);
    await follower(tenant, appId, "oTalker", 60_000);
    const sms = outboxMessage(tenant.id, "+8613800138951", { mode: "live" });
    const cs = wechatMessage(tenant, appId, "oTalker");
    await logMessages(env.DB, [sms, cs]);
    const broken = withTokenAuthority(async () => {
      throw new Error("Durable Object reset because its code was updated");
    });

    const result = await consumeBatch(tenant, [sms.id, cs.id], wechat.fetch, broken);

    expect(result.explicitAcks).toEqual(["q-1"]);
    expect(result.retryMessages.map((m) => m.msgId)).toEqual(["q-2"]);
    expect((await viewOf(tenant, sms.id)).status).toMatch(/^(sent|delivered)$/);
    const view = await viewOf(tenant, cs.id);
    expect(view.status).toBe("sending");
    expect(view.attempts).toEqual([
      expect.objectContaining({
        provider: "wechat",
        outcome: "retryable",
        reason: expect.stringContaining("Durable Object reset"),
      }),
    ]);
    expect(wechat.calls).toEqual([]);
  });

  it("counts the attempt retryable when WeChat refused the send for its token and no new token comes", async () => {
    const tenant = await createTenant();
    // The send is refused for an expired token, and asking for a new one then throws.
    const wechat = fakeWeChat(() => ({ errcode: 42001, errmsg: "access_token expired" }));
    const appId = await appWithFakeApi(tenant, wechat.fetch);
    await follower(tenant, appId, "oTalker", 60_000);
    const cs = wechatMessage(tenant, appId, "oTalker");
    await logMessages(env.DB, [cs]);
    let asked = 0;
    const breaksSecondTime = withTokenAuthority(async () => {
      asked += 1;
      if (asked > 1) {
        throw new Error("Durable Object is overloaded");
      }
      const token = {
        token: "T1",
        expiresAt: Date.now() + 3_600_000,
        apiBaseUrl: `https://${WX_HOST}`,
      };
      return { ok: true, value: token };
    });

    const result = await consumeBatch(tenant, [cs.id], wechat.fetch, breaksSecondTime);

    expect(result.retryMessages).toHaveLength(1);
    expect(wechat.calls).toHaveLength(1);
    // WeChat answered the one request that left (42001): it cannot have been taken.
    expect((await viewOf(tenant, cs.id)).attempts).toEqual([
      expect.objectContaining({ provider: "wechat", outcome: "retryable" }),
    ]);
  });
});

describe("channel auto when WeChat does not take the message", () => {
  it("falls back to SMS when WeChat is still busy after its share of the attempts", async () => {
    const tenant = await createTenant();
    const wechat = fakeWeChat(() => ({ errcode: -1, errmsg: "system busy" }));
    const appId = await appWithFakeApi(tenant, wechat.fetch);
    const message = wechatMessage(tenant, appId, "oBusy", { template: true, fallback: true });
    await logMessages(env.DB, [message]);

    await consumeUntilDone(tenant, message.id, wechat.fetch);

    const view = await smsFallbackSent(tenant, message.id);
    expect(view).toMatchObject({ channel: "sms", to: SMS_FALLBACK.recipient });
    expect(view.status).toMatch(/^(sent|delivered)$/);
    // MAX_ATTEMPTS is 5: WeChat takes 3, the SMS keeps 2 for its own retries.
    expect(view.attempts.map((a) => [a.provider, a.outcome])).toEqual([
      ["wechat", "retryable"],
      ["wechat", "retryable"],
      ["wechat", "retryable"],
      ["sandbox", "sent"],
    ]);
  });

  it("falls back to SMS at once when WeChat's daily API quota is used up (45009)", async () => {
    const tenant = await createTenant();
    const wechat = fakeWeChat(() => ({
      errcode: 45009,
      errmsg: "reach max api daily quota limit",
    }));
    const appId = await appWithFakeApi(tenant, wechat.fetch);
    const message = wechatMessage(tenant, appId, "oQuota", { template: true, fallback: true });
    await logMessages(env.DB, [message]);

    await consumeUntilDone(tenant, message.id, wechat.fetch);

    const view = await smsFallbackSent(tenant, message.id);
    expect(view.channel).toBe("sms");
    expect(view.attempts.map((a) => [a.provider, a.outcome])).toEqual([
      ["wechat", "retryable"],
      ["sandbox", "sent"],
    ]);
  });

  it("falls back to SMS when WeChat's token endpoint does not answer, since nothing was sent", async () => {
    const tenant = await createTenant();
    const wechat = fakeWeChat(() => ({ errcode: 0, msgid: 1 }));
    const tokenDown: Fetch = async (request) => {
      if (new URL(request.url).pathname.includes("token")) {
        throw new Error("connection refused");
      }
      return wechat.fetch(request);
    };
    const appId = await appWithFakeApi(tenant, tokenDown);
    const message = wechatMessage(tenant, appId, "oNoToken", { template: true, fallback: true });
    await logMessages(env.DB, [message]);

    await consumeUntilDone(tenant, message.id, tokenDown);

    const view = await smsFallbackSent(tenant, message.id);
    expect(view).toMatchObject({ channel: "sms", to: SMS_FALLBACK.recipient });
    expect(view.status).toMatch(/^(sent|delivered)$/);
    expect(view.attempts.map((a) => [a.provider, a.outcome])).toEqual([
      ["wechat", "retryable"],
      ["wechat", "retryable"],
      ["wechat", "retryable"],
      ["sandbox", "sent"],
    ]);
    expect(wechat.calls).toEqual([]);
  });

  it("sends no SMS when an earlier WeChat attempt got no answer, since it may have reached the user", async () => {
    const tenant = await createTenant();
    let sends = 0;
    const wechat = fakeWeChat(() => {
      sends += 1;
      if (sends === 1) {
        throw new Error("connection reset");
      }
      return { errcode: -1, errmsg: "system busy" };
    });
    const appId = await appWithFakeApi(tenant, wechat.fetch);
    const message = wechatMessage(tenant, appId, "oFlaky", { template: true, fallback: true });
    await logMessages(env.DB, [message]);

    await consumeUntilDone(tenant, message.id, wechat.fetch);

    const view = await viewOf(tenant, message.id);
    expect(view).toMatchObject({ channel: "wechat", status: "failed" });
    expect(view.status_reason).toContain("no SMS sent");
    expect(view.attempts.map((a) => a.outcome)).toEqual(["unknown", "retryable", "retryable"]);
  });
});

describe("the customer-service window at send time", () => {
  it("fails a message whose window closed before it went out, without calling WeChat", async () => {
    const tenant = await createTenant();
    const wechat = fakeWeChat(() => ({ errcode: 0 }));
    const appId = await appWithFakeApi(tenant, wechat.fetch);
    // A menu click's window lasts one minute; this one closed a minute ago.
    await follower(tenant, appId, "oClicker", 2 * 60_000, "menu");
    const message = wechatMessage(tenant, appId, "oClicker");
    await logMessages(env.DB, [message]);

    const result = await consumeBatch(tenant, [message.id], wechat.fetch);

    expect(result.explicitAcks).toEqual(["q-1"]);
    expect(await viewOf(tenant, message.id)).toMatchObject({
      status: "failed",
      status_reason: expect.stringContaining("customer-service window had closed"),
    });
    expect(wechat.calls).toEqual([]);
  });

  it("sends the SMS instead when an auto message's window closed before it went out", async () => {
    const tenant = await createTenant();
    const wechat = fakeWeChat(() => ({ errcode: 0 }));
    const appId = await appWithFakeApi(tenant, wechat.fetch);
    await follower(tenant, appId, "oQuiet", 49 * 60 * 60_000);
    const message = wechatMessage(tenant, appId, "oQuiet", { fallback: true });
    await logMessages(env.DB, [message]);

    await consumeUntilDone(tenant, message.id, wechat.fetch);

    const view = await smsFallbackSent(tenant, message.id);
    expect(view).toMatchObject({ channel: "sms", to: SMS_FALLBACK.recipient });
    expect(view.attempts.map((a) => [a.provider, a.outcome])).toEqual([
      ["wechat", "permanent"],
      ["sandbox", "sent"],
    ]);
    expect(wechat.calls).toEqual([]);
  });
});
