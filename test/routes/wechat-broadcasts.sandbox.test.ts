/**
 * The README's flow against the local WeChat sandbox: upload an image, tag two followers, preview
 * the broadcast to one, mass-send it to the tag, and see WeChat's job-finish counts on it.
 */
import { describe, expect, it } from "vitest";
import { createTenant, eventually, postJson, type TestTenant } from "../support/tenants";
import { AES_KEY, TOKEN } from "../support/wechat";
import {
  FOLLOWERS,
  followerSays,
  SANDBOX_BASE_URL,
  SANDBOX_SECRET,
  sandboxApp,
} from "../support/wechat-sandbox";

const [alice, bob, carol] = FOLLOWERS;

/** The 8-byte PNG signature and a little more: what WeChat (and the sandbox) sniff. */
const PNG = new Uint8Array([
  0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0, 13, 0x49, 0x48, 0x44, 0x52, 1, 2, 3,
]);

/** A verified service account served by the sandbox. */
async function verifiedSandboxApp(tenant: TestTenant): Promise<string> {
  const { appId } = await sandboxApp(tenant, "plaintext");
  const res = await tenant.api(
    "/v1/wechat/apps",
    postJson({
      app_id: appId,
      app_secret: SANDBOX_SECRET,
      token: TOKEN,
      encoding_aes_key: AES_KEY,
      mode: "plaintext",
      api_base_url: SANDBOX_BASE_URL,
      account_type: "service",
      verified: true,
    }),
  );
  expect(res.status).toBe(200);
  expect(await res.json()).toMatchObject({ account_type: "service", verified: true });
  return appId;
}

function imageForm(type = "image", permanent = "true", bytes: Uint8Array = PNG): FormData {
  const form = new FormData();
  form.append("type", type);
  form.append("permanent", permanent);
  form.append("file", new File([bytes], "banner.png", { type: "image/png" }));
  return form;
}

