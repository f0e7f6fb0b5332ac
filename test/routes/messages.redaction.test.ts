import { env } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { REDACTED_BODY } from "../../src/domain/retention";
import { insertMessage } from "../support/message-rows";
import { expectProblem } from "../support/problem";
import { call, createTenant } from "../support/tenants";

const DELETE = { method: "DELETE" };

describe("DELETE /v1/messages/{id}/body", () => {
  it("redacts a final message's body, keeps the message, and audits it without the text", async () => {
    const tenant = await createTenant();
    const id = await insertMessage(tenant.id, {
      at: Date.now() - 60_000,
      body: "Your code is 839201",
      templateParams: [{ name: "code", value: "839201" }],
      status: "delivered",
      attempt: true,
    });
    const res = await tenant.api(`/v1/messages/${id}/body`, {
      ...DELETE,
      headers: { "x-request-id": "redact-1" },
    });
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ id, body: REDACTED_BODY, status: "delivered" });
    const read = (await (await tenant.api(`/v1/messages/${id}`)).json()) as Record<string, unknown>;
    expect(read).toMatchObject({ body: REDACTED_BODY, status: "delivered", cost: 0.0065 });
    expect(read.attempts).toHaveLength(1);
    const stored = await env.DB.prepare("SELECT template_params FROM messages WHERE id = ?")
      .bind(id)
      .first<{ template_params: string | null }>();
    expect(stored?.template_params).toBeNull();
    const entry = await env.DB.prepare(
      "SELECT action, target, diff, request_id FROM audit_entries WHERE tenant_id = ? ORDER BY seq DESC LIMIT 1",
    )
      .bind(tenant.id)
      .first<{ action: string; target: string; diff: string; request_id: string }>();
    expect(entry).toMatchObject({
      action: "message.body_redact",
      target: id,
      request_id: "redact-1",
    });
    expect(entry?.diff).not.toContain("839201");
    expect(JSON.parse(entry?.diff ?? "{}")).toEqual({ body: { to: "(changed)" } });
  });

  it("refuses a message still on its way with a 409 that says why", async () => {
    const tenant = await createTenant();
    const id = await insertMessage(tenant.id, { at: Date.now(), status: "sending", body: "wip" });
    await expectProblem(await tenant.api(`/v1/messages/${id}/body`, DELETE), {
      status: 409,
      slug: "conflict",
      instance: `/v1/messages/${id}/body`,
      detail: /is sending: its body is needed/,
    });
    const read = (await (await tenant.api(`/v1/messages/${id}`)).json()) as { body: string };
    expect(read.body).toBe("wip");
  });

  it("answers another tenant's message with the 404 of a missing one, and changes nothing", async () => {
    const tenant = await createTenant();
    const other = await createTenant();
    const theirs = await insertMessage(other.id, { at: Date.now(), body: "theirs" });
    const missing = `msg_${"0".repeat(26)}`;
    const a = await expectProblem(await tenant.api(`/v1/messages/${theirs}/body`, DELETE), {
      status: 404,
      slug: "not-found",
      instance: `/v1/messages/${theirs}/body`,
    });
    const b = await expectProblem(await tenant.api(`/v1/messages/${missing}/body`, DELETE), {
      status: 404,
      slug: "not-found",
      instance: `/v1/messages/${missing}/body`,
    });
    expect(a.detail.replace(theirs, "ID")).toBe(b.detail.replace(missing, "ID"));
    const read = (await (await other.api(`/v1/messages/${theirs}`)).json()) as { body: string };
    expect(read.body).toBe("theirs");
  });

  it("needs messages:send", async () => {
    const tenant = await createTenant();
    const reader = await tenant.addKey(["messages:read"]);
    const id = await insertMessage(tenant.id, { at: Date.now() });
    await expectProblem(await call(`/v1/messages/${id}/body`, reader.key, DELETE), {
      status: 403,
      slug: "forbidden",
      instance: `/v1/messages/${id}/body`,
    });
  });
});
