import { env } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { claimForSending, recordAttempts } from "../../src/delivery/status-writer";
import { logMessages } from "../../src/durable-objects/dispatcher/send-log";
import { outboxMessage, statusOf } from "../support/messages";
import { call, createTenant, type TestTenant } from "../support/tenants";

const AUTH_TOKEN = "twilio-auth-token-0123456789";

async function withProvider(tenant: TestTenant, provider: string, settings: unknown) {
  const res = await tenant.api(`/v1/providers/${provider}`, {
    method: "PUT",
    body: JSON.stringify(settings),
  });
  expect(res.status).toBe(201);
  return (await res.json()) as { callback_urls: { status: string } };
}

async function sentThrough(tenant: TestTenant, provider: string, providerMessageId: string) {
  const message = outboxMessage(tenant.id, "+8613800138600", { mode: "live" });
  await logMessages(env.DB, [message]);
  await env.DB.prepare(
    "UPDATE messages SET status = 'sent', provider = ?, provider_message_id = ?, sent_at = ? WHERE id = ?",
  )
    .bind(provider, providerMessageId, Date.now(), message.id)
    .run();
  return message;
}

/** X-Twilio-Signature as Twilio computes it: HMAC-SHA1 over the URL and the sorted parameters. */
async function twilioSignature(url: string, params: Record<string, string>, token: string) {
  const data =
    url +
    Object.keys(params)
      .sort()
      .map((k) => k + params[k])
      .join("");
  const key = await crypto.subtle.importKey(
    "raw",
    new TextEncoder().encode(token),
    { name: "HMAC", hash: "SHA-1" },
    false,
    ["sign"],
  );
  const mac = new Uint8Array(await crypto.subtle.sign("HMAC", key, new TextEncoder().encode(data)));
  return btoa(String.fromCharCode(...mac));
}

function form(params: Record<string, string>, signature: string | null): RequestInit {
  return {
    method: "POST",
    body: new URLSearchParams(params).toString(),
    headers: {
      "content-type": "application/x-www-form-urlencoded",
      ...(signature ? { "x-twilio-signature": signature } : {}),
    },
  };
}

describe("carrier receipts", () => {
  it("applies a Twilio status callback whose signature verifies, and refuses a forged one", async () => {
    const tenant = await createTenant();
    const { callback_urls } = await withProvider(tenant, "twilio", {
      config: { account_sid: `AC${"a1".repeat(16)}`, from: "+14155550100" },
      credentials: { auth_token: AUTH_TOKEN },
    });
    const sid = `SM${"c3".repeat(16)}`;
    const message = await sentThrough(tenant, "twilio", sid);
    const params = {
      MessageSid: sid,
      MessageStatus: "delivered",
      AccountSid: `AC${"a1".repeat(16)}`,
    };
    const path = new URL(callback_urls.status).pathname;

    const forged = await call(
      path,
      null,
      form(params, await twilioSignature(callback_urls.status, params, "wrong-token-000000000")),
    );
    expect(forged.status).toBe(403);
    const unsigned = await call(path, null, form(params, null));
    expect(unsigned.status).toBe(403);
    expect(await statusOf(message.id)).toBe("sent");

    const genuine = await call(
      path,
      null,
      form(params, await twilioSignature(callback_urls.status, params, AUTH_TOKEN)),
    );
    expect(genuine.status).toBe(204);
    expect(await statusOf(message.id)).toBe("delivered");
  });

  it("applies Aliyun's receipt push and answers as Aliyun expects", async () => {
    const tenant = await createTenant();
    const { callback_urls } = await withProvider(tenant, "aliyun", {
      config: { access_key_id: "LTAI5tExampleKey", sign_name: "Relaybox" },
      credentials: { access_key_secret: "aliyun-secret-0123" },
    });
    // Aliyun's id for one number's message is its BizId and the number (channels/sms/aliyun).
    const message = await sentThrough(tenant, "aliyun", "900619746936498440^0:13800138600");
    const res = await call(new URL(callback_urls.status).pathname, null, {
      method: "POST",
      body: JSON.stringify([
        {
          phone_number: "13800138600",
          send_time: "2026-11-22 12:00:00",
          report_time: "2026-11-22 12:00:05",
          success: false,
          err_code: "MK:0001",
          err_msg: "用户拒收",
          sms_size: "1",
          biz_id: "900619746936498440^0",
          out_id: message.id,
        },
      ]),
    });
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ code: 0, msg: "成功" });
    const row = await env.DB.prepare("SELECT status, status_reason FROM messages WHERE id = ?")
      .bind(message.id)
      .first<{ status: string; status_reason: string }>();
    expect(row?.status).toBe("undelivered");
    expect(row?.status_reason).toContain("MK:0001");
  });

  it("applies Tencent's receipt callback, found by its serial number", async () => {
    const tenant = await createTenant();
    const { callback_urls } = await withProvider(tenant, "tencent", {
      config: { secret_id: "AKIDexample00", sms_sdk_app_id: "1400006666", sign_name: "Relaybox" },
      credentials: { secret_key: "tencent-secret-0123" },
    });
    const serial = "2028:f825e6b16e23f73f4123";
    const message = await sentThrough(tenant, "tencent", serial);
    const res = await call(new URL(callback_urls.status).pathname, null, {
      method: "POST",
      body: JSON.stringify([
        {
          user_receive_time: "2026-11-22 12:00:05",
          nationcode: "86",
          mobile: "13800138600",
          report_status: "SUCCESS",
          errmsg: "DELIVRD",
          description: "用户短信送达成功",
          sid: serial,
        },
      ]),
    });
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ result: 0, errmsg: "OK" });
    expect(await statusOf(message.id)).toBe("delivered");
  });

  it("refuses another tenant's or an unknown hook token, and a receipt for the wrong provider's path", async () => {
    const owner = await createTenant();
    const { callback_urls } = await withProvider(owner, "tencent", {
      config: { secret_id: "AKIDexample00", sms_sdk_app_id: "1400006666", sign_name: "Relaybox" },
      credentials: { secret_key: "tencent-secret-0123" },
    });
    const token = new URL(callback_urls.status).pathname.split("/")[4];
    const body = { method: "POST", body: "[]" };
    expect((await call(`/hooks/sms/aliyun/${token}/status`, null, body)).status).toBe(404);
    expect((await call("/hooks/sms/tencent/unknown-token/status", null, body)).status).toBe(404);
  });
});