describe("a broadcast through the WeChat sandbox", () => {
  it("uploads an image, previews it, sends it to a tag and records the job-finish counts", async () => {
    const tenant = await createTenant();
    const appId = await verifiedSandboxApp(tenant);
    const base = `/v1/wechat/apps/${appId}`;

    const uploaded = await tenant.api(`${base}/media`, { method: "POST", body: imageForm() });
    expect(uploaded.status).toBe(201);
    const media = (await uploaded.json()) as Record<string, unknown>;
    expect(media).toMatchObject({
      id: expect.stringMatching(/^med_/),
      type: "image",
      permanent: true,
      media_id: expect.any(String),
      url: expect.stringContaining("mmbiz.qpic.cn"),
      bytes: PNG.byteLength,
      expires_at: null,
    });

    const tag = (await (await tenant.api(`${base}/tags`, postJson({ name: "VIP" }))).json()) as {
      id: number;
    };
    const tagged = await tenant.api(
      `${base}/tags/${tag.id}/members`,
      postJson({ openids: [alice, bob] }),
    );
    expect(tagged.status).toBe(200);

    const preview = await tenant.api(
      `${base}/broadcasts/preview`,
      postJson({ openid: alice, type: "image", media_ids: [media.id] }),
    );
    expect(preview.status).toBe(200);

    const created = await tenant.api(
      `${base}/broadcasts`,
      postJson({ target: { tag_id: tag.id }, type: "image", media_ids: [media.id] }),
    );
    expect(created.status).toBe(201);
    const broadcast = (await created.json()) as { id: string; status: string; msg_ids: string[] };
    expect(broadcast).toMatchObject({ status: "sent", finished: false, total: null });
    expect(broadcast.msg_ids).toHaveLength(1);

    const finished = await eventually(
      async () => {
        const res = await tenant.api(`${base}/broadcasts/${broadcast.id}`);
        const body = (await res.json()) as Record<string, unknown>;
        return body.finished === true ? body : undefined;
      },
      10_000,
      "the MASSSENDJOBFINISH counts",
    );
    expect(finished).toMatchObject({ total: 2, after_filter: 2, sent: 2, errors: 0 });

    // The sandbox's followers: Alice got the preview and the broadcast, Bob the broadcast, Carol none.
    const received = (await (await tenant.api(`/v1/sandbox/wechat/${appId}/received`)).json()) as {
      data: { kind: string; openid: string }[];
    };
    const got = received.data.map((m) => `${m.kind}:${m.openid}`).sort();
    expect(got).toEqual([`mass:${alice}`, `mass:${bob}`, `mass_preview:${alice}`]);
    expect(got.some((m) => m.endsWith(carol))).toBe(false);

    const list = (await (await tenant.api(`${base}/broadcasts`)).json()) as {
      data: { id: string }[];
      quota: Record<string, unknown>;
    };
    expect(list.data.map((b) => b.id)).toEqual([broadcast.id]);
    expect(list.quota).toMatchObject({ period: "month", limit: 4, used: 1, remaining: 3 });
  });

  it("sends an image message by our media id, which reaches WeChat as its media_id", async () => {
    const tenant = await createTenant();
    const appId = await verifiedSandboxApp(tenant);
    const media = (await (
      await tenant.api(`/v1/wechat/apps/${appId}/media`, {
        method: "POST",
        body: imageForm("image", "false"),
      })
    ).json()) as { id: string; media_id: string };
    expect((await followerSays(tenant, appId, alice, "hi")).status).toBe(200);
    const res = await tenant.api(
      "/v1/messages",
      postJson({
        channel: "wechat",
        app_id: appId,
        openid: alice,
        wechat: { type: "image", media_id: media.id },
      }),
    );
    expect(res.status).toBe(202);
    const got = await eventually(
      async () => {
        const received = (await (
          await tenant.api(`/v1/sandbox/wechat/${appId}/received`)
        ).json()) as { data: { kind: string; content: unknown }[] };
        return received.data.find((m) => m.kind === "customer_service");
      },
      10_000,
      "the image to reach Alice",
    );
    expect(JSON.stringify(got.content)).toContain(media.media_id);
    // Another app's (or no) media id of ours is refused before anything is sent.
    const unknown = await tenant.api(
      "/v1/messages",
      postJson({
        channel: "wechat",
        app_id: appId,
        openid: alice,
        wechat: { type: "image", media_id: "med_00000000000000000000000000" },
      }),
    );
    expect(unknown.status).toBe(422);
  });

  it("refuses an unverified account's broadcast before calling WeChat", async () => {
    const tenant = await createTenant();
    const { appId } = await sandboxApp(tenant, "plaintext");
    const res = await tenant.api(
      `/v1/wechat/apps/${appId}/broadcasts`,
      postJson({ target: "all", type: "text", text: "Hello" }),
    );
    expect(res.status).toBe(422);
    const received = (await (await tenant.api(`/v1/sandbox/wechat/${appId}/received`)).json()) as {
      data: unknown[];
    };
    expect(received.data).toEqual([]);
  });

  it("sends a template broadcast as one template message per follower of the sandbox", async () => {
    const tenant = await createTenant();
    const appId = await verifiedSandboxApp(tenant);
    const path = `/v1/wechat/apps/${appId}/broadcasts`;
    const template = {
      wechat_template_id: "order-shipped",
      data: { first: { value: "Weekend sale" } },
    };
    const created = await tenant.api(path, postJson({ target: "all", type: "template", template }));
    expect(created.status, await created.clone().text()).toBe(201);
    const { id } = (await created.json()) as { id: string };
    const done = await eventually(async () => {
      const res = await tenant.api(`${path}/${id}`);
      const current = (await res.json()) as { status: string };
      return current.status === "sending" ? undefined : current;
    }, 20_000);
    expect(done).toMatchObject({ status: "sent", finished: true, total: 3, sent: 3, errors: 0 });
    const received = (await (
      await tenant.api(`/v1/sandbox/wechat/${appId}/received?limit=10`)
    ).json()) as { data: { kind: string; openid: string; content: Record<string, unknown> }[] };
    const templates = received.data.filter((m) => m.kind === "template");
    expect(templates.map((m) => m.openid).sort()).toEqual([alice, bob, carol].sort());
    expect(templates[0]?.content).toMatchObject({
      template_id: "order-shipped",
      client_msg_id: id,
    });
  }, 30_000);
});
