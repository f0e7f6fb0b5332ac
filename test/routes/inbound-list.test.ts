import { describe, expect, it } from "vitest";
import { expectProblem } from "../support/problem";
import { call, createTenant, eventually, type TestTenant } from "../support/tenants";

interface InboundView {
  id: string;
  channel: string;
  from: string;
  to: string;
  body: string;
  conversation_id: string;
  handling: Record<string, unknown>;
  received_at: string;
}

async function receive(tenant: TestTenant, message: Record<string, unknown>): Promise<string> {
  const res = await call(`/hooks/sms/sandbox/${tenant.hookToken}/inbound`, null, {
    method: "POST",
    body: JSON.stringify(message),
  });
  expect(res.status).toBe(202);
  const { ids } = (await res.json()) as { ids: string[] };
  const id = ids[0] ?? "";
  // Handled by the inbound queue's consumer, after the hook answered.
  await eventually(async () => {
    const view = (await (await tenant.api(`/v1/inbound/${id}`)).json()) as InboundView;
    return view.handling.done === true ? view : undefined;
  });
  return id;
}

async function list(
  tenant: TestTenant,
  query = "",
): Promise<{ data: InboundView[]; next_cursor: string | null }> {
  const res = await tenant.api(`/v1/inbound${query}`);
  expect(res.status).toBe(200);
  return (await res.json()) as { data: InboundView[]; next_cursor: string | null };
}

describe("GET /v1/inbound", () => {
  it("lists inbound messages newest first, filtered and paged", async () => {
    const tenant = await createTenant({ homeCountry: "CN" });
    const first = await receive(tenant, {
      from: "13800138010",
      to: "+8610690001",
      body: "one",
      received_at: "2026-11-01T08:00:00Z",
    });
    const second = await receive(tenant, {
      from: "+8613800138011",
      body: "two",
      received_at: "2026-11-02T08:00:00Z",
    });
    const third = await receive(tenant, {
      from: "+8613800138010",
      body: "three",
      received_at: "2026-11-03T08:00:00Z",
    });

    const all = await list(tenant);
    expect(all.data.map((m) => m.id)).toEqual([third, second, first]);
    expect(all.next_cursor).toBeNull();
    expect(all.data[2]).toMatchObject({
      channel: "sms",
      from: "+8613800138010",
      to: "+8610690001",
      body: "one",
      handling: { done: true },
      received_at: "2026-11-01T08:00:00.000Z",
    });

    // A national number is read in the home country, as it was stored.
    expect((await list(tenant, "?from=13800138010")).data.map((m) => m.id)).toEqual([third, first]);
    expect((await list(tenant, "?to=%2B8610690001")).data.map((m) => m.id)).toEqual([first]);
    expect((await list(tenant, "?channel=wechat")).data).toEqual([]);
    expect(
      (await list(tenant, "?since=2026-11-02T00:00:00Z&until=2026-11-02T23:59:59Z")).data.map(
        (m) => m.id,
      ),
    ).toEqual([second]);

    const page = await list(tenant, "?limit=2");
    expect(page.data.map((m) => m.id)).toEqual([third, second]);
    expect(page.next_cursor).toBe(second);
    const rest = await list(tenant, `?limit=2&cursor=${page.next_cursor}`);
    expect(rest.data.map((m) => m.id)).toEqual([first]);
    expect(rest.next_cursor).toBeNull();
  });

  it("shows one message with its handling, and refuses bad filters", async () => {
    const tenant = await createTenant();
    const id = await receive(tenant, { from: "+8613800138012", body: "hi" });
    const res = await tenant.api(`/v1/inbound/${id}`);
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ id, body: "hi", handling: { done: true } });
    await expectProblem(await tenant.api("/v1/inbound?channel=fax"), {
      status: 400,
      slug: "validation-error",
      instance: "/v1/inbound",
      pointers: ["/query/channel"],
    });
    await expectProblem(await tenant.api("/v1/inbound?since=yesterday"), {
      status: 400,
      slug: "validation-error",
      instance: "/v1/inbound",
      pointers: ["/query/since"],
    });
    await expectProblem(await tenant.api("/v1/inbound/inb_nope"), {
      status: 400,
      slug: "validation-error",
      instance: "/v1/inbound/inb_nope",
      pointers: ["/path/id"],
    });
  });

  it("never shows another tenant's messages: its id is a 404 like a missing one", async () => {
    const a = await createTenant();
    const b = await createTenant();
    const id = await receive(b, { from: "+8613800138013", body: "b's" });
    expect((await list(a)).data).toEqual([]);
    const other = await a.api(`/v1/inbound/${id}`);
    const missing = await a.api(`/v1/inbound/inb_${"0".repeat(26)}`);
    expect(other.status).toBe(404);
    expect(missing.status).toBe(404);
    const [otherBody, missingBody] = (await Promise.all([other.json(), missing.json()])) as {
      title: string;
    }[];
    expect(otherBody?.title).toBe(missingBody?.title);
    expect((await list(b)).data.map((m) => m.id)).toEqual([id]);
  });

  it("needs inbound:read", async () => {
    const tenant = await createTenant();
    const { key } = await tenant.addKey(["messages:send"]);
    expect((await call("/v1/inbound", key)).status).toBe(403);
    const { key: reader } = await tenant.addKey(["inbound:read"]);
    expect((await call("/v1/inbound", reader)).status).toBe(200);
    expect((await call("/v1/inbound", null)).status).toBe(401);
  });
});