describe("a receipt that beats the record of its send", () => {
  it("is held, then applied when the consumer records the send", async () => {
    const tenant = await createTenant();
    const { callback_urls } = await withProvider(tenant, "tencent", {
      config: { secret_id: "AKIDexample00", sms_sdk_app_id: "1400006666", sign_name: "Relaybox" },
      credentials: { secret_key: "tencent-secret-0123" },
    });
    const message = outboxMessage(tenant.id, "+8613800138601", { mode: "live" });
    await logMessages(env.DB, [message]);
    const serial = "2028:early0000000000001";
    const res = await call(new URL(callback_urls.status).pathname, null, {
      method: "POST",
      body: JSON.stringify([
        {
          user_receive_time: "2026-11-22 12:00:05",
          nationcode: "86",
          mobile: "13800138601",
          report_status: "SUCCESS",
          errmsg: "DELIVRD",
          description: "ok",
          sid: serial,
        },
      ]),
    });
    expect(res.status).toBe(200);
    expect(await statusOf(message.id)).toBe("queued");

    const [claimed] = await claimForSending(
      env,
      env.DB,
      [message.id],
      "claim-1",
      Date.now(),
      60_000,
    );
    expect(claimed?.status).toBe("sending");
    if (!claimed) {
      throw new Error("the message was not claimed");
    }
    await recordAttempts(env, env.DB, [
      {
        message: claimed,
        attempt: {
          attemptId: "att_early1",
          claimId: "claim-1",
          messageId: message.id,
          tenantId: tenant.id,
          attempt: 1,
          provider: "tencent",
          outcome: "sent",
          reason: null,
          providerMessageId: serial,
          latencyMs: 12,
          createdAt: Date.now(),
        },
        change: { kind: "sent", provider: "tencent", providerMessageId: serial },
      },
    ]);
    expect(await statusOf(message.id)).toBe("delivered");
    const left = await env.DB.prepare(
      "SELECT COUNT(*) AS n FROM pending_receipts WHERE provider_message_id = ?",
    )
      .bind(serial)
      .first<{ n: number }>();
    expect(left?.n).toBe(0);
  });
});
