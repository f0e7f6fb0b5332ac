/**
 * Issue 15's walk-through through the sandbox's inbound hook, as a new user would make it: STOP
 * stops messages to a number and START restarts them; R to a marketing message opts out; a
 * keyword gets its reply; an inbound message sits in its conversation beside what was sent to
 * the number, and a reply from the conversation is delivered; a forwarding rule copies a message
 * to a webhook; another tenant sees none of it.
 */
import { describe, expect, it } from "vitest";
import {
  call,
  createTenant,
  eventually,
  messageReaches,
  postJson,
  type TestTenant,
} from "../support/tenants";
import { createEndpoint, deliveriesOf } from "../support/webhooks";

/** A person texting the tenant's sandbox number; the message once its handling is done (queued). */
async function texts(tenant: TestTenant, from: string, body: string) {
  const res = await call(
    `/hooks/sms/sandbox/${tenant.hookToken}/inbound`,
    null,
    postJson({ from, to: "+8610690000", body }),
  );
  expect(res.status).toBe(202);
  const { ids } = (await res.json()) as { ids: string[] };
  return eventually(
    async () => {
      const inbound = await tenant.api(`/v1/inbound/${ids[0]}`);
      expect(inbound.status).toBe(200);
      const view = (await inbound.json()) as {
        id: string;
        conversation_id: string;
        handling: Record<string, unknown>;
      };
      return view.handling.done === true ? view : undefined;
    },
    10_000,
    `${ids[0]}'s handling`,
  );
}

const send = (tenant: TestTenant, to: string, body = "Your parcel is on its way") =>
  tenant.api("/v1/messages", postJson({ to, body }));

describe("two-way SMS through the sandbox's inbound hook", () => {
  it("STOP stops a number's messages and START restarts them", async () => {
    const tenant = await createTenant();
    const number = "+14155550123";
    expect((await send(tenant, number)).status).toBe(202);
    const stop = await texts(tenant, number, "  Stop! ");
    expect(stop.handling).toMatchObject({ opt_out: { action: "opted_out" } });
    const refused = await send(tenant, number);
    expect(refused.status).toBe(422);
    expect(await refused.text()).toContain(number);
    await texts(tenant, number, "START");
    expect((await send(tenant, number)).status).toBe(202);
  });

  it("R to a marketing message opts the number out", async () => {
    const tenant = await createTenant();
    const number = "+8613800138001";
    const marketing = await send(tenant, number, "春季上新，全场八折 拒收请回复R");
    expect(marketing.status).toBe(202);
    await texts(tenant, number, "R");
    expect((await send(tenant, number)).status).toBe(422);
  });

  it("answers a keyword with its reply, once", async () => {
    const tenant = await createTenant();
    const rule = await tenant.api(
      "/v1/auto-replies",
      postJson({ match: "exact", keyword: "价格", reply: { type: "text", content: "¥99 包邮" } }),
    );
    expect(rule.status).toBe(201);
    const inbound = await texts(tenant, "+8613800138002", " 价格 ");
    const reply = inbound.handling.auto_reply as { message_id: string };
    const delivered = await messageReaches(tenant, reply.message_id, "delivered");
    expect(delivered).toMatchObject({ to: "+8613800138002" });
    expect(String(delivered.body)).toContain("¥99 包邮");
  });

  it("threads an inbound message beside what was sent, and delivers a reply from it", async () => {
    const tenant = await createTenant();
    const number = "+8613800138003";
    const sent = (await (await send(tenant, number, "订单已发货")).json()) as { id: string };
    await messageReaches(tenant, sent.id, "delivered");
    const inbound = await texts(tenant, number, "什么时候到？");

    const thread = await tenant.api(`/v1/conversations/${inbound.conversation_id}/messages`);
    const items = ((await thread.json()) as { data: { id: string; direction: string }[] }).data;
    expect(items.map((m) => [m.id, m.direction])).toEqual([
      [sent.id, "outbound"],
      [inbound.id, "inbound"],
    ]);

    const reply = await tenant.api(
      `/v1/conversations/${inbound.conversation_id}/messages`,
      postJson({ body: "明天送达" }),
    );
    expect(reply.status).toBe(202);
    const { id } = (await reply.json()) as { id: string };
    expect(await messageReaches(tenant, id, "delivered")).toMatchObject({ to: number });
  });

  it("copies a matching message to a webhook endpoint, and keeps it all from another tenant", async () => {
    const tenant = await createTenant();
    const endpoint = await createEndpoint(tenant, { events: ["message.delivered"] });
    const rule = await tenant.api(
      "/v1/forwarding-rules",
      postJson({
        match: "contains",
        keyword: "refund",
        target_type: "webhook",
        target: endpoint.id,
      }),
    );
    expect(rule.status).toBe(201);
    const inbound = await texts(tenant, "+14155550124", "I want a REFUND please");
    const deliveries = await deliveriesOf(endpoint.id);
    expect(deliveries.map((d) => d.event_type)).toEqual(["inbound.received"]);
    expect(JSON.parse(deliveries[0]?.payload ?? "{}")).toMatchObject({
      data: { id: inbound.id, body: "I want a REFUND please" },
    });

    const other = await createTenant();
    const unknown = "cnv_00000000000000000000000000";
    const missing = (await (await other.api(`/v1/conversations/${unknown}`)).json()) as {
      detail: string;
    };
    const theirs = await other.api(`/v1/conversations/${inbound.conversation_id}`);
    expect(theirs.status).toBe(404);
    expect(((await theirs.json()) as { detail: string }).detail).toBe(
      missing.detail.replace(unknown, inbound.conversation_id),
    );
    expect((await other.api(`/v1/inbound/${inbound.id}`)).status).toBe(404);
    const list = (await (await other.api("/v1/inbound")).json()) as { data: unknown[] };
    expect(list.data).toEqual([]);
  });
});
