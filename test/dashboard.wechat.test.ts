import { env } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { menuOfForm } from "../src/dashboard/wechat-routes";
import { newId } from "../src/lib/ids";
import { recordQuery } from "../src/services/webhooks/query-log";
import { form, signedIn } from "./support/dashboard";
import { call, createTenant, eventually, postJson } from "./support/tenants";
import { AES_KEY, TOKEN } from "./support/wechat";
import { FOLLOWERS, SANDBOX_BASE_URL, SANDBOX_SECRET, sandboxApp } from "./support/wechat-sandbox";

type Signed = { cookie: string; csrf: string };

function post(who: Signed, path: string, fields: Record<string, string> = {}) {
  return call(path, null, form({ csrf: who.csrf, ...fields }, who.cookie));
}
const get = (who: Signed, path: string) => call(path, null, { headers: { cookie: who.cookie } });

describe("the dashboard's WeChat pages", () => {
  it("lists the accounts and shows one's detail with its server URL", async () => {
    const tenant = await createTenant();
    const { appId } = await sandboxApp(tenant);
    const admin = await signedIn(tenant, "admin");
    expect(admin.page).toContain('href="/dashboard/wechat"');
    const list = await (await get(admin, "/dashboard/wechat")).text();
    expect(list).toContain(`href="/dashboard/wechat/${appId}"`);
    const detail = await get(admin, `/dashboard/wechat/${appId}`);
    expect(detail.status).toBe(200);
    const detailHtml = await detail.text();
    expect(detailHtml).toContain(`/wechat/${appId}`);
    for (const tab of [
      "menu",
      "auto-replies",
      "followers",
      "bindings",
      "qrcodes",
      "broadcasts",
      "media",
    ]) {
      expect(detailHtml, tab).toContain(`href="/dashboard/wechat/${appId}/${tab}"`);
    }
    const other = await get(admin, "/dashboard/wechat/wx0000000000000000");
    expect(other.status).toBe(404);
    await other.body?.cancel();
  });

  it("publishes a menu from the form through the sandbox and reads it back", async () => {
    const tenant = await createTenant();
    const { appId, live } = await sandboxApp(tenant);
    const admin = await signedIn(tenant, "admin");
    const path = `/dashboard/wechat/${appId}/menu`;
    const empty = await (await get(admin, path)).text();
    expect(empty).toContain('class="menu-editor"');
    expect(empty).toContain('src="/dashboard/wechat-menu.js"');
    // Slot 0 left empty: the form's slots are compacted, so "Shop" becomes the first button.
    const res = await post(admin, path, {
      "button.1.name": "Shop",
      "button.1.type": "view",
      "button.1.value": "https://example.com/shop",
      "button.2.name": "帮助",
      "button.2.sub_button.0.name": "Contact us",
      "button.2.sub_button.0.type": "click",
      "button.2.sub_button.0.value": "CONTACT",
    });
    expect(res.status).toBe(303);
    expect(res.headers.get("location")).toBe(path);
    const viaApi = (await (await live(`/v1/wechat/apps/${appId}/menu`)).json()) as {
      button: { name: string; url?: string; sub_button?: { name: string; key?: string }[] }[];
    };
    expect(viaApi.button.map((b) => b.name)).toEqual(["Shop", "帮助"]);
    expect(viaApi.button[0]?.url).toBe("https://example.com/shop");
    expect(viaApi.button[1]?.sub_button?.[0]).toMatchObject({ name: "Contact us", key: "CONTACT" });
    const page = await (await get(admin, path)).text();
    expect(page).toContain('data-testid="published-menu"');
    expect(page).toContain("Contact us");
    expect(page).toContain('value="帮助"');
  });

  it("refuses a menu that breaks WeChat's rules, each error at the slot it was typed in", async () => {
    const tenant = await createTenant();
    const { appId } = await sandboxApp(tenant);
    const admin = await signedIn(tenant, "admin");
    const res = await post(admin, `/dashboard/wechat/${appId}/menu`, {
      // Six Chinese characters: 18 bytes, over the 16 of a top-level name.
      "button.2.name": "一二三四五六",
      "button.2.type": "click",
      "button.2.value": "K",
    });
    expect(res.status).toBe(422);
    const html = await res.text();
    expect(html).toMatch(
      /id="f-button\.2\.name"[^>]*value="一二三四五六"[^>]*aria-invalid="true"|aria-invalid="true"[^>]*id="f-button\.2\.name"/,
    );
    expect(html).toContain("at most 16 bytes");
  });

  it("maps the compact menu's pointers back to the form's slots and value field", () => {
    const { menu, slotOfPointer } = menuOfForm({
      "button.1.name": "A",
      "button.1.sub_button.3.name": "B",
      "button.1.sub_button.3.type": "view",
      "button.1.sub_button.3.value": "nope",
    });
    expect(menu).toEqual({
      button: [{ name: "A", sub_button: [{ name: "B", type: "view", url: "nope" }] }],
    });
    expect(slotOfPointer("/button/0/sub_button/0/url")).toBe("/button/1/sub_button/3/value");
    expect(slotOfPointer("/button/0/name")).toBe("/button/1/name");
  });

  it("adds and deletes an auto-reply rule, with field errors for a bad one", async () => {
    const tenant = await createTenant();
    const { appId } = await sandboxApp(tenant);
    const admin = await signedIn(tenant, "admin");
    const path = `/dashboard/wechat/${appId}/auto-replies`;
    const bad = await post(admin, path, { match: "exact", keyword: "", "reply.content": "hi" });
    expect(bad.status).toBe(422);
    expect(await bad.text()).toContain('id="field-keyword-error"');
    const ok = await post(admin, path, {
      match: "exact",
      keyword: "hours",
      "reply.content": "9 to 5",
      priority: "10",
    });
    expect(ok.status).toBe(303);
    const page = await (await get(admin, path)).text();
    expect(page).toContain("9 to 5");
    const id = /auto-replies\/(arr_[0-9A-Z]{26})\/delete/.exec(page)?.[1] ?? "";
    expect(id).not.toBe("");
    const gone = await post(admin, `${path}/${id}/delete`);
    expect(gone.status).toBe(303);
    expect(await (await get(admin, path)).text()).not.toContain("9 to 5");
  });

  it("makes a QR code at WeChat and shows its image URL", async () => {
    const tenant = await createTenant();
    const { appId } = await sandboxApp(tenant);
    const admin = await signedIn(tenant, "admin");
    const path = `/dashboard/wechat/${appId}/qrcodes`;
    const bad = await post(admin, path, { scene: "", temporary: "true", expire_seconds: "5" });
    expect(bad.status).toBe(422);
    const badHtml = await bad.text();
    expect(badHtml).toContain('id="field-scene-error"');
    expect(badHtml).toContain('id="field-expire_seconds-error"');
    const made = await post(admin, path, {
      scene: "spring-fair",
      temporary: "true",
      expire_seconds: "3600",
    });
    expect(made.status).toBe(201);
    const html = await made.text();
    expect(html).toMatch(/https:\/\/mp\.weixin\.qq\.com\/cgi-bin\/showqrcode\?ticket=[^"<]+/);
    const list = await (await get(admin, path)).text();
    expect(list).toContain("spring-fair");
  });

  it("lists followers and the account's tags, and creates a tag at WeChat", async () => {
    const tenant = await createTenant();
    const { appId } = await sandboxApp(tenant);
    const admin = await signedIn(tenant, "admin");
    const path = `/dashboard/wechat/${appId}/followers`;
    const page = await get(admin, `${path}?following=true`);
    expect(page.status).toBe(200);
    await page.body?.cancel();
    const empty = await post(admin, `/dashboard/wechat/${appId}/tags`, { name: " " });
    expect(empty.status).toBe(422);
    expect(await empty.text()).toContain('id="field-name-error"');
    const made = await post(admin, `/dashboard/wechat/${appId}/tags`, { name: "VIP" });
    expect(made.status).toBe(303);
    expect(await (await get(admin, path)).text()).toContain("<td>VIP</td>");
  });

  it("previews a broadcast to one follower, sends it and lists it with its job", async () => {
    const tenant = await createTenant();
    const { appId, live } = await sandboxApp(tenant);
    const admin = await signedIn(tenant, "admin");
    const path = `/dashboard/wechat/${appId}/broadcasts`;
    // WeChat's rule, from the same service: an unverified account may not mass-send.
    const unverified = await post(admin, path, { text: "Hi", target: "all", intent: "send" });
    expect(unverified.status).toBe(422);
    expect(await unverified.text()).toContain("verified");
    const verified = await live(
      "/v1/wechat/apps",
      postJson({
        app_id: appId,
        app_secret: SANDBOX_SECRET,
        token: TOKEN,
        encoding_aes_key: AES_KEY,
        mode: "safe",
        api_base_url: SANDBOX_BASE_URL,
        verified: true,
      }),
    );
    expect(verified.status).toBe(200);
    const missing = await post(admin, path, { text: "Spring sale", intent: "preview" });
    expect(missing.status).toBe(422);
    expect(await missing.text()).toContain('id="field-openid-error"');
    const preview = await post(admin, path, {
      text: "Spring sale",
      target: "all",
      openid: FOLLOWERS[0],
      intent: "preview",
    });
    const previewHtml = await preview.text();
    expect(preview.status, /class="flash error"[^>]*>([^<]*)/.exec(previewHtml)?.[1]).toBe(200);
    expect(previewHtml).toContain(FOLLOWERS[0]);
    const sent = await post(admin, path, { text: "Spring sale", target: "all", intent: "send" });
    const sentHtml = sent.status === 303 ? "" : await sent.text();
    expect(sent.status, sentHtml.match(/class="flash error"[^<]*>([^<]*)/)?.[1]).toBe(303);
    const page = await (await get(admin, path)).text();
    expect(page).toContain("Spring sale");
    expect(page).toMatch(/class="job"/);

    // An image by media id, picked from the account's uploaded media.
    const body = new FormData();
    body.set("csrf", admin.csrf);
    body.set("type", "image");
    body.set("permanent", "true");
    const png = new Uint8Array([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0, 13, 0x49]);
    body.set("file", new File([png], "poster.png", { type: "image/png" }));
    const uploaded = await call(`/dashboard/wechat/${appId}/media`, null, {
      method: "POST",
      body,
      headers: { cookie: admin.cookie },
    });
    expect(uploaded.status).toBe(303);
    const withMedia = await (await get(admin, path)).text();
    const mediaId = /<option value="(med_[0-9A-Z]{26})">Image: poster\.png<\/option>/.exec(
      withMedia,
    )?.[1];
    expect(mediaId).toBeDefined();
    const noMedia = await post(admin, path, { type: "image", target: "all", intent: "send" });
    expect(noMedia.status).toBe(422);
    expect(await noMedia.text()).toContain('id="field-media_ids.0-error"');
    const image = await post(admin, path, {
      type: "image",
      "media_ids.0": mediaId ?? "",
      target: "all",
      intent: "send",
    });
    expect(image.status).toBe(303);
    const broadcasts = (await (await live(`/v1/wechat/apps/${appId}/broadcasts`)).json()) as {
      data: { type: string }[];
    };
    expect(broadcasts.data.map((b) => b.type)).toContain("image");
  });

  it("sends a template broadcast picked from the account's templates and lists its progress", async () => {
    const tenant = await createTenant();
    const { appId, live } = await sandboxApp(tenant);
    const admin = await signedIn(tenant, "admin");
    const path = `/dashboard/wechat/${appId}/broadcasts`;
    const service = await live(
      "/v1/wechat/apps",
      postJson({
        app_id: appId,
        app_secret: SANDBOX_SECRET,
        token: TOKEN,
        encoding_aes_key: AES_KEY,
        mode: "safe",
        api_base_url: SANDBOX_BASE_URL,
        account_type: "service",
        verified: true,
      }),
    );
    expect(service.status).toBe(200);
    const empty = await (await get(admin, path)).text();
    expect(empty).toContain('<option value="template">Template message</option>');
    expect(empty).toContain("The account has no templates yet");
    const added = await live(
      `/v1/wechat/apps/${appId}/templates`,
      postJson({ template_id_short: "OPENTM207498902" }),
    );
    expect(added.status).toBe(201);
    const { template_id: templateId } = (await added.json()) as { template_id: string };
    const page = await (await get(admin, path)).text();
    expect(page).toContain(`<option value="${templateId}">订单发货提醒 (${templateId})</option>`);

    // Each field's own error: no template, then data lines that are not key=value.
    const noTemplate = await post(admin, path, {
      type: "template",
      "template.data": "first=Sale",
      target: "all",
      intent: "send",
    });
    expect(noTemplate.status).toBe(422);
    expect(await noTemplate.text()).toContain('id="field-template.wechat_template_id-error"');
    const badData = await post(admin, path, {
      type: "template",
      "template.wechat_template_id": templateId,
      "template.data": "first=Sale\nno equals sign",
      target: "all",
      intent: "send",
    });
    expect(badData.status).toBe(422);
    const badHtml = await badData.text();
    expect(badHtml).toContain('id="field-template.data-error"');
    expect(badHtml).toContain("Line 2 is not key=value");

    const preview = await post(admin, path, {
      type: "template",
      "template.wechat_template_id": templateId,
      "template.data": "first=Weekend sale\nremark = 25% off, code=SAVE",
      target: "all",
      openid: FOLLOWERS[0],
      intent: "preview",
    });
    expect(preview.status).toBe(200);
    const sent = await post(admin, path, {
      type: "template",
      "template.wechat_template_id": templateId,
      "template.data": "first=Weekend sale\nremark = 25% off, code=SAVE",
      target: "all",
      intent: "send",
    });
    const sentHtml = sent.status === 303 ? "" : await sent.text();
    expect(sent.status, sentHtml.match(/class="flash error"[^<]*>([^<]*)/)?.[1]).toBe(303);
    const done = await eventually(async () => {
      const list = (await (await live(`/v1/wechat/apps/${appId}/broadcasts`)).json()) as {
        data: { type: string; status: string; total: number; template: unknown }[];
      };
      const found = list.data.find((b) => b.type === "template");
      return found && found.status !== "sending" ? found : undefined;
    }, 20_000);
    expect(done).toMatchObject({ status: "sent", total: FOLLOWERS.length });
    const received = (await (
      await live(`/v1/sandbox/wechat/${appId}/received?limit=20`)
    ).json()) as { data: { kind: string; content: Record<string, unknown> }[] };
    const messages = received.data.filter((m) => m.kind === "template");
    // The preview, then one per follower.
    expect(messages).toHaveLength(FOLLOWERS.length + 1);
    expect(messages[0]?.content).toMatchObject({
      template_id: templateId,
      data: { first: { value: "Weekend sale" }, remark: { value: "25% off, code=SAVE" } },
    });
    const listed = await (await get(admin, path)).text();
    expect(listed).toContain(`<span class="mono">${templateId}</span>`);
    expect(listed).toContain('data-testid="fanout"');
    const n = FOLLOWERS.length;
    expect(listed).toContain(`${n} of ${n} sent, 0 failed`);
    expect(listed).toMatch(new RegExp(`<progress max="${n}" value="${n}"`));
  }, 30_000);

  it("uploads media to WeChat from a multipart form and lists it", async () => {
    const tenant = await createTenant();
    const { appId } = await sandboxApp(tenant);
    const admin = await signedIn(tenant, "admin");
    const path = `/dashboard/wechat/${appId}/media`;
    const upload = (bytes: Uint8Array, name: string) => {
      const body = new FormData();
      body.set("csrf", admin.csrf);
      body.set("type", "image");
      body.set("permanent", "true");
      body.set("file", new File([bytes], name, { type: "image/png" }));
      return call(path, null, { method: "POST", body, headers: { cookie: admin.cookie } });
    };
    // Not a PNG, JPEG, GIF or BMP: refused by WeChat's rules before the upload.
    const refused = await upload(new TextEncoder().encode("plain text, not an image"), "a.png");
    expect(refused.status).toBe(422);
    expect(await refused.text()).toContain('id="field-file-error"');
    const png = new Uint8Array([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0, 13, 0x49]);
    const res = await upload(png, "logo.png");
    expect(res.status).toBe(303);
    const page = await (await get(admin, path)).text();
    expect(page).toContain("logo.png");
    expect(page).toMatch(/<td class="mono">med_[0-9A-Z]{26}<\/td>/);
  });

  it("lists the account's bindings with each contact's own id, to a reader too", async () => {
    const tenant = await createTenant();
    const { appId } = await sandboxApp(tenant);
    const made = await tenant.api(
      "/v1/contacts",
      postJson({ external_id: "cust-42", wechat: [{ app_id: appId, openid: FOLLOWERS[1] }] }),
    );
    expect(made.status).toBe(201);
    const analyst = await signedIn(tenant, "analyst");
    const res = await get(analyst, `/dashboard/wechat/${appId}/bindings`);
    expect(res.status).toBe(200);
    const html = await res.text();
    expect(html).toContain("cust-42");
    expect(html).toContain(FOLLOWERS[1]);
  });

  it("adds news and ask-my-endpoint auto-replies, each checked as the API checks them", async () => {
    const tenant = await createTenant();
    const { appId } = await sandboxApp(tenant);
    const admin = await signedIn(tenant, "admin");
    const path = `/dashboard/wechat/${appId}/auto-replies`;
    const hook = await tenant.api(
      "/v1/webhooks",
      postJson({ url: "https://hooks.example.com/ask", events: ["message.delivered"] }),
    );
    const endpointId = ((await hook.json()) as { id: string }).id;
    const form = await (await get(admin, path)).text();
    expect(form).toContain(`<option value="${endpointId}">https://hooks.example.com/ask</option>`);
    const badNews = await post(admin, path, {
      match: "subscribe",
      "reply.type": "news",
      "reply.articles.1.title": "Welcome",
      "reply.articles.1.url": "not a link",
    });
    expect(badNews.status).toBe(422);
    expect(await badNews.text()).toContain('id="field-reply.articles.1.url-error"');
    const news = await post(admin, path, {
      match: "subscribe",
      "reply.type": "news",
      "reply.articles.0.title": "Welcome",
      "reply.articles.0.url": "https://example.com/welcome",
      "reply.articles.0.description": "Start here",
    });
    expect(news.status).toBe(303);
    const query = await post(admin, path, {
      match: "prefix",
      keyword: "order",
      "reply.type": "query",
      "reply.endpoint_id": endpointId,
    });
    expect(query.status).toBe(303);
    const rules = (await (await tenant.api(`/v1/wechat/apps/${appId}/auto-replies`)).json()) as {
      data: { match: string; reply: Record<string, unknown> }[];
    };
    expect(rules.data.map((r) => r.reply)).toEqual(
      expect.arrayContaining([
        {
          type: "news",
          articles: [
            { title: "Welcome", url: "https://example.com/welcome", description: "Start here" },
          ],
        },
        { type: "query", endpoint_id: endpointId },
      ]),
    );
  });

  it("shows an ask-my-endpoint rule's queries (when, status, latency) on its page, in both languages", async () => {
    const tenant = await createTenant();
    const { appId } = await sandboxApp(tenant);
    const admin = await signedIn(tenant, "admin");
    const path = `/dashboard/wechat/${appId}/auto-replies`;
    const hook = await tenant.api(
      "/v1/webhooks",
      postJson({ url: "https://hooks.example.com/ask", events: ["message.delivered"] }),
    );
    const endpointId = ((await hook.json()) as { id: string }).id;
    const forms: Record<string, string>[] = [
      { match: "prefix", keyword: "order", "reply.type": "query", "reply.endpoint_id": endpointId },
      { match: "exact", keyword: "hours", "reply.type": "text", "reply.content": "9 to 5" },
    ];
    for (const fields of forms) {
      expect((await post(admin, path, fields)).status).toBe(303);
    }
    const rules = (await (await tenant.api(`/v1/wechat/apps/${appId}/auto-replies`)).json()) as {
      data: { id: string; keyword: string }[];
    };
    const queryRule = rules.data.find((r) => r.keyword === "order")?.id ?? "";
    const textRule = rules.data.find((r) => r.keyword === "hours")?.id ?? "";
    const askedAt = Date.parse("2026-11-30T08:00:00.000Z");
    const rows = [
      { status: "answered", latencyMs: 120, reason: null },
      { status: "late", latencyMs: 5210, reason: "answered after the passive reply's deadline" },
      { status: "failed", latencyMs: 3, reason: "endpoint answered 500" },
    ] as const;
    for (const [i, row] of rows.entries()) {
      await recordQuery(env, {
        id: newId("qry", askedAt + i * 1000),
        tenantId: tenant.id,
        ruleId: queryRule,
        channel: "wechat",
        appId,
        endpointId,
        askedAt: askedAt + i * 1000,
        ...row,
      });
    }

    const list = await (await get(admin, path)).text();
    expect(list).toContain(`href="${path}/${queryRule}"`);
    const page = await get(admin, `${path}/${queryRule}`);
    expect(page.status).toBe(200);
    const html = await page.text();
    expect(html).toContain('data-testid="rule-queries"');
    expect(html).toContain("https://hooks.example.com/ask");
    // Newest first, with each status, latency and reason.
    const statuses = [...html.matchAll(/class="pill query-(\w+)"/g)].map((m) => m[1]);
    expect(statuses).toEqual(["failed", "late", "answered"]);
    expect(html).toContain("5,210 ms");
    expect(html).toContain("endpoint answered 500");
    expect(html).toContain("Late (sent as a message)");

    const zh = await (
      await get({ ...admin, cookie: `${admin.cookie}; rbx_lang=zh` }, `${path}/${queryRule}`)
    ).text();
    expect(zh).toContain("向您的接口发起的查询");
    expect(zh).toContain("5,210 毫秒");
    expect(zh).toContain("已应答");

    // A rule with a fixed reply has no queries to show; an unknown rule is a 404.
    const text = await (await get(admin, `${path}/${textRule}`)).text();
    expect(text).not.toContain('data-testid="rule-queries"');
    const other = await createTenant();
    const { appId: otherApp } = await sandboxApp(other);
    const stranger = await signedIn(other, "admin");
    const missing = await get(stranger, `/dashboard/wechat/${otherApp}/auto-replies/${queryRule}`);
    expect(missing.status).toBe(404);
    await missing.body?.cancel();
  });

  it("shows a service's validation error in Chinese on a zh page", async () => {
    const tenant = await createTenant();
    const { appId } = await sandboxApp(tenant);
    const admin = await signedIn(tenant, "admin");
    const zh = { ...admin, cookie: `${admin.cookie}; rbx_lang=zh` };
    // The dashboard lets an empty keyword through; the service refuses it (its English detail).
    const res = await post(zh, `/dashboard/wechat/${appId}/auto-replies`, {
      match: "exact",
      "reply.content": "hi",
    });
    expect(res.status).toBe(422);
    const html = await res.text();
    expect(html).toMatch(/id="field-keyword-error">精确、前缀和包含匹配必须填写</);
    expect(html).toContain("请求无效（原文：");
    expect(html).not.toContain(">required for exact, prefix and contains<");
    const en = await post(admin, `/dashboard/wechat/${appId}/auto-replies`, {
      match: "exact",
      "reply.content": "hi",
    });
    expect(await en.text()).toContain(">required for exact, prefix and contains<");
  });

  it("sets a remark, blacklists and unblacklists, renames and deletes a tag, confirmed first", async () => {
    const tenant = await createTenant();
    const { appId, live } = await sandboxApp(tenant);
    const admin = await signedIn(tenant, "admin");
    const base = `/dashboard/wechat/${appId}`;
    const openid = FOLLOWERS[0] ?? "";
    const long = await post(admin, `${base}/followers/remark`, { openid, remark: "x".repeat(30) });
    expect(long.status).toBe(422);
    expect(await long.text()).toContain('id="field-remark-error"');
    const remarked = await post(admin, `${base}/followers/remark`, { openid, remark: "老客户" });
    expect(remarked.status).toBe(303);

    const bad = await post(admin, `${base}/blacklist`, { action: "add", openids: "not ok!" });
    expect(bad.status).toBe(422);
    const badHtml = await bad.text();
    expect(badHtml).toContain('id="field-openids-error"');
    expect(badHtml).toMatch(/<details class="confirm" open/);
    const added = await post(admin, `${base}/blacklist`, { action: "add", openids: openid });
    expect(added.status).toBe(303);
    const listed = await (await get(admin, `${base}/followers`)).text();
    expect(listed).toContain(`<td class="mono">${openid}</td>`);
    expect(listed).toContain(`name="openids" value="${openid}"`);
    const viaApi = (await (await live(`/v1/wechat/apps/${appId}/blacklist`)).json()) as {
      data: string[];
    };
    expect(viaApi.data).toEqual([openid]);
    const removed = await post(admin, `${base}/blacklist`, { action: "remove", openids: openid });
    expect(removed.status).toBe(303);
    const after = (await (await live(`/v1/wechat/apps/${appId}/blacklist`)).json()) as {
      data: string[];
    };
    expect(after.data).toEqual([]);

    expect((await post(admin, `${base}/tags`, { name: "VIP" })).status).toBe(303);
    const tags = await (await get(admin, `${base}/followers`)).text();
    const tagId = /tags\/(\d+)\/delete/.exec(tags)?.[1] ?? "";
    expect(tagId).not.toBe("");
    expect(tags).toContain('class="confirm"');
    const renamed = await post(admin, `${base}/tags/${tagId}/rename`, { name: "Gold" });
    expect(renamed.status).toBe(303);
    expect(await (await get(admin, `${base}/followers`)).text()).toContain("<td>Gold</td>");
    const deleted = await post(admin, `${base}/tags/${tagId}/delete`);
    expect(deleted.status).toBe(303);
    expect(await (await get(admin, `${base}/followers`)).text()).not.toContain("<td>Gold</td>");
    const audit = (await (await tenant.api("/v1/audit?limit=50")).json()) as {
      data: { action: string }[];
    };
    expect(audit.data.map((e) => e.action)).toEqual(
      expect.arrayContaining([
        "wechat_follower.remark",
        "wechat_blacklist.add",
        "wechat_blacklist.remove",
        "wechat_tag.update",
        "wechat_tag.delete",
      ]),
    );
  });

  it("publishes a conditional menu for a tag, deletes it, and deletes the menu", async () => {
    const tenant = await createTenant();
    const { appId, live } = await sandboxApp(tenant);
    const admin = await signedIn(tenant, "admin");
    const path = `/dashboard/wechat/${appId}/menu`;
    const menu = { "button.0.name": "Shop", "button.0.type": "click", "button.0.value": "SHOP" };
    expect((await post(admin, path, menu)).status).toBe(303);
    expect((await post(admin, `/dashboard/wechat/${appId}/tags`, { name: "VIP" })).status).toBe(
      303,
    );
    const page = await (await get(admin, path)).text();
    const tagId = /<option value="(\d+)">[^<]*VIP/.exec(page)?.[1] ?? "";
    expect(tagId).not.toBe("");
    expect(page).toContain(`action="${path}/delete"`);
    const conditional = await post(admin, path, {
      ...menu,
      "button.0.name": "VIP shop",
      tag_id: tagId,
    });
    expect(conditional.status).toBe(303);
    // WeChat's menu id comes back in the notice (a flash cookie over the redirect).
    const flash = decodeURIComponent(
      decodeURIComponent(conditional.headers.get("set-cookie") ?? ""),
    );
    const menuId = /"id":"(\d+)"/.exec(flash)?.[1] ?? "";
    expect(menuId, flash).not.toBe("");
    const badId = await post(admin, `${path}/conditional/delete`, { menu_id: "x" });
    expect(badId.status).toBe(422);
    expect(await badId.text()).toContain('id="field-menu_id-error"');
    const gone = await post(admin, `${path}/conditional/delete`, { menu_id: menuId });
    expect(gone.status).toBe(303);
    const deleted = await post(admin, `${path}/delete`);
    expect(deleted.status).toBe(303);
    const viaApi = (await (await live(`/v1/wechat/apps/${appId}/menu`)).json()) as {
      button: unknown[];
    };
    expect(viaApi.button).toEqual([]);
  });

  it("refuses every WeChat page and action to a role without admin", async () => {
    const tenant = await createTenant();
    const { appId } = await sandboxApp(tenant);
    const operator = await signedIn(tenant, "operator");
    expect(operator.page).not.toContain('href="/dashboard/wechat"');
    for (const path of [
      "/dashboard/wechat",
      `/dashboard/wechat/${appId}`,
      `/dashboard/wechat/${appId}/menu`,
      `/dashboard/wechat/${appId}/auto-replies`,
      `/dashboard/wechat/${appId}/qrcodes`,
    ]) {
      const res = await get(operator, path);
      expect(res.status, path).toBe(403);
      await res.body?.cancel();
    }
    for (const path of [
      `/dashboard/wechat/${appId}/menu`,
      `/dashboard/wechat/${appId}/auto-replies`,
      `/dashboard/wechat/${appId}/qrcodes`,
      `/dashboard/wechat/${appId}/tags`,
      `/dashboard/wechat/${appId}/tags/100/rename`,
      `/dashboard/wechat/${appId}/tags/100/delete`,
      `/dashboard/wechat/${appId}/followers/remark`,
      `/dashboard/wechat/${appId}/blacklist`,
      `/dashboard/wechat/${appId}/menu/delete`,
      `/dashboard/wechat/${appId}/menu/conditional/delete`,
    ]) {
      const res = await post(operator, path, {
        openid: FOLLOWERS[0] ?? "",
        openids: FOLLOWERS[0] ?? "",
        menu_id: "1",
        "button.0.name": "X",
        match: "default",
        "reply.content": "x",
        scene: "s",
        name: "n",
      });
      expect(res.status, path).toBe(403);
      await res.body?.cancel();
    }
    const audit = (await (await tenant.api("/v1/audit?limit=50")).json()) as {
      data: { action: string }[];
    };
    // Only the account its set-up made: no change of the refused actions.
    expect(
      audit.data.filter((e) => /^wechat_(menu|tag|follower|blacklist)/.test(e.action)),
    ).toEqual([]);
  });
});
