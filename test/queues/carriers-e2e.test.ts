import { createExecutionContext, createMessageBatch, env, getQueueResult } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import type { DispatchJob } from "../../src/delivery/payloads";
import { logMessages } from "../../src/durable-objects/dispatcher/send-log";
import { consumeDispatch } from "../../src/queues/dispatch";
import { outboxMessage } from "../support/messages";
import { approvedTemplate } from "../support/templates";
import { call, createTenant, postJson, type TestTenant } from "../support/tenants";

/**
 * One tenant, one carrier at a time (a fake behind `base_url`): a message sent through the API is
 * taken by the consumer to that carrier, and the carrier's own receipt format turns it delivered.
 */
const CARRIERS = {
  twilio: {
    settings: {
      config: {
        account_sid: `AC${"d5".repeat(16)}`,
        from: "+14155550100",
        base_url: "https://twilio.fake",
      },
      credentials: { auth_token: "twilio-auth-token-e2e-0123" },
    },
    accept: () => Response.json({ sid: `SM${"e6".repeat(16)}`, status: "queued" }, { status: 201 }),
    receipt: async (hook: string) => {
      const params = new URLSearchParams({
        MessageSid: `SM${"e6".repeat(16)}`,
        MessageStatus: "delivered",
      });
      const data =
        hook +
        [...params.keys()]
          .sort()
          .map((k) => k + params.get(k))
          .join("");
      const key = await crypto.subtle.importKey(
        "raw",
        new TextEncoder().encode("twilio-auth-token-e2e-0123"),
        { name: "HMAC", hash: "SHA-1" },
        false,
        ["sign"],
      );
      const mac = new Uint8Array(
        await crypto.subtle.sign("HMAC", key, new TextEncoder().encode(data)),
      );
      return {
        method: "POST",
        body: params.toString(),
        headers: {
          "content-type": "application/x-www-form-urlencoded",
          "x-twilio-signature": btoa(String.fromCharCode(...mac)),
        },
      };
    },
  },
  aliyun: {
    settings: {
      config: {
        access_key_id: "LTAI5tE2EKey",
        sign_name: "Relaybox",
        base_url: "https://aliyun.fake",
      },
      credentials: { access_key_secret: "aliyun-secret-e2e" },
    },
    accept: () =>
      Response.json({ Code: "OK", Message: "OK", BizId: "900619746936498440^0", RequestId: "r1" }),
    receipt: async () => ({
      method: "POST",
      body: JSON.stringify([
        {
          phone_number: "13800138800",
          send_time: "2026-11-22 12:00:00",
          report_time: "2026-11-22 12:00:03",
          success: true,
          err_code: "DELIVERED",
          err_msg: "用户接收成功",
          sms_size: "1",
          biz_id: "900619746936498440^0",
        },
      ]),
    }),
  },
  tencent: {
    settings: {
      config: {
        secret_id: "AKIDe2eExample",
        sms_sdk_app_id: "1400000001",
        sign_name: "Relaybox",
        base_url: "https://tencent.fake",
      },
      credentials: { secret_key: "tencent-secret-e2e" },
    },
    accept: () =>
      Response.json({
        Response: {
          SendStatusSet: [
            {
              SerialNo: "2028:e2e00000000000000001",
              PhoneNumber: "+8613800138800",
              Fee: 1,
              SessionContext: "",
              Code: "Ok",
              Message: "send success",
              IsoCode: "CN",
            },
          ],
          RequestId: "r2",
        },
      }),
    receipt: async () => ({
      method: "POST",
      body: JSON.stringify([
        {
          user_receive_time: "2026-11-22 12:00:03",
          nationcode: "86",
          mobile: "13800138800",
          report_status: "SUCCESS",
          errmsg: "DELIVRD",
          description: "用户短信送达成功",
          sid: "2028:e2e00000000000000001",
        },
      ]),
    }),
  },
} as const;

async function consumeOnce(
  tenant: TestTenant,
  messageId: string,
  fetch: (r: Request) => Promise<Response>,
) {
  const batch = createMessageBatch<DispatchJob>("relaybox-dispatch", [
    {
      id: "q-1",
      timestamp: new Date(),
      attempts: 1,
      body: { v: 1, tenant_id: tenant.id, message_id: messageId },
    },
  ]);
  const ctx = createExecutionContext();
  await consumeDispatch(batch as MessageBatch<unknown>, env, ctx, { fetch });
  return getQueueResult(batch, ctx);
}

