/**
 * Template broadcasts against a fake WeChat API (the global fetch): WeChat has no mass send for
 * template messages, so a broadcast to a tag of 2,500 followers is one template message per
 * follower, sent in chunks through WECHAT_SYNC_QUEUE; each follower gets exactly one, the counts
 * come right, a redelivered chunk sends nothing twice, cancel stops the chunks not yet sent, and
 * preview, screening and review apply as for the other types.
 */
import { createExecutionContext, createMessageBatch, env, getQueueResult } from "cloudflare:test";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import type { BroadcastFanoutMessage } from "../../src/delivery/payloads";
import { consumeFollowerSync } from "../../src/services/wechat/follower-sync";
import { expectProblem } from "../support/problem";
import { createTenant, eventually, postJson, type TestTenant } from "../support/tenants";
import { AES_KEY, newAppId, TOKEN } from "../support/wechat";

const WECHAT = "https://api.weixin.qq.com";
const TAG = 7;
const FOLLOWERS = 2_500;
/** A follower who left since the tag was listed: WeChat refuses the message (43004). */
const LEFT = "oFan000013";
const openidOf = (i: number) => `oFan${String(i).padStart(6, "0")}`;

let received: Map<string, number>;
let templateBodies: Record<string, unknown>[];
let tagListings: unknown[];
let holdListing: Promise<void> | null;
beforeEach(() => {
  received = new Map();
  templateBodies = [];
  tagListings = [];
  holdListing = null;
  let msgId = 5000;
  vi.spyOn(globalThis, "fetch").mockImplementation(async (input, init) => {
    const request = new Request(input, init);
    const url = new URL(request.url);
    if (url.origin !== WECHAT) {
      throw new Error(`unexpected fetch ${url.origin}`);
    }
    if (url.pathname === "/cgi-bin/stable_token") {
      return Response.json({ access_token: "token-1", expires_in: 7200 });
    }
    expect(url.searchParams.get("access_token")).toBe("token-1");
    if (url.pathname === "/cgi-bin/user/tag/get") {
      const body = (await request.json()) as { tagid: number; next_openid: string };
      tagListings.push(body);
      if (holdListing) {
        await holdListing;
      }
      return Response.json({
        count: FOLLOWERS,
        data: { openid: Array.from({ length: FOLLOWERS }, (_, i) => openidOf(i)) },
        next_openid: openidOf(FOLLOWERS - 1),
      });
    }
    if (url.pathname === "/cgi-bin/message/template/send") {
      const body = (await request.json()) as { touser: string };
      templateBodies.push(body);
      received.set(body.touser, (received.get(body.touser) ?? 0) + 1);
      if (body.touser === LEFT) {
        return Response.json({ errcode: 43004, errmsg: "require subscribe" });
      }
      return Response.json({ errcode: 0, errmsg: "ok", msgid: msgId++ });
    }
    throw new Error(`unexpected WeChat call ${url.pathname}`);
  });
});
afterEach(() => {
  vi.restoreAllMocks();
});

async function serviceApp(tenant: TestTenant): Promise<string> {
  const appId = newAppId();
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
    }),
  );
  expect(res.status).toBe(201);
  return appId;
}

const TEMPLATE = {
  wechat_template_id: "TPL_ORDER",
  data: { first: { value: "您的订单已发货" }, keyword1: { value: "A1024", color: "#173177" } },
  url: "https://shop.example.com/orders",
};

interface Broadcast {
  id: string;
  status: string;
  type: string;
  template: unknown;
  finished: boolean;
  total: number | null;
  sent: number | null;
  errors: number | null;
  review_reason: string | null;
}

async function finished(tenant: TestTenant, appId: string, id: string): Promise<Broadcast> {
  return eventually(
    async () => {
      const res = await tenant.api(`/v1/wechat/apps/${appId}/broadcasts/${id}`);
      const current = (await res.json()) as Broadcast;
      return current.status === "sending" ? undefined : current;
    },
    60_000,
    `broadcast ${id} to finish`,
  );
}

