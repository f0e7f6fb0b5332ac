import { env } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { database } from "../src/db/client";
import { webhookDeliveries } from "../src/db/schema";
import { newId } from "../src/lib/ids";
import { signedIn } from "./support/dashboard";
import { call, createTenant, postJson } from "./support/tenants";

type Signed = { cookie: string; csrf: string };

const get = (who: Signed, path: string) => call(path, null, { headers: { cookie: who.cookie } });
function post(who: Signed, path: string, pairs: [string, string][] = []) {
  const body = new URLSearchParams([["csrf", who.csrf], ...pairs]).toString();
  return call(path, null, {
    method: "POST",
    body,
    headers: { "content-type": "application/x-www-form-urlencoded", cookie: who.cookie },
  });
}

const SID = `AC${"a".repeat(32)}`;
const TOKEN = "twilio-auth-token-0123456789";

describe("the dashboard's Providers and routes page", () => {
  it("sets a provider up with write-only credentials, shows its callback URLs, and manages routes", async () => {
    const tenant = await createTenant();
    const admin = await signedIn(tenant, "admin");
    expect(admin.page).toContain('href="/dashboard/providers"');

    const bad = await post(admin, "/dashboard/providers/twilio", [
      ["config.account_sid", "nope"],
      ["credentials.auth_token", TOKEN],
      ["enabled", "true"],
    ]);
    expect(bad.status).toBe(422);
    const badHtml = await bad.text();
    expect(badHtml).toContain('id="field-config.account_sid-error"');
    expect(badHtml).not.toContain(TOKEN);
    const missing = await post(admin, "/dashboard/providers/twilio", [["config.account_sid", SID]]);
    expect(missing.status).toBe(422);
    expect(await missing.text()).toContain("needs its credentials");

    const saved = await post(admin, "/dashboard/providers/twilio", [
      ["config.account_sid", SID],
      ["credentials.auth_token", TOKEN],
      ["enabled", "true"],
    ]);
    expect(saved.status).toBe(303);
    const page = await (await get(admin, "/dashboard/providers")).text();
    expect(page).not.toContain(TOKEN);
    expect(page).toContain(`value="${SID}"`);
    expect(page).toMatch(/value="http[^"]+\/hooks\/sms\/twilio\/[^"]+\/status"/);
    // Saved again without credentials: the stored ones stay.
    const kept = await post(admin, "/dashboard/providers/twilio", [
      ["config.account_sid", SID],
      ["config.from", "+14155550100"],
      ["enabled", "true"],
    ]);
    expect(kept.status).toBe(303);
    const api = (await (await tenant.api("/v1/providers/twilio")).json()) as {
      has_credentials: boolean;
      config: Record<string, string>;
    };
    expect(api).toMatchObject({ has_credentials: true, config: { from: "+14155550100" } });

    // A route over the configured provider; a bad destination is refused at its field.
    const badRoute = await post(admin, "/dashboard/routes", [
      ["destination", "86"],
      ["providers.0.provider", "twilio"],
      ["providers.0.priority", "1"],
      ["providers.0.weight", "1"],
    ]);
    expect(badRoute.status).toBe(422);
    expect(await badRoute.text()).toContain('id="field-destination-error"');
    const unknown = await post(admin, "/dashboard/routes", [
      ["destination", "CN"],
      ["providers.0.provider", ""],
      ["providers.1.provider", "aliyun"],
      ["providers.1.priority", "1"],
      ["providers.1.weight", "1"],
    ]);
    // The service refuses a provider not set up; its pointer lands on the form's own row.
    expect(unknown.status).toBe(422);
    expect(await unknown.text()).toContain('id="field-providers.1.provider-error"');
    const route = await post(admin, "/dashboard/routes", [
      ["destination", "+1415"],
      ["providers.0.provider", "twilio"],
      ["providers.0.priority", "1"],
      ["providers.0.weight", "3"],
    ]);
    expect(route.status).toBe(303);
    const routes = (await (await tenant.api("/v1/routes")).json()) as {
      data: { id: string; destination: string }[];
    };
    expect(routes.data).toMatchObject([{ destination: "+1415" }]);
    const listed = await (await get(admin, "/dashboard/providers")).text();
    expect(listed).toContain("twilio (priority 1, weight 3)");
    expect(listed).toContain(`action="/dashboard/routes/${routes.data[0]?.id}/delete"`);
    const deleted = await post(admin, `/dashboard/routes/${routes.data[0]?.id}/delete`);
    expect(deleted.status).toBe(303);
    const after = (await (await tenant.api("/v1/routes")).json()) as { data: unknown[] };
    expect(after.data).toEqual([]);

    // New callback URLs (the old ones stop), then the provider deleted; each asked first.
    const urlOf = (html: string) =>
      /value="(http[^"]+\/hooks\/sms\/twilio\/[^"]+\/status)"/.exec(html)?.[1];
    const withProvider = await (await get(admin, "/dashboard/providers")).text();
    expect(withProvider).toContain('action="/dashboard/providers/twilio/rotate-hook-token"');
    expect(withProvider).toContain('action="/dashboard/providers/twilio/delete"');
    const rotated = await post(admin, "/dashboard/providers/twilio/rotate-hook-token");
    expect(rotated.status).toBe(303);
    const newUrl = urlOf(await (await get(admin, "/dashboard/providers")).text());
    expect(newUrl).toBeDefined();
    expect(newUrl).not.toBe(urlOf(withProvider));
    const removed = await post(admin, "/dashboard/providers/twilio/delete");
    expect(removed.status).toBe(303);
    expect((await tenant.api("/v1/providers/twilio")).status).toBe(404);
    const audit = (await (await tenant.api("/v1/audit?target=twilio")).json()) as {
      data: { action: string }[];
    };
    expect(audit.data.map((e) => e.action)).toEqual(
      expect.arrayContaining(["provider.rotate_hook_token", "provider.delete"]),
    );
  });
});

