/**
 * What a message looks like wherever it is shown (the 202, GET, the list, webhook events): the
 * same fields with the same meaning.
 */
import { env } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { logMessages } from "../../src/durable-objects/dispatcher/send-log";
import { outboxMessage } from "../support/messages";
import { approvedTemplate, PROMO_TEMPLATE } from "../support/templates";
import { createTenant, eventually, messageReaches, postJson } from "../support/tenants";
import { createEndpoint } from "../support/webhooks";
import { appWithFakeApi, consumeBatch, fakeWeChat } from "../support/wechat-outbound";

type View = Record<string, unknown>;

/** The payloads of the endpoint's deliveries of `type`, once there is one. */
async function eventsOf(endpointId: string, type: string): Promise<{ data: View }[]> {
  return eventually(async () => {
    const { results } = await env.DB.prepare(
      "SELECT payload FROM webhook_deliveries WHERE endpoint_id = ? AND event_type = ?",
    )
      .bind(endpointId, type)
      .all<{ payload: string }>();
    return results.length > 0 ? results.map((r) => JSON.parse(r.payload)) : undefined;
  });
}

/** Quiet all day but one minute, in Shanghai's time: whatever the time now, it is quiet hours. */
function quietNow(): { start: string; end: string } {
  const minute = (offset: number) => {
    const t = new Date(Date.now() + offset * 60_000 + 8 * 3_600_000);
    return `${String(t.getUTCHours()).padStart(2, "0")}:${String(t.getUTCMinutes()).padStart(2, "0")}`;
  };
  return { start: minute(-1), end: minute(+120) };
}

describe("send_at on a read message", () => {
  it("shows the send_at of a scheduled message in GET and in the list, as the 202 said", async () => {
    const tenant = await createTenant();
    const sendAt = new Date(Date.now() + 3_600_000);
    const res = await tenant.api(
      "/v1/messages",
      postJson({ to: "+14155550130", body: "Later", send_at: sendAt.toISOString() }),
    );
    const accepted = (await res.json()) as { id: string; send_at: string };
    expect(accepted.send_at).toBe(sendAt.toISOString());

    const read = (await (await tenant.api(`/v1/messages/${accepted.id}`)).json()) as View;
    expect(read).toMatchObject({ status: "scheduled", send_at: accepted.send_at });
    // Once it is in the send log, the list shows it too.
    const listed = await eventually(async () => {
      const list = (await (await tenant.api("/v1/messages")).json()) as { data: View[] };
      return list.data.find((m) => m.id === accepted.id);
    });
    expect(listed.send_at).toBe(accepted.send_at);
    expect((await (await tenant.api(`/v1/messages/${accepted.id}`)).json()) as View).toMatchObject({
      send_at: accepted.send_at,
    });
  });

  it("shows a message sent at once with send_at equal to its acceptance", async () => {
    const tenant = await createTenant();
    const res = await tenant.api("/v1/messages", postJson({ to: "+14155550131", body: "Now" }));
    const accepted = (await res.json()) as { id: string; send_at: string; created_at: string };
    const delivered = await messageReaches(tenant, accepted.id, "delivered");
    expect(delivered).toMatchObject({ send_at: accepted.send_at, created_at: accepted.created_at });
  });

  it("shows marketing held for quiet hours with the window's end, as the 202 said", async () => {
    const tenant = await createTenant();
    const promo = await approvedTemplate(tenant, PROMO_TEMPLATE);
    const settings = { method: "PATCH", body: JSON.stringify({ quiet_hours: quietNow() }) };
    expect((await tenant.api("/v1/tenant", settings)).status).toBe(200);
    const res = await tenant.api(
      "/v1/messages",
      postJson({ to: "+8613800138310", template_id: promo, variables: { name: "Ann" } }),
    );
    const held = (await res.json()) as { id: string; status: string; send_at: string };
    expect(held.status).toBe("scheduled");
    expect(await (await tenant.api(`/v1/messages/${held.id}`)).json()).toMatchObject({
      status: "scheduled",
      status_reason: "quiet_hours",
      send_at: held.send_at,
    });
  });
});

describe("a WeChat message has no SMS segments", () => {
  it("reports segments and encoding as null in the 202, in GET and in its events", async () => {
    const tenant = await createTenant();
    const wechat = fakeWeChat(() => ({ errcode: 0, errmsg: "ok", msgid: 200228340 }));
    const appId = await appWithFakeApi(tenant, wechat.fetch);
    const endpoint = await createEndpoint(tenant, { events: ["message.sent"] });

    // Scheduled, so that the real queue never calls the fake host (tests have no DNS).
    const res = await tenant.api(
      "/v1/messages",
      postJson({
        channel: "wechat",
        app_id: appId,
        openid: "oShapes1",
        send_at: new Date(Date.now() + 3_600_000).toISOString(),
        wechat: {
          type: "template",
          wechat_template_id: "ngqIpbwh8bUfcSsECmogfXcV14J0tQlEpBO27izEYtY",
          data: { first: { value: "Shipped" } },
        },
      }),
    );
    expect(res.status).toBe(202);
    const accepted = (await res.json()) as View;
    expect(accepted).toMatchObject({ segments: null, encoding: null, cost: 0 });
    expect(await (await tenant.api(`/v1/messages/${accepted.id}`)).json()).toMatchObject({
      channel: "wechat",
      segments: null,
      encoding: null,
    });

    // The consumer's side, on a message of its own (the API's goes through the real queue).
    const message = outboxMessage(tenant.id, "oShapes2", {
      channel: "wechat",
      sender: appId,
      mode: "live",
      segments: 0,
      encoding: "UCS-2",
      costMicros: 0,
      payload: JSON.stringify({
        msgtype: "template",
        touser: "oShapes2",
        template_id: "ngqIpbwh8bUfcSsECmogfXcV14J0tQlEpBO27izEYtY",
        data: { first: { value: "Shipped" } },
      }),
    });
    await logMessages(env.DB, [message]);
    await consumeBatch(tenant, [message.id], wechat.fetch);
    const [sent] = await eventsOf(endpoint.id, "message.sent");
    expect(sent?.data).toMatchObject({ id: message.id, segments: null, encoding: null });
  });
});

