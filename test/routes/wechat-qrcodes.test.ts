/**
 * QR codes with scenes against a fake WeChat API (the global fetch, as the menu tests do): the
 * exact `qrcode/create` request, WeChat's limits checked before it is called, its errcodes mapped,
 * a scan's tag action (`tags/members/batchtagging`) and `wechat.scan`, another tenant's app.
 */
import { env } from "cloudflare:test";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { listAuditEntries } from "../../src/services/audit/audit-log";
import { expectProblem } from "../support/problem";
import { createTenant, eventually, postJson, type TestTenant } from "../support/tenants";
import { createEndpoint, deliveriesOf } from "../support/webhooks";
import { deliver, eventMessage, wechatApp } from "../support/wechat";

const WECHAT = "https://api.weixin.qq.com";
/** A ticket with the characters a URL must encode. */
const TICKET =
  "gQH47joAAAAAAAAAASxodHRwOi8vd2VpeGluLnFxLmNvbS9xL2taZ2Z3TVRtNzJXV1Brb3ZhYmJJAAIEZ23sUwMEmm3sUw+/==";

let answers: Record<string, Record<string, unknown>>;
const calls: { path: string; accessToken: string | null; body: string }[] = [];
beforeEach(() => {
  answers = {
    "/cgi-bin/qrcode/create": {
      ticket: TICKET,
      expire_seconds: 600,
      url: "http://weixin.qq.com/q/kZgfwMTm72WWPkovabbI",
    },
    "/cgi-bin/tags/members/batchtagging": { errcode: 0, errmsg: "ok" },
  };
  calls.length = 0;
  vi.spyOn(globalThis, "fetch").mockImplementation(async (input, init) => {
    const request = new Request(input, init);
    const url = new URL(request.url);
    if (url.origin !== WECHAT) {
      // Webhook deliveries to the tenant's endpoint.
      return new Response(null, { status: 204 });
    }
    if (url.pathname === "/cgi-bin/stable_token") {
      return Response.json({ access_token: "token-1", expires_in: 7200 });
    }
    calls.push({
      path: url.pathname,
      accessToken: url.searchParams.get("access_token"),
      body: await request.text(),
    });
    return Response.json(answers[url.pathname] ?? { errcode: 48001, errmsg: "api unauthorized" });
  });
});
afterEach(() => {
  vi.restoreAllMocks();
});

function createQr(tenant: TestTenant, appId: string, body: unknown): Promise<Response> {
  return tenant.api(`/v1/wechat/apps/${appId}/qrcodes`, postJson(body));
}

