/**
 * Codes by WeChat and by the best channel, end to end through the local WeChat sandbox (a fake
 * WeChat API served by the Worker, whose followers and their answers are fixed): the code arrives
 * as a template message, the fallback SMS carries it as the default template, and once each
 * message is final nothing in the send log shows the code.
 */
import { env } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { defaultTemplateId } from "../../src/services/verifications/default-templates";
import { call, createTenant, messageReaches, postJson, type TestTenant } from "../support/tenants";
import { flushVerifications } from "../support/verifications";
import { FOLLOWERS, followerSays, type SandboxApp, sandboxApp } from "../support/wechat-sandbox";

const [alice, bob, carol] = FOLLOWERS;

interface Started {
  id: string;
  channel: string;
  status: string;
  sandbox_code?: string;
}

interface Logged {
  channel: string;
  body: string;
  payload: string | null;
  template_id: string | null;
  template_params: string | null;
}

/** A test key (its 201 shows the code) and a sandbox app that key may send through. */
async function setUp(): Promise<{ tenant: TestTenant; key: string; app: SandboxApp }> {
  const tenant = await createTenant();
  const { key } = await tenant.addKey(["admin"], "test");
  const app = await sandboxApp(tenant);
  return { tenant, key, app };
}

async function start(key: string, body: Record<string, unknown>): Promise<Started> {
  const res = await call("/v1/verifications", key, postJson(body));
  expect(res.status, await res.clone().text()).toBe(201);
  return (await res.json()) as Started;
}

async function check(key: string, id: string, code: string) {
  const res = await call("/v1/verifications/check", key, postJson({ id, code }));
  expect(res.status).toBe(200);
  return (await res.json()) as { status: string; valid: boolean };
}

/** The verification's message, once final, as the send log keeps it. */
async function finalMessage(tenant: TestTenant, key: string, verificationId: string) {
  // D1 has the verification once the tenant's limiter has flushed its outbox.
  await flushVerifications(tenant.id);
  const row = await env.DB.prepare("SELECT message_id FROM verifications WHERE id = ?")
    .bind(verificationId)
    .first<{ message_id: string }>();
  const id = row?.message_id ?? "";
  const view = await messageReaches({ ...tenant, api: (path, init) => call(path, key, init) }, id);
  const logged = await env.DB.prepare(
    "SELECT channel, body, payload, template_id, template_params FROM messages WHERE id = ?",
  )
    .bind(id)
    .first<Logged>();
  if (!logged) {
    throw new Error(`message ${id} not logged`);
  }
  return { view, logged };
}

/** What the sandbox account received as template messages for `openid`. */
async function templatesReceived(app: SandboxApp, openid: string) {
  const res = await app.live(`/v1/sandbox/wechat/${app.appId}/received`);
  const { data } = (await res.json()) as {
    data: { kind: string; openid: string; content: { data?: { code?: { value: string } } } }[];
  };
  return data.filter((r) => r.kind === "template" && r.openid === openid);
}

async function contact(app: SandboxApp, externalId: string, openid: string, phone: string) {
  const res = await app.live(
    "/v1/contacts",
    postJson({ external_id: externalId, phone, wechat: [{ app_id: app.appId, openid }] }),
  );
  expect(res.status).toBe(201);
}

describe("codes by WeChat", () => {
  it("go to an openid as a template message with the code, approve, and leave no code in the log", async () => {
    const { tenant, key, app } = await setUp();
    const started = await start(key, {
      to: alice,
      channel: "wechat",
      app_id: app.appId,
      template_id: "tmpl-code",
    });
    expect(started).toMatchObject({ channel: "wechat", status: "pending" });
    const code = started.sandbox_code ?? "";
    expect(code).toMatch(/^\d{6}$/);

    const { view, logged } = await finalMessage(tenant, key, started.id);
    expect(view).toMatchObject({ status: "delivered", channel: "wechat", to: alice });
    const [received] = await templatesReceived(app, alice);
    expect(received?.content.data?.code?.value).toBe(code);

    const wrong = `${(Number(code[0]) + 1) % 10}${code.slice(1)}`;
    expect(await check(key, started.id, wrong)).toMatchObject({ valid: false });
    expect(await check(key, started.id, code)).toMatchObject({ valid: true, status: "approved" });

    expect(JSON.stringify(logged)).not.toContain(code);
    expect(logged.body).toContain("code=******");
    expect(JSON.parse(logged.payload ?? "{}")).toMatchObject({
      template_id: "tmpl-code",
      data: { code: { value: "******" } },
    });
  });

  it("need app_id and template_id", async () => {
    const { key, app } = await setUp();
    const res = await call(
      "/v1/verifications",
      key,
      postJson({ to: alice, channel: "wechat", app_id: app.appId }),
    );
    expect(res.status).toBe(422);
    expect(await res.json()).toMatchObject({
      errors: [expect.objectContaining({ pointer: "/template_id" })],
    });
  });
});

