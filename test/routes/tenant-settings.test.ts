/**
 * Settings changed through the API apply to every message accepted after the change's 200, even
 * where the API key's cache (every isolate has one) still holds the account as it was.
 */
import { env } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { approvedTemplate, PROMO_TEMPLATE } from "../support/templates";
import {
  call,
  createTenant,
  eventually,
  messageReaches,
  postJson,
  type TestTenant,
} from "../support/tenants";

interface Accepted {
  id: string;
  status: string;
  send_at: string;
}

const patch = (body: unknown) => ({ method: "PATCH", body: JSON.stringify(body) });

/** Quiet all day but one minute, in Shanghai's time: whatever the time now, it is quiet hours. */
function quietNow(): { start: string; end: string } {
  const minute = (offset: number) => {
    const t = new Date(Date.now() + offset * 60_000 + 8 * 3_600_000);
    return `${String(t.getUTCHours()).padStart(2, "0")}:${String(t.getUTCMinutes()).padStart(2, "0")}`;
  };
  return { start: minute(-1), end: minute(+120) };
}

async function send(tenant: TestTenant, body: unknown): Promise<Accepted> {
  const res = await tenant.api("/v1/messages", postJson(body));
  expect(res.status, await res.clone().text()).toBe(202);
  return (await res.json()) as Accepted;
}

async function view(tenant: TestTenant, id: string) {
  return (await (await tenant.api(`/v1/messages/${id}`)).json()) as Record<string, unknown>;
}

/** Makes a new signature `name` the default, through the API. */
async function newDefaultSignature(tenant: TestTenant, name: string): Promise<void> {
  const created = await tenant.api("/v1/signatures", postJson({ name }));
  const { id } = (await created.json()) as { id: string };
  for (const step of ["submit", "approve", "default"]) {
    const res = await tenant.api(`/v1/signatures/${id}/${step}`, postJson({}));
    expect(res.status, `${step}: ${await res.clone().text()}`).toBe(200);
  }
}

describe("settings changed through the API", () => {
  it("signs a message accepted right after a new default signature with that signature", async () => {
    const tenant = await createTenant();
    // The key's cache now holds the account with its first signature.
    await send(tenant, { to: "+8613800138301", body: "Before" });
    await newDefaultSignature(tenant, "Acme");

    const after = await send(tenant, { to: "+8613800138302", body: "After" });

    expect(await messageReaches(tenant, after.id, "delivered")).toMatchObject({
      body: "【Acme】After",
    });
  });

  it("signs a batch accepted right after a new default signature with that signature", async () => {
    const tenant = await createTenant();
    await send(tenant, { to: "+8613800138307", body: "Before" });
    await newDefaultSignature(tenant, "Acme");

    const res = await tenant.api(
      "/v1/batches",
      postJson({ body: "After", recipients: [{ to: "+8613800138308" }, { to: "+8613800138309" }] }),
    );
    expect(res.status).toBe(202);
    const { id } = (await res.json()) as { id: string };

    const bodies = await eventually(async () => {
      const { results } = await env.DB.prepare("SELECT body FROM messages WHERE batch_id = ?")
        .bind(id)
        .all<{ body: string }>();
      return results.length === 2 ? results.map((row) => row.body) : undefined;
    });
    expect(bodies).toEqual(["【Acme】After", "【Acme】After"]);
  });

  it("holds marketing accepted right after quiet hours are set, and says why", async () => {
    const tenant = await createTenant();
    const promo = await approvedTemplate(tenant, PROMO_TEMPLATE);
    await send(tenant, { to: "+8613800138303", body: "Before" });
    expect((await tenant.api("/v1/tenant", patch({ quiet_hours: quietNow() }))).status).toBe(200);

    const accepted = await send(tenant, {
      to: "+8613800138304",
      template_id: promo,
      variables: { name: "Ann" },
    });

    expect(accepted.status).toBe("scheduled");
    const waits = Date.parse(accepted.send_at) - Date.now();
    expect(waits).toBeGreaterThan(118 * 60_000);
    expect(await view(tenant, accepted.id)).toMatchObject({
      status: "scheduled",
      status_reason: "quiet_hours",
    });
  });

  it("releases held marketing at once when quiet hours are removed, and it is delivered", async () => {
    const tenant = await createTenant();
    const promo = await approvedTemplate(tenant, PROMO_TEMPLATE);
    expect((await tenant.api("/v1/tenant", patch({ quiet_hours: quietNow() }))).status).toBe(200);
    // A key not used before reads the account as it is now.
    const { key } = await tenant.addKey(["messages:send"]);
    const res = await call(
      "/v1/messages",
      key,
      postJson({ to: "+8613800138305", template_id: promo, variables: { name: "Ann" } }),
    );
    const held = (await res.json()) as Accepted;
    expect(held.status).toBe("scheduled");

    expect((await tenant.api("/v1/tenant", patch({ quiet_hours: null }))).status).toBe(200);

    const delivered = await messageReaches(tenant, held.id, "delivered");
    expect(delivered.status_reason).toBeNull();
    // And what is accepted now goes at once, whatever the key's cache remembers.
    const next = await send(tenant, {
      to: "+8613800138306",
      template_id: promo,
      variables: { name: "Bo" },
    });
    expect(next.status).toBe("queued");
    await messageReaches(tenant, next.id, "delivered");
  });
});