describe("QR codes with scenes", () => {
  it("makes a temporary code at WeChat with the exact request and gives ticket, URL and image URL", async () => {
    const tenant = await createTenant();
    const appId = await wechatApp(tenant, "plaintext");
    const before = Date.now();
    const res = await createQr(tenant, appId, {
      scene: "poster-7",
      temporary: true,
      expire_seconds: 600,
    });
    expect(res.status, await res.clone().text()).toBe(201);
    const code = (await res.json()) as Record<string, unknown>;
    expect(calls).toEqual([
      {
        path: "/cgi-bin/qrcode/create",
        accessToken: "token-1",
        body: JSON.stringify({
          expire_seconds: 600,
          action_name: "QR_STR_SCENE",
          action_info: { scene: { scene_str: "poster-7" } },
        }),
      },
    ]);
    expect(code).toMatchObject({
      id: expect.stringMatching(/^qr_[0-9A-Z]{26}$/),
      app_id: appId,
      scene: "poster-7",
      scene_str: "poster-7",
      temporary: true,
      action: null,
      ticket: TICKET,
      url: "http://weixin.qq.com/q/kZgfwMTm72WWPkovabbI",
      image_url: `https://mp.weixin.qq.com/cgi-bin/showqrcode?ticket=${encodeURIComponent(TICKET)}`,
      used_by: null,
    });
    expect(String(code.image_url)).not.toContain("+");
    const expiresAt = Date.parse(String(code.expires_at));
    expect(expiresAt).toBeGreaterThanOrEqual(before + 600_000);
    expect(expiresAt).toBeLessThan(Date.now() + 601_000);
    const list = await tenant.api(`/v1/wechat/apps/${appId}/qrcodes`);
    expect(((await list.json()) as { data: unknown[] }).data).toEqual([code]);
    const audit = await listAuditEntries(env, tenant.id, {}, { limit: 10 });
    expect(audit.data.find((e) => e.action === "wechat_qrcode.create")).toMatchObject({
      target: code.id,
    });
  });

  it("makes a permanent code with QR_LIMIT_STR_SCENE and no expiry", async () => {
    const tenant = await createTenant();
    const appId = await wechatApp(tenant, "plaintext");
    answers["/cgi-bin/qrcode/create"] = { ticket: "gQpermanent", url: "http://weixin.qq.com/q/p" };
    const res = await createQr(tenant, appId, { scene: "store-12", temporary: false });
    expect(res.status).toBe(201);
    expect(JSON.parse(calls[0]?.body ?? "")).toEqual({
      action_name: "QR_LIMIT_STR_SCENE",
      action_info: { scene: { scene_str: "store-12" } },
    });
    expect(await res.json()).toMatchObject({ temporary: false, expires_at: null });
  });

  it("gives a binding code a random single-use token as its scene, never the tenant's scene", async () => {
    const tenant = await createTenant();
    const appId = await wechatApp(tenant, "plaintext");
    expect((await tenant.api("/v1/contacts", postJson({ external_id: "user-42" }))).status).toBe(
      201,
    );
    const first = await createQr(tenant, appId, {
      scene: "welcome-desk",
      temporary: true,
      action: { bind_contact: "user-42" },
    });
    const second = await createQr(tenant, appId, {
      scene: "welcome-desk",
      temporary: true,
      action: { bind_contact: "user-42" },
    });
    const a = (await first.json()) as { scene: string; scene_str: string; action: unknown };
    const b = (await second.json()) as { scene_str: string };
    expect(a.scene).toBe("welcome-desk");
    expect(a.scene_str).toMatch(/^b_[A-Za-z0-9_-]{22}$/);
    expect(a.scene_str.length).toBeLessThanOrEqual(64);
    expect(b.scene_str).not.toBe(a.scene_str);
    expect(a.action).toEqual({ type: "bind_contact", external_id: "user-42" });
    expect(calls.map((c) => JSON.parse(c.body).action_info.scene.scene_str)).toEqual([
      a.scene_str,
      b.scene_str,
    ]);
    // WeChat's default lifetime when none is asked for.
    expect(JSON.parse(calls[0]?.body ?? "").expire_seconds).toBe(60);
  });

  it("checks WeChat's limits and the contact before calling WeChat", async () => {
    const tenant = await createTenant();
    const appId = await wechatApp(tenant, "plaintext");
    const path = `/v1/wechat/apps/${appId}/qrcodes`;
    await expectProblem(await createQr(tenant, appId, { scene: "x".repeat(65), temporary: true }), {
      status: 400,
      slug: "validation-error",
      instance: path,
      pointers: ["/scene"],
    });
    await expectProblem(
      await createQr(tenant, appId, { scene: "a", temporary: true, expire_seconds: 2_592_001 }),
      { status: 400, slug: "validation-error", instance: path, pointers: ["/expire_seconds"] },
    );
    await expectProblem(
      await createQr(tenant, appId, { scene: "a", temporary: false, expire_seconds: 60 }),
      { status: 422, slug: "unprocessable-entity", instance: path, pointers: ["/expire_seconds"] },
    );
    await expectProblem(
      await createQr(tenant, appId, {
        scene: "a",
        temporary: true,
        action: { bind_contact: "nobody" },
      }),
      {
        status: 422,
        slug: "unprocessable-entity",
        instance: path,
        pointers: ["/action/external_id"],
      },
    );
    expect(calls).toEqual([]);
  });

  it("maps WeChat's refusal to a 422 naming its errcode, and WeChat busy to a 503", async () => {
    const tenant = await createTenant();
    const appId = await wechatApp(tenant, "plaintext");
    const path = `/v1/wechat/apps/${appId}/qrcodes`;
    answers["/cgi-bin/qrcode/create"] = { errcode: 40053, errmsg: "invalid action info" };
    await expectProblem(await createQr(tenant, appId, { scene: "a", temporary: false }), {
      status: 422,
      slug: "unprocessable-entity",
      instance: path,
      detail: /errcode 40053 \(invalid action info\)/,
    });
    answers["/cgi-bin/qrcode/create"] = { errcode: -1, errmsg: "system error" };
    await expectProblem(await createQr(tenant, appId, { scene: "a", temporary: false }), {
      status: 503,
      slug: "provider-unavailable",
      instance: path,
    });
    expect((await tenant.api(`/v1/wechat/apps/${appId}/qrcodes`)).status).toBe(200);
    const list = await tenant.api(`/v1/wechat/apps/${appId}/qrcodes`);
    expect(((await list.json()) as { data: unknown[] }).data).toEqual([]);
  });

  it("is a 404 for another tenant's app, which keeps its codes to itself", async () => {
    const owner = await createTenant();
    const other = await createTenant();
    const appId = await wechatApp(owner, "plaintext");
    expect((await createQr(owner, appId, { scene: "a", temporary: false })).status).toBe(201);
    await expectProblem(await createQr(other, appId, { scene: "a", temporary: false }), {
      status: 404,
      slug: "not-found",
      instance: `/v1/wechat/apps/${appId}/qrcodes`,
    });
    expect((await other.api(`/v1/wechat/apps/${appId}/qrcodes`)).status).toBe(404);
    expect(calls).toHaveLength(1);
  });
});