describe("codes by WeChat to a contact", () => {
  it("count against the contact's openid: the same person by openid is the same recipient", async () => {
    const { key, app } = await setUp();
    await contact(app, "u-wechat", alice, "+8613800138040");
    const byWeChat = (to: string) =>
      call(
        "/v1/verifications",
        key,
        postJson({ to, channel: "wechat", app_id: app.appId, template_id: "tmpl-code" }),
      );
    expect((await byWeChat("u-wechat")).status).toBe(201);
    const again = await byWeChat(alice);
    expect(again.status).toBe(429);
    expect(await again.json()).toMatchObject({ limit: "number_minute" });
  });

  it("refuse a contact with no binding in the account (422), counting nothing", async () => {
    const { tenant, key, app } = await setUp();
    const created = await app.live(
      "/v1/contacts",
      postJson({ external_id: "u-unbound", phone: "+8613800138041" }),
    );
    expect(created.status).toBe(201);
    const body = {
      to: "u-unbound",
      channel: "wechat",
      app_id: app.appId,
      template_id: "tmpl-code",
    };
    for (let i = 0; i < 2; i++) {
      const res = await call("/v1/verifications", key, postJson(body));
      expect(res.status).toBe(422);
    }
    // Nor does a contact the account does not have, by auto.
    for (let i = 0; i < 2; i++) {
      const res = await call(
        "/v1/verifications",
        key,
        postJson({ ...body, to: "u-nobody", channel: "auto" }),
      );
      expect(res.status).toBe(422);
    }
    // The refused codes left no verification behind.
    await flushVerifications(tenant.id);
    const left = await env.DB.prepare("SELECT count(*) AS n FROM verifications WHERE tenant_id = ?")
      .bind(tenant.id)
      .first<{ n: number }>();
    expect(left?.n).toBe(0);
  });
});

describe("codes by the best channel", () => {
  it("go by WeChat to a contact who follows, and by the default SMS template to one who does not", async () => {
    const { tenant, key, app } = await setUp();
    await contact(app, "u-follows", alice, "+8613800138020");
    await contact(app, "u-silent", bob, "+8613800138021");
    expect((await followerSays(tenant, app.appId, alice, "hi")).status).toBe(200);
    const auto = (to: string) => ({
      to,
      channel: "auto",
      app_id: app.appId,
      template_id: "tmpl-code",
      locale: "zh",
    });

    const byWeChat = await start(key, auto("u-follows"));
    const wechat = await finalMessage(tenant, key, byWeChat.id);
    expect(wechat.view).toMatchObject({ status: "delivered", channel: "wechat", to: alice });
    expect(JSON.stringify(wechat.logged)).not.toContain(byWeChat.sandbox_code);

    const bySms = await start(key, auto("u-silent"));
    const code = bySms.sandbox_code ?? "";
    const sms = await finalMessage(tenant, key, bySms.id);
    expect(sms.view).toMatchObject({ status: "delivered", channel: "sms", to: "+8613800138021" });
    expect(sms.logged.template_id).toBe(defaultTemplateId(tenant.id, "zh"));
    expect(JSON.stringify(sms.logged)).not.toContain(code);
    // The signature stays in front of the masked text.
    expect(sms.logged.body).toMatch(/^【[^】]+】您的验证码是\*{6}，10分钟内有效/);
    expect(JSON.parse(sms.logged.template_params ?? "[]")).toEqual([
      { name: "code", value: "******" },
      { name: "minutes", value: "10" },
    ]);
    expect(await check(key, bySms.id, code)).toMatchObject({ valid: true, status: "approved" });
  });

  it("fall back to SMS when WeChat reports the template undelivered, masked once final", async () => {
    const { tenant, key, app } = await setUp();
    // The sandbox's third follower has blocked template messages.
    await contact(app, "u-blocks", carol, "+8613800138022");
    expect((await followerSays(tenant, app.appId, carol, "hi")).status).toBe(200);
    const started = await start(key, {
      to: "u-blocks",
      channel: "auto",
      app_id: app.appId,
      template_id: "tmpl-code",
      locale: "en",
    });
    const code = started.sandbox_code ?? "";
    const { view, logged } = await finalMessage(tenant, key, started.id);
    expect(view).toMatchObject({ status: "delivered", channel: "sms", to: "+8613800138022" });
    expect(JSON.stringify(logged)).not.toContain(code);
    expect(logged.body).toMatch(/Your verification code is \*{6}\. It expires in 10 minutes/);
    expect(await check(key, started.id, code)).toMatchObject({ valid: true, status: "approved" });
  });
});

