import { describe, expect, it } from "vitest";
import { signedIn } from "./support/dashboard";
import { call, createTenant } from "./support/tenants";

type Signed = { cookie: string; csrf: string };

const get = (who: Signed, path: string) => call(path, null, { headers: { cookie: who.cookie } });
function postPairs(who: Signed, path: string, pairs: [string, string][]) {
  const body = new URLSearchParams([["csrf", who.csrf], ...pairs]).toString();
  return call(path, null, {
    method: "POST",
    body,
    headers: { "content-type": "application/x-www-form-urlencoded", cookie: who.cookie },
  });
}

describe("the dashboard's API keys page", () => {
  it("creates a key shown once, with its scopes and limit, that works; revokes it", async () => {
    const tenant = await createTenant();
    const admin = await signedIn(tenant, "admin");
    expect(admin.page).toContain('href="/dashboard/keys"');
    const res = await postPairs(admin, "/dashboard/keys", [
      ["name", "reporting"],
      ["mode", "live"],
      ["scopes", "messages:read"],
      ["scopes", "stats:read"],
      ["rate_limit.per_second", "5"],
      ["rate_limit.burst", ""],
    ]);
    expect(res.status).toBe(201);
    const html = await res.text();
    const key = /class="text mono new-key">([^<]+)</.exec(html)?.[1] ?? "";
    expect(key).toMatch(/^rbx_live_/);
    expect(html).toContain("messages:read, stats:read");
    expect(html).toContain("5/s, bursts of 10");

    // The key reaches what its scopes allow, and is never shown again.
    const read = await call("/v1/messages", key);
    expect(read.status).toBe(200);
    await read.body?.cancel();
    const list = await (await get(admin, "/dashboard/keys")).text();
    expect(list).not.toContain(key);
    const id = /data-key="(key_[0-9A-Z]{26})"/.exec(list)?.[1] ?? "";
    expect(list).toContain(`action="/dashboard/keys/${id}/revoke"`);

    const revoked = await postPairs(admin, `/dashboard/keys/${id}/revoke`, []);
    expect(revoked.status).toBe(303);
    const after = await call("/v1/messages", key);
    expect(after.status).toBe(401);
    await after.body?.cancel();
    const flash = revoked.headers.getSetCookie().find((c) => c.startsWith("rbx_flash="));
    const shown = await (
      await call("/dashboard/keys", null, {
        headers: { cookie: `${admin.cookie}; ${flash?.split(";")[0]}` },
      })
    ).text();
    expect(shown).toContain(`Key ${id} is revoked.`);
    expect(shown).not.toContain(`action="/dashboard/keys/${id}/revoke"`);
  });

  it("shows a refused form's errors at their fields", async () => {
    const tenant = await createTenant();
    const admin = await signedIn(tenant, "admin");
    const res = await postPairs(admin, "/dashboard/keys", [
      ["name", ""],
      ["mode", "live"],
    ]);
    expect(res.status).toBe(422);
    const html = await res.text();
    expect(html).toContain('id="field-name-error"');
    expect(html).toContain("Choose at least one permission.");
    const limit = await postPairs(admin, "/dashboard/keys", [
      ["name", "x"],
      ["mode", "live"],
      ["scopes", "messages:send"],
      ["rate_limit.per_second", "10"],
      ["rate_limit.burst", "3"],
    ]);
    expect(limit.status).toBe(422);
    expect(await limit.text()).toContain('id="field-rate_limit.burst-error"');
    const keys = (await (await tenant.api("/v1/keys")).json()) as { data: unknown[] };
    expect(keys.data).toHaveLength(1);
  });

  it("is hidden from an analyst and answers their GET and POST with 403", async () => {
    const tenant = await createTenant();
    const analyst = await signedIn(tenant, "analyst");
    expect(analyst.page).not.toContain('href="/dashboard/keys"');
    const page = await get(analyst, "/dashboard/keys");
    expect(page.status).toBe(403);
    await page.body?.cancel();
    const created = await postPairs(analyst, "/dashboard/keys", [
      ["name", "x"],
      ["mode", "live"],
      ["scopes", "admin"],
    ]);
    expect(created.status).toBe(403);
    await created.body?.cancel();
    const keys = (await (await tenant.api("/v1/keys")).json()) as { data: { id: string }[] };
    const revoke = await postPairs(analyst, `/dashboard/keys/${keys.data[0]?.id}/revoke`, []);
    expect(revoke.status).toBe(403);
    await revoke.body?.cancel();
    expect(keys.data).toHaveLength(1);
  });
});