function runChunk(message: BroadcastFanoutMessage, attempt: number) {
  const batch = createMessageBatch<BroadcastFanoutMessage>("relaybox-wechat-sync", [
    { id: `m-${attempt}`, timestamp: new Date(), attempts: attempt, body: message },
  ]);
  const ctx = createExecutionContext();
  return consumeFollowerSync(batch as MessageBatch<unknown>, env).then(() =>
    getQueueResult(batch, ctx),
  );
}

describe("template broadcasts", () => {
  it("sends one template message to each of a tag's 2,500 followers, counting as chunks finish", async () => {
    const tenant = await createTenant();
    const appId = await serviceApp(tenant);
    const path = `/v1/wechat/apps/${appId}/broadcasts`;
    const created = await tenant.api(
      path,
      postJson({ target: { tag_id: TAG }, type: "template", template: TEMPLATE }),
    );
    expect(created.status, await created.clone().text()).toBe(201);
    const broadcast = (await created.json()) as Broadcast;
    expect(broadcast).toMatchObject({
      type: "template",
      status: "sending",
      template: TEMPLATE,
      finished: false,
    });

    const done = await finished(tenant, appId, broadcast.id);
    expect(done).toMatchObject({
      status: "sent",
      finished: true,
      total: FOLLOWERS,
      sent: FOLLOWERS - 1,
      errors: 1,
    });
    expect(tagListings).toEqual([{ tagid: TAG, next_openid: "" }]);
    expect(received.size).toBe(FOLLOWERS);
    expect([...received.values()].every((n) => n === 1)).toBe(true);
    expect(templateBodies[0]).toEqual({
      touser: expect.stringMatching(/^oFan/),
      template_id: "TPL_ORDER",
      data: TEMPLATE.data,
      url: TEMPLATE.url,
      client_msg_id: broadcast.id,
    });
    // Template broadcasts take none of the mass-send quota.
    const list = (await (await tenant.api(path)).json()) as { quota: { used: number } };
    expect(list.quota.used).toBe(0);

    // Every chunk and the listing delivered again: nobody gets a second message.
    for (const chunk of [0, 1, 24]) {
      const result = await runChunk(
        { v: 1, kind: "broadcast_chunk", tenant_id: tenant.id, broadcast_id: broadcast.id, chunk },
        2,
      );
      expect(result.explicitAcks).toEqual(["m-2"]);
    }
    await runChunk(
      {
        v: 1,
        kind: "broadcast_list",
        tenant_id: tenant.id,
        broadcast_id: broadcast.id,
        page: 0,
        next_openid: "",
      },
      2,
    );
    expect(templateBodies).toHaveLength(FOLLOWERS);
    expect(tagListings).toHaveLength(1);
    expect(await finished(tenant, appId, broadcast.id)).toMatchObject({
      total: FOLLOWERS,
      sent: FOLLOWERS - 1,
      errors: 1,
    });
  }, 60_000);

  it("never sends again to a follower an attempt died on after calling WeChat", async () => {
    const tenant = await createTenant();
    const appId = await serviceApp(tenant);
    const id = "brd_0000000000crashed";
    await env.DB.batch([
      env.DB.prepare(
        `INSERT INTO wechat_broadcasts (id, tenant_id, app_id, target, type, content, status,
           created_at, fanout_pages, fanout_listed, fanout_total, fanout_sent, fanout_errors)
         VALUES (?1, ?2, ?3, '{"kind":"tag","tag_id":7}', 'template', ?4, 'sending', 1, 1, 1, 3, 0, 0)`,
      ).bind(id, tenant.id, appId, JSON.stringify({ type: "template", template: TEMPLATE })),
      env.DB.prepare(
        `INSERT INTO wechat_broadcast_recipients (broadcast_id, openid, chunk, status) VALUES
           (?1, 'oA', 0, 'sending'), (?1, 'oB', 0, 'pending'), (?1, 'oC', 0, 'sent')`,
      ).bind(id),
    ]);
    const chunk: BroadcastFanoutMessage = {
      v: 1,
      kind: "broadcast_chunk",
      tenant_id: tenant.id,
      broadcast_id: id,
      chunk: 0,
    };
    expect((await runChunk(chunk, 2)).explicitAcks).toEqual(["m-2"]);
    expect([...received.keys()]).toEqual(["oB"]);
    const rows = await env.DB.prepare(
      "SELECT openid, status FROM wechat_broadcast_recipients WHERE broadcast_id = ? ORDER BY openid",
    )
      .bind(id)
      .all();
    expect(rows.results).toEqual([
      { openid: "oA", status: "unknown" },
      { openid: "oB", status: "sent" },
      { openid: "oC", status: "sent" },
    ]);
    const shown = (await (
      await tenant.api(`/v1/wechat/apps/${appId}/broadcasts/${id}`)
    ).json()) as Broadcast;
    expect(shown).toMatchObject({ status: "sent", total: 3, sent: 2, errors: 1, finished: true });
  });

  it("stops the chunks not yet sent when the broadcast is canceled", async () => {
    const tenant = await createTenant();
    const appId = await serviceApp(tenant);
    let release = () => {};
    holdListing = new Promise((resolve) => {
      release = resolve;
    });
    const path = `/v1/wechat/apps/${appId}/broadcasts`;
    const broadcast = (await (
      await tenant.api(
        path,
        postJson({ target: { tag_id: TAG }, type: "template", template: TEMPLATE }),
      )
    ).json()) as Broadcast;
    await eventually(async () => (tagListings.length > 0 ? true : undefined), 10_000, "listing");
    const canceled = await tenant.api(`${path}/${broadcast.id}/cancel`, { method: "POST" });
    expect(canceled.status).toBe(200);
    expect(((await canceled.json()) as Broadcast).status).toBe("canceled");
    release();
    await eventually(
      async () => {
        const left = await env.DB.prepare(
          `SELECT count(*) AS n FROM wechat_broadcast_recipients
           WHERE broadcast_id = ? AND status = 'canceled'`,
        )
          .bind(broadcast.id)
          .first<{ n: number }>();
        return left?.n === FOLLOWERS ? true : undefined;
      },
      30_000,
      "every chunk to be dropped",
    );
    expect(templateBodies).toEqual([]);
    const shown = (await (await tenant.api(`${path}/${broadcast.id}`)).json()) as Broadcast;
    expect(shown).toMatchObject({ status: "canceled", sent: 0, errors: 0 });
  });

  it("previews a template to one follower, screens its data and holds it for review", async () => {
    const tenant = await createTenant();
    const appId = await serviceApp(tenant);
    const path = `/v1/wechat/apps/${appId}/broadcasts`;
    const preview = await tenant.api(
      `${path}/preview`,
      postJson({ openid: "oFan000001", type: "template", template: TEMPLATE }),
    );
    expect(preview.status, await preview.clone().text()).toBe(200);
    expect(await preview.json()).toEqual({ msg_id: "5000" });
    expect(templateBodies).toEqual([
      { touser: "oFan000001", template_id: "TPL_ORDER", data: TEMPLATE.data, url: TEMPLATE.url },
    ]);

    for (const [word, policy] of [
      ["违禁词", "block"],
      ["抽奖", "review"],
    ]) {
      expect((await tenant.api("/v1/sensitive-words", postJson({ word, policy }))).status).toBe(
        201,
      );
    }
    const blocked = { ...TEMPLATE, data: { first: { value: "这是违禁词" } } };
    await expectProblem(
      await tenant.api(path, postJson({ target: "all", type: "template", template: blocked })),
      { status: 422, slug: "unprocessable-entity", instance: path, pointers: ["/template/data"] },
    );
    const held = (await (
      await tenant.api(
        path,
        postJson({
          target: { tag_id: TAG },
          type: "template",
          template: { ...TEMPLATE, data: { first: { value: "本周抽奖" } } },
        }),
      )
    ).json()) as Broadcast;
    expect(held).toMatchObject({ status: "pending_review", review_reason: expect.any(String) });
    expect(tagListings).toEqual([]);
    const approved = await tenant.api(`${path}/${held.id}/approve`, { method: "POST" });
    expect(approved.status).toBe(200);
    expect(((await approved.json()) as Broadcast).status).toBe("sending");
    expect(await finished(tenant, appId, held.id)).toMatchObject({
      status: "sent",
      total: FOLLOWERS,
    });

    await expectProblem(
      await tenant.api(path, postJson({ target: "all", type: "template", text: "x" })),
      { status: 400, slug: "validation-error", instance: path, pointers: ["/template", "/text"] },
    );
  }, 60_000);
});