describe("the default templates", () => {
  it("are listed (made on first need), approved, and take provider codes like any template", async () => {
    const tenant = await createTenant();
    const res = await tenant.api("/v1/verifications/templates");
    expect(res.status).toBe(200);
    const { data } = (await res.json()) as {
      data: { locale: string; template_id: string; body: string }[];
    };
    expect(data).toEqual([
      {
        locale: "zh",
        template_id: defaultTemplateId(tenant.id, "zh"),
        body: "您的验证码是{{code}}，{{minutes}}分钟内有效，请勿告诉他人。",
      },
      {
        locale: "en",
        template_id: defaultTemplateId(tenant.id, "en"),
        body: "Your verification code is {{code}}. It expires in {{minutes}} minutes. Do not share it.",
      },
    ]);
    // Listing again makes nothing new.
    expect(await (await tenant.api("/v1/verifications/templates")).json()).toEqual({ data });
    const template = await tenant.api(`/v1/templates/${defaultTemplateId(tenant.id, "en")}`);
    expect(await template.json()).toMatchObject({ kind: "verification", status: "approved" });
    const codes = await tenant.api(
      `/v1/templates/${defaultTemplateId(tenant.id, "zh")}/provider-codes`,
      { ...postJson({ aliyun: "SMS_123456789", tencent: "1234567" }), method: "PUT" },
    );
    expect(codes.status, await codes.clone().text()).toBe(200);
    // Another tenant cannot read them.
    const other = await createTenant();
    expect((await other.api(`/v1/templates/${defaultTemplateId(tenant.id, "en")}`)).status).toBe(
      404,
    );
  });
});

describe("codes by the best channel and the phone rules", () => {
  /** A tenant with the given settings, and `auto` starts to contacts that have only a number. */
  async function autoTo(settings: Record<string, unknown>) {
    const { tenant, key, app } = await setUp();
    const patched = await tenant.api("/v1/tenant", {
      method: "PATCH",
      body: JSON.stringify(settings),
    });
    expect(patched.status).toBe(200);
    const startTo = async (externalId: string, phone: string) => {
      const created = await app.live("/v1/contacts", postJson({ external_id: externalId, phone }));
      expect(created.status).toBe(201);
      return call(
        "/v1/verifications",
        key,
        postJson({ to: externalId, channel: "auto", app_id: app.appId, template_id: "tmpl-code" }),
      );
    };
    return { key, startTo };
  }

  it("count against the contact's number: auto is no way around the range's velocity", async () => {
    const { startTo } = await autoTo({ verification_limits: { prefix_per_hour: 1 } });
    expect((await startTo("u-first", "+8613800139001")).status).toBe(201);
    // Another contact, another per-recipient window, the same number range.
    const refused = await startTo("u-second", "+8613800139002");
    expect(refused.status).toBe(429);
    expect(await refused.json()).toMatchObject({ limit: "prefix_velocity" });
    expect((await startTo("u-elsewhere", "+8613900139003")).status).toBe(201);
  });

  it("count their approvals toward the range's conversion, so the guard lets them through", async () => {
    const { key, startTo } = await autoTo({
      verification_limits: { prefix_per_hour: 100 },
      fraud_guard: { threshold: 0.5, min_volume: 2 },
    });
    for (const [externalId, phone] of [
      ["u-one", "+8613800139011"],
      ["u-two", "+8613800139012"],
    ] as const) {
      const res = await startTo(externalId, phone);
      expect(res.status).toBe(201);
      const started = (await res.json()) as Started;
      expect(await check(key, started.id, started.sandbox_code ?? "")).toMatchObject({
        valid: true,
      });
    }
    expect((await startTo("u-three", "+8613800139013")).status).toBe(201);
  });
});
