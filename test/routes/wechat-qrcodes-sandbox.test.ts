/**
 * Scan-to-bind end to end through the local WeChat sandbox: the code is made at the sandbox's
 * `qrcode/create`, the sandbox plays the person who scans it (`POST /v1/sandbox/wechat/{app}/scan`),
 * its signed event goes through the real webhook, the contact is bound, and `wechat.scan` is
 * emitted. A binding code works once.
 */
import { describe, expect, it } from "vitest";
import { createTenant, postJson } from "../support/tenants";
import { createEndpoint, deliveriesOf } from "../support/webhooks";
import { FOLLOWERS, type SandboxApp, sandboxApp, wechatAnswer } from "../support/wechat-sandbox";

const [alice] = FOLLOWERS;

async function qrCode(app: SandboxApp, body: unknown) {
  const res = await app.live(`/v1/wechat/apps/${app.appId}/qrcodes`, postJson(body));
  expect(res.status, await res.clone().text()).toBe(201);
  return (await res.json()) as { id: string; ticket: string; scene_str: string };
}

function scan(app: SandboxApp, body: { openid: string; ticket?: string; scene?: string }) {
  return app.live(`/v1/sandbox/wechat/${app.appId}/scan`, postJson(body));
}

async function bindingsOf(app: SandboxApp, externalId: string) {
  const res = await app.live(`/v1/contacts/${externalId}`);
  expect(res.status).toBe(200);
  return ((await res.json()) as { wechat: unknown[] }).wechat;
}

async function scanEvents(endpointId: string) {
  return (await deliveriesOf(endpointId)).map(
    (d) => JSON.parse(d.payload) as { type: string; data: Record<string, unknown> },
  );
}

describe("scan-to-bind through the WeChat sandbox", () => {
  for (const mode of ["safe", "plaintext"] as const) {
    it(`binds the contact to whoever follows by scanning, once (${mode} mode)`, async () => {
      const tenant = await createTenant();
      const app = await sandboxApp(tenant, mode);
      const endpoint = await createEndpoint(tenant, { events: ["wechat.scan"] });
      expect((await app.live("/v1/contacts", postJson({ external_id: "user-42" }))).status).toBe(
        201,
      );
      const code = await qrCode(app, {
        scene: "checkout-desk",
        temporary: true,
        expire_seconds: 3600,
        action: { bind_contact: "user-42" },
      });

      // Someone new follows by scanning: WeChat's subscribe event with EventKey qrscene_<token>.
      const first = await scan(app, { openid: "oNewcomer00000000000000001", ticket: code.ticket });
      expect(first.status, await first.clone().text()).toBe(200);
      expect(await first.json()).toMatchObject({
        event: "subscribe",
        scene: code.scene_str,
        webhook_status: 200,
        reply: null,
      });
      expect(await bindingsOf(app, "user-42")).toEqual([
        {
          app_id: app.appId,
          openid: "oNewcomer00000000000000001",
          source: "qrcode",
          created_at: expect.any(String),
        },
      ]);

      // A second person scanning the same code binds no one: the token is spent.
      expect((await scan(app, { openid: alice, ticket: code.ticket })).status).toBe(200);
      expect(await bindingsOf(app, "user-42")).toEqual([
        expect.objectContaining({ openid: "oNewcomer00000000000000001" }),
      ]);
      // The first person scanning again (now a follower: SCAN) is still bound, nothing changes.
      const again = await scan(app, { openid: "oNewcomer00000000000000001", ticket: code.ticket });
      expect(await again.json()).toMatchObject({ event: "SCAN" });

      const events = await scanEvents(endpoint.id);
      expect(events.map((e) => e.data)).toEqual([
        {
          app_id: app.appId,
          openid: "oNewcomer00000000000000001",
          scene: "checkout-desk",
          qrcode_id: code.id,
          event: "subscribe",
          action_result: { type: "bind_contact", status: "bound", external_id: "user-42" },
        },
        {
          app_id: app.appId,
          openid: alice,
          scene: "checkout-desk",
          qrcode_id: code.id,
          event: "scan",
          action_result: {
            type: "bind_contact",
            status: "already_used",
            reason: "the code was used by another follower",
          },
        },
        {
          app_id: app.appId,
          openid: "oNewcomer00000000000000001",
          scene: "checkout-desk",
          qrcode_id: code.id,
          event: "scan",
          action_result: { type: "bind_contact", status: "bound", external_id: "user-42" },
        },
      ]);
      const list = await app.live(`/v1/wechat/apps/${app.appId}/qrcodes`);
      expect(((await list.json()) as { data: unknown[] }).data).toEqual([
        expect.objectContaining({ id: code.id, used_by: "oNewcomer00000000000000001" }),
      ]);
    });
  }

  it("answers a scan of an auto-reply code with its reply, and tags for a tagging code", async () => {
    const tenant = await createTenant();
    const app = await sandboxApp(tenant, "plaintext");
    await qrCode(app, {
      scene: "spring-sale",
      temporary: false,
      action: { auto_reply: { type: "text", content: "Welcome to the spring sale" } },
    });
    const replied = await scan(app, { openid: alice, scene: "spring-sale" });
    expect(await replied.json()).toMatchObject({
      event: "SCAN",
      reply: { type: "text", content: "Welcome to the spring sale" },
    });

    const tag = await app.live(`/v1/wechat/apps/${app.appId}/tags`, postJson({ name: "Booth" }));
    const tagId = ((await tag.json()) as { id: number }).id;
    await qrCode(app, { scene: "booth", temporary: false, action: { tag_id: tagId } });
    expect((await scan(app, { openid: alice, scene: "booth" })).status).toBe(200);
    const token = await (async () => {
      const answer = await wechatAnswer(
        "/cgi-bin/stable_token",
        postJson({
          grant_type: "client_credential",
          appid: app.appId,
          secret: "5a4db0c5a4db0c5a4db0c5a4db0c5a4d",
        }),
      );
      return String(answer.access_token);
    })();
    const tags = await wechatAnswer(
      `/cgi-bin/tags/getidlist?access_token=${encodeURIComponent(token)}`,
      postJson({ openid: alice }),
    );
    expect(tags).toEqual({ tagid_list: [tagId] });
  });

  it("refuses a scan of a code the sandbox never made", async () => {
    const tenant = await createTenant();
    const app = await sandboxApp(tenant, "plaintext");
    const res = await scan(app, { openid: alice, ticket: "gQnever" });
    expect(res.status).toBe(422);
  });
});
