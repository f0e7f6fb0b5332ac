import { env } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { approvedTemplate, CODE_TEMPLATE, PROMO_TEMPLATE } from "../support/templates";
import { call, createTenant, messageReaches, postJson } from "../support/tenants";

interface Accepted {
  id: string;
  status: string;
  segments: number;
  encoding: string;
  cost: number;
  send_at: string;
  created_at: string;
}

describe("sending from a template, previews, scheduling and cancel", () => {
  it("sends an approved template with its variables, signature first, and delivers it", async () => {
    const tenant = await createTenant();
    const templateId = await approvedTemplate(tenant);
    const res = await tenant.api(
      "/v1/messages",
      postJson({
        to: "+8613800138000",
        template_id: templateId,
        variables: { code: "4821", minutes: 5 },
      }),
    );
    expect(res.status).toBe(202);
    const accepted = (await res.json()) as Accepted;
    const delivered = await messageReaches(tenant, accepted.id, "delivered");
    expect(delivered).toMatchObject({
      body: "【Relaybox】Your code is 4821. It expires in 5 minutes.",
      kind: "verification",
      template_id: templateId,
      template_version: 1,
      batch_id: null,
    });
  });

  it("logs each message with the country, sign name and currency it was composed with", async () => {
    const tenant = await createTenant();
    const send = async (to: string) => {
      const res = await tenant.api("/v1/messages", postJson({ to, body: "Hello" }));
      const { id } = (await res.json()) as Accepted;
      await messageReaches(tenant, id);
      return env.DB.prepare("SELECT country, sign_name, currency FROM messages WHERE id = ?")
        .bind(id)
        .first();
    };
    expect(await send("+8613800138010")).toEqual({
      country: "CN",
      sign_name: "Relaybox",
      currency: "USD",
    });
    expect(await send("+14155550125")).toEqual({
      country: "US",
      sign_name: null,
      currency: "USD",
    });
  });

  it("adds no signature on routes outside China, so the text can stay GSM-7", async () => {
    const tenant = await createTenant();
    const templateId = await approvedTemplate(tenant);
    const res = await tenant.api(
      "/v1/messages",
      postJson({
        to: "+14155550123",
        template_id: templateId,
        variables: { code: "4821", minutes: 5 },
      }),
    );
    const accepted = (await res.json()) as Accepted;
    expect(accepted).toMatchObject({ encoding: "GSM-7", segments: 1, cost: 0.0079 });
    const message = await messageReaches(tenant, accepted.id);
    expect(message.body).toBe("Your code is 4821. It expires in 5 minutes.");
  });

  it("previews text, encoding, segments, cost and hits without sending anything", async () => {
    const tenant = await createTenant();
    await env.DB.prepare(
      "INSERT INTO sensitive_words (id, tenant_id, word, policy, created_at) VALUES (?, ?, ?, 'mask', ?)",
    )
      .bind(`sw_${tenant.id}`, tenant.id, "secret", Date.now())
      .run();
    await tenant.api("/v1/tenant", {
      method: "PATCH",
      body: JSON.stringify({ prices: { CN: "0.0450", US: "0.0600" }, currency: "CNY" }),
    });
    // The send scope is enough to preview.
    const { key } = await tenant.addKey(["messages:send"]);
    const preview = async (body: unknown) => {
      const res = await fetchWith(key, "/v1/messages/preview", body);
      expect(res.status).toBe(200);
      return (await res.json()) as { hits: unknown[] } & Record<string, unknown>;
    };
    expect(
      await preview({ to: "+14155550123", body: "Hello “world”", smart_encoding: true }),
    ).toEqual({
      text: 'Hello "world"',
      encoding: "GSM-7",
      characters: 13,
      segments: 1,
      cost: 0.06,
      currency: "CNY",
      hits: [],
    });
    const chinese = await preview({ body: `你好${"好".repeat(60)} secret` });
    expect(chinese).toMatchObject({
      text: `【Relaybox】你好${"好".repeat(60)} ******`,
      encoding: "UCS-2",
      characters: 79,
      segments: 2,
      cost: 0.09,
      currency: "CNY",
    });
    // Offsets point into `text`, past the signature.
    expect(chinese.hits).toEqual([
      expect.objectContaining({ word: "secret", policy: "mask", start: 73, end: 79 }),
    ]);
    expect((chinese.text as string).slice(73, 79)).toBe("******");
    const { results } = await env.DB.prepare("SELECT id FROM messages WHERE tenant_id = ?")
      .bind(tenant.id)
      .all();
    expect(results).toHaveLength(0);
  });

  it("shows a message's cost in the currency it was priced in, after the account's currency changes", async () => {
    const tenant = await createTenant();
    const res = await tenant.api("/v1/messages", postJson({ to: "+14155550124", body: "Hello" }));
    const accepted = (await res.json()) as Accepted & { currency: string };
    expect(accepted).toMatchObject({ cost: 0.0079, currency: "USD" });
    await messageReaches(tenant, accepted.id, "delivered");

    const patched = await tenant.api("/v1/tenant", {
      method: "PATCH",
      body: JSON.stringify({ currency: "CNY", prices: { US: "0.0600" } }),
    });
    expect(patched.status).toBe(200);
    // A key first used now reads the account's settings as they are now.
    const { key } = await tenant.addKey(["messages:read"]);
    const shown = await (await call(`/v1/messages/${accepted.id}`, key)).json();
    expect(shown).toMatchObject({ cost: 0.0079, currency: "USD" });
    const listed = (await (await call("/v1/messages?to=%2B14155550124", key)).json()) as {
      data: unknown[];
    };
    expect(listed.data).toEqual([expect.objectContaining({ cost: 0.0079, currency: "USD" })]);
    // What is sent now is priced in the new currency.
    const next = await tenant.api("/v1/messages", postJson({ to: "+14155550124", body: "Again" }));
    expect(await next.json()).toMatchObject({ cost: 0.06, currency: "CNY" });
  });

  it("holds a scheduled message until its time, then sends it", async () => {
    const tenant = await createTenant();
    const sendAt = new Date(Date.now() + 1_500).toISOString();
    const res = await tenant.api(
      "/v1/messages",
      postJson({ to: "+8613800138010", body: "Later", send_at: sendAt }),
    );
    const accepted = (await res.json()) as Accepted;
    expect(accepted).toMatchObject({ status: "scheduled", send_at: sendAt });
    const early = await tenant.api(`/v1/messages/${accepted.id}`);
    expect(await early.json()).toMatchObject({ status: "scheduled" });
    const delivered = await messageReaches(tenant, accepted.id, "delivered");
    expect(Date.parse(String(delivered.sent_at))).toBeGreaterThanOrEqual(Date.parse(sendAt));
  });

  it("cancels a scheduled message, which then never goes out", async () => {
    const tenant = await createTenant();
    const sendAt = new Date(Date.now() + 1_000).toISOString();
    const res = await tenant.api(
      "/v1/messages",
      postJson({ to: "+8613800138011", body: "Never", send_at: sendAt }),
    );
    const { id } = (await res.json()) as Accepted;
    const canceled = await tenant.api(`/v1/messages/${id}/cancel`, { method: "POST" });
    expect(canceled.status).toBe(200);
    expect(await canceled.json()).toMatchObject({ id, status: "canceled" });
    await new Promise((resolve) => setTimeout(resolve, 1_800));
    const after = await tenant.api(`/v1/messages/${id}`);
    expect(await after.json()).toMatchObject({
      status: "canceled",
      status_reason: "canceled by request",
      sent_at: null,
      attempts: [],
    });
  });

  it("refuses to cancel a message that has been delivered, with 409", async () => {
    const tenant = await createTenant();
    const res = await tenant.api("/v1/messages", postJson({ to: "+8613800138012", body: "Now" }));
    const { id } = (await res.json()) as Accepted;
    await messageReaches(tenant, id, "delivered");
    const cancel = await tenant.api(`/v1/messages/${id}/cancel`, { method: "POST" });
    expect(cancel.status).toBe(409);
  });

  it("holds marketing during the tenant's quiet hours in the recipient's time, not other kinds", async () => {
    const tenant = await createTenant();
    // Quiet all day but one minute: whatever the time now, it is quiet hours.
    const now = new Date();
    const minute = (offset: number) => {
      const t = new Date(now.getTime() + offset * 60_000 + 8 * 3_600_000); // Shanghai time
      return `${String(t.getUTCHours()).padStart(2, "0")}:${String(t.getUTCMinutes()).padStart(2, "0")}`;
    };
    await tenant.api("/v1/tenant", {
      method: "PATCH",
      body: JSON.stringify({ quiet_hours: { start: minute(-1), end: minute(+120) } }),
    });
    const { key } = await tenant.addKey(["messages:send", "messages:read"]);
    const promo = await approvedTemplate(tenant, PROMO_TEMPLATE);
    const code = await approvedTemplate(tenant, CODE_TEMPLATE);
    const marketing = (await (
      await fetchWith(key, "/v1/messages", {
        to: "+8613800138013",
        template_id: promo,
        variables: { name: "Ann" },
      })
    ).json()) as Accepted;
    expect(marketing.status).toBe("scheduled");
    const held = Date.parse(marketing.send_at) - Date.now();
    expect(held).toBeGreaterThan(118 * 60_000);
    expect(held).toBeLessThan(121 * 60_000);
    const verification = (await (
      await fetchWith(key, "/v1/messages", {
        to: "+8613800138013",
        template_id: code,
        variables: { code: "1", minutes: 1 },
      })
    ).json()) as Accepted;
    expect(verification.status).toBe("queued");
  });

  it("appends the opt-out line to marketing by the recipient's country", async () => {
    const tenant = await createTenant();
    const promo = await approvedTemplate(tenant, PROMO_TEMPLATE);
    const body = async (to: string) => {
      const res = await tenant.api(
        "/v1/messages/preview",
        postJson({ to, template_id: promo, variables: { name: "Ann" } }),
      );
      return ((await res.json()) as { text: string }).text;
    };
    expect(await body("+8613800138014")).toMatch(
      /^【Relaybox】Ann, 20% off everything this weekend\..*拒收请回复R$/,
    );
    expect(await body("+14155550124")).toMatch(
      /^Ann, 20% off everything this weekend\..*Reply STOP to opt out$/,
    );
  });
});

function fetchWith(key: string, path: string, body: unknown): Promise<Response> {
  return import("../support/tenants").then(({ call }) => call(path, key, postJson(body)));
}
