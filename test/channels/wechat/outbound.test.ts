import { describe, expect, it } from "vitest";
import type { AdapterIO, OutboundRequest } from "../../../src/channels/adapter";
import type { AccessTokenRequest } from "../../../src/channels/wechat/api-types";
import { wechat } from "../../../src/channels/wechat/outbound";

const APP_ID = "wx5823bf96d3bd56c7";
const NO_SETTINGS = { config: {}, secrets: {} };

function request(payload: Record<string, unknown> | null): OutboundRequest {
  return {
    messageId: "msg_01J9ZK3Q",
    tenantId: "tnt_1",
    to: "oFollower",
    from: APP_ID,
    body: "template tmpl1",
    attempt: 1,
    statusCallbackUrl: `https://relaybox.example/wechat/${APP_ID}`,
    template: null,
    signName: null,
    payload,
  };
}

const TEMPLATE = {
  msgtype: "template",
  touser: "oFollower",
  template_id: "tmpl1",
  data: { first: { value: "Shipped" } },
  fallback: { recipient: "+8613800138950", body: "【Relaybox】Shipped" },
};
const TEXT = { msgtype: "text", touser: "oFollower", text: { content: "Thanks for writing" } };

/** WeChat answering each send with `answer`, tokens T1, T2, … and the follower's window `open`. */
function fakeWeChat(answer: () => Promise<Record<string, unknown>>, open = true) {
  const sends: { url: URL; body: unknown }[] = [];
  const tokenRequests: AccessTokenRequest[] = [];
  const windows: unknown[] = [];
  const io: AdapterIO = {
    fetch: async (outgoing) => {
      sends.push({ url: new URL(outgoing.url), body: await outgoing.json() });
      return Response.json(await answer());
    },
    now: () => 1_700_000_000_000,
    waitUntil: () => undefined,
    accessToken: async (tokenRequest) => {
      tokenRequests.push(tokenRequest);
      const token = `T${tokenRequests.length}`;
      return { ok: true, value: { token, expiresAt: 0, apiBaseUrl: "https://wx.fake" } };
    },
    serviceWindowOpen: async (follower, at) => {
      windows.push({ follower, at });
      return open;
    },
  };
  return { io, sends, tokenRequests, windows };
}

