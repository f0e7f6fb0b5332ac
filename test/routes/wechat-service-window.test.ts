import { describe, expect, it } from "vitest";
import { expectProblem } from "../support/problem";
import { createTenant, postJson, type TestTenant } from "../support/tenants";
import { deliver, eventMessage, textMessage } from "../support/wechat";
import { appWithFakeApi, fakeWeChat, follower } from "../support/wechat-outbound";

const nowSeconds = () => Math.floor(Date.now() / 1000);

function sendText(tenant: TestTenant, appId: string, openid: string, key?: string) {
  return tenant.api(
    "/v1/messages",
    postJson(
      { channel: "wechat", app_id: appId, openid, wechat: { type: "text", content: "Hi" } },
      key ? { "idempotency-key": key } : {},
    ),
  );
}

/** The statuses of `count` customer-service messages sent one after another. */
async function statusesOf(tenant: TestTenant, appId: string, openid: string, count: number) {
  const statuses: number[] = [];
  for (let i = 0; i < count; i++) {
    statuses.push((await sendText(tenant, appId, openid)).status);
  }
  return statuses;
}

async function setUp() {
  const tenant = await createTenant();
  const appId = await appWithFakeApi(tenant, fakeWeChat(() => ({ errcode: 0 })).fetch);
  return { tenant, appId };
}

async function deliverEvent(appId: string, event: string, openid: string, at = nowSeconds()) {
  const res = await deliver(appId, eventMessage(event, "key", openid, at), { mode: "plaintext" });
  expect(res.status).toBe(200);
}

async function deliverText(appId: string, openid: string, msgId: string, at = nowSeconds()) {
  const xml = textMessage("hello", msgId, openid).replace(
    "<CreateTime>1700000000</CreateTime>",
    `<CreateTime>${at}</CreateTime>`,
  );
  expect((await deliver(appId, xml, { mode: "plaintext" })).status).toBe(200);
}

describe("the customer-service quota at acceptance", () => {
  it("accepts 5 of 7 customer-service messages sent at once in a message's window", async () => {
    const { tenant, appId } = await setUp();
    await follower(tenant, appId, "oRush", 60_000);
    const responses = await Promise.all(
      Array.from({ length: 7 }, () => sendText(tenant, appId, "oRush")),
    );
    const statuses = responses.map((r) => r.status).sort();
    expect(statuses).toEqual([202, 202, 202, 202, 202, 422, 422]);
    const refused = responses.find((r) => r.status === 422);
    if (!refused) {
      throw new Error("no refusal");
    }
    await expectProblem(refused, {
      status: 422,
      slug: "unprocessable-entity",
      instance: "/v1/messages",
      detail: /5 customer-service messages/,
      pointers: ["/wechat/type"],
    });
  });

  it("takes no second slot for an idempotent retry", async () => {
    const { tenant, appId } = await setUp();
    await follower(tenant, appId, "oRetry", 60_000);
    expect((await sendText(tenant, appId, "oRetry", "k-1")).status).toBe(202);
    const replay = await sendText(tenant, appId, "oRetry", "k-1");
    expect(replay.status).toBe(202);
    expect(replay.headers.get("idempotent-replayed")).toBe("true");
    expect(await statusesOf(tenant, appId, "oRetry", 5)).toEqual([202, 202, 202, 202, 422]);
  });
});

describe("WeChat's customer-service windows by interaction", () => {
  it("gives 3 messages after a menu click, a scan-code menu, a follow or a QR scan", async () => {
    const { tenant, appId } = await setUp();
    for (const event of ["CLICK", "scancode_push", "scancode_waitmsg", "subscribe", "SCAN"]) {
      const openid = `o-${event}`;
      await deliverEvent(appId, event, openid);
      expect(await statusesOf(tenant, appId, openid, 4), event).toEqual([202, 202, 202, 422]);
    }
  });

  it("gives 5 messages within 48 hours after the follower's own message", async () => {
    const { tenant, appId } = await setUp();
    await deliverText(appId, "oWriter", "6054768590064720001", nowSeconds() - 47 * 3600);
    expect(await statusesOf(tenant, appId, "oWriter", 6)).toEqual([202, 202, 202, 202, 202, 422]);
  });

  it("opens no window for a menu link (VIEW)", async () => {
    const { tenant, appId } = await setUp();
    await deliverEvent(appId, "VIEW", "oViewer");
    expect(await statusesOf(tenant, appId, "oViewer", 1)).toEqual([422]);
  });

  it("closes a click's window after one minute", async () => {
    const { tenant, appId } = await setUp();
    await deliverEvent(appId, "CLICK", "oEarly", nowSeconds() - 61);
    await deliverEvent(appId, "CLICK", "oRecent", nowSeconds() - 45);
    expect(await statusesOf(tenant, appId, "oEarly", 1)).toEqual([422]);
    expect(await statusesOf(tenant, appId, "oRecent", 1)).toEqual([202]);
  });

  it("keeps an open conversation's 48-hour window when the follower then clicks the menu", async () => {
    const { tenant, appId } = await setUp();
    await deliverText(appId, "oChat", "6054768590064720002", nowSeconds() - 3600);
    await deliverEvent(appId, "CLICK", "oChat");
    expect(await statusesOf(tenant, appId, "oChat", 6)).toEqual([202, 202, 202, 202, 202, 422]);
  });

  it("opens a fresh follow window after an unfollow, whatever the old conversation's age", async () => {
    const { tenant, appId } = await setUp();
    await deliverText(appId, "oBack", "6054768590064720003", nowSeconds() - 600);
    await deliverEvent(appId, "unsubscribe", "oBack", nowSeconds() - 300);
    expect(await statusesOf(tenant, appId, "oBack", 1)).toEqual([422]);
    await deliverEvent(appId, "subscribe", "oBack");
    expect(await statusesOf(tenant, appId, "oBack", 4)).toEqual([202, 202, 202, 422]);
  });
});

describe("channel auto with a customer-service part", () => {
  async function boundContact(tenant: TestTenant, appId: string, phone: string | null) {
    const externalId = `u-${crypto.randomUUID()}`;
    const openid = `o-${externalId}`;
    const res = await tenant.api(
      "/v1/contacts",
      postJson({
        external_id: externalId,
        ...(phone ? { phone } : {}),
        wechat: [{ app_id: appId, openid }],
      }),
    );
    expect(res.status).toBe(201);
    // Followed two minutes ago: following, but the follow's one-minute window is over.
    await deliverEvent(appId, "subscribe", openid, nowSeconds() - 120);
    return externalId;
  }

  const autoText = (appId: string, contact: string) =>
    postJson({
      channel: "auto",
      contact,
      app_id: appId,
      wechat: { type: "text", content: "Your order has shipped" },
      sms: { body: "Your order has shipped" },
    });

  it("sends the SMS part when the follower's window is closed", async () => {
    const { tenant, appId } = await setUp();
    const contact = await boundContact(tenant, appId, "+8613800138960");
    const res = await tenant.api("/v1/messages", autoText(appId, contact));
    expect(res.status).toBe(202);
    expect(await res.json()).toMatchObject({ to: "+8613800138960" });
  });

  it("refuses with 422 when the window is closed and the contact has no phone", async () => {
    const { tenant, appId } = await setUp();
    const contact = await boundContact(tenant, appId, null);
    await expectProblem(await tenant.api("/v1/messages", autoText(appId, contact)), {
      status: 422,
      slug: "unprocessable-entity",
      instance: "/v1/messages",
      detail: /customer-service window/,
      pointers: ["/wechat/type"],
    });
  });
});