describe("each carrier, end to end with a fake", () => {
  for (const [provider, carrier] of Object.entries(CARRIERS)) {
    it(`sends through ${provider} and its receipt makes the message delivered`, async () => {
      const tenant = await createTenant();
      const put = await tenant.api(`/v1/providers/${provider}`, {
        method: "PUT",
        body: JSON.stringify(carrier.settings),
      });
      const { callback_urls } = (await put.json()) as { callback_urls: { status: string } };
      await tenant.api("/v1/routes", postJson({ destination: "CN", providers: [{ provider }] }));
      const templateId = await approvedTemplate(tenant);
      await tenant.api(`/v1/templates/${templateId}/provider-codes`, {
        method: "PUT",
        body: JSON.stringify(
          provider === "aliyun"
            ? { aliyun: "SMS_154950909" }
            : provider === "tencent"
              ? { tencent: "1110000" }
              : {},
        ),
      });
      // Straight into the send log (not through the API, whose own queue consumer would race this
      // test's): live mode, from the template, as the API would have composed it.
      const message = outboxMessage(tenant.id, "+8613800138800", {
        mode: "live",
        body: "【Relaybox】Your code is 4821. It expires in 5 minutes.",
        templateId,
        templateVersion: 1,
        templateParams: [
          { name: "code", value: "4821" },
          { name: "minutes", value: "5" },
        ],
        kind: "verification",
      });
      await logMessages(env.DB, [message]);
      const { id } = message;

      const requests: Request[] = [];
      const result = await consumeOnce(tenant, id, async (request) => {
        requests.push(request.clone());
        return carrier.accept();
      });
      expect(result.explicitAcks).toEqual(["q-1"]);
      expect(new URL(requests[0]?.url ?? "").host).toBe(`${provider}.fake`);
      if (provider !== "twilio") {
        expect(await requests[0]?.text()).toMatch(
          provider === "aliyun" ? /SMS_154950909/ : /1110000/,
        );
      }
      const receipt = await call(
        new URL(callback_urls.status).pathname,
        null,
        await carrier.receipt(callback_urls.status),
      );
      expect(receipt.status).toBeLessThan(300);
      const view = await tenant.api(`/v1/messages/${id}`);
      expect(await view.json()).toMatchObject({ status: "delivered", provider });
    });
  }
});

describe("gathering for SendBatchSms", () => {
  it("sends a consumer batch's Aliyun messages of one template in one call", async () => {
    const tenant = await createTenant();
    await tenant.api("/v1/providers/aliyun", {
      method: "PUT",
      body: JSON.stringify(CARRIERS.aliyun.settings),
    });
    await tenant.api(
      "/v1/routes",
      postJson({ destination: "CN", providers: [{ provider: "aliyun" }] }),
    );
    const templateId = await approvedTemplate(tenant);
    await tenant.api(`/v1/templates/${templateId}/provider-codes`, {
      method: "PUT",
      body: JSON.stringify({ aliyun: "SMS_154950909" }),
    });
    const messages = [1, 2, 3].map((n) =>
      outboxMessage(tenant.id, `+861380013881${n}`, {
        mode: "live",
        body: `【Relaybox】Your code is 100${n}. It expires in 5 minutes.`,
        templateId,
        templateVersion: 1,
        templateParams: [
          { name: "code", value: `100${n}` },
          { name: "minutes", value: "5" },
        ],
      }),
    );
    await logMessages(env.DB, messages);
    const calls: URLSearchParams[] = [];
    const batch = createMessageBatch<DispatchJob>(
      "relaybox-dispatch",
      messages.map((m, n) => ({
        id: `q-${n}`,
        timestamp: new Date(),
        attempts: 1,
        body: { v: 1, tenant_id: tenant.id, message_id: m.id },
      })),
    );
    const ctx = createExecutionContext();
    await consumeDispatch(batch as MessageBatch<unknown>, env, ctx, {
      fetch: async (request) => {
        calls.push(new URLSearchParams(await request.text()));
        return CARRIERS.aliyun.accept();
      },
    });
    const result = await getQueueResult(batch, ctx);
    expect(result.explicitAcks).toHaveLength(3);
    expect(calls).toHaveLength(1);
    expect(calls[0]?.get("Action")).toBe("SendBatchSms");
    expect(JSON.parse(calls[0]?.get("PhoneNumberJson") ?? "")).toEqual([
      "13800138811",
      "13800138812",
      "13800138813",
    ]);
    const row = await env.DB.prepare("SELECT provider_message_id FROM messages WHERE id = ?")
      .bind(messages[1]?.id)
      .first<{ provider_message_id: string }>();
    expect(row?.provider_message_id).toBe("900619746936498440^0:13800138812");
  });
});