describe("the dashboard's Webhooks page", () => {
  it("adds an endpoint with its secret shown once, lists deliveries with attempts and replays one", async () => {
    const tenant = await createTenant();
    const admin = await signedIn(tenant, "admin");
    const bad = await post(admin, "/dashboard/webhooks", [["url", "not a url"]]);
    expect(bad.status).toBe(422);
    const badHtml = await bad.text();
    expect(badHtml).toContain('id="field-url-error"');
    expect(badHtml).toContain("Choose at least one event.");

    const res = await post(admin, "/dashboard/webhooks", [
      ["url", "https://hooks.example.com/relaybox"],
      ["description", "CRM"],
      ["events", "message.delivered"],
      ["events", "message.failed"],
    ]);
    expect(res.status).toBe(201);
    const html = await res.text();
    expect(html).toMatch(/class="text mono new-secret">whsec_[^<]+</);
    const list = await (await get(admin, "/dashboard/webhooks")).text();
    expect(list).not.toContain("whsec_");
    expect(list).toContain("message.delivered, message.failed");
    const id = /href="\/dashboard\/webhooks\/(whk_[0-9A-Z]{26})"/.exec(list)?.[1] ?? "";

    const now = Date.now();
    const delivery = newId("whd", now);
    await database(env.DB)
      .insert(webhookDeliveries)
      .values({
        id: delivery,
        tenantId: tenant.id,
        endpointId: id,
        eventId: newId("evt", now),
        eventType: "message.failed",
        payload: "{}",
        status: "failed",
        attemptCount: 1,
        attempts: [{ at: now, statusCode: 500, error: "server error", latencyMs: 120 }],
        nextAttemptAt: null,
        createdAt: now,
        updatedAt: now,
      });
    const deliveries = await (await get(admin, `/dashboard/webhooks/${id}`)).text();
    expect(deliveries).toContain("HTTP 500");
    expect(deliveries).toContain("server error");
    const replayed = await post(admin, `/dashboard/webhooks/${id}/deliveries/${delivery}/replay`);
    expect(replayed.status).toBe(303);
    const api = (await (await tenant.api(`/v1/webhooks/${id}/deliveries`)).json()) as {
      data: { id: string; status: string }[];
    };
    expect(api.data.find((d) => d.id === delivery)?.status).not.toBe("failed");

    // A new secret, shown once on the answer (confirmed first), not on the list after it.
    const before = await (await get(admin, "/dashboard/webhooks")).text();
    expect(before).toContain(`action="/dashboard/webhooks/${id}/rotate-secret"`);
    const rotated = await post(admin, `/dashboard/webhooks/${id}/rotate-secret`);
    expect(rotated.status).toBe(200);
    const secret = /class="text mono new-secret">(whsec_[^<]+)</.exec(await rotated.text())?.[1];
    expect(secret).toBeDefined();
    expect(secret).not.toBe(/class="text mono new-secret">(whsec_[^<]+)</.exec(html)?.[1]);
    expect(await (await get(admin, "/dashboard/webhooks")).text()).not.toContain(secret);
    const rotations = (await (
      await tenant.api("/v1/audit?action=webhook_endpoint.rotate_secret")
    ).json()) as { data: { target: string }[] };
    expect(rotations.data.map((e) => e.target)).toEqual([id]);

    const deleted = await post(admin, `/dashboard/webhooks/${id}/delete`);
    expect(deleted.status).toBe(303);
    const gone = (await (await tenant.api("/v1/webhooks")).json()) as { data: unknown[] };
    expect(gone.data).toEqual([]);
  });
});

describe("Providers, routes and webhooks for a role without admin", () => {
  it("are hidden and refuse every GET and POST with 403", async () => {
    const tenant = await createTenant();
    const created = await tenant.api(
      "/v1/webhooks",
      postJson({ url: "https://hooks.example.com/x", events: ["message.sent"] }),
    );
    const { id } = (await created.json()) as { id: string };
    const operator = await signedIn(tenant, "operator");
    for (const path of ["/dashboard/providers", "/dashboard/webhooks", "/dashboard/keys"]) {
      expect(operator.page).not.toContain(`href="${path}"`);
      const res = await get(operator, path);
      expect(res.status, path).toBe(403);
      await res.body?.cancel();
    }
    const page = await get(operator, `/dashboard/webhooks/${id}`);
    expect(page.status).toBe(403);
    await page.body?.cancel();
    for (const path of [
      "/dashboard/providers/sandbox",
      "/dashboard/routes",
      "/dashboard/webhooks",
      `/dashboard/webhooks/${id}/delete`,
      `/dashboard/webhooks/${id}/rotate-secret`,
      "/dashboard/providers/sandbox/delete",
      "/dashboard/providers/sandbox/rotate-hook-token",
    ]) {
      const res = await post(operator, path, [["destination", "CN"]]);
      expect(res.status, path).toBe(403);
      await res.body?.cancel();
    }
    const still = (await (await tenant.api("/v1/webhooks")).json()) as { data: unknown[] };
    expect(still.data).toHaveLength(1);
  });
});