describe("a scan of a tagging code", () => {
  it("tags the follower at WeChat with the exact request and sends wechat.scan", async () => {
    const tenant = await createTenant();
    const appId = await wechatApp(tenant, "plaintext");
    const endpoint = await createEndpoint(tenant, { events: ["wechat.scan"] });
    answers["/cgi-bin/qrcode/create"] = { ticket: "gQtag", url: "http://weixin.qq.com/q/t" };
    const made = await createQr(tenant, appId, {
      scene: "vip-booth",
      temporary: false,
      action: { tag_id: 134 },
    });
    const code = (await made.json()) as { id: string };
    calls.length = 0;
    const res = await deliver(appId, eventMessage("SCAN", "vip-booth", "oScanner1"), {
      mode: "plaintext",
    });
    expect(res.status).toBe(200);
    expect(await res.text()).toBe("success");
    expect(calls).toEqual([
      {
        path: "/cgi-bin/tags/members/batchtagging",
        accessToken: "token-1",
        body: JSON.stringify({ openid_list: ["oScanner1"], tagid: 134 }),
      },
    ]);
    const [delivery] = await eventually(async () => {
      const rows = await deliveriesOf(endpoint.id);
      return rows.length > 0 ? rows : undefined;
    });
    expect(delivery?.event_type).toBe("wechat.scan");
    expect(JSON.parse(delivery?.payload ?? "{}")).toMatchObject({
      type: "wechat.scan",
      data: {
        app_id: appId,
        openid: "oScanner1",
        scene: "vip-booth",
        qrcode_id: code.id,
        event: "scan",
        action_result: { type: "tag", status: "tagged", tag_id: 134 },
      },
    });
  });

  it("reports WeChat's refusal of the tagging in the event, and still answers WeChat", async () => {
    const tenant = await createTenant();
    const appId = await wechatApp(tenant, "plaintext");
    const endpoint = await createEndpoint(tenant, { events: ["wechat.scan"] });
    answers["/cgi-bin/qrcode/create"] = { ticket: "gQtag2", url: "http://weixin.qq.com/q/t2" };
    await createQr(tenant, appId, { scene: "gone-tag", temporary: false, action: { tag_id: 999 } });
    answers["/cgi-bin/tags/members/batchtagging"] = { errcode: 45159, errmsg: "invalid tag id" };
    const res = await deliver(appId, eventMessage("subscribe", "qrscene_gone-tag", "oNew1"), {
      mode: "plaintext",
    });
    expect(res.status).toBe(200);
    const [delivery] = await deliveriesOf(endpoint.id);
    expect(JSON.parse(delivery?.payload ?? "{}").data).toMatchObject({
      scene: "gone-tag",
      event: "subscribe",
      action_result: {
        type: "tag",
        status: "failed",
        reason: "WeChat errcode 45159 (invalid tag id)",
      },
    });
  });

  it("sends wechat.scan for a scene it does not know, with no action", async () => {
    const tenant = await createTenant();
    const appId = await wechatApp(tenant, "plaintext");
    const endpoint = await createEndpoint(tenant, { events: ["wechat.scan"] });
    const res = await deliver(appId, eventMessage("SCAN", "made-elsewhere", "oScanner2"), {
      mode: "plaintext",
    });
    expect(res.status).toBe(200);
    expect(calls).toEqual([]);
    const [delivery] = await deliveriesOf(endpoint.id);
    expect(JSON.parse(delivery?.payload ?? "{}").data).toEqual({
      app_id: appId,
      openid: "oScanner2",
      scene: "made-elsewhere",
      qrcode_id: null,
      event: "scan",
      action_result: { type: "none" },
    });
  });
});
