/**
 * Broadcasts and media against a fake WeChat API (the global fetch): the exact requests, WeChat's
 * errcodes mapped to problems, WeChat's limits and the quota checked before any call, review,
 * cancel, the job-finish event, another tenant's resources, and the audit entries.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { expectProblem } from "../support/problem";
import { call, createTenant, eventually, postJson, type TestTenant } from "../support/tenants";
import { AES_KEY, deliver, newAppId, TOKEN } from "../support/wechat";

const WECHAT = "https://api.weixin.qq.com";

interface WeChatCall {
  path: string;
  query: URLSearchParams;
  contentType: string | null;
  body: string;
  form: FormData | null;
}

let answer: (path: string, body: string) => Record<string, unknown>;
const calls: WeChatCall[] = [];
let nextMsgId = 1000;
beforeEach(() => {
  calls.length = 0;
  answer = (path) =>
    path.endsWith("/sendall") || path.endsWith("/send")
      ? { errcode: 0, errmsg: "send job submission success", msg_id: nextMsgId++, msg_data_id: 7 }
      : path.includes("material/add_material")
        ? { media_id: "PERM_MEDIA_1", url: "http://mmbiz.qpic.cn/x/0" }
        : path.includes("media/upload")
          ? { type: "image", media_id: "TEMP_MEDIA_1", created_at: 1 }
          : { errcode: 0, errmsg: "ok" };
  vi.spyOn(globalThis, "fetch").mockImplementation(async (input, init) => {
    const request = new Request(input, init);
    const url = new URL(request.url);
    if (url.origin !== WECHAT) {
      throw new Error(`unexpected fetch ${url.origin}`);
    }
    if (url.pathname === "/cgi-bin/stable_token") {
      return Response.json({ access_token: "token-1", expires_in: 7200 });
    }
    const contentType = request.headers.get("content-type");
    const multipart = contentType?.startsWith("multipart/form-data") ?? false;
    const form = multipart ? await request.formData() : null;
    const body = multipart ? "" : await request.text();
    calls.push({ path: url.pathname, query: url.searchParams, contentType, body, form });
    return Response.json(answer(url.pathname, body));
  });
});
afterEach(() => {
  vi.restoreAllMocks();
});

const PNG = new Uint8Array([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0, 13]);
const JPG = new Uint8Array([0xff, 0xd8, 0xff, 0xe0, 0, 16, 0x4a, 0x46, 0x49, 0x46, 0, 1]);

async function app(
  tenant: TestTenant,
  settings: { account_type?: string; verified?: boolean } = {},
  appId = newAppId(),
): Promise<string> {
  const res = await tenant.api(
    "/v1/wechat/apps",
    postJson({
      app_id: appId,
      app_secret: "0123456789abcdef0123456789abcdef",
      token: TOKEN,
      encoding_aes_key: AES_KEY,
      mode: "plaintext",
      account_type: "service",
      verified: true,
      ...settings,
    }),
  );
  expect([200, 201]).toContain(res.status);
  return appId;
}

function upload(
  tenant: TestTenant,
  appId: string,
  fields: Record<string, string>,
  bytes: Uint8Array = PNG,
  name = "a.png",
) {
  const form = new FormData();
  for (const [k, v] of Object.entries(fields)) {
    form.append(k, v);
  }
  form.append("file", new File([bytes], name));
  return tenant.api(`/v1/wechat/apps/${appId}/media`, { method: "POST", body: form });
}

const massCalls = () => calls.filter((c) => c.path.startsWith("/cgi-bin/message/mass/"));

async function auditActions(tenant: TestTenant): Promise<string[]> {
  const res = await tenant.api("/v1/audit?limit=100");
  const body = (await res.json()) as { data: { action: string }[] };
  return body.data.map((e) => e.action);
}

describe("media", () => {
  it("uploads a permanent image as WeChat's form, keeps only the mapping, lists and deletes it", async () => {
    const tenant = await createTenant();
    const appId = await app(tenant);
    const res = await upload(tenant, appId, { type: "image", permanent: "true" });
    expect(res.status).toBe(201);
    const media = (await res.json()) as { id: string; media_id: string; url: string };
    expect(media).toMatchObject({ media_id: "PERM_MEDIA_1", url: "http://mmbiz.qpic.cn/x/0" });
    expect(calls).toHaveLength(1);
    const [sent] = calls;
    expect(sent?.path).toBe("/cgi-bin/material/add_material");
    expect(sent?.query.get("type")).toBe("image");
    expect(sent?.query.get("access_token")).toBe("token-1");
    const file = sent?.form?.get("media");
    expect(file).toBeInstanceOf(File);
    expect(new Uint8Array(await (file as File).arrayBuffer())).toEqual(PNG);

    const list = (await (await tenant.api(`/v1/wechat/apps/${appId}/media`)).json()) as {
      data: { id: string }[];
    };
    expect(list.data.map((m) => m.id)).toEqual([media.id]);

    const deleted = await tenant.api(`/v1/wechat/apps/${appId}/media/${media.id}`, {
      method: "DELETE",
    });
    expect(deleted.status).toBe(204);
    expect(calls[1]).toMatchObject({
      path: "/cgi-bin/material/del_material",
      body: JSON.stringify({ media_id: "PERM_MEDIA_1" }),
    });
    expect(await auditActions(tenant)).toEqual(
      expect.arrayContaining(["wechat_media.upload", "wechat_media.delete"]),
    );
  });

  it("uploads temporary media to media/upload with a 3-day expiry, which cannot be deleted", async () => {
    const tenant = await createTenant();
    const appId = await app(tenant);
    const res = await upload(tenant, appId, { type: "image" });
    const media = (await res.json()) as { id: string; expires_at: string; created_at: string };
    expect(calls[0]?.path).toBe("/cgi-bin/media/upload");
    expect(Date.parse(media.expires_at) - Date.parse(media.created_at)).toBe(3 * 24 * 3600_000);
    await expectProblem(
      await tenant.api(`/v1/wechat/apps/${appId}/media/${media.id}`, { method: "DELETE" }),
      { status: 409, slug: "conflict", instance: `/v1/wechat/apps/${appId}/media/${media.id}` },
    );
  });

  it("checks WeChat's formats and sizes before sending anything", async () => {
    const tenant = await createTenant();
    const appId = await app(tenant);
    const instance = `/v1/wechat/apps/${appId}/media`;
    // A thumb is a JPG of at most 64 KB.
    const bigThumb = new Uint8Array(64 * 1024 + 1);
    bigThumb.set(JPG);
    await expectProblem(await upload(tenant, appId, { type: "thumb" }, bigThumb, "t.jpg"), {
      status: 422,
      slug: "unprocessable-entity",
      instance,
      pointers: ["/file"],
      detail: /64 KB/,
    });
    await expectProblem(await upload(tenant, appId, { type: "thumb" }, PNG), {
      status: 422,
      slug: "unprocessable-entity",
      instance,
      pointers: ["/file"],
      detail: /jpg; this file is png/,
    });
    // A voice over 2 MB, a permanent video without its title.
    const voice = new Uint8Array(2 * 1024 * 1024 + 1);
    voice.set([0x23, 0x21, 0x41, 0x4d, 0x52]);
    await expectProblem(await upload(tenant, appId, { type: "voice" }, voice), {
      status: 422,
      slug: "unprocessable-entity",
      instance,
      pointers: ["/file"],
    });
    const mp4 = new Uint8Array([0, 0, 0, 24, 0x66, 0x74, 0x79, 0x70, 0x6d, 0x70, 0x34, 0x32]);
    await expectProblem(await upload(tenant, appId, { type: "video", permanent: "true" }, mp4), {
      status: 422,
      slug: "unprocessable-entity",
      instance,
      pointers: ["/title", "/introduction"],
    });
    expect(calls).toEqual([]);
  });

  it("streams the file through: a thumb passing 64 KB is stopped as it streams, and nothing is kept", async () => {
    const tenant = await createTenant();
    const appId = await app(tenant);
    const boundary = "streamtest";
    const encoder = new TextEncoder();
    const head = encoder.encode(
      `--${boundary}\r\nContent-Disposition: form-data; name="type"\r\n\r\nthumb\r\n` +
        `--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="t.jpg"\r\n` +
        "Content-Type: image/jpeg\r\n\r\n",
    );
    const chunk = new Uint8Array(16 * 1024);
    const chunks = 5 * 64; // a 5 MB "thumb", sent chunked: no Content-Length to check first
    let pulled = 0;
    const body = new ReadableStream<Uint8Array>({
      start(controller) {
        controller.enqueue(head);
      },
      pull(controller) {
        if (pulled === chunks) {
          controller.enqueue(encoder.encode(`\r\n--${boundary}--\r\n`));
          controller.close();
          return;
        }
        controller.enqueue(
          pulled === 0 ? Uint8Array.from([...JPG, ...chunk.subarray(JPG.length)]) : chunk,
        );
        pulled++;
      },
    });
    const path = `/v1/wechat/apps/${appId}/media`;
    const res = await tenant.api(path, {
      method: "POST",
      headers: { "content-type": `multipart/form-data; boundary=${boundary}` },
      body,
    });
    await expectProblem(res, {
      status: 422,
      slug: "unprocessable-entity",
      instance: path,
      pointers: ["/file"],
      detail: /64 KB.*stopped/,
    });
    // Read as it went, and stopped soon after the limit: never the whole 5 MB.
    expect(pulled).toBeLessThan(chunks / 4);
    expect(calls).toEqual([]);
    const list = (await (await tenant.api(path)).json()) as { data: unknown[] };
    expect(list.data).toEqual([]);
  });

  it("refuses a file whose declared size (Content-Length) is over the type's limit before calling WeChat", async () => {
    const tenant = await createTenant();
    const appId = await app(tenant);
    const thumb = new Uint8Array(70 * 1024);
    thumb.set(JPG);
    const form = new FormData();
    form.append("type", "thumb");
    form.append("file", new File([thumb], "t.jpg", { type: "image/jpeg" }));
    // As curl sends it: with its length.
    const framed = new Request("http://x/", { method: "POST", body: form });
    const bytes = new Uint8Array(await framed.clone().arrayBuffer());
    const path = `/v1/wechat/apps/${appId}/media`;
    const res = await tenant.api(path, {
      method: "POST",
      headers: {
        "content-type": framed.headers.get("content-type") ?? "",
        "content-length": String(bytes.length),
      },
      body: bytes,
    });
    await expectProblem(res, {
      status: 422,
      slug: "unprocessable-entity",
      instance: path,
      pointers: ["/file"],
      detail: /64 KB/,
    });
    expect(calls).toEqual([]);
  });

  it("takes a body up to 10 MB on this route alone, and refuses more with 413", async () => {
    const tenant = await createTenant();
    const appId = await app(tenant);
    const nineMb = new Uint8Array(9 * 1024 * 1024);
    nineMb.set(PNG);
    expect((await upload(tenant, appId, { type: "image" }, nineMb)).status).toBe(201);
    const elevenMb = new Uint8Array(11 * 1024 * 1024);
    elevenMb.set(PNG);
    await expectProblem(await upload(tenant, appId, { type: "image" }, elevenMb), {
      status: 413,
      slug: "payload-too-large",
      instance: `/v1/wechat/apps/${appId}/media`,
    });
    // Other routes keep 1 MB.
    const big = await tenant.api(
      `/v1/wechat/apps/${appId}/broadcasts`,
      postJson({ target: "all", type: "text", text: "x".repeat(1024 * 1024 + 1) }),
    );
    expect(big.status).toBe(413);
    expect(calls).toHaveLength(1);
  });

  it("maps WeChat's refusal of a file to a 422 naming its errcode", async () => {
    const tenant = await createTenant();
    const appId = await app(tenant);
    answer = () => ({ errcode: 40005, errmsg: "invalid file type" });
    await expectProblem(await upload(tenant, appId, { type: "image" }), {
      status: 422,
      slug: "unprocessable-entity",
      instance: `/v1/wechat/apps/${appId}/media`,
      detail: /40005/,
    });
  });
});

describe("broadcasts", () => {
  it("sends text to a tag with sendall and WeChat's exact body", async () => {
    const tenant = await createTenant();
    const appId = await app(tenant);
    const res = await tenant.api(
      `/v1/wechat/apps/${appId}/broadcasts`,
      postJson({ target: { tag_id: 101 }, type: "text", text: "春季新品上市" }),
    );
    expect(res.status).toBe(201);
    const broadcast = (await res.json()) as { id: string; msg_ids: string[] };
    expect(massCalls()).toHaveLength(1);
    expect(massCalls()[0]?.path).toBe("/cgi-bin/message/mass/sendall");
    expect(massCalls()[0]?.body).toBe(
      JSON.stringify({
        filter: { is_to_all: false, tag_id: 101 },
        text: { content: "春季新品上市" },
        msgtype: "text",
        clientmsgid: broadcast.id,
      }),
    );
    expect(broadcast.msg_ids).toHaveLength(1);
  });

  it("sends an image by our media id or WeChat's, and to openids in WeChat's chunks of at most 10,000", async () => {
    const tenant = await createTenant();
    const appId = await app(tenant);
    const media = (await (
      await upload(tenant, appId, { type: "image", permanent: "true" })
    ).json()) as {
      id: string;
    };
    const openids = Array.from({ length: 10_001 }, (_, i) => `oUser${i}`);
    const res = await tenant.api(
      `/v1/wechat/apps/${appId}/broadcasts`,
      postJson({ target: { openids }, type: "image", media_ids: [media.id, "WECHAT_OWN_ID"] }),
    );
    expect(res.status).toBe(201);
    const sends = massCalls();
    expect(sends.map((c) => c.path)).toEqual([
      "/cgi-bin/message/mass/send",
      "/cgi-bin/message/mass/send",
    ]);
    const bodies = sends.map((c) => JSON.parse(c.body) as Record<string, unknown>);
    expect(bodies.map((b) => (b.touser as string[]).length)).toEqual([5000, 5001]);
    expect(bodies[0]?.images).toEqual({ media_ids: ["PERM_MEDIA_1", "WECHAT_OWN_ID"] });
    expect((await res.json()) as { msg_ids: string[] }).toMatchObject({
      msg_ids: [expect.any(String), expect.any(String)],
    });
  });

  it("previews to one openid with WeChat's preview body", async () => {
    const tenant = await createTenant();
    const appId = await app(tenant);
    const res = await tenant.api(
      `/v1/wechat/apps/${appId}/broadcasts/preview`,
      postJson({ openid: "oAdmin", type: "mpnews", media_ids: ["DRAFT_1"] }),
    );
    expect(res.status).toBe(200);
    expect(massCalls()).toEqual([
      expect.objectContaining({
        path: "/cgi-bin/message/mass/preview",
        body: JSON.stringify({
          touser: "oAdmin",
          mpnews: { media_id: "DRAFT_1" },
          msgtype: "mpnews",
        }),
      }),
    ]);
  });

  it("refuses before calling WeChat: unverified, openids from a subscription account, one openid, a used quota", async () => {
    const tenant = await createTenant();
    const unverified = await app(tenant, { verified: false });
    const path = (a: string) => `/v1/wechat/apps/${a}/broadcasts`;
    await expectProblem(
      await tenant.api(path(unverified), postJson({ target: "all", type: "text", text: "hi" })),
      {
        status: 422,
        slug: "unprocessable-entity",
        instance: path(unverified),
        pointers: ["/target"],
      },
    );
    const subscription = await app(tenant, { account_type: "subscription" });
    await expectProblem(
      await tenant.api(
        path(subscription),
        postJson({ target: { openids: ["oA", "oB"] }, type: "text", text: "hi" }),
      ),
      {
        status: 422,
        slug: "unprocessable-entity",
        instance: path(subscription),
        pointers: ["/target"],
      },
    );
    const one = await tenant.api(
      path(subscription),
      postJson({ target: { openids: ["oA"] }, type: "text", text: "hi" }),
    );
    expect(one.status).toBe(400);
    expect(massCalls()).toEqual([]);

    // A subscription account: one a day. The second is a 429 with Retry-After, and no call.
    const first = await tenant.api(
      path(subscription),
      postJson({ target: "all", type: "text", text: "a" }),
    );
    expect(first.status).toBe(201);
    const second = await tenant.api(
      path(subscription),
      postJson({ target: "all", type: "text", text: "b" }),
    );
    await expectProblem(second, {
      status: 429,
      slug: "rate-limited",
      instance: path(subscription),
    });
    expect(Number(second.headers.get("retry-after"))).toBeGreaterThan(0);
    expect(massCalls()).toHaveLength(1);
    // "all": sendall to every follower, WeChat's is_to_all.
    const sentToAll = massCalls()[0];
    expect(sentToAll?.path).toBe("/cgi-bin/message/mass/sendall");
    expect(JSON.parse(sentToAll?.body ?? "{}")).toMatchObject({
      filter: { is_to_all: true },
      msgtype: "text",
      text: { content: "a" },
    });
    const quota = (await (await tenant.api(path(subscription))).json()) as { quota: unknown };
    expect(quota.quota).toMatchObject({ period: "day", limit: 1, used: 1, remaining: 0 });
  });

  it("refuses a test key's broadcast and upload to an account that is not a sandbox app (403)", async () => {
    const tenant = await createTenant();
    const appId = await app(tenant);
    const { key } = await tenant.addKey(["messages:send"], "test");
    const path = `/v1/wechat/apps/${appId}/broadcasts`;
    await expectProblem(
      await call(path, key, postJson({ target: "all", type: "text", text: "hi" })),
      { status: 403, slug: "forbidden", instance: path },
    );
    const form = new FormData();
    form.append("type", "image");
    form.append("file", new File([PNG], "a.png"));
    const mediaPath = `/v1/wechat/apps/${appId}/media`;
    await expectProblem(await call(mediaPath, key, { method: "POST", body: form }), {
      status: 403,
      slug: "forbidden",
      instance: mediaPath,
    });
    expect(calls).toEqual([]);
  });

  it("maps WeChat's errcodes: no quota to 429, a bad media_id to 422, busy to 503", async () => {
    const tenant = await createTenant();
    const appId = await app(tenant);
    const path = `/v1/wechat/apps/${appId}/broadcasts`;
    const send = () =>
      tenant.api(path, postJson({ target: "all", type: "voice", media_ids: ["X"] }));
    answer = () => ({ errcode: 45028, errmsg: "has no masssend quota" });
    await expectProblem(await send(), { status: 429, slug: "rate-limited", instance: path });
    answer = () => ({ errcode: 40007, errmsg: "invalid media_id" });
    await expectProblem(await send(), {
      status: 422,
      slug: "unprocessable-entity",
      instance: path,
      detail: /40007/,
    });
    answer = () => ({ errcode: -1, errmsg: "system error" });
    await expectProblem(await send(), {
      status: 503,
      slug: "provider-unavailable",
      instance: path,
    });
    // Nothing was recorded: no quota used.
    const list = (await (await tenant.api(path)).json()) as {
      data: unknown[];
      quota: { used: number };
    };
    expect(list.data).toEqual([]);
    expect(list.quota.used).toBe(0);
  });

  it("screens text: a blocked word is a 422; a review word holds it until a reviewer approves", async () => {
    const tenant = await createTenant();
    const appId = await app(tenant);
    for (const [word, policy] of [
      ["违禁词", "block"],
      ["抽奖", "review"],
    ]) {
      expect((await tenant.api("/v1/sensitive-words", postJson({ word, policy }))).status).toBe(
        201,
      );
    }
    const path = `/v1/wechat/apps/${appId}/broadcasts`;
    await expectProblem(
      await tenant.api(path, postJson({ target: "all", type: "text", text: "这是违禁词" })),
      { status: 422, slug: "unprocessable-entity", instance: path, pointers: ["/text"] },
    );
    const held = (await (
      await tenant.api(path, postJson({ target: "all", type: "text", text: "本周抽奖" }))
    ).json()) as { id: string; status: string; review_reason: string };
    expect(held).toMatchObject({
      status: "pending_review",
      review_reason: expect.stringContaining("抽奖"),
    });
    expect(massCalls()).toEqual([]);

    const { key } = await tenant.addKey(["messages:send"]);
    const notReviewer = await call(`${path}/${held.id}/approve`, key, { method: "POST" });
    expect(notReviewer.status).toBe(403);
    const approved = await tenant.api(`${path}/${held.id}/approve`, { method: "POST" });
    expect(approved.status).toBe(200);
    expect(await approved.json()).toMatchObject({ status: "sent" });
    expect(massCalls()).toHaveLength(1);
    expect(await auditActions(tenant)).toEqual(
      expect.arrayContaining(["wechat_broadcast.create", "wechat_broadcast.approve"]),
    );
  });

  it("cancels a sent mpnews with mass/delete, and refuses to cancel a sent text (409)", async () => {
    const tenant = await createTenant();
    const appId = await app(tenant);
    const path = `/v1/wechat/apps/${appId}/broadcasts`;
    const news = (await (
      await tenant.api(path, postJson({ target: "all", type: "mpnews", media_ids: ["DRAFT_1"] }))
    ).json()) as { id: string; msg_ids: string[] };
    const canceled = await tenant.api(`${path}/${news.id}/cancel`, { method: "POST" });
    expect(canceled.status).toBe(200);
    expect(await canceled.json()).toMatchObject({ status: "canceled" });
    expect(massCalls().at(-1)).toMatchObject({
      path: "/cgi-bin/message/mass/delete",
      body: JSON.stringify({ msg_id: Number(news.msg_ids[0]), article_idx: 0 }),
    });
    const text = (await (
      await tenant.api(path, postJson({ target: "all", type: "text", text: "hi" }))
    ).json()) as { id: string };
    await expectProblem(await tenant.api(`${path}/${text.id}/cancel`, { method: "POST" }), {
      status: 409,
      slug: "conflict",
      instance: `${path}/${text.id}/cancel`,
    });
    expect(await auditActions(tenant)).toContain("wechat_broadcast.cancel");
  });

  it("records MASSSENDJOBFINISH's counts as total, after_filter, sent and errors", async () => {
    const tenant = await createTenant();
    const appId = await app(tenant);
    const path = `/v1/wechat/apps/${appId}/broadcasts`;
    const sent = (await (
      await tenant.api(path, postJson({ target: "all", type: "text", text: "hi" }))
    ).json()) as { id: string; msg_ids: string[] };
    const xml = `<xml><ToUserName><![CDATA[gh_account]]></ToUserName><FromUserName><![CDATA[oAssistant]]></FromUserName><CreateTime>1700000400</CreateTime><MsgType><![CDATA[event]]></MsgType><Event><![CDATA[MASSSENDJOBFINISH]]></Event><MsgID>${sent.msg_ids[0]}</MsgID><Status><![CDATA[send success]]></Status><TotalCount>100</TotalCount><FilterCount>80</FilterCount><SentCount>75</SentCount><ErrorCount>5</ErrorCount></xml>`;
    expect(await (await deliver(appId, xml, { mode: "plaintext" })).text()).toBe("success");
    // WeChat's retry of the same push changes nothing.
    expect(await (await deliver(appId, xml, { mode: "plaintext" })).text()).toBe("success");
    const finished = await eventually(
      async () => {
        const body = (await (await tenant.api(`${path}/${sent.id}`)).json()) as Record<
          string,
          unknown
        >;
        return body.finished ? body : undefined;
      },
      10_000,
      "the job-finish counts",
    );
    expect(finished).toMatchObject({ total: 100, after_filter: 80, sent: 75, errors: 5 });
  });

  it("applies a MASSSENDJOBFINISH that came before the broadcast was recorded", async () => {
    const tenant = await createTenant();
    const appId = await app(tenant);
    const msgId = 990_000 + Math.floor(Math.random() * 1000);
    const xml = `<xml><ToUserName><![CDATA[gh_account]]></ToUserName><FromUserName><![CDATA[oAssistant]]></FromUserName><CreateTime>1700000500</CreateTime><MsgType><![CDATA[event]]></MsgType><Event><![CDATA[MASSSENDJOBFINISH]]></Event><MsgID>${msgId}</MsgID><Status><![CDATA[send success]]></Status><TotalCount>3</TotalCount><FilterCount>3</FilterCount><SentCount>2</SentCount><ErrorCount>1</ErrorCount></xml>`;
    expect(await (await deliver(appId, xml, { mode: "plaintext" })).text()).toBe("success");
    await eventually(
      async () => {
        const inbox = (await (await tenant.api(`/v1/wechat/apps/${appId}/inbox`)).json()) as {
          data: unknown[];
        };
        return inbox.data.length > 0 ? true : undefined;
      },
      10_000,
      "the event in the inbox",
    );
    answer = () => ({ errcode: 0, errmsg: "ok", msg_id: msgId });
    const res = await tenant.api(
      `/v1/wechat/apps/${appId}/broadcasts`,
      postJson({ target: "all", type: "text", text: "hi" }),
    );
    expect(await res.json()).toMatchObject({
      finished: true,
      total: 3,
      after_filter: 3,
      sent: 2,
      errors: 1,
    });
  });

  it("keeps tenants apart: another tenant's broadcast is a 404, its media id a 422", async () => {
    const owner = await createTenant();
    const other = await createTenant();
    const ownerApp = await app(owner);
    const otherApp = await app(other);
    const media = (await (
      await upload(owner, ownerApp, { type: "image", permanent: "true" })
    ).json()) as {
      id: string;
    };
    const sent = (await (
      await owner.api(
        `/v1/wechat/apps/${ownerApp}/broadcasts`,
        postJson({ target: "all", type: "text", text: "hi" }),
      )
    ).json()) as { id: string };
    const theirs = `/v1/wechat/apps/${ownerApp}/broadcasts/${sent.id}`;
    await expectProblem(await other.api(theirs), {
      status: 404,
      slug: "not-found",
      instance: theirs,
    });
    const asOwn = `/v1/wechat/apps/${otherApp}/broadcasts/${sent.id}`;
    await expectProblem(await other.api(asOwn), {
      status: 404,
      slug: "not-found",
      instance: asOwn,
    });
    const path = `/v1/wechat/apps/${otherApp}/broadcasts`;
    await expectProblem(
      await other.api(path, postJson({ target: "all", type: "image", media_ids: [media.id] })),
      { status: 422, slug: "unprocessable-entity", instance: path, pointers: ["/media_ids/0"] },
    );
    const mediaPath = `/v1/wechat/apps/${ownerApp}/media/${media.id}`;
    await expectProblem(await other.api(mediaPath, { method: "DELETE" }), {
      status: 404,
      slug: "not-found",
      instance: mediaPath,
    });
  });
});