describe("what the consumer takes from the send log's row", () => {
  it("routes by the row's country and signs with its sign name; a row from before those columns has them read from its number and text", async () => {
    const tenant = await createTenant();
    await tenant.api("/v1/providers/aliyun", {
      method: "PUT",
      body: JSON.stringify(CARRIERS.aliyun.settings),
    });
    await tenant.api(
      "/v1/routes",
      postJson({ destination: "CN", providers: [{ provider: "aliyun" }] }),
    );
    const templateId = await approvedTemplate(tenant);
    await tenant.api(`/v1/templates/${templateId}/provider-codes`, {
      method: "PUT",
      body: JSON.stringify({ aliyun: "SMS_154950909" }),
    });
    const composed = {
      mode: "live" as const,
      body: "【Relaybox】Your code is 4821. It expires in 5 minutes.",
      templateId,
      templateVersion: 1,
      templateParams: [
        { name: "code", value: "4821" },
        { name: "minutes", value: "5" },
      ],
    };
    // The sign name is the row's own, not read again from the text.
    const current = outboxMessage(tenant.id, "+8613800138831", {
      ...composed,
      country: "CN",
      signName: "Relaybox Ops",
      currency: "USD",
    });
    const before = outboxMessage(tenant.id, "+8613800138832", composed);
    await logMessages(env.DB, [current, before]);

    const signedAs = async (id: string) => {
      const calls: URLSearchParams[] = [];
      const result = await consumeOnce(tenant, id, async (request) => {
        calls.push(new URLSearchParams(await request.text()));
        return CARRIERS.aliyun.accept();
      });
      expect(result.explicitAcks).toEqual(["q-1"]);
      expect(calls).toHaveLength(1);
      return calls[0]?.get("SignName");
    };
    expect(await signedAs(current.id)).toBe("Relaybox Ops");
    expect(await signedAs(before.id)).toBe("Relaybox");
  });
});

describe("a receipt that arrives while the carrier call is still open", () => {
  it("is held, applied when the send is recorded, and both events reach the tenant's webhook", async () => {
    const tenant = await createTenant();
    const put = await tenant.api("/v1/providers/tencent", {
      method: "PUT",
      body: JSON.stringify(CARRIERS.tencent.settings),
    });
    const { callback_urls } = (await put.json()) as { callback_urls: { status: string } };
    await tenant.api(
      "/v1/routes",
      postJson({ destination: "CN", providers: [{ provider: "tencent" }] }),
    );
    const hook = await tenant.api(
      "/v1/webhooks",
      postJson({
        url: "https://hooks.example.com/early",
        events: ["message.sent", "message.delivered"],
      }),
    );
    const { id: endpointId } = (await hook.json()) as { id: string };
    const templateId = await approvedTemplate(tenant);
    await tenant.api(`/v1/templates/${templateId}/provider-codes`, {
      method: "PUT",
      body: JSON.stringify({ tencent: "1110000" }),
    });
    const message = outboxMessage(tenant.id, "+8613800138800", {
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

    const result = await consumeOnce(tenant, message.id, async () => {
      const early = await call(
        new URL(callback_urls.status).pathname,
        null,
        await CARRIERS.tencent.receipt(),
      );
      expect(early.status).toBe(200);
      return CARRIERS.tencent.accept();
    });
    expect(result.explicitAcks).toEqual(["q-1"]);
    const view = await tenant.api(`/v1/messages/${message.id}`);
    expect(await view.json()).toMatchObject({ status: "delivered", provider: "tencent" });
    const { results } = await env.DB.prepare(
      "SELECT event_type, payload FROM webhook_deliveries WHERE endpoint_id = ? ",
    )
      .bind(endpointId)
      .all<{ event_type: string; payload: string }>();
    expect(results.map((r) => r.event_type).sort()).toEqual(["message.delivered", "message.sent"]);
    const delivered = results.find((r) => r.event_type === "message.delivered");
    expect(JSON.parse(delivered?.payload ?? "{}")).toMatchObject({
      data: { id: message.id, status: "delivered", provider: "tencent" },
    });
  });
});