describe("provider in message events", () => {
  it("is null in a message.failed event when no provider took the message, as GET shows it", async () => {
    const tenant = await createTenant();
    const endpoint = await createEndpoint(tenant, { events: ["message.failed"] });
    // The sandbox refuses numbers ending 0000 for good.
    const res = await tenant.api("/v1/messages", postJson({ to: "+14155550000", body: "Hi" }));
    const { id } = (await res.json()) as { id: string };
    const failed = await messageReaches(tenant, id, "failed");
    expect(failed.provider).toBeNull();

    const [event] = await eventsOf(endpoint.id, "message.failed");
    expect(event?.data).toMatchObject({ id, status: "failed", provider: null });
    expect(event?.data.provider_message_id).toBeNull();
  });
});

describe("a form feed in a body", () => {
  it("is accepted and counted as two GSM-7 septets (ESC + FF, GSM 03.38's extension table)", async () => {
    const tenant = await createTenant();
    const send = (body: string) =>
      tenant.api("/v1/messages", postJson({ to: "+14155550132", body }));
    // 158 + 2 = 160 septets: one segment; one letter more needs two.
    const fits = await send(`${"x".repeat(158)}\f`);
    expect(fits.status, await fits.clone().text()).toBe(202);
    expect(await fits.json()).toMatchObject({ segments: 1, encoding: "GSM-7" });
    const over = await send(`${"x".repeat(159)}\f`);
    expect(await over.json()).toMatchObject({ segments: 2, encoding: "GSM-7" });
  });

  it("is accepted in a template body, and the rendered message counts it the same way", async () => {
    const tenant = await createTenant({ homeCountry: "US" });
    const id = await approvedTemplate(tenant, {
      name: "Two pages",
      kind: "notification",
      body: "Page one\fPage two: {{code}}",
      variables: [{ name: "code", type: "code", max_length: 6 }],
    });
    const res = await tenant.api(
      "/v1/messages/preview",
      postJson({ to: "+14155550133", template_id: id, variables: { code: "42" } }),
    );
    expect(await res.json()).toMatchObject({
      text: "Page one\fPage two: 42",
      encoding: "GSM-7",
      segments: 1,
    });
  });

  it("still refuses other control characters", async () => {
    const tenant = await createTenant();
    const res = await tenant.api(
      "/v1/messages",
      postJson({ to: "+14155550134", body: "Hi\u000b there" }),
    );
    expect(res.status).toBe(400);
  });
});

describe("the OpenAPI document", () => {
  it('names POST /v1/messages for what it does: "Send a message" (SMS or WeChat)', async () => {
    const tenant = await createTenant();
    const doc = (await (await tenant.api("/openapi.json")).json()) as {
      paths: Record<string, Record<string, { summary?: string }>>;
    };
    expect(doc.paths["/v1/messages"]?.post?.summary).toBe("Send a message");
  });

  it("shows the send body as one shape per channel, an SMS with or without `channel`", async () => {
    const tenant = await createTenant();
    const doc = (await (await tenant.api("/openapi.json")).json()) as {
      components: { schemas: Record<string, Record<string, unknown>> };
    };
    const { schemas } = doc.components;
    expect(schemas.SendMessage).toEqual({
      oneOf: [
        { $ref: "#/components/schemas/SendSms" },
        { $ref: "#/components/schemas/SendWeChat" },
        { $ref: "#/components/schemas/SendAuto" },
      ],
      // No discriminator: SendSms's `channel` is optional, and OpenAPI requires the property in
      // every shape (src/routes/openapi-complete.ts drops the one zod-to-openapi would add).
      description:
        "One of three shapes, told apart by `channel`: `sms` (or no `channel`), `wechat`, `auto`.",
    });
    expect(schemas.SendSms).toMatchObject({ required: ["to"], additionalProperties: false });
    expect(schemas.SendWeChat).toMatchObject({
      required: ["channel", "app_id", "wechat"],
      additionalProperties: false,
    });
    expect(schemas.SendAuto).toMatchObject({
      required: ["channel", "app_id", "contact", "wechat", "sms"],
      additionalProperties: false,
    });
  });
});
