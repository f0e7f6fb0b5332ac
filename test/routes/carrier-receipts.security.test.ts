import { env } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { claimForSending, recordAttempts } from "../../src/delivery/status-writer";
import { logMessages } from "../../src/durable-objects/dispatcher/send-log";
import { outboxMessage, statusOf } from "../support/messages";
import { call, createTenant, type TestTenant } from "../support/tenants";

const PROVIDERS = {
  aliyun: {
    config: { access_key_id: "LTAI5tExampleKey", sign_name: "Relaybox" },
    credentials: { access_key_secret: "aliyun-secret-0123" },
  },
  tencent: {
    config: { secret_id: "AKIDexample00", sms_sdk_app_id: "1400006666", sign_name: "Relaybox" },
    credentials: { secret_key: "tencent-secret-0123" },
  },
} as const;

/** Configures `provider` for the tenant and returns the path of its status hook. */
async function statusHook(tenant: TestTenant, provider: keyof typeof PROVIDERS): Promise<string> {
  const res = await tenant.api(`/v1/providers/${provider}`, {
    method: "PUT",
    body: JSON.stringify(PROVIDERS[provider]),
  });
  expect(res.status).toBe(201);
  const { callback_urls } = (await res.json()) as { callback_urls: { status: string } };
  return new URL(callback_urls.status).pathname;
}

/** A live message recorded as sent through `provider` under the carrier id `providerMessageId`. */
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

/** A message the consumer has not recorded as sent yet; `record` records it as the consumer does. */
async function sendingMessage(tenant: TestTenant) {
  const message = outboxMessage(tenant.id, "+8613800138601", { mode: "live" });
  await logMessages(env.DB, [message]);
  const claimId = `claim-${message.id}`;
  const [claimed] = await claimForSending(env, env.DB, [message.id], claimId, Date.now(), 60_000);
  expect(claimed?.status).toBe("sending");
  if (!claimed) {
    throw new Error("the message was not claimed");
  }
  const record = (provider: string, providerMessageId: string) =>
    recordAttempts(env, env.DB, [
      {
        message: claimed,
        attempt: {
          attemptId: `att_${message.id.slice(4)}`,
          claimId,
          messageId: message.id,
          tenantId: tenant.id,
          attempt: 1,
          provider,
          outcome: "sent",
          reason: null,
          providerMessageId,
          latencyMs: 12,
          createdAt: Date.now(),
        },
        change: { kind: "sent", provider, providerMessageId },
      },
    ]);
  return { message, record };
}

function aliyunReport(bizId: string, outId: string) {
  return {
    method: "POST",
    body: JSON.stringify([
      {
        phone_number: "13800138600",
        send_time: "2026-11-22 12:00:00",
        report_time: "2026-11-22 12:00:05",
        success: true,
        err_code: "DELIVERED",
        err_msg: "用户接收成功",
        sms_size: "1",
        biz_id: bizId,
        out_id: outId,
      },
    ]),
  };
}

function tencentReport(serial: string, status: "SUCCESS" | "FAIL") {
  return {
    method: "POST",
    body: JSON.stringify([
      {
        user_receive_time: "2026-11-22 12:00:05",
        nationcode: "86",
        mobile: "13800138601",
        report_status: status,
        errmsg: status === "SUCCESS" ? "DELIVRD" : "MK:0001",
        description: status === "SUCCESS" ? "ok" : "rejected",
        sid: serial,
      },
    ]),
  };
}

describe("a receipt from one provider", () => {
  it("cannot finish a message another provider sent, even naming it by our id", async () => {
    const tenant = await createTenant();
    const hook = await statusHook(tenant, "aliyun");
    const sandboxed = await sentThrough(tenant, "sandbox", "sbx_00000000000000000000000001_1");

    const res = await call(hook, null, aliyunReport("900619746936498441^0", sandboxed.id));

    expect(res.status).toBe(200);
    expect(await statusOf(sandboxed.id)).toBe("sent");
  });

  it("cannot finish a message of its own provider sent under another carrier id", async () => {
    const tenant = await createTenant();
    const hook = await statusHook(tenant, "aliyun");
    const other = await sentThrough(tenant, "aliyun", "900619746936498442^0:13800138600");

    const res = await call(hook, null, aliyunReport("900619746936498443^0", other.id));

    expect(res.status).toBe(200);
    expect(await statusOf(other.id)).toBe("sent");
  });

  it("still finishes the message its provider sent under its carrier id", async () => {
    const tenant = await createTenant();
    const hook = await statusHook(tenant, "aliyun");
    const message = await sentThrough(tenant, "aliyun", "900619746936498444^0:13800138600");

    const res = await call(hook, null, aliyunReport("900619746936498444^0", message.id));

    expect(res.status).toBe(200);
    expect(await statusOf(message.id)).toBe("delivered");
  });

  it("naming a sandbox message through the sandbox's own hook finishes it; through a tenant's other hook, nothing", async () => {
    const tenant = await createTenant();
    const aliyunHook = await statusHook(tenant, "aliyun");
    const { message, record } = await sendingMessage(tenant);
    const carrierId = `sbx_${message.id.slice(4)}_1`;
    const sandboxReceipt = {
      method: "POST",
      body: JSON.stringify([
        { message_id: message.id, provider_message_id: carrierId, status: "delivered" },
      ]),
    };

    // Before the send is recorded, a receipt through another provider's hook waits with nothing
    // to apply to, and the sandbox's own is held until the send is recorded.
    expect((await call(aliyunHook, null, aliyunReport("1^0", message.id))).status).toBe(200);
    const early = await call(`/hooks/sms/sandbox/${tenant.hookToken}/status`, null, sandboxReceipt);
    expect(early.status).toBe(200);
    expect(await statusOf(message.id)).toBe("sending");

    await record("sandbox", carrierId);
    expect(await statusOf(message.id)).toBe("delivered");
  });
});

describe("a receipt held before its send is recorded", () => {
  it("belongs to its tenant: another tenant's, for the same carrier id, neither blocks nor finishes it", async () => {
    const owner = await createTenant();
    const stranger = await createTenant();
    const ownerHook = await statusHook(owner, "tencent");
    const strangerHook = await statusHook(stranger, "tencent");
    const { message, record } = await sendingMessage(owner);
    const serial = "2028:held0000000000000001";

    expect((await call(strangerHook, null, tencentReport(serial, "FAIL"))).status).toBe(200);
    expect((await call(ownerHook, null, tencentReport(serial, "SUCCESS"))).status).toBe(200);
    await record("tencent", serial);

    expect(await statusOf(message.id)).toBe("delivered");
  });

  it("of another tenant alone leaves the message sent", async () => {
    const owner = await createTenant();
    const stranger = await createTenant();
    await statusHook(owner, "tencent");
    const strangerHook = await statusHook(stranger, "tencent");
    const { message, record } = await sendingMessage(owner);
    const serial = "2028:held0000000000000002";

    expect((await call(strangerHook, null, tencentReport(serial, "SUCCESS"))).status).toBe(200);
    await record("tencent", serial);

    expect(await statusOf(message.id)).toBe("sent");
  });
});