describe("the WeChat outbound adapter", () => {
  it("sends a template message with the app's token, without our fallback and msgtype", async () => {
    const fake = fakeWeChat(async () => ({ errcode: 0, errmsg: "ok", msgid: 200228332 }));
    const outcome = await wechat.send(request(TEMPLATE), NO_SETTINGS, fake.io);
    expect(outcome).toEqual({ kind: "sent", providerMessageId: "200228332" });
    expect(fake.tokenRequests).toEqual([{ appId: APP_ID }]);
    expect(fake.windows).toEqual([]);
    expect(fake.sends.map(({ url }) => url.href)).toEqual([
      "https://wx.fake/cgi-bin/message/template/send?access_token=T1",
    ]);
    expect(fake.sends[0]?.body).toEqual({
      touser: "oFollower",
      template_id: "tmpl1",
      data: { first: { value: "Shipped" } },
    });
  });

  it("sends a customer-service message inside the follower's window, our id standing for WeChat's", async () => {
    const fake = fakeWeChat(async () => ({ errcode: 0, errmsg: "ok" }));
    const outcome = await wechat.send(request(TEXT), NO_SETTINGS, fake.io);
    expect(outcome).toEqual({ kind: "sent", providerMessageId: "cs:msg_01J9ZK3Q" });
    expect(fake.windows).toEqual([
      {
        follower: { tenantId: "tnt_1", sender: APP_ID, recipient: "oFollower" },
        at: 1_700_000_000_000,
      },
    ]);
    expect(fake.sends.map(({ url }) => url.pathname)).toEqual(["/cgi-bin/message/custom/send"]);
    expect(fake.sends[0]?.body).toEqual(TEXT);
  });

  it("sends a subscription notice to bizsend with WeChat's exact body, needing no window", async () => {
    const NOTICE = {
      msgtype: "subscribe_notice",
      touser: "oFollower",
      template_id: "notice-shipped",
      data: { thing1: { value: "Order 8812 shipped" }, time2: { value: "2026-12-07 10:00" } },
      page: "https://shop.example.com/orders/8812",
      miniprogram: { appid: "wxa1b2c3d4e5f60718", pagepath: "pages/order?id=8812" },
    };
    // The window is closed: a notice does not need one, so it must not be asked.
    const fake = fakeWeChat(async () => ({ errcode: 0, errmsg: "ok" }), false);
    const outcome = await wechat.send(request(NOTICE), NO_SETTINGS, fake.io);
    expect(outcome).toEqual({ kind: "sent", providerMessageId: "sub:msg_01J9ZK3Q" });
    expect(fake.windows).toEqual([]);
    expect(fake.sends.map(({ url }) => url.href)).toEqual([
      "https://wx.fake/cgi-bin/message/subscribe/bizsend?access_token=T1",
    ]);
    expect(fake.sends[0]?.body).toEqual({
      touser: "oFollower",
      template_id: "notice-shipped",
      data: { thing1: { value: "Order 8812 shipped" }, time2: { value: "2026-12-07 10:00" } },
      page: "https://shop.example.com/orders/8812",
      miniprogram: { appid: "wxa1b2c3d4e5f60718", pagepath: "pages/order?id=8812" },
    });
    const refused = fakeWeChat(async () => ({
      errcode: 43101,
      errmsg: "user refuse to accept the msg",
    }));
    expect(await wechat.send(request(NOTICE), NO_SETTINGS, refused.io)).toEqual({
      kind: "failed",
      retryable: false,
      code: "wechat_43101",
      reason:
        "the user has not accepted (or has refused) this subscription notice (43101 user refuse to accept the msg)",
    });
  });

  it("fails a customer-service message for good, calling no one, once its window closed", async () => {
    const fake = fakeWeChat(async () => ({ errcode: 0 }), false);
    const outcome = await wechat.send(request(TEXT), NO_SETTINGS, fake.io);
    expect(outcome).toMatchObject({
      kind: "failed",
      retryable: false,
      code: "wechat_window_closed",
    });
    expect(fake.tokenRequests).toEqual([]);
    expect(fake.sends).toEqual([]);
  });

  it("asks for a new token after 42001 and sends once more with it", async () => {
    let calls = 0;
    const fake = fakeWeChat(async () =>
      ++calls === 1 ? { errcode: 42001, errmsg: "access_token expired" } : { errcode: 0, msgid: 7 },
    );
    expect(await wechat.send(request(TEMPLATE), NO_SETTINGS, fake.io)).toEqual({
      kind: "sent",
      providerMessageId: "7",
    });
    expect(fake.tokenRequests).toEqual([
      { appId: APP_ID },
      { appId: APP_ID, force: false, rejectedToken: "T1" },
    ]);
    expect(fake.sends.map(({ url }) => url.searchParams.get("access_token"))).toEqual(["T1", "T2"]);
  });

  it("names WeChat's refusals: permanent, retryable, and a daily quota used up", async () => {
    const outcomeOf = async (answer: Record<string, unknown>) =>
      wechat.send(request(TEMPLATE), NO_SETTINGS, fakeWeChat(async () => answer).io);
    expect(await outcomeOf({ errcode: 43004, errmsg: "require subscribe" })).toEqual({
      kind: "failed",
      retryable: false,
      code: "wechat_43004",
      reason: "the user does not follow the account (43004 require subscribe)",
    });
    expect(await outcomeOf({ errcode: -1, errmsg: "system busy" })).toMatchObject({
      retryable: true,
      code: "wechat_-1",
    });
    expect(await outcomeOf({ errcode: 45009, errmsg: "reach max api daily quota limit" })).toEqual({
      kind: "failed",
      retryable: true,
      code: "wechat_45009",
      reason: "the account's daily API quota is used up (45009 reach max api daily quota limit)",
      quotaExhausted: true,
    });
  });

  it("calls a send that got no answer unknown, and trouble before it left a retryable failure", async () => {
    const noAnswer = fakeWeChat(async () => {
      throw new Error("connection reset");
    });
    expect(await wechat.send(request(TEMPLATE), NO_SETTINGS, noAnswer.io)).toMatchObject({
      kind: "unknown",
    });
    const tokenAuthorityDown = fakeWeChat(async () => ({ errcode: 0 }));
    tokenAuthorityDown.io.accessToken = async () => {
      throw new Error("Durable Object reset");
    };
    expect(await wechat.send(request(TEMPLATE), NO_SETTINGS, tokenAuthorityDown.io)).toEqual({
      kind: "failed",
      retryable: true,
      code: "wechat_unavailable",
      reason: "WeChat could not be called: Durable Object reset",
    });
    expect(tokenAuthorityDown.sends).toEqual([]);
  });

  it("fails a message with no app or no payload for good", async () => {
    const fake = fakeWeChat(async () => ({ errcode: 0 }));
    expect(await wechat.send(request(null), NO_SETTINGS, fake.io)).toMatchObject({
      kind: "failed",
      retryable: false,
      code: "wechat_incomplete",
    });
    expect(fake.sends).toEqual([]);
  });
});
